// Plans workshop content in the homes of a location: an occupied seat holds its workshop
// rendered for its registration and reset epoch; anything else found there is harvested
// (unless its registration was purged) and then wiped. A participant's edits are never
// overwritten except by RESET (a new epoch). A seat whose workshop has no notebooks (or is not
// in the catalog) gets nothing deployed, but what another registration left in its home is
// still harvested and wiped.
#pragma once

#include <vector>

#include "model/content.h"
#include "reconcilers/desired.h"

namespace wod::reconcilers {

struct ContentPlan {
  std::vector<model::ContentAction> actions;  // by seat; harvest → wipe → deploy
  std::vector<SeatProblem> problems;
};

ContentPlan PlanContent(const DesiredState& desired, const model::ObservedContent& observed);

}  // namespace wod::reconcilers
