// The status vocabulary of a seat (DESIGN.md "Desired state vs status"): the domains a
// controller converges, the phase and conditions it reports per seat, the drift rows it
// reports per difference, and the one rule that says which phase a reader shows. Written by
// the controller (reconcilers::SeatStatusOf computes it), stored by the store, read by the API,
// the lifecycle and the dashboard. Pure value types.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "model/types.h"

namespace wod::model {

// The four domains of a seat, in the order a seat goes up (account first: the hub's PAM
// authenticator and the home need the Linux account).
enum class Domain { kAccounts = 0, kContent = 1, kHub = 2, kAppliances = 3 };
inline constexpr int kDomainCount = 4;
inline constexpr std::array<Domain, kDomainCount> kAllDomains = {
    Domain::kAccounts, Domain::kContent, Domain::kHub, Domain::kAppliances};
// "accounts", "content", "hub", "appliances": drift rows, events, problems.
const char* DomainName(Domain domain);
std::optional<Domain> DomainFromName(std::string_view name);
// The condition a domain reports: "AccountReady", "ContentReady", "HubReady", "AppliancesReady".
const char* ConditionTypeOf(Domain domain);

enum class Phase {
  kVacant,        // no occupant; account locked, home empty: ready for the next one
  kProvisioning,  // occupied, not every domain converged yet
  kReady,         // occupied, every domain converged for the occupant
  kVacating,      // no occupant, something of the previous one still to take down
  kFailed,        // gave up until desired state changes (a terminal error)
  kUnobserved,    // no controller has reported this seat
};
inline constexpr std::array<Phase, 6> kAllPhases = {Phase::kVacant, Phase::kProvisioning,
                                                    Phase::kReady,  Phase::kVacating,
                                                    Phase::kFailed, Phase::kUnobserved};
const char* PhaseName(Phase phase);
std::optional<Phase> PhaseFromName(std::string_view name);

enum class ConditionStatus { kTrue, kFalse, kUnknown };
const char* ConditionStatusName(ConditionStatus status);  // "True", "False", "Unknown"
std::optional<ConditionStatus> ConditionStatusFromName(std::string_view name);

// Names in logs and test failures.
inline std::ostream& operator<<(std::ostream& os, Phase p) { return os << PhaseName(p); }
inline std::ostream& operator<<(std::ostream& os, ConditionStatus s) {
  return os << ConditionStatusName(s);
}

struct Condition {
  std::string type;  // ConditionTypeOf(domain)
  ConditionStatus status = ConditionStatus::kUnknown;
  std::string reason;  // CamelCase: Converged, Applied, Converging, Backoff, ObserveFailed, ...
  std::string message;
  absl::Time last_transition;
  bool operator==(const Condition&) const = default;
};

struct SeatStatus {
  std::string location;
  int number = 0;
  int64_t observed_generation = 0;
  Phase phase = Phase::kUnobserved;
  std::vector<Condition> conditions;
  std::string last_error;
  absl::Time updated;
  // Live progress of the notebooks in the home, as the controller last observed them, for the
  // registration whose content the home holds (`progress_registration`; 0 and "" when the seat
  // holds no content of its occupant). Same JSON shape as a harvest: {"notebooks": [...],
  // "total": {...}} (model::ProgressReportToJson).
  int64_t progress_registration = 0;
  std::string progress_json{};
  std::optional<absl::Time> last_activity{};  // newest modification time of those notebooks
  bool operator==(const SeatStatus&) const = default;
};

// The phase to show for `seat` given its last written status (null: none yet). A status of an
// older generation than the seat says nothing about the seat as it is now: right after a
// turnover it is still the previous occupant's Ready while the new occupant's password is not
// set. Until the controller has observed the seat's generation, an occupied seat is
// Provisioning and a vacant one Vacating. The one rule for /me, /seats, /metrics, the
// lifecycle and the dashboard.
Phase EffectivePhase(const Seat& seat, const SeatStatus* status);

// One difference between desired and observed state, as a location's controller saw it. Seat
// 0 is an object outside every seat (a foreign user); a domain that could not be observed is
// one row with planned "none (cannot observe: <reason>)".
struct DriftEntry {
  std::string location;
  int seat = 0;
  std::string domain;    // DomainName
  std::string expected;  // what desired state wants, in words
  std::string observed;  // what the machine has
  std::string planned;   // the action the controller plans, or "none (foreign)"
  absl::Time since;      // first pass that saw this difference
  bool operator==(const DriftEntry&) const = default;
};

}  // namespace wod::model
