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

}  // namespace wod::reconcilers
