#include "controller/controller.h"

#include <unistd.h>

#include <algorithm>
#include <future>
#include <set>
#include <thread>
#include <variant>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "model/content.h"
#include "reconcilers/accounts_planner.h"
#include "reconcilers/appliances_planner.h"
#include "reconcilers/content_planner.h"
#include "reconcilers/hub_planner.h"

namespace wod::controller {
namespace {

using reconcilers::DesiredState;

constexpr const char* kDomainNames[] = {"accounts", "content", "hub", "appliances"};
constexpr const char* kConditionTypes[] = {"AccountReady", "ContentReady", "HubReady",
                                           "AppliancesReady"};
enum Domain { kAccounts = 0, kContent = 1, kHub = 2, kAppliances = 3, kDomains = 4 };

using AnyAction = std::variant<model::AccountAction, model::ContentAction, model::HubAction,
                               model::ApplianceAction>;

struct Step {
  Domain domain;
  AnyAction action;
};

struct SeatWork {
  int seat = 0;
  int64_t generation = 0;
  std::vector<Step> steps;
  // Outcome.
  int done = 0;
  absl::Status error;
  int failed_step = -1;
  bool not_started = false;   // skipped because the controller is stopping
  int harvests_recorded = 0;  // harvests newly stored by this seat's steps
};

std::string Describe(const AnyAction& a) {
  return std::visit([](const auto& x) { return x.Describe(); }, a);
}
std::string Reason(const AnyAction& a) {
  return std::visit([](const auto& x) { return x.reason; }, a);
}
int SeatOf(const AnyAction& a) {
  return std::visit([](const auto& x) { return x.seat; }, a);
}
std::string KindName(const AnyAction& a) {
  struct V {
    std::string operator()(const model::AccountAction& x) {
      return model::AccountActionKindName(x.kind);
    }
    std::string operator()(const model::ContentAction& x) {
      return model::ContentActionKindName(x.kind);
    }
    std::string operator()(const model::HubAction& x) { return model::HubActionKindName(x.kind); }
    std::string operator()(const model::ApplianceAction& x) {
      return model::ApplianceActionKindName(x.kind);
    }
  };
  return std::visit(V{}, a);
}

// What identifies one difference across passes. Objects outside any seat (seat 0: foreign
// users) share their planned action, so their observation tells them apart.
std::tuple<int, std::string, std::string> DriftKey(int seat, const std::string& domain,
                                                   const std::string& planned,
                                                   const std::string& observed) {
  return {seat, domain, seat == 0 ? absl::StrCat(planned, "\n", observed) : planned};
}

std::string DefaultHolder() {
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  return absl::StrCat(host, ":", getpid());
}

}  // namespace

struct Controller::Impl {
  store::Store* store;
  Drivers drivers;
  ControllerOptions options;
  common::Clock* clock;
  std::string lease_name;
  SeatBackoff backoff;
  std::map<int, store::SeatStatus> written;  // last status written per seat
  // The live progress last turned into JSON per seat, so a pass over unchanged homes compares
  // notebook counts instead of serializing 2,000 reports.
  struct LiveProgress {
    int64_t registration = 0;
    std::vector<model::NotebookProgress> notebooks;
    std::string json;
  };
  std::map<int, LiveProgress> live_progress;
  bool loaded_status = false;
  // (seat, domain, planned) -> first time seen, so drift carries "since".
  std::map<std::tuple<int, std::string, std::string>, absl::Time> drift_since;
  bool loaded_drift = false;  // drift_since seeded from the stored report
  mutable std::mutex drift_mu;
  std::vector<store::DriftEntry> last_drift;
  const std::atomic<bool>* stop = nullptr;  // Run's stop flag, checked before each seat
  std::mutex renew_mu;
  absl::Time renewed = absl::InfinitePast();  // last time the lease was taken or renewed

  // Renews the lease when a third of its TTL has passed since the last renewal, so a long
  // execute stage keeps it. False when it is lost (another holder, or a new epoch), or when
  // the store cannot be reached for longer than the TTL: start no more seats then.
  bool RenewIfDue(int64_t epoch) {
    std::lock_guard<std::mutex> lock(renew_mu);
    const absl::Time now = clock->Now();
    if (now - renewed < options.lease_ttl / 3) return true;
    auto lease = store->AcquireLease(lease_name, options.holder, options.lease_ttl, now);
    if (!lease.ok()) {
      if (lease.status().code() == absl::StatusCode::kFailedPrecondition) return false;
      WOD_LOG(kWarning, "controller", "renewing lease: {}", std::string(lease.status().message()));
      return now < renewed + options.lease_ttl;
    }
    if (lease->epoch != epoch) return false;
    renewed = now;
    return true;
  }

  // The live progress of an occupied seat whose content is Ready: the notebooks the content
  // driver observed in the home (it re-reads a notebook only when its stamp changed), for the
  // registration the manifest names, which must be the occupant. While the content is not
  // Ready (converging, not observed) the last progress of the same occupant stays; a vacant
  // seat or another occupant has none.
  void SetLiveProgress(const model::Seat& seat,
                       const absl::StatusOr<model::ObservedContent>& content, store::SeatStatus& st,
                       const store::SeatStatus* prev) {
    const int n = seat.number;
    if (!seat.registration_id) {
      live_progress.erase(n);
      return;
    }
    const int64_t occupant = *seat.registration_id;
    bool content_ready = false;
    for (const auto& c : st.conditions) {
      if (c.type == kConditionTypes[kContent]) content_ready = c.status == "True";
    }
    const model::ObservedSeatContent* observed = content.ok() ? content->Find(n) : nullptr;
    if (!content_ready || observed == nullptr || !observed->deployed() ||
        observed->registration_id != occupant) {
      if (prev != nullptr && prev->progress_registration == occupant) {
        st.progress_registration = occupant;
        st.progress_json = prev->progress_json;
        st.last_activity = prev->last_activity;
      }
      return;
    }
    LiveProgress& live = live_progress[n];
    if (live.json.empty() || live.registration != occupant ||
        live.notebooks != observed->notebooks) {
      live.registration = occupant;
      live.notebooks = observed->notebooks;
      live.json = model::ProgressReportToJson(live.notebooks).dump();
    }
    st.progress_registration = occupant;
    st.progress_json = live.json;
    if (observed->last_modified != absl::InfinitePast()) {
      st.last_activity = absl::FromUnixMicros(absl::ToUnixMicros(observed->last_modified));
    }
  }

  Impl(store::Store* s, Drivers d, ControllerOptions o, common::Clock* c)
      : store(s),
        drivers(d),
        options(std::move(o)),
        clock(c),
        lease_name("controller/" + options.location),
        backoff(options.backoff, options.jitter) {}

  // Runs a content, hub or appliance step; account steps go to ApplySeries in the worker.
  absl::Status Execute(const Step& step, SeatWork& work) {
    switch (step.domain) {
      case kHub:
        if (drivers.hub == nullptr)
          return absl::FailedPreconditionError("this controller runs no hub");
        return drivers.hub->Apply(std::get<model::HubAction>(step.action));
      case kAppliances:
        if (drivers.appliances == nullptr) {
          return absl::FailedPreconditionError("this controller runs no appliance driver");
        }
        return drivers.appliances->Apply(std::get<model::ApplianceAction>(step.action));
      case kContent: {
        const auto& a = std::get<model::ContentAction>(step.action);
        auto r = drivers.content->Apply(a);
        if (!r.ok()) return r.status();
        if (a.kind == model::ContentAction::Kind::kHarvest && r->harvest) {
          // Stored before the wipe that follows, so a crash after the wipe cannot lose it. If
          // it cannot be stored, the seat's later steps (the wipe) do not run and the next pass
          // harvests again (the content driver keeps its harvest, so that is idempotent).
          ASSIGN_OR_RETURN(bool recorded,
                           store->RecordHarvest(a.registration_id, r->harvest->ProgressJson()));
          if (recorded) work.harvests_recorded++;
        }
        return absl::OkStatus();
      }
      default:
        return absl::InternalError(absl::StrCat("no step runner for domain ", step.domain));
    }
  }
};

Controller::Controller(store::Store* store, Drivers drivers, ControllerOptions options,
                       common::Clock* clock) {
  if (options.holder.empty()) options.holder = DefaultHolder();
  impl_ = std::make_unique<Impl>(store, drivers, std::move(options), clock);
}

Controller::~Controller() = default;

absl::Status Controller::AcquireLease() {
  auto lease = impl_->store->AcquireLease(impl_->lease_name, impl_->options.holder,
                                          impl_->options.lease_ttl, impl_->clock->Now());
  if (!lease.ok()) return lease.status();
  if (lease->epoch != lease_epoch_) {
    WOD_LOG(kInfo, "controller", "holding lease '{}' epoch {} as '{}'", impl_->lease_name,
            lease->epoch, impl_->options.holder);
    // A new epoch means another holder may have written status meanwhile: reload it.
    impl_->loaded_status = false;
  }
  lease_epoch_ = lease->epoch;
  {
    std::lock_guard<std::mutex> lock(impl_->renew_mu);
    impl_->renewed = impl_->clock->Now();
  }
  return absl::OkStatus();
}

void Controller::ReleaseLease() {
  if (lease_epoch_ == 0) return;
  auto s = impl_->store->ReleaseLease(impl_->lease_name, impl_->options.holder);
  if (!s.ok()) WOD_LOG(kWarning, "controller", "releasing lease: {}", std::string(s.message()));
  lease_epoch_ = 0;
}

std::vector<store::DriftEntry> Controller::last_drift() const {
  std::lock_guard<std::mutex> lock(impl_->drift_mu);
  return impl_->last_drift;
}

absl::StatusOr<PassResult> Controller::RunPass(bool apply) {
  Impl& m = *impl_;
  const ControllerOptions& opt = m.options;
  PassResult result;
  const absl::Time start = m.clock->Now();
  const absl::Time wall_start = absl::Now();

  // 1. Desired state of this location.
  auto seat_views = m.store->ListSeats(opt.location);
  if (!seat_views.ok()) return seat_views.status();
  auto workshops = m.store->ListWorkshops();
  if (!workshops.ok()) return workshops.status();
  auto locations = m.store->ListLocations();
  if (!locations.ok()) return locations.status();

  DesiredState desired;
  desired.location.name = opt.location;
  for (const auto& l : *locations) {
    if (l.name == opt.location) desired.location = l;
  }
  for (auto& w : *workshops) {
    if (!opt.content_root.empty()) w.content_dir = absl::StrCat(opt.content_root, "/", w.id);
    desired.workshops.emplace(w.id, std::move(w));
  }
  std::map<int, int64_t> occupant;  // seat -> registration
  for (const auto& v : *seat_views) {
    desired.seats.push_back(v.seat);
    if (v.seat.registration_id) occupant[v.seat.number] = *v.seat.registration_id;
  }
  std::sort(desired.seats.begin(), desired.seats.end(),
            [](const model::Seat& a, const model::Seat& b) { return a.number < b.number; });
  for (const auto& seat : desired.seats) {
    if (!seat.registration_id) continue;
    const model::Workshop* w = desired.WorkshopOf(seat);
    if (w == nullptr) continue;
    desired.variables[seat.number] = model::SeatVariables(*w, desired.location, seat.number,
                                                          seat.password, opt.operator_variables);
  }
  result.seats = static_cast<int>(desired.seats.size());

  // 2. Observe every domain at once; one failing does not stop the others.
  const absl::Time observe_start = absl::Now();
  auto accounts_f = std::async(std::launch::async, [&] {
    // The driver reports which seats' passwords are already set (it caches the checks).
    model::DesiredPasswords passwords;
    for (const auto& seat : desired.seats) passwords.emplace(seat.number, seat.password);
    return m.drivers.accounts->Observe(passwords);
  });
  auto hub_f = std::async(std::launch::async, [&]() -> absl::StatusOr<model::ObservedHub> {
    if (m.drivers.hub == nullptr) return model::ObservedHub{};
    return m.drivers.hub->Observe();
  });
  auto content_f = std::async(std::launch::async, [&] { return m.drivers.content->Observe(); });
  absl::StatusOr<model::ObservedAppliances> appliances = model::ObservedAppliances{};
  if (m.drivers.appliances != nullptr) appliances = m.drivers.appliances->Observe();
  absl::StatusOr<model::ObservedAccounts> accounts = accounts_f.get();
  absl::StatusOr<model::ObservedHub> hub = hub_f.get();
  absl::StatusOr<model::ObservedContent> content = content_f.get();
  result.observe_time = absl::Now() - observe_start;
  absl::Status observe_error[kDomains] = {accounts.status(), content.status(), hub.status(),
                                          appliances.status()};

  // 3. Plan. A seat changes hands when the machine still holds something of another
  // registration than its occupant: the account's occupant marker, or the content manifest in
  // the home. For this pass it is planned as vacant in every domain (appliances and hub server
  // down, harvest unless purged, lock, kill, wipe, marker cleared last); the next pass, which
  // no longer sees the previous occupant, brings it up for the new one.
  const absl::Time plan_start = absl::Now();
  const std::map<int, int64_t> previous = reconcilers::PreviousOccupants(
      desired, accounts.ok() ? &*accounts : nullptr, content.ok() ? &*content : nullptr);
  // The state planned against: `desired` itself in the usual pass, a copy only when a seat
  // changes hands or purged content is found (copying 2,000 seats cost ~8% of a no-op pass).
  std::optional<DesiredState> adjusted;
  if (!previous.empty()) adjusted = reconcilers::PlanTurnoverAsVacant(desired, previous);
  {
    // Content of a purged registration is wiped without a harvest, wherever it is found.
    std::set<int64_t> others;
    for (const auto& [seat, reg] : previous) others.insert(reg);
    if (content.ok()) {
      for (const auto& c : content->seats) {
        auto it = occupant.find(c.seat);
        if (c.deployed() && (it == occupant.end() || it->second != c.registration_id)) {
          others.insert(c.registration_id);
        }
      }
    }
    for (int64_t reg : others) {
      auto r = m.store->GetRegistration(reg);
      if (r.ok() && r->state == model::RegistrationState::kFailed &&
          !desired.purged_registrations.count(reg)) {
        if (!adjusted) adjusted = desired;
        adjusted->purged_registrations.insert(reg);
      }
    }
  }
  const DesiredState& effective = adjusted ? *adjusted : desired;
  std::map<int, std::vector<Step>> steps_by_seat;
  std::vector<reconcilers::SeatProblem> problems;
  std::map<std::pair<int, int>, std::string> first_action;  // (seat, domain) -> description
  auto add = [&](Domain d, AnyAction a) {
    int seat = SeatOf(a);
    first_action.try_emplace({seat, d}, Describe(a));
    steps_by_seat[seat].push_back({d, std::move(a)});
  };
  std::vector<Step> planned[kDomains];
  if (accounts.ok()) {
    auto plan = reconcilers::PlanAccounts(effective, *accounts, opt.account_policy);
    for (auto& a : plan.actions) planned[kAccounts].push_back({kAccounts, std::move(a)});
    problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
  }
  if (content.ok()) {
    auto plan = reconcilers::PlanContent(effective, *content);
    for (auto& a : plan.actions) planned[kContent].push_back({kContent, std::move(a)});
    problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
  }
  if (hub.ok() && m.drivers.hub != nullptr) {
    for (auto& a : reconcilers::PlanHub(effective, *hub)) planned[kHub].push_back({kHub, a});
  }
  if (appliances.ok()) {
    auto plan = reconcilers::PlanAppliances(effective, *appliances);
    for (auto& a : plan.actions) planned[kAppliances].push_back({kAppliances, std::move(a)});
    problems.insert(problems.end(), plan.problems.begin(), plan.problems.end());
  }
  // Without the accounts domain the marker is unknown: a seat not yet brought up for its
  // occupant (no content or container of theirs) could still hold the previous occupant's
  // home. Nothing of the new occupant goes there until a pass has seen the account: set-occupant
  // runs before content and appliances on the way up, so anything of the occupant found later
  // proves the handover was seen. What is already up for the occupant goes on converging.
  if (!accounts.ok()) {
    std::set<int> held;
    for (const auto& s : effective.seats) {
      if (!s.registration_id) continue;
      bool up_for_occupant = false;
      if (content.ok()) {
        const model::ObservedSeatContent* c = content->Find(s.number);
        up_for_occupant = c != nullptr && c->deployed() && c->registration_id == *s.registration_id;
      }
      if (appliances.ok()) {
        for (const auto& c : appliances->containers) {
          up_for_occupant =
              up_for_occupant || (c.seat == s.number && c.registration_id == *s.registration_id);
        }
      }
      if (!up_for_occupant) held.insert(s.number);
    }
    for (Domain d : {kContent, kAppliances}) {
      auto& steps = planned[d];
      steps.erase(std::remove_if(steps.begin(), steps.end(),
                                 [&](const Step& st) { return held.count(SeatOf(st.action)) > 0; }),
                  steps.end());
    }
  }
  // Without the content domain nobody knows whether a home still holds notebooks to harvest:
  // the accounts side of a vacate stops before its wipe (and the marker, cleared only after
  // the wipe, keeps saying whose the home is), so the next pass harvests, then wipes. An
  // account without a marker (made before markers) is not locked either: for it, being
  // unlocked is what says the home still needs its wipe.
  if (!content.ok() && accounts.ok()) {
    using Kind = model::AccountAction::Kind;
    std::set<int> unmarked_wipes;
    for (const auto& st : planned[kAccounts]) {
      const auto& a = std::get<model::AccountAction>(st.action);
      const model::ObservedAccount* observed = accounts->Find(a.seat);
      if (a.kind == Kind::kWipeHome && observed != nullptr && observed->occupant == 0) {
        unmarked_wipes.insert(a.seat);
      }
    }
    auto& steps = planned[kAccounts];
    steps.erase(std::remove_if(steps.begin(), steps.end(),
                               [&](const Step& st) {
                                 const auto& a = std::get<model::AccountAction>(st.action);
                                 return a.kind == Kind::kWipeHome || a.kind == Kind::kDelete ||
                                        (a.kind == Kind::kSetOccupant && a.registration_id == 0) ||
                                        (a.kind == Kind::kLock && unmarked_wipes.count(a.seat));
                               }),
                steps.end());
  }
  // Each seat's steps in dependency order: account → content → hub → appliances on the way
  // up, the reverse on the way down (a seat not occupied in `effective`, or not in the pool).
  std::set<int> up;
  for (const auto& s : effective.seats) {
    if (s.registration_id) up.insert(s.number);
  }
  static constexpr Domain kUpOrder[] = {kAccounts, kContent, kHub, kAppliances};
  static constexpr Domain kDownOrder[] = {kAppliances, kHub, kContent, kAccounts};
  std::map<int, std::map<Domain, std::vector<Step>>> grouped;
  for (auto& domain_steps : planned) {
    for (auto& s : domain_steps) grouped[SeatOf(s.action)][s.domain].push_back(std::move(s));
  }
  for (auto& [seat, by_domain] : grouped) {
    // A vacant seat whose account is being created (the warm pool on a fresh machine) goes
    // up too: its hub user needs the Linux account (PAM), and there is nothing older in its
    // home or on the hub to tear down first.
    bool creates_account = false;
    for (const auto& s : by_domain[kAccounts]) {
      creates_account = creates_account || std::get<model::AccountAction>(s.action).kind ==
                                               model::AccountAction::Kind::kCreate;
    }
    const Domain* order = up.count(seat) || creates_account ? kUpOrder : kDownOrder;
    for (int i = 0; i < kDomains; ++i) {
      for (auto& s : by_domain[order[i]]) add(s.domain, std::move(s.action));
    }
  }
  result.plan_time = absl::Now() - plan_start;

  // Drift: every planned difference, plus foreign objects (reported, never touched).
  std::vector<store::DriftEntry> drift;
  {
    std::lock_guard<std::mutex> lock(m.drift_mu);
    if (!m.loaded_drift) {
      // "since" survives a restart (and `wod drift --live` agrees with the stored report):
      // differences the stored report already shows keep their first time.
      m.loaded_drift = true;
      if (auto stored = m.store->ListDrift(opt.location); stored.ok()) {
        for (const auto& d : *stored) {
          m.drift_since.try_emplace(DriftKey(d.seat, d.domain, d.planned, d.observed), d.since);
        }
      }
    }
    std::map<std::tuple<int, std::string, std::string>, absl::Time> since;
    auto note = [&](int seat, const std::string& domain, std::string expected, std::string observed,
                    std::string planned_action) {
      auto key = DriftKey(seat, domain, planned_action, observed);
      auto it = m.drift_since.find(key);
      absl::Time t = it == m.drift_since.end() ? start : it->second;
      since[key] = t;
      drift.push_back({opt.location, seat, domain, std::move(expected), std::move(observed),
                       std::move(planned_action), t});
    };
    for (const auto& [seat, steps] : steps_by_seat) {
      std::set<Domain> seen;
      for (const auto& s : steps) {
        if (!seen.insert(s.domain).second) continue;
        const model::Seat* ds = desired.FindSeat(seat);
        std::string expected = ds == nullptr ? "no seat"
                               : ds->registration_id
                                   ? absl::StrCat("occupied by registration ", *ds->registration_id)
                                   : "vacant";
        note(seat, kDomainNames[s.domain], expected, Reason(s.action), Describe(s.action));
      }
    }
    for (const auto& p : problems) {
      note(p.seat, p.domain, "convergible", p.message, absl::StrCat("none (", p.reason, ")"));
    }
    if (accounts.ok()) {
      for (const auto& f : accounts->foreign) {
        note(0, "accounts", "no foreign user in the managed range",
             absl::StrCat("user '", f.name, "' uid ", f.uid, ": ", f.reason), "none (foreign)");
      }
    }
    if (hub.ok()) {
      for (const auto& name : hub->foreign) {
        (void)name;  // admins and instructors live here legitimately: not drift
      }
    }
    m.drift_since = std::move(since);
    m.last_drift = drift;
  }
  result.drift = static_cast<int>(drift.size());

  if (!apply) {
    result.total_time = absl::Now() - wall_start;
    return result;
  }

  // The status of a seat, from this pass's observation, plan and (when its steps ran) their
  // outcome. A domain whose planned steps all succeeded counts as True ("Applied"): each driver
  // returns OK only once the effect is in place, and the planners plan a seat's whole way to
  // its desired state in one pass, so the next pass plans nothing more for it (the convergence
  // test checks this) and says "Converged" when it has seen it. A seat that changes hands is
  // the exception: this pass only vacated it for its new occupant.
  if (!m.loaded_status) {
    auto existing = m.store->ListSeatStatus(opt.location);
    if (existing.ok()) {
      m.written.clear();
      for (auto& s : *existing) m.written[s.number] = std::move(s);
    }
    m.loaded_status = true;
  }
  std::map<std::pair<int, int>, const reconcilers::SeatProblem*> problem_of;
  for (const auto& p : problems) {
    for (int d = 0; d < kDomains; ++d) {
      if (p.domain == kDomainNames[d]) problem_of.try_emplace({p.seat, d}, &p);
    }
  }
  auto status_of = [&](const model::Seat& seat, const SeatWork* w, bool waiting, bool terminal,
                       absl::Time now) {
    const int n = seat.number;
    store::SeatStatus st;
    st.location = opt.location;
    st.number = n;
    st.observed_generation = seat.generation;
    const bool applied = w != nullptr && w->error.ok() &&
                         w->done == static_cast<int>(w->steps.size()) && !previous.count(n);
    bool all_true = true;
    for (int d = 0; d < kDomains; ++d) {
      store::Condition c;
      c.type = kConditionTypes[d];
      if (d == kAppliances && m.drivers.appliances == nullptr) {
        c.status = "True";
        c.reason = "NoApplianceDriver";
      } else if (d == kHub && m.drivers.hub == nullptr) {
        c.status = "True";
        c.reason = "NoHub";
      } else if (!observe_error[d].ok()) {
        c.status = "Unknown";
        c.reason = "ObserveFailed";
        c.message = std::string(observe_error[d].message());
      } else if (auto p = problem_of.find({n, d}); p != problem_of.end()) {
        c.status = "False";
        c.reason = p->second->reason;
        c.message = p->second->message;
      } else if (auto fa = first_action.find({n, d}); fa != first_action.end()) {
        if (applied) {
          c.status = "True";
          c.reason = "Applied";
        } else {
          c.status = "False";
          if (w != nullptr && !w->error.ok() && w->steps[w->failed_step].domain == d) {
            c.reason = absl::StatusCodeToString(w->error.code());
            c.message = std::string(w->error.message());
          } else {
            c.reason = waiting ? "Backoff" : "Converging";
            c.message = fa->second;
          }
        }
      } else {
        c.status = "True";
        c.reason = "Converged";
      }
      all_true = all_true && c.status == "True";
      st.conditions.push_back(std::move(c));
    }
    const bool occupied = seat.registration_id.has_value();
    if (terminal) {
      st.phase = "Failed";
    } else if (occupied) {
      st.phase = all_true ? "Ready" : "Provisioning";
    } else {
      st.phase = all_true ? "Vacant" : "Vacating";
    }
    auto prev = m.written.find(n);
    if (w != nullptr && !w->error.ok())
      st.last_error = std::string(w->error.message());
    else if (prev != m.written.end() && !all_true)
      st.last_error = prev->second.last_error;
    for (auto& c : st.conditions) {
      c.last_transition = now;
      if (prev == m.written.end()) continue;
      for (const auto& pc : prev->second.conditions) {
        if (pc.type == c.type && pc.status == c.status) c.last_transition = pc.last_transition;
      }
    }
    m.SetLiveProgress(seat, content, st, prev == m.written.end() ? nullptr : &prev->second);
    return st;
  };
  // Writes a seat's status when it says something new. Aborted: the lease is lost.
  std::mutex status_mu;  // m.written and m.live_progress, shared with the workers
  auto put_status = [&](store::SeatStatus st, absl::Time now) -> absl::Status {
    auto prev = m.written.find(st.number);
    if (prev != m.written.end()) {
      // Compared in place, the update time aside (no copies of 2,000 statuses with their
      // conditions and progress per pass).
      st.updated = prev->second.updated;
      if (st == prev->second) return absl::OkStatus();  // nothing new to say
    }
    st.updated = now;
    absl::Status ws = m.store->PutSeatStatus(st, m.lease_name, lease_epoch_);
    if (ws.code() == absl::StatusCode::kAborted) return ws;
    if (!ws.ok()) {
      WOD_LOG(kWarning, "controller", "writing status of seat {}: {}", st.number,
              std::string(ws.message()));
      return absl::OkStatus();
    }
    const int n = st.number;
    m.written[n] = std::move(st);
    return absl::OkStatus();
  };

  // 4. Execute: seats in parallel (bounded), each seat's steps in order, stopping at the
  // first failure of a seat. A seat whose steps all succeeded has its status written at once,
  // so the first seats of a large pass turn Ready while the others are still being set up.
  const absl::Time exec_start = absl::Now();
  std::map<int, int64_t> generation;
  for (const auto& s : desired.seats) generation[s.number] = s.generation;
  std::vector<SeatWork> work;
  for (auto& [seat, steps] : steps_by_seat) {
    int64_t gen = generation.count(seat) ? generation[seat] : 0;
    if (!m.backoff.Ready(seat, gen, start)) {
      result.skipped_seats++;
      continue;
    }
    SeatWork w;
    w.seat = seat;
    w.generation = gen;
    w.steps = std::move(steps);
    work.push_back(std::move(w));
  }
  std::atomic<size_t> next{0};
  const std::atomic<bool>* stop = m.stop;
  std::atomic<bool> lease_lost{false};
  const int64_t epoch = lease_epoch_;
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++) {
      SeatWork& w = work[i];
      // After a stop request no seat starts its actions; those already started finish, so a
      // seat is never left between two of its steps by a clean shutdown.
      if (stop != nullptr && stop->load()) {
        w.not_started = true;
        continue;
      }
      // Fencing for the machine, not only for the store: a controller that lost its lease
      // starts no further seat (the status writes after the pass would be refused anyway).
      if (lease_lost.load() || (epoch != 0 && !m.RenewIfDue(epoch))) {
        lease_lost.store(true);
        w.not_started = true;
        continue;
      }
      // Records the outcome of step k: an event and a log line; false when it failed.
      auto record = [&](size_t k, const absl::Status& s) {
        const Step& step = w.steps[k];
        store::Event ev;
        ev.time = m.clock->Now();
        ev.location = opt.location;
        ev.seat = w.seat;
        ev.kind = absl::StrCat(kDomainNames[step.domain], ".", KindName(step.action));
        ev.reason = Reason(step.action);
        ev.message = s.ok() ? "done" : std::string(s.message());
        if (auto e = m.store->AppendEvent(ev); !e.ok()) {
          WOD_LOG(kWarning, "controller", "recording event: {}", std::string(e.message()));
        }
        if (!s.ok()) {
          WOD_LOG(kWarning, "controller", "seat {}: {} failed: {}", w.seat, Describe(step.action),
                  std::string(s.message()));
          w.error = s;
          w.failed_step = static_cast<int>(k);
          return false;
        }
        WOD_LOG(kInfo, "controller", "seat {}: {}", w.seat, Describe(step.action));
        w.done++;
        return true;
      };
      for (size_t k = 0; k < w.steps.size();) {
        if (w.steps[k].domain != kAccounts) {
          if (!record(k, m.Execute(w.steps[k], w))) break;
          ++k;
          continue;
        }
        // The seat's next account steps go to the driver together: it may carry out several
        // in one command (the marker and the unlock that hand a warm seat over).
        std::vector<model::AccountAction> series;
        for (size_t j = k; j < w.steps.size() && w.steps[j].domain == kAccounts; ++j) {
          series.push_back(std::get<model::AccountAction>(w.steps[j].action));
        }
        const auto r = m.drivers.accounts->ApplySeries(
            series, [&](size_t i) { record(k + i, absl::OkStatus()); });
        if (!r.error.ok() && r.done < series.size()) {
          record(k + r.done, r.error);
          break;
        }
        k += series.size();
      }
      const model::Seat* seat = desired.FindSeat(w.seat);
      if (seat != nullptr && w.error.ok()) {
        std::lock_guard<std::mutex> lock(status_mu);
        const absl::Time now = m.clock->Now();
        if (put_status(status_of(*seat, &w, false, false, now), now).code() ==
            absl::StatusCode::kAborted) {
          lease_lost.store(true);
        }
      }
    }
  };
  int threads = std::max(1, std::min<int>(opt.concurrency, static_cast<int>(work.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();

  std::map<int, const SeatWork*> work_by_seat;
  std::set<int> not_started;
  for (const auto& w : work) {
    if (w.not_started) {
      result.skipped_seats++;
      not_started.insert(w.seat);
      continue;
    }
    work_by_seat[w.seat] = &w;
    result.actions += w.done + (w.error.ok() ? 0 : 1);
    if (!w.error.ok()) {
      result.failures++;
      m.backoff.Failed(w.seat, w.generation, w.error, m.clock->Now());
    } else {
      m.backoff.Succeeded(w.seat);
    }
    result.harvests += w.harvests_recorded;
  }
  result.execute_time = absl::Now() - exec_start;
  if (lease_lost.load()) {
    return absl::AbortedError(
        absl::StrCat("lost lease '", m.lease_name, "' epoch ", epoch, " during the pass"));
  }

  // 5. Status of every other seat (and of those that failed), written only when it changed.
  const absl::Time now = m.clock->Now();
  for (const auto& seat : desired.seats) {
    const int n = seat.number;
    auto wit = work_by_seat.find(n);
    const SeatWork* w = wit == work_by_seat.end() ? nullptr : wit->second;
    const bool waiting =
        steps_by_seat.count(n) && w == nullptr && !not_started.count(n);  // skipped by backoff
    RETURN_IF_ERROR(
        put_status(status_of(seat, w, waiting, m.backoff.Terminal(n, seat.generation), now), now));
  }
  if (auto ds = m.store->ReplaceDrift(opt.location, drift, m.lease_name, lease_epoch_);
      !ds.ok() && ds.code() != absl::StatusCode::kUnimplemented) {
    if (ds.code() == absl::StatusCode::kAborted) return ds;
    WOD_LOG(kWarning, "controller", "writing drift: {}", std::string(ds.message()));
  }

  result.converged = steps_by_seat.empty() && problems.empty() && accounts.ok() && hub.ok() &&
                     content.ok() && appliances.ok();
  result.total_time = absl::Now() - wall_start;
  // Pass statistics for /metrics (fenced like the status).
  if (auto ps = m.store->RecordPass(opt.location, result.total_time, m.clock->Now(), m.lease_name,
                                    lease_epoch_);
      !ps.ok() && ps.code() != absl::StatusCode::kUnimplemented) {
    if (ps.code() == absl::StatusCode::kAborted) return ps;
    WOD_LOG(kWarning, "controller", "recording pass statistics: {}", std::string(ps.message()));
  }
  return result;
}

std::string PassSummary(const PassResult& r) {
  return absl::StrCat("seats=", r.seats, " actions=", r.actions, " failures=", r.failures,
                      " skipped=", r.skipped_seats, " drift=", r.drift, " harvests=", r.harvests,
                      " converged=", r.converged ? "true" : "false",
                      " time=", absl::ToInt64Milliseconds(r.total_time), "ms");
}

absl::Status Controller::Run(const std::atomic<bool>& stop) {
  const ControllerOptions& opt = impl_->options;
  impl_->stop = &stop;
  // The store's first wait only reports changes made after it: take that baseline before the
  // first pass, so a registration made while that pass runs wakes the next one (it waited
  // for the resync before).
  impl_->store->WaitForChange(absl::ZeroDuration());
  bool announced_wait = false;
  std::string last_summary;  // a steady converged loop logs its summary once
  while (!stop.load()) {
    absl::Status lease = AcquireLease();
    if (!lease.ok()) {
      if (lease.code() != absl::StatusCode::kFailedPrecondition) {
        WOD_LOG(kWarning, "controller", "lease: {}", std::string(lease.message()));
      } else if (!announced_wait) {
        WOD_LOG(kInfo, "controller", "waiting for lease: {}", std::string(lease.message()));
        announced_wait = true;
      }
      lease_epoch_ = 0;
      absl::SleepFor(std::min(absl::Seconds(1), opt.lease_ttl / 3));
      continue;
    }
    announced_wait = false;
    for (int i = 0; i < opt.max_passes_per_wake && !stop.load(); ++i) {
      auto r = RunPass();
      if (!r.ok()) {
        WOD_LOG(kWarning, "controller", "pass failed: {}", std::string(r.status().message()));
        if (r.status().code() == absl::StatusCode::kAborted) lease_epoch_ = 0;
        last_summary.clear();
        break;
      }
      PassResult quiet = *r;
      quiet.total_time = absl::ZeroDuration();
      std::string summary = PassSummary(quiet);
      if (r->actions > 0 || summary != last_summary) {
        WOD_LOG(kInfo, "controller", "pass location={} epoch={} {}", opt.location, lease_epoch_,
                PassSummary(*r));
      } else {
        WOD_LOG(kDebug, "controller", "pass location={} epoch={} {}", opt.location, lease_epoch_,
                PassSummary(*r));
      }
      last_summary = summary;
      if (r->actions == 0 || r->actions == r->failures) break;
    }
    // Sleep until a change, a due retry, the lease renewal, or the resync period, waking at
    // least every second to notice `stop`.
    absl::Time now = impl_->clock->Now();
    absl::Time wake =
        std::min({now + opt.resync, impl_->backoff.EarliestRetry(), now + opt.lease_ttl / 3});
    while (!stop.load()) {
      absl::Duration left = wake - impl_->clock->Now();
      if (left <= absl::ZeroDuration()) break;
      if (impl_->store->WaitForChange(std::min(left, absl::Seconds(1)))) break;
    }
  }
  ReleaseLease();
  impl_->stop = nullptr;
  return absl::OkStatus();
}

}  // namespace wod::controller
