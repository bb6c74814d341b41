// What the Docker and fake appliance drivers share: action validation and the label codec,
// so that both accept, label and decode exactly alike.
#include "drivers/appliances/appliances.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace wod::drivers {

namespace {

// Docker's container name rule, applied to each part of wod-<location>-<seat>-<appliance>.
bool ValidNamePart(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (char ch : s) {
    const bool ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                    (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-';
    if (!ok) return false;
  }
  return true;
}

bool ValidPort(int p) { return p >= 1 && p <= 65535; }

}  // namespace

absl::Status ValidateApplianceAction(const model::ApplianceAction& a, std::string_view location) {
  if (a.location != location) {
    return absl::InvalidArgumentError(absl::StrCat("action for location '", a.location,
                                                   "' given to the driver of location '",
                                                   std::string(location), "'"));
  }
  if (!ValidNamePart(a.location) || !ValidNamePart(a.appliance) || a.seat < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid container name '", a.ContainerName(), "'"));
  }
  if (a.kind == model::ApplianceAction::Kind::kStop && a.stop_timeout_seconds < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("negative stop timeout for container '", a.ContainerName(), "'"));
  }
  if (a.kind != model::ApplianceAction::Kind::kCreate) return absl::OkStatus();
  if (a.image.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("no image for container '", a.ContainerName(), "'"));
  }
  for (const auto& [key, value] : a.env) {
    if (key.empty() || key.find('=') != std::string::npos || key.find('\0') != std::string::npos ||
        value.find('\0') != std::string::npos) {
      // The value is not quoted: it may be a password.
      return absl::InvalidArgumentError(absl::StrCat("invalid environment variable '", key,
                                                     "' for container '", a.ContainerName(), "'"));
    }
  }
  for (const auto& p : a.ports) {
    if (!ValidPort(p.container) || !ValidPort(p.host)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid port ", p.container, " -> ", p.host,
                                                     " for container '", a.ContainerName(), "'"));
    }
  }
  if (a.memory_bytes < 0 || a.cpus < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("negative limits for container '", a.ContainerName(), "'"));
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> ApplianceLabels(const model::ApplianceAction& a) {
  return {
      {model::kLabelManagedBy, a.location},
      {model::kLabelSeat, absl::StrCat(a.seat)},
      {model::kLabelRegistration, absl::StrCat(a.registration_id)},
      {model::kLabelWorkshop, a.workshop},
      {model::kLabelEpoch, absl::StrCat(a.epoch)},
      {model::kLabelAppliance, a.appliance},
      {model::kLabelSpec, model::ApplianceSpecHash(a)},
  };
}

void DecodeApplianceLabels(model::ObservedContainer* c) {
  auto get = [&](const char* key) -> const std::string* {
    auto it = c->labels.find(key);
    return it == c->labels.end() ? nullptr : &it->second;
  };
  bool ok = true;
  const std::string* seat = get(model::kLabelSeat);
  ok &= seat != nullptr && absl::SimpleAtoi(*seat, &c->seat) && c->seat >= 0;
  const std::string* reg = get(model::kLabelRegistration);
  ok &= reg != nullptr && absl::SimpleAtoi(*reg, &c->registration_id);
  const std::string* epoch = get(model::kLabelEpoch);
  ok &= epoch != nullptr && absl::SimpleAtoi(*epoch, &c->epoch);
  const std::string* workshop = get(model::kLabelWorkshop);
  const std::string* appliance = get(model::kLabelAppliance);
  const std::string* spec = get(model::kLabelSpec);
  ok &= workshop != nullptr && appliance != nullptr && spec != nullptr;
  if (workshop) c->workshop = *workshop;
  if (appliance) c->appliance = *appliance;
  if (spec) c->spec_hash = *spec;
  c->malformed = !ok;
}

}  // namespace wod::drivers
