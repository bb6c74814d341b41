// The appliances domain's vocabulary: names, descriptions and the create-action builder.
#include "model/appliances.h"

#include <algorithm>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "common/random.h"

namespace wod::model {

namespace {

struct StateName {
  ContainerState state;
  const char* name;
};
constexpr StateName kStateNames[] = {
    {ContainerState::kCreated, "created"},   {ContainerState::kRunning, "running"},
    {ContainerState::kPaused, "paused"},     {ContainerState::kRestarting, "restarting"},
    {ContainerState::kRemoving, "removing"}, {ContainerState::kExited, "exited"},
    {ContainerState::kDead, "dead"},
};

// Appends `s` with its length so that no two different field lists serialize alike.
void AppendField(std::string* out, std::string_view s) {
  absl::StrAppend(out, s.size(), ":");
  out->append(s);
  out->push_back(';');
}

// Appliance::command is being added to model/types.h by its owner; until that lands in every
// tree this builds against either version of the struct (and copies the field when present).
template <typename A>
void CopyCommand(const A& from, ApplianceAction* to) {
  if constexpr (requires { from.command; }) to->command = from.command;
}

}  // namespace

const char* ContainerStateName(ContainerState s) {
  for (const auto& n : kStateNames) {
    if (n.state == s) return n.name;
  }
  return "unknown";
}

std::optional<ContainerState> ParseContainerState(std::string_view s) {
  for (const auto& n : kStateNames) {
    if (s == n.name) return n.state;
  }
  return std::nullopt;
}

std::string ApplianceContainerName(std::string_view location, int seat,
                                   std::string_view appliance) {
  return absl::StrCat("wod-", std::string(location), "-", seat, "-", std::string(appliance));
}

const ObservedContainer* ObservedAppliances::Find(std::string_view name) const {
  // Drivers return the containers sorted by name: a binary search finds it. A hand-built list
  // may not be sorted, so a miss is confirmed by a scan.
  auto it = std::lower_bound(
      containers.begin(), containers.end(), name,
      [](const ObservedContainer& c, std::string_view n) { return std::string_view(c.name) < n; });
  if (it != containers.end() && it->name == name) return &*it;
  for (const auto& c : containers) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

const char* ApplianceActionKindName(ApplianceAction::Kind k) {
  switch (k) {
    case ApplianceAction::Kind::kCreate:
      return "create";
    case ApplianceAction::Kind::kStart:
      return "start";
    case ApplianceAction::Kind::kStop:
      return "stop";
    case ApplianceAction::Kind::kRemove:
      return "remove";
  }
  return "unknown";
}

std::string ApplianceAction::ContainerName() const {
  return ApplianceContainerName(location, seat, appliance);
}

std::string ApplianceAction::Describe() const {
  std::string out =
      absl::StrCat(ApplianceActionKindName(kind), " container '", ContainerName(), "'");
  if (kind == Kind::kCreate) {
    absl::StrAppend(&out, " from image '", image, "' for registration ", registration_id, " epoch ",
                    epoch);
  }
  if (!reason.empty()) absl::StrAppend(&out, ": ", reason);
  return out;
}

int ApplianceHostPort(const AppliancePort& port, int seat, const SeatRange& range) {
  return port.host_base + (seat - range.min);
}

ApplianceAction MakeApplianceCreate(const Workshop& workshop, const Appliance& appliance,
                                    std::string_view location, int seat, int64_t registration_id,
                                    int64_t epoch,
                                    std::map<std::string, std::string> rendered_env) {
  ApplianceAction a;
  a.kind = ApplianceAction::Kind::kCreate;
  a.location = std::string(location);
  a.seat = seat;
  a.appliance = appliance.name;
  a.workshop = workshop.id;
  a.registration_id = registration_id;
  a.epoch = epoch;
  a.image = appliance.image;
  CopyCommand(appliance, &a);
  a.env = std::move(rendered_env);
  for (const auto& p : appliance.ports) {
    a.ports.push_back({p.container, ApplianceHostPort(p, seat, workshop.range), ""});
  }
  a.memory_bytes = appliance.memory_bytes;
  a.cpus = appliance.cpus;
  a.privileged = appliance.privileged;
  return a;
}

std::string ApplianceSpecHash(const ApplianceAction& create) {
  std::string s;
  AppendField(&s, create.image);
  AppendField(&s, absl::StrCat(create.command.size()));
  for (const auto& arg : create.command) AppendField(&s, arg);
  AppendField(&s, absl::StrCat(create.env.size()));
  for (const auto& [k, v] : create.env) {  // std::map: sorted, so order-independent
    AppendField(&s, k);
    AppendField(&s, v);
  }
  std::vector<PublishedPort> ports = create.ports;
  std::sort(ports.begin(), ports.end(), [](const PublishedPort& a, const PublishedPort& b) {
    return std::tie(a.container, a.host, a.host_ip) < std::tie(b.container, b.host, b.host_ip);
  });
  AppendField(&s, absl::StrCat(ports.size()));
  for (const auto& p : ports)
    AppendField(&s, absl::StrCat(p.container, "/", p.host, "/", p.host_ip));
  AppendField(&s, absl::StrCat(create.memory_bytes));
  // Whole milli-cpus: the engine stores NanoCpus, so finer differences are not real changes.
  AppendField(&s, absl::StrCat(static_cast<int64_t>(create.cpus * 1000 + 0.5)));
  AppendField(&s, create.privileged ? "privileged" : "unprivileged");
  return common::Sha256Hex(s).substr(0, 16);
}

}  // namespace wod::model
