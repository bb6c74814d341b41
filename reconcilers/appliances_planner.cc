#include "reconcilers/appliances_planner.h"

#include <set>
#include <string_view>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "model/template.h"

namespace wod::reconcilers {

using model::ApplianceAction;

namespace {

ApplianceAction Simple(ApplianceAction::Kind kind, const std::string& location, int seat,
                       const std::string& appliance, std::string reason) {
  ApplianceAction a;
  a.kind = kind;
  a.location = location;
  a.seat = seat;
  a.appliance = appliance;
  a.reason = std::move(reason);
  return a;
}

// Why an existing container is not the one wanted, or "" when it is.
std::string Mismatch(const model::ObservedContainer& c, const ApplianceAction& want,
                     const std::string& want_spec) {
  if (c.malformed) return "its wod labels are malformed";
  if (c.registration_id != want.registration_id) {
    return absl::StrCat("it belongs to registration ", c.registration_id);
  }
  if (c.epoch != want.epoch) return absl::StrCat("seat was reset (epoch ", want.epoch, ")");
  if (c.spec_hash != want_spec) return "its catalog spec changed";
  return "";
}

}  // namespace

AppliancesPlan PlanAppliances(const DesiredState& desired,
                              const model::ObservedAppliances& observed) {
  AppliancesPlan plan;
  const std::string& location = desired.location.name;
  std::set<std::string> wanted;  // container names that should exist
  // One lookup per wanted container: an index, not a scan of every container per seat.
  std::unordered_map<std::string_view, const model::ObservedContainer*> by_name;
  by_name.reserve(observed.containers.size());
  for (const model::ObservedContainer& c : observed.containers) by_name.emplace(c.name, &c);

  for (const model::Seat& seat : desired.seats) {
    if (!seat.registration_id) continue;
    const model::Workshop* workshop = desired.WorkshopOf(seat);
    if (workshop == nullptr || workshop->appliances.empty()) continue;
    auto vars_it = desired.variables.find(seat.number);
    static const Variables kNoVariables;
    const Variables& vars = vars_it == desired.variables.end() ? kNoVariables : vars_it->second;

    for (const model::Appliance& appliance : workshop->appliances) {
      std::map<std::string, std::string> env;
      bool rendered = true;
      for (const auto& [key, value] : appliance.env) {
        auto r = model::RenderTemplate(
            value, vars, absl::StrCat(workshop->id, " appliances.", appliance.name, ".env.", key));
        if (!r.ok()) {
          plan.problems.push_back(
              {seat.number, "appliances", "TemplateError", std::string(r.status().message())});
          rendered = false;
          break;
        }
        env[key] = *std::move(r);
      }
      std::string name = model::ApplianceContainerName(location, seat.number, appliance.name);
      wanted.insert(name);
      if (!rendered) continue;  // leave whatever runs alone until the catalog is fixed

      ApplianceAction create =
          model::MakeApplianceCreate(*workshop, appliance, location, seat.number,
                                     *seat.registration_id, seat.reset_epoch, std::move(env));
      std::string spec = model::ApplianceSpecHash(create);
      auto found = by_name.find(name);
      const model::ObservedContainer* c = found == by_name.end() ? nullptr : found->second;
      std::string reason = "seat is occupied";
      if (c != nullptr) {
        std::string why = Mismatch(*c, create, spec);
        if (why.empty()) {
          if (!c->running()) {
            plan.actions.push_back(
                Simple(ApplianceAction::Kind::kStart, location, seat.number, appliance.name,
                       absl::StrCat("container is ", model::ContainerStateName(c->state))));
          }
          continue;
        }
        plan.actions.push_back(
            Simple(ApplianceAction::Kind::kRemove, location, seat.number, appliance.name, why));
        reason = "replacing: " + why;
      }
      create.reason = reason;
      plan.actions.push_back(std::move(create));
      plan.actions.push_back(Simple(ApplianceAction::Kind::kStart, location, seat.number,
                                    appliance.name, "new container"));
    }
  }

  for (const model::ObservedContainer& c : observed.containers) {
    if (wanted.count(c.name)) continue;
    const model::Seat* seat = desired.FindSeat(c.seat);
    std::string why = c.malformed              ? "its wod labels are malformed"
                      : seat == nullptr        ? "seat is no longer in the pool"
                      : !seat->registration_id ? "seat is vacant"
                                               : "appliance is no longer in the catalog";
    plan.actions.push_back(
        Simple(ApplianceAction::Kind::kRemove, location, c.seat, c.appliance, why));
  }
  return plan;
}

}  // namespace wod::reconcilers
