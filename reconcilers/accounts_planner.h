// Plans the Linux accounts of a location: every seat of the pool has an account whose
// password is the seat's; an occupied seat's account is unlocked; a vacant seat's account is
// locked, with no processes and an empty home. Accounts of seats no longer in the pool are
// deleted. Pure: the password check is crypt(3) through a memo, no I/O.
#pragma once

#include <vector>

#include "model/accounts.h"
#include "reconcilers/desired.h"

namespace wod::reconcilers {

struct AccountsPlan {
  std::vector<model::AccountAction> actions;  // by seat, each seat's steps in order
  std::vector<SeatProblem> problems;
};

AccountsPlan PlanAccounts(const DesiredState& desired, const model::ObservedAccounts& observed,
                          const model::AccountPolicy& policy, model::PasswordCheckCache* cache);

}  // namespace wod::reconcilers
