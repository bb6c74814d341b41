#include "reconcilers/plan_text.h"

#include <algorithm>
#include <array>
#include <map>

#include "absl/strings/str_cat.h"

namespace wod::reconcilers {

namespace {

enum Domain { kAccounts = 0, kContent = 1, kHub = 2, kAppliances = 3, kDomains = 4 };
constexpr const char* kDomainNames[] = {"accounts", "content", "hub", "appliances"};

std::string WithReason(std::string text, const std::string& reason) {
  if (!reason.empty()) absl::StrAppend(&text, " (", reason, ")");
  return text;
}

std::string Text(const model::AccountAction& a) {
  std::string out = model::AccountActionKindName(a.kind);
  if (a.kind == model::AccountAction::Kind::kSetOccupant) {
    if (a.registration_id != 0) {
      absl::StrAppend(&out, " registration ", a.registration_id);
    } else {
      absl::StrAppend(&out, " vacant");
    }
  }
  return WithReason(std::move(out), a.reason);
}

std::string Text(const model::HubAction& a) {
  return WithReason(model::HubActionKindName(a.kind), a.reason);
}

std::string Text(const model::ContentAction& a) {
  std::string out = model::ContentActionKindName(a.kind);
  if (a.kind != model::ContentAction::Kind::kWipe) {
    absl::StrAppend(&out, " registration ", a.registration_id);
  }
  if (!a.workshop.empty()) absl::StrAppend(&out, " workshop '", a.workshop, "'");
  if (a.kind == model::ContentAction::Kind::kDeploy)
    absl::StrAppend(&out, " epoch ", a.reset_epoch);
  return WithReason(std::move(out), a.reason);
}

std::string Text(const model::ApplianceAction& a) {
  std::string out =
      absl::StrCat(model::ApplianceActionKindName(a.kind), " container '", a.ContainerName(), "'");
  if (a.kind == model::ApplianceAction::Kind::kCreate) {
    absl::StrAppend(&out, " image '", a.image, "' registration ", a.registration_id, " epoch ",
                    a.epoch);
    for (const auto& p : a.ports) absl::StrAppend(&out, " port ", p.host, "->", p.container);
  }
  return WithReason(std::move(out), a.reason);
}

}  // namespace

LocationPlan PlanLocation(const DesiredState& desired_in, const ObservedLocation& observed,
                          const model::AccountPolicy& policy) {
  LocationPlan plan;
  const std::map<int, int64_t> previous =
      PreviousOccupants(desired_in, observed.accounts ? &*observed.accounts : nullptr,
                        observed.content ? &*observed.content : nullptr);
  const DesiredState desired = PlanTurnoverAsVacant(desired_in, previous);
  for (const auto& [seat, reg] : previous) {
    const model::Seat* s = desired_in.FindSeat(seat);
    if (s != nullptr && s->registration_id) plan.changing_hands.insert(seat);
  }
  if (observed.accounts) {
    plan.accounts = PlanAccounts(desired, *observed.accounts, policy);
    for (const auto& f : observed.accounts->foreign) {
      plan.foreign.push_back(
          absl::StrCat("accounts: user '", f.name, "' uid ", f.uid, " (", f.reason, ")"));
    }
  }
  if (observed.content) plan.content = PlanContent(desired, *observed.content);
  if (observed.hub) {
    plan.hub = PlanHub(desired, *observed.hub);
    for (const auto& name : observed.hub->foreign) {
      plan.foreign.push_back(absl::StrCat("hub: user '", name, "'"));
    }
  }
  if (observed.appliances) plan.appliances = PlanAppliances(desired, *observed.appliances);
  return plan;
}

bool SeatStepsGoUp(const DesiredState& desired, const LocationPlan& plan, int seat) {
  const model::Seat* s = desired.FindSeat(seat);
  if (s == nullptr) return false;
  if (s->registration_id && !plan.changing_hands.count(seat)) return true;
  for (const auto& a : plan.accounts.actions) {
    if (a.seat == seat && a.kind == model::AccountAction::Kind::kCreate) return true;
  }
  return false;
}

std::vector<PlanLine> OrderedPlanLines(const DesiredState& desired, const LocationPlan& plan) {
  // seat -> domain -> lines, each domain's lines in the planner's order.
  std::map<int, std::array<std::vector<std::string>, kDomains>> by_seat;
  for (const auto& a : plan.accounts.actions) by_seat[a.seat][kAccounts].push_back(Text(a));
  for (const auto& a : plan.content.actions) by_seat[a.seat][kContent].push_back(Text(a));
  for (const auto& a : plan.hub) by_seat[a.seat][kHub].push_back(Text(a));
  for (const auto& a : plan.appliances.actions) by_seat[a.seat][kAppliances].push_back(Text(a));

  static constexpr Domain kUp[] = {kAccounts, kContent, kHub, kAppliances};
  static constexpr Domain kDown[] = {kAppliances, kHub, kContent, kAccounts};
  std::vector<PlanLine> out;
  for (const auto& [seat, domains] : by_seat) {
    const Domain* order = SeatStepsGoUp(desired, plan, seat) ? kUp : kDown;
    for (int i = 0; i < kDomains; ++i) {
      for (const auto& text : domains[order[i]])
        out.push_back({seat, kDomainNames[order[i]], text});
    }
  }
  return out;
}

std::string PlanText(const DesiredState& desired, const LocationPlan& plan) {
  std::string out;
  for (const PlanLine& l : OrderedPlanLines(desired, plan)) {
    absl::StrAppend(&out, "seat ", l.seat, " ", l.domain, " ", l.text, "\n");
  }
  if (out.empty()) out = "converged\n";
  std::vector<SeatProblem> problems = plan.accounts.problems;
  problems.insert(problems.end(), plan.content.problems.begin(), plan.content.problems.end());
  problems.insert(problems.end(), plan.appliances.problems.begin(), plan.appliances.problems.end());
  std::stable_sort(problems.begin(), problems.end(),
                   [](const SeatProblem& a, const SeatProblem& b) { return a.seat < b.seat; });
  for (const auto& p : problems) {
    absl::StrAppend(&out, "problem seat ", p.seat, " ", p.domain, " ", p.reason, ": ", p.message,
                    "\n");
  }
  for (const auto& f : plan.foreign) absl::StrAppend(&out, "foreign ", f, "\n");
  return out;
}

}  // namespace wod::reconcilers
