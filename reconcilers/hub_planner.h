// Plans the JupyterHub users of a location: every seat of the pool has a hub user (the pool
// stays warm); a vacant seat's server is stopped; hub users of seats no longer in the pool are
// deleted. An occupied seat's server is not started here: it starts at the occupant's first
// login, so a participant who stops it is not overruled.
#pragma once

#include <vector>

#include "model/hub.h"
#include "reconcilers/desired.h"

namespace wod::reconcilers {

std::vector<model::HubAction> PlanHub(const DesiredState& desired,
                                      const model::ObservedHub& observed);

}  // namespace wod::reconcilers
