// Test-only loader of the golden planner cases (tests/golden/plans/<case>/): desired.yaml builds
// a DesiredState, observed.yaml the observation of every domain. docs in
// tests/golden/plans/README.md. A planner sees exactly what the controller would hand it:
// template variables come from model::SeatVariables, an account's password is in sync when the
// password the YAML names is the seat's desired one (what the accounts driver reports), and a
// container's spec label is the desired one unless the YAML says otherwise.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "model/accounts.h"
#include "reconcilers/desired.h"
#include "reconcilers/pass_plan.h"

namespace wod::reconcilers::testing {

absl::StatusOr<DesiredState> LoadDesiredYaml(const std::string& text);
absl::StatusOr<PassObservation> LoadObservedYaml(const std::string& text,
                                                 const DesiredState& desired,
                                                 const model::AccountPolicy& policy);

}  // namespace wod::reconcilers::testing
