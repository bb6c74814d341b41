// `wod drift [--location X] [--json] [--exit-code]`: the drift table the controllers' last
// passes stored (seat, domain, expected, observed, planned action, since). With `--live
// --config FILE --location X` it observes this machine and plans through the controller
// without applying anything: no lease, no store write, no change on the machine.
#include <algorithm>
#include <optional>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/controller_config.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "store/drift_json.h"

namespace wod::cli {
namespace {

// Exit code of --exit-code when there is drift: distinct from the error codes (1-7).
constexpr int kDriftFound = 8;

struct DriftOptions {
  std::string location;
  std::string config;
  bool live = false;
  bool json = false;
  bool exit_code = false;
};

void PrintDrift(const std::vector<store::DriftEntry>& entries, bool json) {
  if (json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& d : entries) out.push_back(store::DriftEntryToJson(d));
    fmt::print("{}\n", out.dump(2));
    return;
  }
  if (entries.empty()) {
    fmt::print("no drift\n");
    return;
  }
  std::vector<std::vector<std::string>> rows = {
      {"LOCATION", "SEAT", "DOMAIN", "PLANNED", "EXPECTED", "OBSERVED", "SINCE"}};
  for (const auto& d : entries) {
    rows.push_back({d.location, d.seat == 0 ? "-" : std::to_string(d.seat), d.domain, d.planned,
                    d.expected, d.observed, common::FormatTime(d.since)});
  }
  std::vector<size_t> width(rows[0].size(), 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], r[i].size());
  }
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      if (i + 1 == r.size()) {
        line += r[i];
      } else if (i == 1) {
        line += fmt::format("{:>{}}  ", r[i], width[i]);
      } else {
        line += fmt::format("{:<{}}  ", r[i], width[i]);
      }
    }
    fmt::print("{}\n", line);
  }
}

int RunDrift(const GlobalOptions& global, const DriftOptions& opts) {
  if (opts.live && (opts.config.empty() || opts.location.empty())) {
    return PrintError(absl::InvalidArgumentError("--live needs --config FILE and --location X"));
  }
  std::optional<ControllerConfig> config;
  if (opts.live) {
    auto c = LoadControllerConfig(opts.config);
    if (!c.ok()) return PrintError(c.status());
    config = std::move(c).value();
  }
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  std::vector<store::DriftEntry> entries;
  if (opts.live) {
    if (absl::Status s = RequireLocation(*store, opts.location); !s.ok()) {
      PrintError(s);
      return s.code() == absl::StatusCode::kNotFound ? 3 : 1;
    }
    auto backend = MakeBackend(*config, opts.location, /*read_only=*/true);
    if (!backend.ok()) return PrintError(backend.status());
    // No lease: a pass without apply reads the store and observes the machine, and writes
    // nothing, so it may run beside the location's controller.
    controller::Controller ctl(store.get(), backend->drivers(), backend->options);
    auto pass = ctl.RunPass(/*apply=*/false);
    if (!pass.ok()) {
      PrintError(pass.status());
      return 1;
    }
    entries = ctl.last_drift();
  } else {
    std::optional<std::string> location;
    if (!opts.location.empty()) location = opts.location;
    auto listed = store->ListDrift(location);
    if (!listed.ok()) {
      PrintError(listed.status());
      return 1;
    }
    entries = std::move(listed).value();
  }
  PrintDrift(entries, opts.json);
  return opts.exit_code && !entries.empty() ? kDriftFound : 0;
}

}  // namespace

void AddDriftCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<DriftOptions>();
  CLI::App* cmd = app.add_subcommand(
      "drift",
      "What differs from desired state: the stored drift report, or --live on this machine");
  // No capture_default_str: the default may come from $WOD_STORE, whose URL may hold a
  // password, and --help must not print it.
  cmd->add_option("--store", global.store_url,
                  "Store URL: sqlite:PATH or postgresql://... (default: $WOD_STORE, else "
                  "sqlite:/var/lib/wod/wod.db)")
      ->envname("WOD_STORE");
  cmd->add_option("--location", opts->location, "Only this location (required with --live)");
  cmd->add_flag("--live", opts->live,
                "Observe and plan on this machine now, applying nothing (needs --config)");
  cmd->add_option("--config", opts->config, "Backend configuration file, for --live");
  cmd->add_flag("--json", opts->json, "Print JSON");
  cmd->add_flag("--exit-code", opts->exit_code,
                "Exit 8 when there is drift (like diff --exit-code), 0 when there is none");
  cmd->footer(
      "Exit codes: 0 printed (and, with --exit-code, no drift); 8 drift found (--exit-code); "
      "1 store or observe error; 2 bad arguments or configuration; 3 unknown location "
      "(--live). See docs/controller.md.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunDrift(global, *opts); });
}

}  // namespace wod::cli
