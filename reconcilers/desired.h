// The desired state of one location as the planners see it: the seat pool, the workshops the
// seats belong to, and each occupied seat's template variables (computed by the caller, since
// they merge operator configuration). Plain data, loaded by the controller in one query.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

#include "model/accounts.h"
#include "model/content.h"
#include "model/types.h"

namespace wod::reconcilers {

using Variables = std::map<std::string, std::string>;

struct DesiredState {
  model::Location location;
  std::vector<model::Seat> seats;                    // this location's pool, sorted by number
  std::map<std::string, model::Workshop> workshops;  // by id
  std::map<int, Variables> variables;                // template variables of occupied seats
  // Registrations ended by PURGE: their content is wiped without a harvest.
  std::set<int64_t> purged_registrations;

  const model::Seat* FindSeat(int number) const;
  const model::Workshop* WorkshopOf(const model::Seat& seat) const;
};

// Why a seat cannot converge until its desired state changes (a template that does not
// render, a seat number outside the account policy): surfaced as a False condition.
struct SeatProblem {
  int seat = 0;
  std::string domain;  // "accounts", "hub", "content", "appliances"
  std::string reason;  // CamelCase, for conditions: "TemplateError", "SeatOutOfRange"
  std::string message;
  bool operator==(const SeatProblem&) const = default;
};

// Turnover: the registrations the machine still holds something of on seats that are not
// theirs any more, by seat. Two signals: the account's occupant marker and the content
// manifest in the home (either domain may be null: not observed). Covers vacant seats and
// seats no longer in the pool too. The marker is what still shows a handover once the
// manifest is wiped, or for a workshop without notebooks, which never has one.
std::map<int, int64_t> PreviousOccupants(const DesiredState& desired,
                                         const model::ObservedAccounts* accounts,
                                         const model::ObservedContent* content);

// The state to plan this pass with: each occupied seat in `previous` is planned as vacant
// (appliances and hub server down, harvest and wipe, account locked and wiped, marker
// cleared), so that nothing of the previous occupant survives into the new occupant's seat;
// a later pass, which no longer sees the previous occupant, brings it up.
DesiredState PlanTurnoverAsVacant(DesiredState desired, const std::map<int, int64_t>& previous);

}  // namespace wod::reconcilers
