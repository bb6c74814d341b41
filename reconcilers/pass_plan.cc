#include "reconcilers/pass_plan.h"

#include <algorithm>
#include <set>

#include "absl/strings/str_cat.h"
#include "reconcilers/accounts_planner.h"
#include "reconcilers/appliances_planner.h"
#include "reconcilers/content_planner.h"
#include "reconcilers/hub_planner.h"

namespace wod::reconcilers {
namespace {

using model::Domain;

constexpr Domain kUpOrder[] = {Domain::kAccounts, Domain::kContent, Domain::kHub,
                               Domain::kAppliances};
constexpr Domain kDownOrder[] = {Domain::kAppliances, Domain::kHub, Domain::kContent,
                                 Domain::kAccounts};

int Index(Domain d) { return static_cast<int>(d); }

template <typename T>
const T* Observed(const DomainObservation<T>& o) {
  return o.managed && o.observed.ok() ? &*o.observed : nullptr;
}

// Without the accounts domain the marker is unknown: a seat not yet brought up for its
// occupant (no content or container of theirs) could still hold the previous occupant's home.
// Nothing of the new occupant goes there until a pass has seen the account: set-occupant runs
// before content and appliances on the way up, so anything of the occupant found later proves
// the handover was seen. What is already up for the occupant goes on converging.
std::set<int> HeldSeats(const DesiredState& desired, const model::ObservedContent* content,
                        const model::ObservedAppliances* appliances) {
  std::set<int> held;
  for (const auto& s : desired.seats) {
    if (!s.registration_id) continue;
    bool up_for_occupant = false;
    if (content != nullptr) {
      const model::ObservedSeatContent* c = content->Find(s.number);
      up_for_occupant = c != nullptr && c->deployed() && c->registration_id == *s.registration_id;
    }
    if (appliances != nullptr) {
      for (const auto& c : appliances->containers) {
        up_for_occupant =
            up_for_occupant || (c.seat == s.number && c.registration_id == *s.registration_id);
      }
    }
    if (!up_for_occupant) held.insert(s.number);
  }
  return held;
}

// Without the content domain nobody knows whether a home still holds notebooks to harvest: the
// accounts side of a vacate stops before its wipe (and the marker, cleared only after the wipe,
// keeps saying whose the home is), so the next pass harvests, then wipes. An account without a
// marker (made before markers) is not locked either: for it, being unlocked is what says the
// home still needs its wipe.
void KeepHomesForTheHarvest(std::vector<model::AccountAction>& actions,
                            const model::ObservedAccounts& accounts) {
  using Kind = model::AccountAction::Kind;
  std::set<int> unmarked_wipes;
  for (const auto& a : actions) {
    const model::ObservedAccount* observed = accounts.Find(a.seat);
    if (a.kind == Kind::kWipeHome && observed != nullptr && observed->occupant == 0) {
      unmarked_wipes.insert(a.seat);
    }
  }
  std::erase_if(actions, [&](const model::AccountAction& a) {
    return a.kind == Kind::kWipeHome || a.kind == Kind::kDelete ||
           (a.kind == Kind::kSetOccupant && a.registration_id == 0) ||
           (a.kind == Kind::kLock && unmarked_wipes.count(a.seat));
  });
}

std::string Expected(const DesiredState& desired, int seat) {
  const model::Seat* s = desired.FindSeat(seat);
  if (s == nullptr) return "no seat";
  if (s->registration_id) return absl::StrCat("occupied by registration ", *s->registration_id);
  return "vacant";
}

std::string WithReason(std::string text, const std::string& reason) {
  if (!reason.empty()) absl::StrAppend(&text, " (", reason, ")");
  return text;
}

// The plan's words for one action, without the seat (its line names it).
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
  if (a.kind == model::ContentAction::Kind::kDeploy) {
    absl::StrAppend(&out, " epoch ", a.reset_epoch);
  }
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

std::optional<std::string> PassObservation::Unobservable(model::Domain domain) const {
  auto why = [](const auto& o) -> std::optional<std::string> {
    if (!o.managed || o.observed.ok()) return std::nullopt;
    return std::string(o.observed.status().message());
  };
  switch (domain) {
    case Domain::kAccounts:
      return why(accounts);
    case Domain::kContent:
      return why(content);
    case Domain::kHub:
      return why(hub);
    case Domain::kAppliances:
      return why(appliances);
  }
  return std::nullopt;
}

int Step::Seat() const {
  return std::visit([](const auto& a) { return a.seat; }, action);
}
std::string Step::Describe() const {
  return std::visit([](const auto& a) { return a.Describe(); }, action);
}
std::string Step::Text() const {
  return std::visit([](const auto& a) { return reconcilers::Text(a); }, action);
}
std::string Step::Reason() const {
  return std::visit([](const auto& a) { return a.reason; }, action);
}
std::string Step::KindName() const {
  struct V {
    std::string operator()(const model::AccountAction& a) {
      return model::AccountActionKindName(a.kind);
    }
    std::string operator()(const model::ContentAction& a) {
      return model::ContentActionKindName(a.kind);
    }
    std::string operator()(const model::HubAction& a) { return model::HubActionKindName(a.kind); }
    std::string operator()(const model::ApplianceAction& a) {
      return model::ApplianceActionKindName(a.kind);
    }
  };
  return std::visit(V{}, action);
}

const SeatSteps* PassPlan::Find(int seat) const {
  auto it = std::lower_bound(seats.begin(), seats.end(), seat,
                             [](const SeatSteps& s, int n) { return s.seat < n; });
  return it != seats.end() && it->seat == seat ? &*it : nullptr;
}

int PassPlan::step_count() const {
  int n = 0;
  for (const auto& s : seats) n += static_cast<int>(s.steps.size());
  return n;
}

bool PassPlan::converged() const {
  return seats.empty() && problems.empty() &&
         std::none_of(unobservable.begin(), unobservable.end(),
                      [](const auto& u) { return u.has_value(); });
}

PassPlan PlanPass(const DesiredState& desired, const PassObservation& observed,
                  const model::AccountPolicy& policy) {
  PassPlan plan;
  const model::ObservedAccounts* accounts = Observed(observed.accounts);
  const model::ObservedContent* content = Observed(observed.content);
  const model::ObservedHub* hub = Observed(observed.hub);
  const model::ObservedAppliances* appliances = Observed(observed.appliances);
  plan.managed = {observed.accounts.managed, observed.content.managed, observed.hub.managed,
                  observed.appliances.managed};
  for (Domain d : model::kAllDomains) plan.unobservable[Index(d)] = observed.Unobservable(d);

  // A seat changes hands when the machine still holds something of another registration than
  // its occupant: the account's occupant marker, or the content manifest in the home. For this
  // pass it is planned as vacant in every domain (appliances and hub server down, harvest
  // unless purged, lock, kill, wipe, marker cleared last); the next pass, which no longer sees
  // the previous occupant, brings it up for the new one. The state planned against is
  // `desired` itself in the usual pass, a copy only when a seat changes hands (copying 2,000
  // seats cost ~8% of a no-op pass).
  plan.previous_occupants = PreviousOccupants(desired, accounts, content);
  std::optional<DesiredState> adjusted;
  if (!plan.previous_occupants.empty()) {
    adjusted = PlanTurnoverAsVacant(desired, plan.previous_occupants);
  }
  const DesiredState& effective = adjusted ? *adjusted : desired;

  std::vector<model::AccountAction> account_actions;
  std::vector<model::ContentAction> content_actions;
  std::vector<model::HubAction> hub_actions;
  std::vector<model::ApplianceAction> appliance_actions;
  if (accounts != nullptr) {
    AccountsPlan p = PlanAccounts(effective, *accounts, policy);
    account_actions = std::move(p.actions);
    plan.problems.insert(plan.problems.end(), p.problems.begin(), p.problems.end());
    plan.foreign_accounts = accounts->foreign;
  }
  if (content != nullptr) {
    ContentPlan p = PlanContent(effective, *content);
    content_actions = std::move(p.actions);
    plan.problems.insert(plan.problems.end(), p.problems.begin(), p.problems.end());
  }
  if (hub != nullptr) hub_actions = PlanHub(effective, *hub);
  if (appliances != nullptr) {
    AppliancesPlan p = PlanAppliances(effective, *appliances);
    appliance_actions = std::move(p.actions);
    plan.problems.insert(plan.problems.end(), p.problems.begin(), p.problems.end());
  }
  if (accounts == nullptr && observed.accounts.managed) {
    const std::set<int> held = HeldSeats(effective, content, appliances);
    std::erase_if(content_actions, [&](const auto& a) { return held.count(a.seat) > 0; });
    std::erase_if(appliance_actions, [&](const auto& a) { return held.count(a.seat) > 0; });
  }
  if (content == nullptr && observed.content.managed && accounts != nullptr) {
    KeepHomesForTheHarvest(account_actions, *accounts);
  }
  std::stable_sort(plan.problems.begin(), plan.problems.end(),
                   [](const SeatProblem& a, const SeatProblem& b) { return a.seat < b.seat; });

  // Each seat's steps in dependency order, each domain's in its planner's order.
  std::map<int, std::array<std::vector<Step>, model::kDomainCount>> grouped;
  for (auto& a : account_actions) {
    grouped[a.seat][Index(Domain::kAccounts)].push_back({Domain::kAccounts, std::move(a)});
  }
  for (auto& a : content_actions) {
    grouped[a.seat][Index(Domain::kContent)].push_back({Domain::kContent, std::move(a)});
  }
  for (auto& a : hub_actions) {
    grouped[a.seat][Index(Domain::kHub)].push_back({Domain::kHub, std::move(a)});
  }
  for (auto& a : appliance_actions) {
    grouped[a.seat][Index(Domain::kAppliances)].push_back({Domain::kAppliances, std::move(a)});
  }
  for (auto& [seat, by_domain] : grouped) {
    SeatSteps s;
    s.seat = seat;
    // A vacant seat whose account is being created (the warm pool on a fresh machine) goes up
    // too: its hub user needs the Linux account (PAM), and there is nothing older in its home
    // or on the hub to tear down first.
    const model::Seat* ds = effective.FindSeat(seat);
    s.up = ds != nullptr && ds->registration_id.has_value();
    for (const auto& st : by_domain[Index(Domain::kAccounts)]) {
      s.up = s.up ||
             std::get<model::AccountAction>(st.action).kind == model::AccountAction::Kind::kCreate;
    }
    for (Domain d : s.up ? kUpOrder : kDownOrder) {
      for (auto& st : by_domain[Index(d)]) s.steps.push_back(std::move(st));
    }
    plan.seats.push_back(std::move(s));
  }

  // Drift: the domains that could not be observed (the largest difference there is: nothing
  // of them is known), each seat's first step per domain, the problems, the foreign objects.
  const std::string& location = desired.location.name;
  for (Domain d : model::kAllDomains) {
    if (const auto& why = plan.unobservable[Index(d)]) {
      plan.drift.push_back({location,
                            0,
                            std::string(model::DomainName(d)),
                            "observable",
                            *why,
                            absl::StrCat("none (cannot observe: ", *why, ")"),
                            {}});
    }
  }
  for (const SeatSteps& s : plan.seats) {
    std::array<bool, model::kDomainCount> seen{};
    for (const Step& st : s.steps) {
      if (std::exchange(seen[Index(st.domain)], true)) continue;
      plan.drift.push_back({location,
                            s.seat,
                            std::string(model::DomainName(st.domain)),
                            Expected(desired, s.seat),
                            st.Reason(),
                            st.Describe(),
                            {}});
    }
  }
  for (const SeatProblem& p : plan.problems) {
    plan.drift.push_back({location,
                          p.seat,
                          p.domain,
                          "convergible",
                          p.message,
                          absl::StrCat("none (", p.reason, ")"),
                          {}});
  }
  for (const model::ForeignAccount& f : plan.foreign_accounts) {
    plan.drift.push_back({location,
                          0,
                          "accounts",
                          "no foreign user in the managed range",
                          absl::StrCat("user '", f.name, "' uid ", f.uid, ": ", f.reason),
                          "none (foreign)",
                          {}});
  }
  return plan;
}

std::string PassPlanText(const PassPlan& plan) {
  std::string out;
  for (const SeatSteps& s : plan.seats) {
    for (const Step& st : s.steps) {
      absl::StrAppend(&out, "seat ", s.seat, " ", model::DomainName(st.domain), " ", st.Text(),
                      "\n");
    }
  }
  if (out.empty()) {
    // Nothing to do is "converged" only when everything could be seen.
    const bool blind = std::any_of(plan.unobservable.begin(), plan.unobservable.end(),
                                   [](const auto& u) { return u.has_value(); });
    out = blind ? "no step planned\n" : "converged\n";
  }
  for (const SeatProblem& p : plan.problems) {
    absl::StrAppend(&out, "problem seat ", p.seat, " ", p.domain, " ", p.reason, ": ", p.message,
                    "\n");
  }
  for (const model::ForeignAccount& f : plan.foreign_accounts) {
    absl::StrAppend(&out, "foreign accounts: user '", f.name, "' uid ", f.uid, " (", f.reason,
                    ")\n");
  }
  for (Domain d : model::kAllDomains) {
    if (const auto& why = plan.unobservable[Index(d)]) {
      absl::StrAppend(&out, "cannot observe ", model::DomainName(d), ": ", *why, "\n");
    }
  }
  return out;
}

model::SeatStatus SeatStatusOf(const std::string& location, const model::Seat& seat,
                               const PassPlan& plan, const SeatOutcome& outcome,
                               const model::SeatStatus* previous, absl::Time now) {
  using model::ConditionStatus;
  const int n = seat.number;
  model::SeatStatus st;
  st.location = location;
  st.number = n;
  st.observed_generation = seat.generation;
  const SeatSteps* steps = plan.Find(n);
  const bool ran = outcome.run == SeatOutcome::Run::kRan && steps != nullptr;
  const bool applied = ran && outcome.error.ok() &&
                       outcome.done == static_cast<int>(steps->steps.size()) &&
                       !plan.previous_occupants.count(n);
  const Step* failed =
      ran && !outcome.error.ok() && outcome.done < static_cast<int>(steps->steps.size())
          ? &steps->steps[outcome.done]
          : nullptr;
  bool all_true = true;
  for (Domain d : model::kAllDomains) {
    model::Condition c;
    c.type = std::string(model::ConditionTypeOf(d));
    const SeatProblem* problem = nullptr;
    for (const SeatProblem& p : plan.problems) {
      if (p.seat == n && p.domain == model::DomainName(d)) {
        problem = &p;
        break;
      }
    }
    const Step* first = nullptr;
    if (steps != nullptr) {
      for (const Step& s : steps->steps) {
        if (s.domain == d) {
          first = &s;
          break;
        }
      }
    }
    if (!plan.managed[Index(d)]) {
      c.status = ConditionStatus::kTrue;
      c.reason = d == Domain::kHub ? "NoHub" : "NoApplianceDriver";
    } else if (const auto& why = plan.unobservable[Index(d)]) {
      c.status = ConditionStatus::kUnknown;
      c.reason = "ObserveFailed";
      c.message = *why;
    } else if (problem != nullptr) {
      c.status = ConditionStatus::kFalse;
      c.reason = problem->reason;
      c.message = problem->message;
    } else if (first != nullptr) {
      if (applied) {
        c.status = ConditionStatus::kTrue;
        c.reason = "Applied";
      } else if (failed != nullptr && failed->domain == d) {
        c.status = ConditionStatus::kFalse;
        c.reason = absl::StatusCodeToString(outcome.error.code());
        c.message = std::string(outcome.error.message());
      } else {
        c.status = ConditionStatus::kFalse;
        c.reason = outcome.run == SeatOutcome::Run::kWaiting ? "Backoff" : "Converging";
        c.message = first->Describe();
      }
    } else {
      c.status = ConditionStatus::kTrue;
      c.reason = "Converged";
    }
    all_true = all_true && c.status == ConditionStatus::kTrue;
    c.last_transition = now;
    if (previous != nullptr) {
      for (const auto& pc : previous->conditions) {
        if (pc.type == c.type && pc.status == c.status) c.last_transition = pc.last_transition;
      }
    }
    st.conditions.push_back(std::move(c));
  }
  if (outcome.terminal) {
    st.phase = model::Phase::kFailed;
  } else if (seat.registration_id) {
    st.phase = all_true ? model::Phase::kReady : model::Phase::kProvisioning;
  } else {
    st.phase = all_true ? model::Phase::kVacant : model::Phase::kVacating;
  }
  if (ran && !outcome.error.ok()) {
    st.last_error = std::string(outcome.error.message());
  } else if (previous != nullptr && !all_true) {
    st.last_error = previous->last_error;
  }
  return st;
}

}  // namespace wod::reconcilers
