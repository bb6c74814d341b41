// Fuzz target for the appliances driver's parser of Docker's container list (GET
// /containers/json, drivers/appliances/appliances_real.h ParseContainerList). Properties:
//  - nothing crashes or throws, whatever the bytes;
//  - only containers labelled wod.managed-by=<our location> come out, sorted by name;
//  - a container not marked malformed has every wod label, a seat >= 0 and its text labels;
//  - round trip: the containers written back as a Docker list parse to the same containers.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "drivers/appliances/appliances_real.h"
#include "nlohmann/json.hpp"

namespace {

using nlohmann::json;

void Fail(const char* what, std::string_view input) {
  std::fprintf(stderr, "docker_list_fuzz: %s\n%.*s\n", what, static_cast<int>(input.size()),
               input.data());
  std::abort();
}

json ToDocker(const wod::model::ObservedContainer& c) {
  json ports = json::array();
  for (const auto& p : c.ports) {
    ports.push_back({{"PrivatePort", p.container}, {"PublicPort", p.host}, {"IP", p.host_ip}});
  }
  return {{"Id", c.id},         {"Names", json::array({"/" + c.name})},
          {"Image", c.image},   {"State", wod::model::ContainerStateName(c.state)},
          {"Labels", c.labels}, {"Ports", ports}};
}

// The containers as comparable text, order-independent among equal names.
std::vector<std::string> Canonical(const wod::model::ObservedAppliances& a) {
  std::vector<std::string> out;
  for (const auto& c : a.containers) {
    json j = ToDocker(c);
    j["decoded"] = {c.seat,      c.registration_id, c.workshop, c.epoch,
                    c.appliance, c.spec_hash,       c.malformed};
    out.push_back(j.dump(-1, ' ', false, json::error_handler_t::replace));
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto parsed = wod::drivers::ParseContainerList(input, "local");
  if (!parsed.ok()) return 0;
  const auto& cs = parsed->containers;
  for (size_t i = 0; i < cs.size(); ++i) {
    const auto& c = cs[i];
    auto owner = c.labels.find(wod::model::kLabelManagedBy);
    if (owner == c.labels.end() || owner->second != "local") Fail("foreign container", input);
    if (i > 0 && cs[i - 1].name > c.name) Fail("not sorted by name", input);
    if (!c.malformed) {
      // Every wod label is there and the text ones were taken as they are.
      for (const char* key :
           {wod::model::kLabelSeat, wod::model::kLabelRegistration, wod::model::kLabelEpoch,
            wod::model::kLabelWorkshop, wod::model::kLabelAppliance, wod::model::kLabelSpec}) {
        if (!c.labels.count(key)) Fail("well-formed without a wod label", input);
      }
      if (c.seat < 0) Fail("negative seat", input);
      if (c.workshop != c.labels.at(wod::model::kLabelWorkshop) ||
          c.appliance != c.labels.at(wod::model::kLabelAppliance) ||
          c.spec_hash != c.labels.at(wod::model::kLabelSpec)) {
        Fail("text labels decoded wrong", input);
      }
    }
  }
  json list = json::array();
  for (const auto& c : cs) list.push_back(ToDocker(c));
  const auto again = wod::drivers::ParseContainerList(
      list.dump(-1, ' ', false, json::error_handler_t::replace), "local");
  if (!again.ok()) Fail("its own listing does not parse", input);
  if (Canonical(*again) != Canonical(*parsed)) Fail("round trip changed the containers", input);
  return 0;
}
