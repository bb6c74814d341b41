// All four planners over one observation of a location, and the plan as stable text: one line
// per action, by seat, each seat's steps in the order the pass runs them (account → content →
// hub → appliances when the seat is occupied or its account is new, the reverse otherwise), then
// the seat problems and the foreign objects observed (reported, never touched). Used by the
// golden-file tests and by anything that shows a plan to a person (`wod drift --live`, docs). Pure:
// no I/O.
#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include "model/accounts.h"
#include "model/appliances.h"
#include "model/content.h"
#include "model/hub.h"
#include "reconcilers/accounts_planner.h"
#include "reconcilers/appliances_planner.h"
#include "reconcilers/content_planner.h"
#include "reconcilers/desired.h"
#include "reconcilers/hub_planner.h"

namespace wod::reconcilers {

// One observation of every domain; a domain that could not be observed is nullopt and is
// neither planned nor printed.
struct ObservedLocation {
  std::optional<model::ObservedAccounts> accounts;
  std::optional<model::ObservedContent> content;
  std::optional<model::ObservedHub> hub;
  std::optional<model::ObservedAppliances> appliances;
};

struct LocationPlan {
  AccountsPlan accounts;
  ContentPlan content;
  std::vector<model::HubAction> hub;
  AppliancesPlan appliances;
  // Foreign objects seen in the managed ranges, already described ("accounts: user 'bob' ...").
  std::vector<std::string> foreign;
  // Occupied seats planned as vacant this pass because they change hands
  // (reconcilers::PreviousOccupants): their steps run down.
  std::set<int> changing_hands;

  bool empty() const {
    return accounts.actions.empty() && content.actions.empty() && hub.empty() &&
           appliances.actions.empty() && accounts.problems.empty() && content.problems.empty() &&
           appliances.problems.empty();
  }
};

// Plans as the controller does: seats that change hands are planned as vacant first
// (PlanTurnoverAsVacant); `desired.purged_registrations` says which previous occupants are
// not harvested.
LocationPlan PlanLocation(const DesiredState& desired, const ObservedLocation& observed,
                          const model::AccountPolicy& policy);

// One planned step as printed: "seat 2 content deploy registration 42 workshop 'WKSHP-A'
// epoch 0 (seat is occupied)". Never a secret (passwords and env values are left out).
struct PlanLine {
  int seat = 0;
  std::string domain;  // accounts, content, hub, appliances
  std::string text;    // "<kind> <details> (<reason>)"
};

// Whether a seat's steps run up (account → content → hub → appliances) rather than down (the
// reverse): up when the seat is occupied (and not changing hands), and also when its account is
// being created, because the hub (PAM authenticator) refuses a user whose Linux account does not
// exist yet, and a seat without an account has no home content to take down first.
bool SeatStepsGoUp(const DesiredState& desired, const LocationPlan& plan, int seat);

// The steps of `plan` in execution order: by seat, each seat's domains up or down.
std::vector<PlanLine> OrderedPlanLines(const DesiredState& desired, const LocationPlan& plan);

// The whole plan as text, one line per step, then "problem" and "foreign" lines; "converged"
// alone when there is nothing to do, problems or foreign objects aside.
std::string PlanText(const DesiredState& desired, const LocationPlan& plan);

}  // namespace wod::reconcilers
