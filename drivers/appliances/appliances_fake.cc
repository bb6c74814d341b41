// The in-memory appliances driver. Its rules mirror DockerApplianceDriver's, decision for
// decision, so that the contract test can hold both to the same expectations.
#include "drivers/appliances/appliances_fake.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace wod::drivers {

using Kind = model::ApplianceAction::Kind;

FakeApplianceDriver::FakeApplianceDriver(std::string location, std::set<std::string> images,
                                         std::string host_ip)
    : location_(std::move(location)), images_(std::move(images)), host_ip_(std::move(host_ip)) {}

void FakeApplianceDriver::FailNext(absl::Status status) {
  absl::MutexLock lock(&mu_);
  fail_next_ = std::move(status);
}

void FakeApplianceDriver::AddForeignContainer(std::string name, std::string image,
                                              std::map<std::string, std::string> labels) {
  absl::MutexLock lock(&mu_);
  FakeContainer c;
  c.id = absl::StrFormat("%064x", next_id_++);
  c.name = name;
  c.image = std::move(image);
  c.labels = std::move(labels);
  containers_[std::move(name)] = std::move(c);
}

std::optional<FakeContainer> FakeApplianceDriver::Get(const std::string& name) const {
  absl::MutexLock lock(&mu_);
  auto it = containers_.find(name);
  if (it == containers_.end()) return std::nullopt;
  return it->second;
}

int FakeApplianceDriver::apply_count() const {
  absl::MutexLock lock(&mu_);
  return apply_count_;
}

absl::StatusOr<model::ObservedAppliances> FakeApplianceDriver::Observe() {
  absl::MutexLock lock(&mu_);
  if (fail_next_) {
    absl::Status s = *std::move(fail_next_);
    fail_next_.reset();
    return s;
  }
  model::ObservedAppliances out;
  for (const auto& [name, fc] : containers_) {  // std::map: already sorted by name
    auto owner = fc.labels.find(model::kLabelManagedBy);
    if (owner == fc.labels.end() || owner->second != location_) continue;
    model::ObservedContainer c;
    c.id = fc.id;
    c.name = fc.name;
    c.image = fc.image;
    c.state = fc.state;
    c.labels = fc.labels;
    // Like the engine, a port is listed as published only while the container runs.
    if (fc.state == model::ContainerState::kRunning) c.ports = fc.port_bindings;
    DecodeApplianceLabels(&c);
    out.containers.push_back(std::move(c));
  }
  return out;
}

absl::Status FakeApplianceDriver::Apply(const model::ApplianceAction& action) {
  absl::MutexLock lock(&mu_);
  if (fail_next_) {
    absl::Status s = *std::move(fail_next_);
    fail_next_.reset();
    return s;
  }
  ++apply_count_;
  return ApplyLocked(action);
}

absl::StatusOr<FakeContainer*> FakeApplianceDriver::FindOwnedLocked(const std::string& name) {
  auto it = containers_.find(name);
  if (it == containers_.end()) return nullptr;
  auto owner = it->second.labels.find(model::kLabelManagedBy);
  if (owner == it->second.labels.end() || owner->second != location_) {
    return absl::FailedPreconditionError(
        absl::StrCat("container name '", name, "' is taken by a container location '", location_,
                     "' does not manage; wod leaves it alone"));
  }
  return &it->second;
}

absl::Status FakeApplianceDriver::ApplyLocked(const model::ApplianceAction& a) {
  if (absl::Status s = ValidateApplianceAction(a, location_); !s.ok()) return s;
  const std::string name = a.ContainerName();
  switch (a.kind) {
    case Kind::kCreate: {
      if (containers_.count(name) == 0) {
        if (images_.count(a.image) == 0) {
          return absl::FailedPreconditionError(
              absl::StrCat("image '", a.image, "' for container '", name,
                           "' is not on the docker engine (wod does not pull images)"));
        }
        FakeContainer c;
        c.id = absl::StrFormat("%064x", next_id_++);
        c.name = name;
        c.image = a.image;
        c.command = a.command;
        c.env = a.env;
        c.labels = ApplianceLabels(a);
        for (const auto& p : a.ports) {
          c.port_bindings.push_back(
              {p.container, p.host, p.host_ip.empty() ? host_ip_ : p.host_ip});
        }
        c.memory_bytes = a.memory_bytes;
        c.nano_cpus = a.cpus > 0 ? static_cast<int64_t>(std::llround(a.cpus * 1e9)) : 0;
        c.pids_limit = kAppliancePidsLimit;
        c.privileged = a.privileged;
        c.restart_policy = "unless-stopped";
        c.security_opt = {"no-new-privileges"};
        containers_[name] = std::move(c);
        return absl::OkStatus();
      }
      auto found = FindOwnedLocked(name);
      if (!found.ok()) return found.status();
      const auto& labels = (*found)->labels;
      auto label = [&](const char* key) {
        auto it = labels.find(key);
        return it == labels.end() ? std::string("?") : it->second;
      };
      if (label(model::kLabelRegistration) == absl::StrCat(a.registration_id) &&
          label(model::kLabelEpoch) == absl::StrCat(a.epoch)) {
        return absl::OkStatus();
      }
      return absl::AbortedError(
          absl::StrCat("container '", name, "' already exists for registration ",
                       label(model::kLabelRegistration), " epoch ", label(model::kLabelEpoch),
                       ", not registration ", a.registration_id, " epoch ", a.epoch));
    }
    case Kind::kStart: {
      auto found = FindOwnedLocked(name);
      if (!found.ok()) return found.status();
      if (*found == nullptr) {
        return absl::AbortedError(absl::StrCat("container '", name, "' does not exist to start"));
      }
      (*found)->state = model::ContainerState::kRunning;
      return absl::OkStatus();
    }
    case Kind::kStop: {
      auto found = FindOwnedLocked(name);
      if (!found.ok()) return found.status();
      if (*found != nullptr && (*found)->state == model::ContainerState::kRunning) {
        (*found)->state = model::ContainerState::kExited;
      }
      return absl::OkStatus();
    }
    case Kind::kRemove: {
      auto found = FindOwnedLocked(name);
      if (!found.ok()) return found.status();
      if (*found != nullptr) containers_.erase(name);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError("unknown appliance action");
}

}  // namespace wod::drivers
