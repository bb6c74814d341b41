// Plans the appliance containers of a location: an occupied seat runs one container per
// appliance of its workshop, made for its registration and reset epoch from the current spec;
// anything else carrying this location's label (vacant seats, old registrations or epochs,
// changed specs, malformed labels, appliances no longer in the catalog) is removed. Env values
// are templates rendered with the seat's variables; one that does not render is a problem for
// that seat, not an action.
#pragma once

#include <vector>

#include "model/appliances.h"
#include "reconcilers/desired.h"

namespace wod::reconcilers {

struct AppliancesPlan {
  std::vector<model::ApplianceAction> actions;  // by seat; per container remove→create→start
  std::vector<SeatProblem> problems;
};

AppliancesPlan PlanAppliances(const DesiredState& desired,
                              const model::ObservedAppliances& observed);

}  // namespace wod::reconcilers
