#include "tests/reconcilers/golden_yaml.h"

#include "reconcilers/appliances_planner.h"

#include <algorithm>
#include <exception>

#include <yaml-cpp/yaml.h>

#include "absl/strings/str_cat.h"
#include "model/content.h"

namespace wod::reconcilers::testing {

namespace {

template <typename T>
T Get(const YAML::Node& n, const char* key, T fallback) {
  const YAML::Node v = n[key];
  return v ? v.as<T>() : fallback;
}

std::map<std::string, std::string> StringMap(const YAML::Node& n) {
  std::map<std::string, std::string> out;
  if (!n) return out;
  for (const auto& kv : n) out[kv.first.as<std::string>()] = kv.second.as<std::string>();
  return out;
}

DesiredState Desired(const YAML::Node& root) {
  DesiredState d;
  d.location.name = Get<std::string>(root["location"], "name", "local");
  d.location.fqdn = Get<std::string>(root["location"], "fqdn", "wod.example");
  const auto operator_vars = StringMap(root["operator_variables"]);
  std::map<int, model::Seat> seats;
  for (const auto& wn : root["workshops"]) {
    model::Workshop w;
    w.id = wn["id"].as<std::string>();
    w.name = w.id;
    w.active = true;
    w.range = {wn["range"][0].as<int>(), wn["range"][1].as<int>()};
    w.capacity = w.range.size();
    w.location = d.location.name;
    w.content_dir = Get<std::string>(wn, "content_dir", "");
    w.variables = StringMap(wn["variables"]);
    for (const auto& an : wn["appliances"]) {
      model::Appliance a;
      a.name = an["name"].as<std::string>();
      a.image = an["image"].as<std::string>();
      for (const auto& pn : an["ports"]) {
        a.ports.push_back({pn["container"].as<int>(), pn["host_base"].as<int>()});
      }
      a.env = StringMap(an["env"]);
      w.appliances.push_back(a);
    }
    for (int n = w.range.min; n <= w.range.max; ++n) {
      model::Seat s;
      s.location = d.location.name;
      s.number = n;
      s.workshop = w.id;
      s.password = absl::StrCat("vacant-", n);
      s.generation = 1;
      seats[n] = s;
    }
    d.workshops[w.id] = w;
  }
  for (const auto& sn : root["seats"]) {
    const int n = sn["number"].as<int>();
    model::Seat& s = seats[n];
    s.location = d.location.name;
    s.number = n;
    s.workshop = Get<std::string>(sn, "workshop", s.workshop);
    if (sn["registration"]) s.registration_id = sn["registration"].as<int64_t>();
    s.password = Get<std::string>(sn, "password", s.password);
    s.reset_epoch = Get<int64_t>(sn, "reset_epoch", 0);
    s.generation = Get<int64_t>(sn, "generation", 1);
  }
  for (const auto& [n, s] : seats) d.seats.push_back(s);
  for (const auto& s : d.seats) {
    const model::Workshop* w = d.WorkshopOf(s);
    if (s.registration_id && w != nullptr) {
      d.variables[s.number] =
          model::SeatVariables(*w, d.location, s.number, s.password, operator_vars);
    }
  }
  for (const auto& r : root["purged_registrations"]) {
    d.purged_registrations.insert(r.as<int64_t>());
  }
  return d;
}

model::ObservedAccounts Accounts(const YAML::Node& n, const DesiredState& desired,
                                 const model::AccountPolicy& policy) {
  model::ObservedAccounts out;
  out.group_exists = Get<bool>(n, "group", true);
  out.group_gid = policy.gid;
  for (const auto& un : n["users"]) {
    model::ObservedAccount a;
    a.seat = un["seat"].as<int>();
    a.name = policy.UserName(a.seat);
    a.uid = policy.Uid(a.seat);
    a.gid = policy.gid;
    a.home = policy.Home(a.seat);
    a.shell = policy.shell;
    a.locked = Get<bool>(un, "locked", false);
    a.occupant = Get<int64_t>(un, "occupant", 0);
    // What the accounts driver reports for the password the YAML names.
    const model::Seat* seat = desired.FindSeat(a.seat);
    a.password_in_sync = seat != nullptr && un["password"].as<std::string>() == seat->password;
    const int processes = Get<int>(un, "processes", 0);
    for (int i = 0; i < processes; ++i) a.pids.push_back(40000 + a.seat * 10 + i);
    out.accounts.push_back(a);
  }
  std::sort(out.accounts.begin(), out.accounts.end(),
            [](const auto& a, const auto& b) { return a.seat < b.seat; });
  for (const auto& fn : n["foreign"]) {
    model::ForeignAccount f;
    f.name = fn["name"].as<std::string>();
    f.uid = fn["uid"].as<uid_t>();
    f.gid = Get<gid_t>(fn, "gid", 100);
    f.reason = fn["reason"].as<std::string>();
    out.foreign.push_back(f);
  }
  return out;
}

model::ObservedContent Content(const YAML::Node& n, const model::AccountPolicy& policy) {
  model::ObservedContent out;
  for (const auto& hn : n) {
    model::ObservedSeatContent c;
    c.seat = hn["seat"].as<int>();
    c.home = policy.Home(c.seat);
    if (hn["corrupt"]) {
      c.manifest_state = model::ObservedSeatContent::Manifest::kCorrupt;
      c.manifest_error = hn["corrupt"].as<std::string>();
    } else if (hn["registration"]) {
      c.manifest_state = model::ObservedSeatContent::Manifest::kPresent;
      c.registration_id = hn["registration"].as<int64_t>();
      c.workshop = hn["workshop"].as<std::string>();
      c.reset_epoch = Get<int64_t>(hn, "epoch", 0);
      c.folder = c.workshop;
      c.files_intact = true;
    }
    out.seats.push_back(c);
  }
  std::sort(out.seats.begin(), out.seats.end(),
            [](const auto& a, const auto& b) { return a.seat < b.seat; });
  return out;
}

model::ObservedHub Hub(const YAML::Node& n) {
  model::ObservedHub out;
  model::HubPolicy policy;
  for (const auto& un : n["users"]) {
    model::ObservedHubUser u;
    u.seat = un["seat"].as<int>();
    u.name = policy.UserName(u.seat);
    const std::string server = Get<std::string>(un, "server", "none");
    bool known = false;
    for (auto s : {model::HubServerState::kNone, model::HubServerState::kPendingStart,
                   model::HubServerState::kRunning, model::HubServerState::kPendingStop}) {
      if (server == model::HubServerStateName(s)) {
        u.server = s;
        known = true;
      }
    }
    if (!known) throw std::runtime_error("unknown hub server state '" + server + "'");
    out.users.push_back(u);
  }
  std::sort(out.users.begin(), out.users.end(),
            [](const auto& a, const auto& b) { return a.seat < b.seat; });
  for (const auto& f : n["foreign"]) out.foreign.push_back(f.as<std::string>());
  std::sort(out.foreign.begin(), out.foreign.end());
  return out;
}

model::ObservedAppliances Appliances(const YAML::Node& n, const DesiredState& desired) {
  // The spec label each wanted container would carry now.
  std::map<std::string, std::string> desired_spec;
  for (const auto& a : PlanAppliances(desired, {}).actions) {
    if (a.kind == model::ApplianceAction::Kind::kCreate) {
      desired_spec[a.ContainerName()] = model::ApplianceSpecHash(a);
    }
  }
  model::ObservedAppliances out;
  int next_id = 1;
  for (const auto& cn : n) {
    model::ObservedContainer c;
    c.id = absl::StrCat("c", next_id++);
    c.seat = Get<int>(cn, "seat", 0);
    c.appliance = Get<std::string>(cn, "appliance", "");
    c.name = Get<std::string>(
        cn, "name", model::ApplianceContainerName(desired.location.name, c.seat, c.appliance));
    const model::Seat* seat = desired.FindSeat(c.seat);
    c.workshop = Get<std::string>(cn, "workshop", seat != nullptr ? seat->workshop : "");
    c.registration_id = Get<int64_t>(cn, "registration", 0);
    c.epoch = Get<int64_t>(cn, "epoch", 0);
    c.malformed = Get<bool>(cn, "malformed", false);
    const std::string state = Get<std::string>(cn, "state", "running");
    auto parsed = model::ParseContainerState(state);
    if (!parsed) throw std::runtime_error("unknown container state '" + state + "'");
    c.state = *parsed;
    const std::string spec = Get<std::string>(cn, "spec", "desired");
    auto it = desired_spec.find(c.name);
    c.spec_hash = spec == "desired" ? (it == desired_spec.end() ? "none" : it->second) : spec;
    c.image = Get<std::string>(cn, "image", "wod-test/busybox:latest");
    c.labels[model::kLabelManagedBy] = desired.location.name;
    out.containers.push_back(c);
  }
  std::sort(out.containers.begin(), out.containers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

}  // namespace

absl::StatusOr<DesiredState> LoadDesiredYaml(const std::string& text) {
  try {
    return Desired(YAML::Load(text));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("desired.yaml: ", e.what()));
  }
}

absl::StatusOr<PassObservation> LoadObservedYaml(const std::string& text,
                                                 const DesiredState& desired,
                                                 const model::AccountPolicy& policy) {
  try {
    const YAML::Node root = YAML::Load(text);
    PassObservation out;
    // A domain left out is one the location does not run; `{unobservable: REASON}` is one
    // whose driver failed to observe it with that message.
    auto load = [&](auto& domain, const char* key, auto read) {
      const YAML::Node n = root[key];
      if (!n) {
        domain.managed = false;
      } else if (n.IsMap() && n["unobservable"]) {
        domain.observed = absl::UnavailableError(n["unobservable"].as<std::string>());
      } else {
        domain.observed = read(n);
      }
    };
    load(out.accounts, "accounts",
         [&](const YAML::Node& n) { return Accounts(n, desired, policy); });
    load(out.content, "content", [&](const YAML::Node& n) { return Content(n, policy); });
    load(out.hub, "hub", [&](const YAML::Node& n) { return Hub(n); });
    load(out.appliances, "appliances", [&](const YAML::Node& n) { return Appliances(n, desired); });
    return out;
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("observed.yaml: ", e.what()));
  }
}

}  // namespace wod::reconcilers::testing
