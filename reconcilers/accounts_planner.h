// Plans the Linux accounts of a location: every seat of the pool has an account whose
// password is the seat's; an occupied seat's account carries the occupant marker of its
// registration (model::OccupantComment) and is unlocked; a vacant seat's account is locked,
// with no processes, an empty home and the marker vacant. An account whose marker names
// another registration than the seat's occupant changed hands: it is vacated first (lock,
// password, kill, wipe, marker cleared last), and set up for the new occupant by the next pass.
// Accounts of seats no longer in the pool are deleted. Pure: whether a seat's password is set
// is observed by the accounts driver (ObservedAccount::password_in_sync), no hashing here.
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
                          const model::AccountPolicy& policy);

}  // namespace wod::reconcilers
