#include "reconcilers/hub_planner.h"

namespace wod::reconcilers {

using model::HubAction;
using model::HubServerState;

std::vector<HubAction> PlanHub(const DesiredState& desired, const model::ObservedHub& observed) {
  std::vector<HubAction> out;
  for (const model::Seat& seat : desired.seats) {
    const model::ObservedHubUser* user = observed.Find(seat.number);
    if (user == nullptr) {
      out.push_back(HubAction::CreateUser(seat.number, "seat has no hub user"));
      continue;
    }
    const bool vacant = !seat.registration_id.has_value();
    if (vacant && (user->server == HubServerState::kRunning ||
                   user->server == HubServerState::kPendingStart)) {
      out.push_back(HubAction::StopServer(seat.number, "seat is vacant"));
    }
  }
  for (const model::ObservedHubUser& user : observed.users) {
    if (desired.FindSeat(user.seat) == nullptr) {
      out.push_back(HubAction::DeleteUser(user.seat, "seat is no longer in the pool"));
    }
  }
  return out;
}

}  // namespace wod::reconcilers
