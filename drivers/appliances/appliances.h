// The appliances driver: the Docker containers a location runs for its seats. Observe() lists
// every container this location owns (label wod.managed-by=<location>) in one call; Apply()
// performs one create/start/stop/remove, idempotently. Implementations: DockerApplianceDriver
// (the engine's API over its unix socket) and FakeApplianceDriver (in memory, for tests).
//
// Error codes say what the controller does next:
//   Unavailable         engine unreachable or failing (5xx): retry later
//   Aborted             the world moved since the observation (a container of another
//                       registration or epoch holds the name, or is gone before a start):
//                       re-observe and re-plan
//   FailedPrecondition  cannot succeed until something changes: image not on the engine,
//                       the name is held by a container wod does not own
//   InvalidArgument     the action itself is wrong (bad names, env, limits, location)
//   PermissionDenied    the engine refused (401/403)
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/appliances.h"

namespace wod::drivers {

class ApplianceDriver {
 public:
  virtual ~ApplianceDriver() = default;

  // Every container labelled wod.managed-by=<this location>, in any state, sorted by name.
  [[nodiscard]] virtual absl::StatusOr<model::ObservedAppliances> Observe() = 0;

  // One action. Success when the container ends as asked: creating a container that
  // already exists for the same registration and epoch, starting a running one, stopping a
  // stopped or absent one and removing an absent one all succeed.
  [[nodiscard]] virtual absl::Status Apply(const model::ApplianceAction& action) = 0;
};

// Checks what both implementations require of an action before touching anything: it is
// for `location`, names make a valid Docker container name, env keys and ports are sane.
// InvalidArgument otherwise.
[[nodiscard]] absl::Status ValidateApplianceAction(const model::ApplianceAction& action,
                                                   std::string_view location);

// The labels a kCreate action puts on its container (managed-by, seat, registration,
// workshop, epoch, appliance, spec).
std::map<std::string, std::string> ApplianceLabels(const model::ApplianceAction& create);

// The most processes (and threads) one appliance container may hold: a participant who owns
// a shell in it cannot fork-bomb the backend that serves the others.
inline constexpr int64_t kAppliancePidsLimit = 1024;

// Decodes the wod.* labels of a listed container into `c` (seat, registration, ...), setting
// c->malformed when one is missing or unparsable.
void DecodeApplianceLabels(model::ObservedContainer* c);

}  // namespace wod::drivers
