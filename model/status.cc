#include "model/status.h"

namespace wod::model {
namespace {

constexpr std::array<const char*, kDomainCount> kDomainNames = {"accounts", "content", "hub",
                                                                "appliances"};
constexpr std::array<const char*, kDomainCount> kConditionTypes = {"AccountReady", "ContentReady",
                                                                   "HubReady", "AppliancesReady"};
constexpr std::array<const char*, 6> kPhaseNames = {"Vacant",   "Provisioning", "Ready",
                                                    "Vacating", "Failed",       "Unobserved"};
constexpr std::array<const char*, 3> kConditionStatusNames = {"True", "False", "Unknown"};

}  // namespace

const char* DomainName(Domain domain) { return kDomainNames[static_cast<int>(domain)]; }

std::optional<Domain> DomainFromName(std::string_view name) {
  for (Domain d : kAllDomains) {
    if (std::string_view(DomainName(d)) == name) return d;
  }
  return std::nullopt;
}

const char* ConditionTypeOf(Domain domain) { return kConditionTypes[static_cast<int>(domain)]; }

const char* PhaseName(Phase phase) { return kPhaseNames[static_cast<int>(phase)]; }

std::optional<Phase> PhaseFromName(std::string_view name) {
  for (Phase p : kAllPhases) {
    if (std::string_view(PhaseName(p)) == name) return p;
  }
  return std::nullopt;
}

const char* ConditionStatusName(ConditionStatus status) {
  return kConditionStatusNames[static_cast<int>(status)];
}

std::optional<ConditionStatus> ConditionStatusFromName(std::string_view name) {
  for (ConditionStatus s :
       {ConditionStatus::kTrue, ConditionStatus::kFalse, ConditionStatus::kUnknown}) {
    if (std::string_view(ConditionStatusName(s)) == name) return s;
  }
  return std::nullopt;
}

Phase EffectivePhase(const Seat& seat, const SeatStatus* status) {
  if (status == nullptr) return Phase::kUnobserved;
  if (status->observed_generation < seat.generation) {
    return seat.registration_id ? Phase::kProvisioning : Phase::kVacating;
  }
  return status->phase;
}

}  // namespace wod::model
