// `wod location list|set`: the locations (backends) of the store, their state, hub, controller
// lease, last pass, liveness and seats; and an operator's changes to one of them.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "absl/time/clock.h"
#include "cli/commands.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "model/validate.h"

namespace wod::cli {
namespace {

struct ListOptions {
  bool json = false;
};

struct SetOptions {
  std::string name;
  std::optional<std::string> fqdn;
  std::optional<std::string> hub_url;
  std::optional<std::string> state;
};

// "4s ago", "3m ago", "2h ago": how long since a time, for the table.
std::string Ago(absl::Time t, absl::Time now) {
  const int64_t s = std::max<int64_t>(0, absl::ToInt64Seconds(now - t));
  if (s < 120) return fmt::format("{}s ago", s);
  if (s < 7200) return fmt::format("{}m ago", s / 60);
  return fmt::format("{}h ago", s / 3600);
}

nlohmann::json HealthJson(const store::LocationHealth& h) {
  nlohmann::json j = {{"name", h.location.name},
                      {"state", model::LocationStateName(h.location.state)},
                      {"fqdn", h.location.fqdn},
                      {"hub_url", h.location.hub_url},
                      {"user_prefix", h.location.user_prefix},
                      {"live", h.live},
                      {"seats", h.seats},
                      {"occupied", h.occupied},
                      {"free", h.seats - h.occupied},
                      {"failed", h.failed}};
  j["lease"] = h.lease_holder.empty()
                   ? nlohmann::json(nullptr)
                   : nlohmann::json{{"holder", h.lease_holder},
                                    {"epoch", h.lease_epoch},
                                    {"expires", common::FormatTime(h.lease_expires)}};
  j["last_pass"] =
      h.last_pass ? nlohmann::json{{"time", common::FormatTime(*h.last_pass)},
                                   {"duration_ms", absl::ToInt64Milliseconds(h.last_pass_duration)},
                                   {"passes", h.passes}}
                  : nlohmann::json(nullptr);
  return j;
}

int RunList(const GlobalOptions& global, const ListOptions& opts) {
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  const absl::Time now = absl::Now();
  auto health = store->ListLocationHealth(now);
  if (!health.ok()) return PrintError(health.status());
  if (opts.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& h : *health) out.push_back(HealthJson(h));
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (health->empty()) {
    fmt::print("no locations: load a catalog with `wod catalog load DIR`\n");
    return 0;
  }
  fmt::print("{:<14} {:<9} {:<5} {:<24} {:<26} {:<12} {:>5} {:>5} {:>6}  {}\n", "LOCATION", "STATE",
             "LIVE", "LEASE", "LAST PASS", "FQDN", "FREE", "USED", "FAILED", "HUB");
  for (const auto& h : *health) {
    const std::string lease =
        h.lease_holder.empty() ? "-" : fmt::format("{} #{}", h.lease_holder, h.lease_epoch);
    const std::string pass = h.last_pass
                                 ? fmt::format("{} ({} ms)", Ago(*h.last_pass, now),
                                               absl::ToInt64Milliseconds(h.last_pass_duration))
                                 : "never";
    // A location no controller ever reported on is taken at its word (see docs/operations.md).
    const std::string live = !h.last_pass ? "?" : h.live ? "yes" : "NO";
    fmt::print("{:<14} {:<9} {:<5} {:<24} {:<26} {:<12} {:>5} {:>5} {:>6}  {}\n", h.location.name,
               model::LocationStateName(h.location.state), live, lease, pass,
               h.location.fqdn.empty() ? "-" : h.location.fqdn, h.seats - h.occupied, h.occupied,
               h.failed, h.location.hub_url.empty() ? "-" : h.location.hub_url);
  }
  return 0;
}

int RunSet(const GlobalOptions& global, const SetOptions& opts) {
  store::LocationPatch patch;
  if (opts.fqdn) {
    if (auto s = model::ValidateFqdn(*opts.fqdn); !s.ok()) {
      fmt::print(stderr, "wod location set: --fqdn: {}\n", std::string(s.message()));
      return 2;
    }
    patch.fqdn = *opts.fqdn;
  }
  if (opts.hub_url) {
    if (auto s = model::ValidateHubUrl(*opts.hub_url); !s.ok()) {
      fmt::print(stderr, "wod location set: --hub-url: {}\n", std::string(s.message()));
      return 2;
    }
    patch.hub_url = *opts.hub_url;
  }
  if (opts.state) {
    patch.state = model::ParseLocationState(*opts.state);
    if (!patch.state) {
      fmt::print(stderr, "wod location set: --state: '{}' is not active, draining or disabled\n",
                 *opts.state);
      return 2;
    }
  }
  if (!patch.fqdn && !patch.hub_url && !patch.state) {
    fmt::print(stderr, "wod location set: give at least one of --fqdn, --hub-url, --state\n");
    return 2;
  }
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  auto changed = store->UpdateLocation(opts.name, patch);
  if (!changed.ok()) return PrintError(changed.status());
  fmt::print("location '{}': state {}, fqdn '{}', hub '{}' (generation {})\n", changed->name,
             model::LocationStateName(changed->state), changed->fqdn, changed->hub_url,
             changed->generation);
  return 0;
}

}  // namespace

void AddLocationCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  CLI::App* cmd =
      app.add_subcommand("location", "List the locations (backends) or change one of them");
  cmd->require_subcommand(1);
  cmd->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
      ->envname("WOD_STORE")
      ->capture_default_str();

  auto list = std::make_shared<ListOptions>();
  CLI::App* ls = cmd->add_subcommand(
      "list", "State, fqdn, hub, controller lease, last pass, liveness and seats of each location");
  ls->add_flag("--json", list->json, "Print JSON");
  ls->callback([&global, list, exit_code] { *exit_code = RunList(global, *list); });

  auto set = std::make_shared<SetOptions>();
  CLI::App* st = cmd->add_subcommand(
      "set",
      "Change a location: its external name (WODBEEXTFQDN), its hub URL (the participants' "
      "link), or its state (active; draining: no new registrations; disabled: not capacity)");
  st->add_option("name", set->name, "Location name")->required();
  st->add_option("--fqdn", set->fqdn, "External host name; \"\" clears it");
  st->add_option("--hub-url", set->hub_url, "http(s) URL of the location's JupyterHub");
  st->add_option("--state", set->state, "active, draining or disabled");
  st->callback([&global, set, exit_code] { *exit_code = RunSet(global, *set); });
}

}  // namespace wod::cli
