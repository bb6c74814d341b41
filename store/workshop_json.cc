#include "store/workshop_json.h"

#include <nlohmann/json.hpp>

#include "common/random.h"

namespace wod::store {
namespace {

using nlohmann::json;

json ApplianceToJson(const model::Appliance& a) {
  json ports = json::array();
  for (const auto& p : a.ports)
    ports.push_back({{"container", p.container}, {"host_base", p.host_base}});
  return {{"name", a.name},       {"image", a.image},
          {"command", a.command}, {"ports", ports},
          {"env", a.env},         {"memory_bytes", a.memory_bytes},
          {"cpus", a.cpus},       {"privileged", a.privileged}};
}

// Reads `key` into `out` when present with the right type; leaves the default otherwise, so
// specs stored by an older wod (with fewer fields) still load.
template <typename T>
bool Get(const json& j, const char* key, T* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return true;
  try {
    *out = it->get<T>();
    return true;
  } catch (const json::exception&) {
    return false;
  }
}

}  // namespace

std::string WorkshopToJson(const model::Workshop& w) {
  json appliances = json::array();
  for (const auto& a : w.appliances) appliances.push_back(ApplianceToJson(a));
  json j = {
      {"id", w.id},
      {"content_dir", w.content_dir},
      {"name", w.name},
      {"description", w.description},
      {"active", w.active},
      {"capacity", w.capacity},
      {"priority", w.priority},
      {"range", {{"min", w.range.min}, {"max", w.range.max}}},
      {"reset", w.reset},
      {"ldap", w.ldap},
      {"replay_id", w.replay_id},
      {"varpass", w.varpass},
      {"compile", w.compile},
      {"beta", w.beta},
      {"monoappliance", w.monoappliance},
      {"multiappliance", w.multiappliance},
      {"workshop_img", w.workshop_img},
      {"badge_img", w.badge_img},
      {"category", w.category},
      {"duration_hours", w.duration_hours},
      {"presenter", w.presenter},
      {"role", w.role},
      {"avatar", w.avatar},
      {"replay_link", w.replay_link},
      {"video_link", w.video_link},
      {"notebook", w.notebook},
      {"location", w.location},
      {"alternate_locations", w.alternate_locations},
      {"appliances", appliances},
      {"variables", w.variables},
  };
  // nlohmann::json keeps object keys sorted, which makes dump() canonical.
  return j.dump();
}

absl::StatusOr<model::Workshop> WorkshopFromJson(const std::string& text) {
  json j = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) {
    return absl::InternalError("stored workshop spec is not a JSON object");
  }
  model::Workshop w;
  bool ok =
      Get(j, "id", &w.id) && Get(j, "content_dir", &w.content_dir) && Get(j, "name", &w.name) &&
      Get(j, "description", &w.description) && Get(j, "active", &w.active) &&
      Get(j, "capacity", &w.capacity) && Get(j, "priority", &w.priority) &&
      Get(j, "reset", &w.reset) && Get(j, "ldap", &w.ldap) && Get(j, "replay_id", &w.replay_id) &&
      Get(j, "varpass", &w.varpass) && Get(j, "compile", &w.compile) && Get(j, "beta", &w.beta) &&
      Get(j, "monoappliance", &w.monoappliance) && Get(j, "multiappliance", &w.multiappliance) &&
      Get(j, "workshop_img", &w.workshop_img) && Get(j, "badge_img", &w.badge_img) &&
      Get(j, "category", &w.category) && Get(j, "duration_hours", &w.duration_hours) &&
      Get(j, "presenter", &w.presenter) && Get(j, "role", &w.role) && Get(j, "avatar", &w.avatar) &&
      Get(j, "replay_link", &w.replay_link) && Get(j, "video_link", &w.video_link) &&
      Get(j, "notebook", &w.notebook) && Get(j, "location", &w.location) &&
      Get(j, "alternate_locations", &w.alternate_locations) && Get(j, "variables", &w.variables);
  // Specs stored before alternates were a list hold one name (or "").
  std::string single_alternate;
  if (ok && Get(j, "alternate_location", &single_alternate) && !single_alternate.empty() &&
      w.alternate_locations.empty()) {
    w.alternate_locations = {single_alternate};
  }
  if (auto it = j.find("range"); ok && it != j.end() && it->is_object()) {
    ok = Get(*it, "min", &w.range.min) && Get(*it, "max", &w.range.max);
  }
  if (auto it = j.find("appliances"); ok && it != j.end() && it->is_array()) {
    for (const json& a : *it) {
      model::Appliance app;
      ok = ok && a.is_object() && Get(a, "name", &app.name) && Get(a, "image", &app.image) &&
           Get(a, "command", &app.command) && Get(a, "env", &app.env) &&
           Get(a, "memory_bytes", &app.memory_bytes) && Get(a, "cpus", &app.cpus) &&
           Get(a, "privileged", &app.privileged);
      if (auto ports = a.find("ports"); ok && ports != a.end() && ports->is_array()) {
        for (const json& p : *ports) {
          model::AppliancePort port;
          ok = ok && p.is_object() && Get(p, "container", &port.container) &&
               Get(p, "host_base", &port.host_base);
          app.ports.push_back(port);
        }
      }
      w.appliances.push_back(std::move(app));
    }
  }
  if (!ok) return absl::InternalError("stored workshop spec has a field of the wrong type");
  return w;
}

std::string WorkshopSpecHash(const model::Workshop& w) {
  return common::Sha256Hex(WorkshopToJson(w));
}

}  // namespace wod::store
