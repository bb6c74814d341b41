// The appliances driver on a real Docker engine, through its HTTP API on the unix socket with
// a pinned API version (v1.41: Debian 12's docker.io 20.10 engine; newer engines accept it).
#pragma once

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "drivers/appliances/appliances.h"
#include "drivers/appliances/docker_client.h"

namespace wod::drivers {

struct DockerOptions {
  std::string socket_path = "/var/run/docker.sock";
  // The location this controller owns: the value of every container's wod.managed-by label.
  std::string location;
  // Host address published ports listen on; loopback unless the operator opens them up.
  std::string host_ip = "127.0.0.1";
  std::string api_version = "v1.41";
  absl::Duration timeout = absl::Seconds(30);
};

// The body of GET /containers/json as Observe() reads it: the containers whose wod.managed-by
// label is `location` (others are dropped even if the engine listed them), sorted by name.
// Unavailable when the body is not JSON or not a list. Pure; exposed for the fuzz target.
absl::StatusOr<model::ObservedAppliances> ParseContainerList(std::string_view body,
                                                             std::string_view location);

class DockerApplianceDriver : public ApplianceDriver {
 public:
  explicit DockerApplianceDriver(DockerOptions options);

  // GET /containers/json?all=1&filters={"label":["wod.managed-by=<location>"]}
  [[nodiscard]] absl::StatusOr<model::ObservedAppliances> Observe() override;

  // kCreate: POST /containers/create?name=...; on 409, GET /containers/{name}/json to tell
  //          our own earlier create (success) from a stale or foreign container.
  // kStart:  GET /containers/{name}/json (ownership), POST /containers/{id}/start
  // kStop:   GET /containers/{name}/json (ownership), POST /containers/{id}/stop?t=N
  // kRemove: GET /containers/{name}/json (ownership), DELETE /containers/{id}?force=1&v=1
  [[nodiscard]] absl::Status Apply(const model::ApplianceAction& action) override;

 private:
  absl::Status Create(const model::ApplianceAction& action);
  absl::Status Start(const model::ApplianceAction& action);
  absl::Status Stop(const model::ApplianceAction& action);
  absl::Status Remove(const model::ApplianceAction& action);

  DockerOptions options_;
  DockerClient client_;
};

}  // namespace wod::drivers
