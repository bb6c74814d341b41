#include "controller/controller.h"

#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <future>
#include <thread>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "model/content.h"
#include "reconcilers/pass_plan.h"

namespace wod::controller {
namespace {

using model::Domain;
using reconcilers::DesiredState;
using reconcilers::PassObservation;
using reconcilers::PassPlan;
using reconcilers::SeatOutcome;
using reconcilers::SeatSteps;

// What identifies one difference across passes. Objects outside any seat (seat 0: foreign
// users, unobservable domains) share their planned action, so their observation tells them
// apart.
std::tuple<int, std::string, std::string> DriftKey(const store::DriftEntry& d) {
  return {d.seat, d.domain, d.seat == 0 ? absl::StrCat(d.planned, "\n", d.observed) : d.planned};
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
  std::mutex status_mu;                      // guards written and live_progress (workers)
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
  // The drift report last stored, and under which lease epoch (none yet: unset).
  std::vector<store::DriftEntry> stored_drift;
  std::optional<int64_t> stored_drift_epoch;
  const std::atomic<bool>* stop = nullptr;  // Run's stop flag, checked before each seat
  std::mutex renew_mu;
  absl::Time renewed = absl::InfinitePast();  // last time the lease was taken or renewed
  int64_t held_epoch = 0;  // the epoch this controller holds, 0 = none (under renew_mu)
  int64_t lost_epoch = 0;  // an epoch found lost: never renewed again (under renew_mu)

  // Renews the lease when a third of its TTL has passed since the last renewal, so a long
  // pass keeps it (the heartbeat of Run and each seat's start call this). False when it is
  // lost (another holder, or a new epoch), or when the store cannot be reached for longer
  // than the TTL: start no more seats then. A released lease is never taken again here.
  bool RenewIfDue(int64_t epoch) {
    std::lock_guard<std::mutex> lock(renew_mu);
    if (epoch == 0 || epoch == lost_epoch) return false;
    if (epoch != held_epoch) return false;  // released meanwhile
    const absl::Time now = clock->Now();
    if (now - renewed < options.lease_ttl / 3) return true;
    auto lease = store->AcquireLease(lease_name, options.holder, options.lease_ttl, now);
    if (!lease.ok()) {
      if (lease.status().code() != absl::StatusCode::kFailedPrecondition) {
        WOD_LOG(kWarning, "controller", "renewing lease: {}",
                std::string(lease.status().message()));
        if (now < renewed + options.lease_ttl) return true;
      }
      lost_epoch = epoch;
      return false;
    }
    if (lease->epoch != epoch) {
      lost_epoch = epoch;
      return false;
    }
    renewed = now;
    return true;
  }

  void SetHeld(int64_t epoch, absl::Time now) {
    std::lock_guard<std::mutex> lock(renew_mu);
    held_epoch = epoch;
    renewed = now;
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
      if (c.type == model::ConditionTypeOf(Domain::kContent)) {
        content_ready = c.status == model::ConditionStatus::kTrue;
      }
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

  // Step 1: the desired state of this location, in one read of each table it needs (the
  // seats alone: the plan needs no occupant's row).
  absl::StatusOr<DesiredState> LoadDesired() {
    ASSIGN_OR_RETURN(auto seats, store->ListLocationSeats(options.location));
    ASSIGN_OR_RETURN(auto workshops, store->ListWorkshops());
    ASSIGN_OR_RETURN(auto locations, store->ListLocations());
    DesiredState desired;
    desired.location.name = options.location;
    for (const auto& l : locations) {
      if (l.name == options.location) desired.location = l;
    }
    for (auto& w : workshops) {
      if (!options.content_root.empty()) {
        w.content_dir = absl::StrCat(options.content_root, "/", w.id);
      }
      desired.workshops.emplace(w.id, std::move(w));
    }
    desired.seats = std::move(seats);
    std::sort(desired.seats.begin(), desired.seats.end(),
              [](const model::Seat& a, const model::Seat& b) { return a.number < b.number; });
    for (const auto& seat : desired.seats) {
      if (!seat.registration_id) continue;
      const model::Workshop* w = desired.WorkshopOf(seat);
      if (w == nullptr) continue;
      desired.variables[seat.number] = model::SeatVariables(
          *w, desired.location, seat.number, seat.password, options.operator_variables);
    }
    return desired;
  }

  // Step 2b: which of the registrations whose content was found on a seat they no longer
  // occupy were purged (their content is wiped without a harvest). Read after observing and
  // before planning, so the plan reads nothing; a pass with no stale content reads nothing.
  absl::Status LoadPurged(const PassObservation& observed, DesiredState& desired) {
    if (!observed.content.observed.ok()) return absl::OkStatus();
    std::vector<int64_t> stale;
    for (const auto& c : observed.content.observed->seats) {
      if (!c.deployed()) continue;
      const model::Seat* seat = desired.FindSeat(c.seat);
      if (seat != nullptr && seat->registration_id == c.registration_id) continue;
      stale.push_back(c.registration_id);
    }
    if (stale.empty()) return absl::OkStatus();
    ASSIGN_OR_RETURN(auto registrations, store->ListRegistrationsByIds(stale));
    for (const auto& r : registrations) {
      if (r.state == model::RegistrationState::kFailed) desired.purged_registrations.insert(r.id);
    }
    return absl::OkStatus();
  }

  // Step 2: every domain at once; one failing does not stop the others. Each that cannot be
  // observed is said once per pass at WARN: a controller that cannot see must not look calm.
  PassObservation Observe(const DesiredState& desired) {
    PassObservation o;
    auto accounts = std::async(std::launch::async, [&] {
      // The driver reports which seats' passwords are already set (it caches the checks).
      model::DesiredPasswords passwords;
      for (const auto& seat : desired.seats) passwords.emplace(seat.number, seat.password);
      return drivers.accounts->Observe(passwords);
    });
    auto content = std::async(std::launch::async, [&] { return drivers.content->Observe(); });
    o.hub.managed = drivers.hub != nullptr;
    o.appliances.managed = drivers.appliances != nullptr;
    if (o.hub.managed) o.hub.observed = drivers.hub->Observe();
    if (o.appliances.managed) o.appliances.observed = drivers.appliances->Observe();
    o.accounts.observed = accounts.get();
    o.content.observed = content.get();
    for (Domain d : model::kAllDomains) {
      if (auto why = o.Unobservable(d)) {
        WOD_LOG(kWarning, "controller", "location '{}': cannot observe {}: {}", options.location,
                model::DomainName(d), *why);
      }
    }
    return o;
  }

  // The plan's drift rows with the time each was first seen ("since" survives a restart, and
  // `wod drift --live` agrees with the stored report: rows it already shows keep their time).
  std::vector<store::DriftEntry> DatedDrift(const PassPlan& plan, absl::Time now) {
    std::lock_guard<std::mutex> lock(drift_mu);
    if (!loaded_drift) {
      loaded_drift = true;
      if (auto stored = store->ListDrift(options.location); stored.ok()) {
        for (const auto& d : *stored) drift_since.try_emplace(DriftKey(d), d.since);
      }
    }
    std::map<std::tuple<int, std::string, std::string>, absl::Time> since;
    std::vector<store::DriftEntry> drift = plan.drift;
    for (auto& d : drift) {
      auto key = DriftKey(d);
      auto it = drift_since.find(key);
      d.since = it == drift_since.end() ? now : it->second;
      since[key] = d.since;
    }
    drift_since = std::move(since);
    last_drift = drift;
    return drift;
  }

  void LoadStatusOnce() {
    if (loaded_status) return;
    if (auto existing = store->ListSeatStatus(options.location); existing.ok()) {
      written.clear();
      for (auto& s : *existing) written[s.number] = std::move(s);
    }
    loaded_status = true;
  }

  // The status of a seat after this pass, with the live progress of its home. Callers hold
  // status_mu.
  model::SeatStatus StatusOf(const model::Seat& seat, const PassPlan& plan,
                             const SeatOutcome& outcome,
                             const absl::StatusOr<model::ObservedContent>& content,
                             absl::Time now) {
    auto prev = written.find(seat.number);
    const model::SeatStatus* previous = prev == written.end() ? nullptr : &prev->second;
    model::SeatStatus st =
        reconcilers::SeatStatusOf(options.location, seat, plan, outcome, previous, now);
    SetLiveProgress(seat, content, st, previous);
    return st;
  }

  // Writes what a seat's steps did (their events) and, when it says something new, the seat's
  // status, in one store write: a handover costs one commit, not one per step. Aborted: the
  // lease is lost. Callers hold status_mu.
  absl::Status PutOutcome(const std::vector<store::Event>& events,
                          std::optional<model::SeatStatus> st, absl::Time now, int64_t epoch) {
    if (st) {
      auto prev = written.find(st->number);
      if (prev != written.end()) {
        // Compared in place, the update time aside (no copies of 2,000 statuses with their
        // conditions and progress per pass).
        st->updated = prev->second.updated;
        if (*st == prev->second) st.reset();  // nothing new to say
      }
    }
    if (!st && events.empty()) return absl::OkStatus();
    if (st) st->updated = now;
    absl::Status ws = store->RecordSeatOutcome(events, st ? &*st : nullptr, lease_name, epoch);
    if (ws.code() == absl::StatusCode::kAborted) return ws;
    if (!ws.ok()) {
      WOD_LOG(kWarning, "controller", "recording the outcome of seat {}: {}",
              st ? st->number : events.front().seat.value_or(0), std::string(ws.message()));
      return absl::OkStatus();
    }
    if (st) {
      const int n = st->number;
      written[n] = std::move(*st);
    }
    return absl::OkStatus();
  }

  absl::Status PutStatus(model::SeatStatus st, absl::Time now, int64_t epoch) {
    return PutOutcome({}, std::move(st), now, epoch);
  }

  // Records the outcome of one step: a log line now, and an event the seat's outcome stores
  // with its status (PutOutcome).
  void RecordStep(int seat, const reconcilers::Step& step, const absl::Status& s,
                  std::vector<store::Event>* events) {
    store::Event ev;
    ev.time = clock->Now();
    ev.location = options.location;
    ev.seat = seat;
    ev.kind = absl::StrCat(model::DomainName(step.domain), ".", step.KindName());
    ev.reason = step.Reason();
    ev.message = s.ok() ? "done" : std::string(s.message());
    events->push_back(std::move(ev));
    if (s.ok()) {
      WOD_LOG(kInfo, "controller", "seat {}: {}", seat, step.Describe());
    } else {
      WOD_LOG(kWarning, "controller", "seat {}: {} failed: {}", seat, step.Describe(),
              std::string(s.message()));
    }
  }

  // Runs one seat's steps in order, stopping at the first failure. Consecutive account steps
  // go to the driver together: it may carry out several in one command (the marker and the
  // unlock that hand a warm seat over); each is still logged as soon as it took effect, and
  // its event joins `events`, which the seat's outcome stores in one write.
  SeatOutcome RunSeat(const SeatSteps& seat, int* harvests, std::vector<store::Event>* events) {
    SeatOutcome out;
    out.run = SeatOutcome::Run::kRan;
    const auto& steps = seat.steps;
    for (size_t k = 0; k < steps.size();) {
      if (steps[k].domain != Domain::kAccounts) {
        absl::Status s = Execute(steps[k], harvests);
        RecordStep(seat.seat, steps[k], s, events);
        if (!s.ok()) {
          out.error = s;
          return out;
        }
        ++out.done;
        ++k;
        continue;
      }
      std::vector<model::AccountAction> series;
      for (size_t j = k; j < steps.size() && steps[j].domain == Domain::kAccounts; ++j) {
        series.push_back(std::get<model::AccountAction>(steps[j].action));
      }
      const auto r = drivers.accounts->ApplySeries(series, [&](size_t i) {
        RecordStep(seat.seat, steps[k + i], absl::OkStatus(), events);
        ++out.done;
      });
      if (!r.error.ok() && r.done < series.size()) {
        RecordStep(seat.seat, steps[k + r.done], r.error, events);
        out.error = r.error;
        return out;
      }
      k += series.size();
    }
    return out;
  }

  // Runs a content, hub or appliance step; account steps go to ApplySeries in RunSeat.
  absl::Status Execute(const reconcilers::Step& step, int* harvests) {
    switch (step.domain) {
      case Domain::kHub:
        if (drivers.hub == nullptr) {
          return absl::FailedPreconditionError("this controller runs no hub");
        }
        return drivers.hub->Apply(std::get<model::HubAction>(step.action));
      case Domain::kAppliances:
        if (drivers.appliances == nullptr) {
          return absl::FailedPreconditionError("this controller runs no appliance driver");
        }
        return drivers.appliances->Apply(std::get<model::ApplianceAction>(step.action));
      case Domain::kContent: {
        const auto& a = std::get<model::ContentAction>(step.action);
        ASSIGN_OR_RETURN(auto r, drivers.content->Apply(a));
        if (a.kind == model::ContentAction::Kind::kHarvest && r.harvest) {
          // Stored before the wipe that follows, so a crash after the wipe cannot lose it. If
          // it cannot be stored, the seat's later steps (the wipe) do not run and the next pass
          // harvests again (the content driver keeps its harvest, so that is idempotent).
          ASSIGN_OR_RETURN(bool recorded,
                           store->RecordHarvest(a.registration_id, r.harvest->ProgressJson()));
          if (recorded) ++*harvests;
        }
        return absl::OkStatus();
      }
      case Domain::kAccounts:
        break;
    }
    return absl::InternalError(
        absl::StrCat("no step runner for domain '", model::DomainName(step.domain), "'"));
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
    // What participants of this location are told their user name is (its prefix differs
    // from other locations' where backends share a machine, or by the site's choice).
    store::LocationPatch patch;
    patch.user_prefix = impl_->options.account_policy.user_prefix;
    if (auto s = impl_->store->UpdateLocation(impl_->options.location, patch); !s.ok()) {
      WOD_LOG(kWarning, "controller", "recording the user prefix of location '{}': {}",
              impl_->options.location, std::string(s.status().message()));
    }
  }
  lease_epoch_ = lease->epoch;
  impl_->SetHeld(lease->epoch, impl_->clock->Now());
  return absl::OkStatus();
}

void Controller::ReleaseLease() {
  if (lease_epoch_ == 0) return;
  // Under renew_mu: a heartbeat renewal in flight must not take the released lease again.
  std::lock_guard<std::mutex> lock(impl_->renew_mu);
  impl_->held_epoch = 0;
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
  PassResult result;
  const absl::Time start = m.clock->Now();
  const absl::Time wall_start = absl::Now();

  // 1. Load the desired state of this location.
  ASSIGN_OR_RETURN(DesiredState desired, m.LoadDesired());
  result.seats = static_cast<int>(desired.seats.size());

  // 2. Observe every domain in bulk, then read which stale content belongs to purged
  // registrations.
  const absl::Time observe_start = absl::Now();
  const PassObservation observed = m.Observe(desired);
  result.observe_time = absl::Now() - observe_start;
  RETURN_IF_ERROR(m.LoadPurged(observed, desired));

  // 3. Plan: pure, the same function `wod drift --live` and the golden tests run.
  const absl::Time plan_start = absl::Now();
  const PassPlan plan = reconcilers::PlanPass(desired, observed, m.options.account_policy);
  result.plan_time = absl::Now() - plan_start;
  const std::vector<store::DriftEntry> drift = m.DatedDrift(plan, start);
  result.drift = static_cast<int>(drift.size());
  if (!apply) {
    result.total_time = absl::Now() - wall_start;
    return result;
  }

  // 4. Execute: seats in parallel (bounded), each seat's steps in order. A seat whose steps
  // all succeeded has its status written at once, so the first seats of a large pass turn
  // Ready while the others are still being set up.
  m.LoadStatusOnce();
  const absl::Time exec_start = absl::Now();
  const int64_t epoch = lease_epoch_;
  std::vector<const SeatSteps*> work;
  std::map<int, SeatOutcome> outcome;  // seats with steps
  for (const SeatSteps& s : plan.seats) {
    const model::Seat* seat = desired.FindSeat(s.seat);
    if (m.backoff.Ready(s.seat, seat ? seat->generation : 0, start)) {
      work.push_back(&s);
    } else {
      outcome[s.seat].run = SeatOutcome::Run::kWaiting;
      result.skipped_seats++;
    }
  }
  std::vector<SeatOutcome> ran(work.size());
  std::vector<char> started(work.size(), 0);
  std::atomic<int> harvests{0};
  std::atomic<size_t> next{0};
  std::atomic<bool> lease_lost{false};
  auto worker = [&] {
    for (size_t i = next++; i < work.size(); i = next++) {
      // After a stop request no seat starts its steps; those already started finish, so a
      // clean shutdown never leaves a seat between two of its steps. Fencing for the machine,
      // not only for the store: a controller that lost its lease starts no further seat.
      if (m.stop != nullptr && m.stop->load()) continue;
      if (lease_lost.load() || (epoch != 0 && !m.RenewIfDue(epoch))) {
        lease_lost.store(true);
        continue;
      }
      started[i] = 1;
      int h = 0;
      std::vector<store::Event> events;
      ran[i] = m.RunSeat(*work[i], &h, &events);
      harvests += h;
      const model::Seat* seat = desired.FindSeat(work[i]->seat);
      std::lock_guard<std::mutex> lock(m.status_mu);
      const absl::Time now = m.clock->Now();
      std::optional<model::SeatStatus> st;
      if (seat != nullptr && ran[i].error.ok()) {
        st = m.StatusOf(*seat, plan, ran[i], observed.content.observed, now);
      }
      if (m.PutOutcome(events, std::move(st), now, epoch).code() == absl::StatusCode::kAborted) {
        lease_lost.store(true);
      }
    }
  };
  const int threads =
      std::max(1, std::min<int>(m.options.concurrency, static_cast<int>(work.size())));
  std::vector<std::thread> pool;
  for (int i = 1; i < threads; ++i) pool.emplace_back(worker);
  worker();
  for (auto& t : pool) t.join();
  for (size_t i = 0; i < work.size(); ++i) {
    const int n = work[i]->seat;
    if (!started[i]) {
      result.skipped_seats++;
      continue;
    }
    const model::Seat* seat = desired.FindSeat(n);
    const int64_t generation = seat ? seat->generation : 0;
    outcome[n] = ran[i];
    result.actions += ran[i].done + (ran[i].error.ok() ? 0 : 1);
    if (ran[i].error.ok()) {
      m.backoff.Succeeded(n);
    } else {
      result.failures++;
      m.backoff.Failed(n, generation, ran[i].error, m.clock->Now());
    }
  }
  result.harvests = harvests.load();
  result.execute_time = absl::Now() - exec_start;
  if (lease_lost.load()) {
    return absl::AbortedError(
        absl::StrCat("lost lease '", m.lease_name, "' epoch ", epoch, " during the pass"));
  }

  // 5. Record: the status of every other seat (and of those that failed), written only when
  // it changed; the drift report; the pass statistics (fenced like the status).
  {
    std::lock_guard<std::mutex> lock(m.status_mu);
    const absl::Time now = m.clock->Now();
    for (const model::Seat& seat : desired.seats) {
      auto it = outcome.find(seat.number);
      SeatOutcome o = it == outcome.end() ? SeatOutcome{} : it->second;
      o.terminal = m.backoff.Terminal(seat.number, seat.generation);
      RETURN_IF_ERROR(
          m.PutStatus(m.StatusOf(seat, plan, o, observed.content.observed, now), now, epoch));
    }
  }
  // The drift report is written when it changed (or the epoch did): a quiet pass commits
  // only its statistics.
  if (m.stored_drift_epoch != epoch || m.stored_drift != drift) {
    if (auto ds = m.store->ReplaceDrift(m.options.location, drift, m.lease_name, epoch);
        !ds.ok() && ds.code() != absl::StatusCode::kUnimplemented) {
      if (ds.code() == absl::StatusCode::kAborted) return ds;
      WOD_LOG(kWarning, "controller", "writing drift: {}", std::string(ds.message()));
    } else if (ds.ok()) {
      m.stored_drift = drift;
      m.stored_drift_epoch = epoch;
    }
  }
  result.converged = plan.converged();
  result.total_time = absl::Now() - wall_start;
  if (auto ps = m.store->RecordPass(m.options.location, result.total_time, m.clock->Now(),
                                    m.lease_name, epoch);
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
  impl_->store->WaitForChange(absl::ZeroDuration(), opt.location);
  // The heartbeat keeps the lease while passes run: a pass's observe and plan stages renew
  // nothing themselves, a wake-up chains several passes, and the first pass of a large or
  // busy backend can take longer than the TTL (seen: 7 s under load with a 3 s TTL, and the
  // location counted as dead meanwhile). It renews only an epoch Run holds.
  std::mutex beat_mu;
  std::condition_variable beat_cv;
  bool beat_done = false;
  const absl::Duration tick =
      std::clamp(opt.lease_ttl / 6, absl::Milliseconds(10), absl::Seconds(1));
  std::thread heartbeat([&] {
    std::unique_lock<std::mutex> lock(beat_mu);
    while (!beat_cv.wait_for(lock, absl::ToChronoMicroseconds(tick), [&] { return beat_done; })) {
      int64_t epoch = 0;
      {
        std::lock_guard<std::mutex> held(impl_->renew_mu);
        epoch = impl_->held_epoch;
      }
      if (epoch != 0) impl_->RenewIfDue(epoch);
    }
  });
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
      impl_->SetHeld(0, absl::InfinitePast());
      absl::SleepFor(std::min(absl::Seconds(1), opt.lease_ttl / 3));
      continue;
    }
    announced_wait = false;
    for (int i = 0; i < opt.max_passes_per_wake && !stop.load(); ++i) {
      auto r = RunPass();
      if (!r.ok()) {
        WOD_LOG(kWarning, "controller", "pass failed: {}", std::string(r.status().message()));
        if (r.status().code() == absl::StatusCode::kAborted) {
          lease_epoch_ = 0;
          impl_->SetHeld(0, absl::InfinitePast());
        }
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
      if (impl_->store->WaitForChange(std::min(left, absl::Seconds(1)), opt.location)) break;
    }
  }
  {
    std::lock_guard<std::mutex> lock(beat_mu);
    beat_done = true;
  }
  beat_cv.notify_all();
  heartbeat.join();
  ReleaseLease();
  impl_->stop = nullptr;
  return absl::OkStatus();
}

}  // namespace wod::controller
