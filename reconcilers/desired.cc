#include "reconcilers/desired.h"

#include <algorithm>

namespace wod::reconcilers {

const model::Seat* DesiredState::FindSeat(int number) const {
  auto it = std::lower_bound(seats.begin(), seats.end(), number,
                             [](const model::Seat& s, int n) { return s.number < n; });
  return it != seats.end() && it->number == number ? &*it : nullptr;
}

const model::Workshop* DesiredState::WorkshopOf(const model::Seat& seat) const {
  auto it = workshops.find(seat.workshop);
  return it == workshops.end() ? nullptr : &it->second;
}

std::map<int, int64_t> PreviousOccupants(const DesiredState& desired,
                                         const model::ObservedAccounts* accounts,
                                         const model::ObservedContent* content) {
  std::map<int, int64_t> previous;
  auto note = [&](int seat, int64_t registration) {
    const model::Seat* s = desired.FindSeat(seat);
    if (s != nullptr && s->registration_id == registration) return;
    previous.try_emplace(seat, registration);
  };
  // The marker first: it is the one the accounts side clears last.
  if (accounts != nullptr) {
    for (const auto& a : accounts->accounts) {
      if (a.occupant != 0) note(a.seat, a.occupant);
    }
  }
  if (content != nullptr) {
    for (const auto& c : content->seats) {
      if (c.deployed()) note(c.seat, c.registration_id);
    }
  }
  return previous;
}

DesiredState PlanTurnoverAsVacant(DesiredState desired, const std::map<int, int64_t>& previous) {
  for (auto& s : desired.seats) {
    if (s.registration_id && previous.count(s.number)) {
      s.registration_id.reset();
      desired.variables.erase(s.number);
    }
  }
  return desired;
}

}  // namespace wod::reconcilers
