// Builders for planner tests: a desired location with seats, and action lists printed one per
// line so a failing table row shows the whole plan.
#pragma once

#include <string>
#include <vector>

#include "reconcilers/desired.h"

namespace wod::reconcilers::testing {

inline model::Workshop TestWorkshop(const std::string& id, int min, int max) {
  model::Workshop w;
  w.id = id;
  w.name = id;
  w.active = true;
  w.capacity = max - min + 1;
  w.range = {min, max};
  w.duration_hours = 2;
  w.location = "local";
  return w;
}

// Seats min..max of `w`, all vacant, with password "vacant-<n>".
inline DesiredState TestDesired(const model::Workshop& w) {
  DesiredState d;
  d.location.name = "local";
  d.location.fqdn = "wod.example";
  d.workshops[w.id] = w;
  for (int n = w.range.min; n <= w.range.max; ++n) {
    model::Seat s;
    s.location = "local";
    s.number = n;
    s.workshop = w.id;
    s.password = "vacant-" + std::to_string(n);
    s.generation = 1;
    d.seats.push_back(s);
  }
  return d;
}

inline void Occupy(DesiredState& d, int n, int64_t registration, const std::string& password) {
  for (auto& s : d.seats) {
    if (s.number != n) continue;
    s.registration_id = registration;
    s.password = password;
  }
  d.variables[n] = {{"STDID", std::to_string(n)}, {"PASSSTU", password}};
}

template <typename Action>
std::vector<std::string> Describe(const std::vector<Action>& actions) {
  std::vector<std::string> out;
  for (const auto& a : actions) out.push_back(a.Describe());
  return out;
}

}  // namespace wod::reconcilers::testing
