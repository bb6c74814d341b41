// The desired state of one location as the planners see it: the seat pool, the workshops the
// seats belong to, and each occupied seat's template variables (computed by the caller, since
// they merge operator configuration). Plain data, loaded by the controller in one query.
#pragma once

#include <map>
#include <set>
#include <string>
#include <vector>

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

}  // namespace wod::reconcilers
