// The plan of one reconcile pass of a location (DESIGN.md "The reconcile pass", step 3), and
// the status that follows from it. Pure: `PlanPass` turns the desired state and one
// observation of every domain into each seat's ordered steps with reasons, the seat problems,
// the foreign objects and the drift rows; `SeatStatusOf` turns a seat's plan and what
// happened when its steps ran into the status the controller writes. No I/O, clock or
// randomness: the controller, `wod drift --live` and the golden tests all run these.
#pragma once

#include <array>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/accounts.h"
#include "model/appliances.h"
#include "model/content.h"
#include "model/hub.h"
#include "model/status.h"
#include "reconcilers/desired.h"

namespace wod::reconcilers {

// What one domain's driver observed. `managed` false: this location runs no such domain (no
// hub, no appliance driver); it is neither planned nor drift, and its condition is True.
template <typename T>
struct DomainObservation {
  bool managed = true;
  absl::StatusOr<T> observed = absl::UnavailableError("not observed");
};

struct PassObservation {
  DomainObservation<model::ObservedAccounts> accounts;
  DomainObservation<model::ObservedContent> content;
  DomainObservation<model::ObservedHub> hub;
  DomainObservation<model::ObservedAppliances> appliances;

  // Why `domain` could not be observed (the driver's message), or nullopt when it was, or
  // when the location does not manage it.
  std::optional<std::string> Unobservable(model::Domain domain) const;
};

using AnyAction = std::variant<model::AccountAction, model::ContentAction, model::HubAction,
                               model::ApplianceAction>;

// One step of a seat: a domain's action.
struct Step {
  model::Domain domain = model::Domain::kAccounts;
  AnyAction action;

  int Seat() const;
  std::string Describe() const;  // "set-password seat 7 (occupant changed)": never a secret
  std::string Text() const;      // as in PassPlanText: "set-password (occupant changed)"
  std::string Reason() const;
  std::string KindName() const;  // "set-password"
};

// The steps of one seat in the order they run: account → content → hub → appliances on the
// way up (the seat is occupied and not changing hands, or its account is being created:
// the hub's PAM authenticator needs the Linux account), the reverse on the way down.
struct SeatSteps {
  int seat = 0;
  bool up = false;
  std::vector<Step> steps;
};

struct PassPlan {
  std::vector<SeatSteps> seats;  // seats with something to do, by number
  // Occupied seats planned as vacant this pass because the machine still holds something of
  // a previous registration (PreviousOccupants): seat -> that registration. Also vacant seats
  // and seats outside the pool that hold something of a registration.
  std::map<int, int64_t> previous_occupants;
  std::vector<SeatProblem> problems;  // by seat
  // Users in the managed uid range that are not ours: reported, never touched. (Hub users
  // that are not seats, admins and instructors, live there legitimately: not reported.)
  std::vector<model::ForeignAccount> foreign_accounts;
  // Per domain (model::Domain index): why it could not be observed; it is planned for no seat.
  std::array<std::optional<std::string>, model::kDomainCount> unobservable;
  // Per domain: whether the location runs it at all.
  std::array<bool, model::kDomainCount> managed = {true, true, true, true};
  // Every difference: each seat's first step per domain, each problem, each foreign object,
  // each domain that could not be observed. `location` is set; `since` is left to the caller,
  // which remembers when it first saw a row.
  std::vector<model::DriftEntry> drift;

  const SeatSteps* Find(int seat) const;
  int step_count() const;
  // Nothing to do, no problem, and every managed domain observed.
  bool converged() const;
};

PassPlan PlanPass(const DesiredState& desired, const PassObservation& observed,
                  const model::AccountPolicy& policy);

// The plan as stable text, for people and golden files: one line per step in execution order
// ("seat 2 content deploy registration 42 workshop 'WKSHP-A' epoch 0 (seat is occupied)"),
// "converged" alone when there is no step ("no step planned" when a domain could not be observed),
// then the problems, foreign objects and unobservable domains ("cannot observe accounts: <why>").
std::string PassPlanText(const PassPlan& plan);

// What happened to a seat's steps in this pass.
struct SeatOutcome {
  enum class Run {
    kNotRun,   // nothing planned, or not started (the controller is stopping)
    kWaiting,  // planned, held back by the seat's retry backoff
    kRan,      // its steps ran: `done` succeeded, then `error` (OK when all did)
  };
  Run run = Run::kNotRun;
  int done = 0;
  absl::Status error;
  bool terminal = false;  // the seat's retries gave up until its desired state changes
};

// The status of `seat` after this pass. A domain with nothing planned is True/Converged; one
// whose planned steps all succeeded this pass is True/Applied (each driver returns OK only once
// the effect is in place, and the planners plan a seat's whole way in one pass), except on a
// seat that changes hands, which this pass only vacated. A domain that could not be observed
// is Unknown/ObserveFailed; one with a problem False with the problem's reason; one whose
// step failed False with the error's code. `previous` (the last status written, or null)
// keeps transition times and the last error while the seat is not converged. Live progress is
// not set here (the controller adds what it observed in the home).
model::SeatStatus SeatStatusOf(const std::string& location, const model::Seat& seat,
                               const PassPlan& plan, const SeatOutcome& outcome,
                               const model::SeatStatus* previous, absl::Time now);

}  // namespace wod::reconcilers
