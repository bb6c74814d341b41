// An in-memory Docker engine behind the ApplianceDriver interface, for planner and loop tests:
// the same ownership rules, idempotency and error codes as DockerApplianceDriver (the contract
// test runs against both), plus FailNext() to inject an error into the next call.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "drivers/appliances/appliances.h"

namespace wod::drivers {

// A container as the fake engine holds it: what it was created from and its state.
struct FakeContainer {
  std::string id;
  std::string name;
  std::string image;
  std::vector<std::string> command;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  std::vector<model::PublishedPort> port_bindings;  // host_ip filled in
  int64_t memory_bytes = 0;
  int64_t nano_cpus = 0;
  int64_t pids_limit = 0;
  bool privileged = false;
  std::string restart_policy;
  std::vector<std::string> security_opt;
  model::ContainerState state = model::ContainerState::kCreated;
};

class FakeApplianceDriver : public ApplianceDriver {
 public:
  // Images listed in `images` exist on the fake engine; creating from any other fails.
  FakeApplianceDriver(std::string location, std::set<std::string> images,
                      std::string host_ip = "127.0.0.1");

  [[nodiscard]] absl::StatusOr<model::ObservedAppliances> Observe() override;
  [[nodiscard]] absl::Status Apply(const model::ApplianceAction& action) override;

  // The next Observe() or Apply() returns `status` and changes nothing.
  void FailNext(absl::Status status);
  // A container made outside this driver (no wod label, or another location's): it must
  // never be listed, changed or removed.
  void AddForeignContainer(std::string name, std::string image,
                           std::map<std::string, std::string> labels);
  // What the engine holds under `name`, ours or not.
  std::optional<FakeContainer> Get(const std::string& name) const;
  int apply_count() const;  // Apply() calls that reached the engine (not failed by FailNext)

 private:
  absl::Status ApplyLocked(const model::ApplianceAction& action) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // nullptr when absent; FailedPrecondition when the name is held by a foreign container.
  absl::StatusOr<FakeContainer*> FindOwnedLocked(const std::string& name)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string location_;
  const std::set<std::string> images_;
  const std::string host_ip_;
  mutable absl::Mutex mu_;
  std::map<std::string, FakeContainer> containers_ ABSL_GUARDED_BY(mu_);  // by name
  std::optional<absl::Status> fail_next_ ABSL_GUARDED_BY(mu_);
  int next_id_ ABSL_GUARDED_BY(mu_) = 1;
  int apply_count_ ABSL_GUARDED_BY(mu_) = 0;
};

}  // namespace wod::drivers
