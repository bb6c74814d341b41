// The appliances driver on a real Docker engine. Every request goes through DockerClient;
// every JSON document is parsed without exceptions (json::parse(s, nullptr, false)) and read
// with type checks, and the one call that can throw (dump of non-UTF-8 text) is caught here.
#include "drivers/appliances/appliances_real.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"

namespace wod::drivers {

namespace {

using json = nlohmann::json;
using Kind = model::ApplianceAction::Kind;

std::string GetString(const json& j, const char* key) {
  if (!j.is_object()) return "";
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? it->get<std::string>() : "";
}

int64_t GetInt(const json& j, const char* key) {
  if (!j.is_object()) return 0;
  auto it = j.find(key);
  return it != j.end() && it->is_number_integer() ? it->get<int64_t>() : 0;
}

std::map<std::string, std::string> GetStringMap(const json& j, const char* key) {
  std::map<std::string, std::string> out;
  if (!j.is_object()) return out;
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return out;
  for (const auto& [k, v] : it->items()) {
    if (v.is_string()) out[k] = v.get<std::string>();
  }
  return out;
}

// The engine's own explanation ({"message": "..."}), or the start of the body.
std::string EngineMessage(const HttpResponse& r) {
  json j = json::parse(r.body, nullptr, false);
  std::string m = GetString(j, "message");
  if (m.empty()) m = r.body.substr(0, 200);
  while (!m.empty() && (m.back() == '\n' || m.back() == '\r')) m.pop_back();
  return m;
}

// The generic HTTP status -> absl code mapping; callers handle the statuses that mean
// success or something specific for their call first.
absl::Status FromHttp(const HttpResponse& r, const std::string& what) {
  const std::string msg =
      absl::StrCat("docker: ", what, ": HTTP ", r.status, ": ", EngineMessage(r));
  if (r.status == 400) return absl::InvalidArgumentError(msg);
  if (r.status == 401 || r.status == 403) return absl::PermissionDeniedError(msg);
  if (r.status == 404) return absl::NotFoundError(msg);
  if (r.status == 409) return absl::AbortedError(msg);
  if (r.status >= 400 && r.status < 500) return absl::FailedPreconditionError(msg);
  return absl::UnavailableError(msg);  // 5xx, or a status the API never sends
}

absl::StatusOr<json> ParseBody(const HttpResponse& r, const std::string& what) {
  json j = json::parse(r.body, nullptr, false);
  if (j.is_discarded()) {
    return absl::UnavailableError(
        absl::StrCat("docker: ", what, ": unparsable response from the engine"));
  }
  return j;
}

// A container found by name, with what ownership checks need.
struct Inspected {
  std::string id;
  std::map<std::string, std::string> labels;
};

}  // namespace

absl::StatusOr<model::ObservedAppliances> ParseContainerList(std::string_view body,
                                                             std::string_view location) {
  json list = json::parse(body, nullptr, false);
  if (list.is_discarded()) {
    return absl::UnavailableError("docker: list containers: unparsable response from the engine");
  }
  if (!list.is_array()) {
    return absl::UnavailableError("docker: list containers: response is not a list");
  }
  model::ObservedAppliances out;
  for (const json& item : list) {
    model::ObservedContainer c;
    c.labels = GetStringMap(item, "Labels");
    // The engine filtered already; checking again means a filter the engine ignored can
    // never make us touch a foreign container.
    auto owner = c.labels.find(model::kLabelManagedBy);
    if (owner == c.labels.end() || owner->second != location) continue;
    c.id = GetString(item, "Id");
    if (auto names = item.find("Names");
        names != item.end() && names->is_array() && !names->empty() && names->front().is_string()) {
      c.name = names->front().get<std::string>();
      if (!c.name.empty() && c.name.front() == '/') c.name.erase(0, 1);
    }
    c.image = GetString(item, "Image");
    // A state this API version does not define is treated as dead: not running, replace it.
    c.state =
        model::ParseContainerState(GetString(item, "State")).value_or(model::ContainerState::kDead);
    if (auto ports = item.find("Ports"); ports != item.end() && ports->is_array()) {
      for (const json& p : *ports) {
        // 0: exposed, not published; anything else outside 1..65535 is no port at all (and
        // would not survive the narrowing to int).
        const int64_t host = GetInt(p, "PublicPort");
        const int64_t container = GetInt(p, "PrivatePort");
        if (host < 1 || host > 65535 || container < 0 || container > 65535) continue;
        c.ports.push_back(
            {static_cast<int>(container), static_cast<int>(host), GetString(p, "IP")});
      }
    }
    DecodeApplianceLabels(&c);
    out.containers.push_back(std::move(c));
  }
  std::sort(out.containers.begin(), out.containers.end(),
            [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

DockerApplianceDriver::DockerApplianceDriver(DockerOptions options)
    : options_(std::move(options)),
      client_(options_.socket_path, options_.api_version, options_.timeout) {}

absl::StatusOr<model::ObservedAppliances> DockerApplianceDriver::Observe() {
  const std::string filter =
      json{{"label", json::array({absl::StrCat(model::kLabelManagedBy, "=", options_.location)})}}
          .dump();
  ASSIGN_OR_RETURN(
      HttpResponse r,
      client_.Send("GET", absl::StrCat("/containers/json?all=1&filters=", UrlEncode(filter))));
  if (r.status != 200) return FromHttp(r, "list containers");
  return ParseContainerList(r.body, options_.location);
}

absl::Status DockerApplianceDriver::Apply(const model::ApplianceAction& action) {
  RETURN_IF_ERROR(ValidateApplianceAction(action, options_.location));
  WOD_LOG(kDebug, "appliances", "{}", action.Describe());
  switch (action.kind) {
    case Kind::kCreate:
      return Create(action);
    case Kind::kStart:
      return Start(action);
    case Kind::kStop:
      return Stop(action);
    case Kind::kRemove:
      return Remove(action);
  }
  return absl::InvalidArgumentError("unknown appliance action");
}

namespace {

// GET /containers/{name}/json. nullopt when there is none; FailedPrecondition when the
// name belongs to a container this location does not own (it is never touched).
absl::StatusOr<std::optional<Inspected>> InspectOwned(const DockerClient& client,
                                                      const std::string& name,
                                                      const std::string& location) {
  const std::string what = absl::StrCat("inspect container '", name, "'");
  ASSIGN_OR_RETURN(HttpResponse r,
                   client.Send("GET", absl::StrCat("/containers/", UrlEncode(name), "/json")));
  if (r.status == 404) return std::optional<Inspected>();
  if (r.status != 200) return FromHttp(r, what);
  ASSIGN_OR_RETURN(json j, ParseBody(r, what));
  Inspected in;
  in.id = GetString(j, "Id");
  if (auto config = j.find("Config"); config != j.end()) {
    in.labels = GetStringMap(*config, "Labels");
  }
  auto owner = in.labels.find(model::kLabelManagedBy);
  if (owner == in.labels.end() || owner->second != location || in.id.empty()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container name '", name, "' is taken by a container location '", location,
                     "' does not manage; wod leaves it alone"));
  }
  return std::optional<Inspected>(std::move(in));
}

}  // namespace

absl::Status DockerApplianceDriver::Create(const model::ApplianceAction& a) {
  const std::string name = a.ContainerName();
  json env = json::array();
  for (const auto& [k, v] : a.env) env.push_back(absl::StrCat(k, "=", v));
  json exposed = json::object();
  json bindings = json::object();
  for (const auto& p : a.ports) {
    const std::string key = absl::StrCat(p.container, "/tcp");
    exposed[key] = json::object();
    bindings[key].push_back({{"HostIp", p.host_ip.empty() ? options_.host_ip : p.host_ip},
                             {"HostPort", absl::StrCat(p.host)}});
  }
  json host_config = {
      {"PortBindings", bindings},
      {"Privileged", a.privileged},
      {"RestartPolicy", {{"Name", "unless-stopped"}, {"MaximumRetryCount", 0}}},
      {"SecurityOpt", json::array({"no-new-privileges"})},
      {"PidsLimit", kAppliancePidsLimit},
  };
  if (a.memory_bytes > 0) host_config["Memory"] = a.memory_bytes;
  if (a.cpus > 0) host_config["NanoCpus"] = static_cast<int64_t>(std::llround(a.cpus * 1e9));
  json body = {
      {"Image", a.image},
      {"Env", env},
      {"Labels", ApplianceLabels(a)},
      {"ExposedPorts", exposed},
      {"HostConfig", host_config},
  };
  if (!a.command.empty()) body["Cmd"] = a.command;
  std::string body_text;
  try {
    body_text = body.dump();
  } catch (const json::exception&) {  // only non-UTF-8 text makes dump() throw
    return absl::InvalidArgumentError(
        absl::StrCat("container '", name, "': image, command, env or labels not valid UTF-8"));
  }

  const std::string what = absl::StrCat("create container '", name, "'");
  ASSIGN_OR_RETURN(
      HttpResponse r,
      client_.Send("POST", absl::StrCat("/containers/create?name=", UrlEncode(name)), body_text));
  if (r.status == 201) return absl::OkStatus();
  if (r.status == 404) {
    return absl::FailedPreconditionError(absl::StrCat(
        "image '", a.image, "' for container '", name,
        "' is not on the docker engine (wod does not pull images): ", EngineMessage(r)));
  }
  if (r.status != 409) return FromHttp(r, what);

  // The name is taken: our own earlier create of the same thing (a retry after a lost
  // response, a second pass) is success; anything else is news to the planner.
  ASSIGN_OR_RETURN(std::optional<Inspected> existing,
                   InspectOwned(client_, name, options_.location));
  if (!existing) {
    return absl::AbortedError(absl::StrCat("container '", name, "' vanished during create"));
  }
  const auto& labels = existing->labels;
  auto label = [&](const char* key) {
    auto it = labels.find(key);
    return it == labels.end() ? std::string("?") : it->second;
  };
  if (label(model::kLabelRegistration) == absl::StrCat(a.registration_id) &&
      label(model::kLabelEpoch) == absl::StrCat(a.epoch)) {
    return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("container '", name, "' already exists for registration ",
                                         label(model::kLabelRegistration), " epoch ",
                                         label(model::kLabelEpoch), ", not registration ",
                                         a.registration_id, " epoch ", a.epoch));
}

absl::Status DockerApplianceDriver::Start(const model::ApplianceAction& a) {
  const std::string name = a.ContainerName();
  ASSIGN_OR_RETURN(std::optional<Inspected> c, InspectOwned(client_, name, options_.location));
  if (!c) {
    return absl::AbortedError(absl::StrCat("container '", name, "' does not exist to start"));
  }
  ASSIGN_OR_RETURN(HttpResponse r,
                   client_.Send("POST", absl::StrCat("/containers/", c->id, "/start")));
  if (r.status == 204 || r.status == 304) return absl::OkStatus();  // 304: already running
  if (r.status == 404) {
    return absl::AbortedError(absl::StrCat("container '", name, "' vanished before start"));
  }
  return FromHttp(r, absl::StrCat("start container '", name, "'"));
}

absl::Status DockerApplianceDriver::Stop(const model::ApplianceAction& a) {
  const std::string name = a.ContainerName();
  ASSIGN_OR_RETURN(std::optional<Inspected> c, InspectOwned(client_, name, options_.location));
  if (!c) return absl::OkStatus();
  // The engine answers only once the container is down (SIGTERM, then SIGKILL after t).
  ASSIGN_OR_RETURN(
      HttpResponse r,
      client_.Send("POST", absl::StrCat("/containers/", c->id, "/stop?t=", a.stop_timeout_seconds),
                   std::nullopt, options_.timeout + absl::Seconds(a.stop_timeout_seconds)));
  if (r.status == 204 || r.status == 304 || r.status == 404) return absl::OkStatus();
  return FromHttp(r, absl::StrCat("stop container '", name, "'"));
}

absl::Status DockerApplianceDriver::Remove(const model::ApplianceAction& a) {
  const std::string name = a.ContainerName();
  ASSIGN_OR_RETURN(std::optional<Inspected> c, InspectOwned(client_, name, options_.location));
  if (!c) return absl::OkStatus();
  ASSIGN_OR_RETURN(HttpResponse r,
                   client_.Send("DELETE", absl::StrCat("/containers/", c->id, "?force=1&v=1")));
  if (r.status == 204 || r.status == 404) return absl::OkStatus();
  return FromHttp(r, absl::StrCat("remove container '", name, "'"));
}

}  // namespace wod::drivers
