// `wod controller --location NAME --store URL --config FILE [--once] [--holder ID]`: the
// controller of one backend (docs/controller.md). As a daemon it waits for the location's
// lease, converges on every change and every resync, and on SIGTERM or SIGINT finishes the
// seats in flight, releases the lease at once and exits 0. With --once it takes the lease
// (failing at once when another controller holds it), runs one pass, prints its summary and
// releases the lease.
#include <signal.h>

#include <atomic>
#include <set>
#include <string>

#include <fmt/format.h>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/controller_config.h"
#include "cli/store_open.h"
#include "common/log.h"

namespace wod::cli {
namespace {

struct ControllerCmdOptions {
  std::string location;
  std::string config;
  std::string holder;
  bool once = false;
  bool fake_drivers = false;  // test only: in-memory drivers (MakeFakeBackend)
};

std::atomic<bool> g_stop{false};

extern "C" void OnStopSignal(int) { g_stop.store(true); }

void InstallStopHandlers() {
  struct sigaction sa = {};
  sa.sa_handler = OnStopSignal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
}

int RunController(const GlobalOptions& global, const ControllerCmdOptions& opts) {
  auto config = LoadControllerConfig(opts.config);
  if (!config.ok()) return PrintError(config.status());  // InvalidArgument: 2
  // Two pooled connections besides the listening one: the workers' writes (statuses, events)
  // are short transactions that may queue, and twenty backends share one PostgreSQL.
  store::StoreOptions store_options;
  store_options.max_connections = 2;
  auto store = OpenStoreOrPrint(global.store_url, store_options);
  if (!store) return 1;
  if (absl::Status s = RequireLocation(*store, opts.location); !s.ok()) {
    PrintError(s);
    return s.code() == absl::StatusCode::kNotFound ? 3 : 1;
  }
  absl::StatusOr<Backend> backend;
  if (opts.fake_drivers) {
    // The fake engine holds every image of the catalog, as an engine that pulled them would.
    auto workshops = store->ListWorkshops();
    if (!workshops.ok()) {
      PrintError(workshops.status());
      return 1;
    }
    std::set<std::string> images;
    for (const model::Workshop& w : *workshops) {
      for (const model::Appliance& a : w.appliances) images.insert(a.image);
    }
    backend = MakeFakeBackend(*config, opts.location, images);
  } else {
    backend = MakeBackend(*config, opts.location, /*read_only=*/false);
  }
  if (!backend.ok()) return PrintError(backend.status());  // InvalidArgument: 2
  backend->options.holder = opts.holder;
  controller::Controller ctl(store.get(), backend->drivers(), backend->options);

  if (opts.once) {
    if (absl::Status s = ctl.AcquireLease(); !s.ok()) {
      if (s.code() == absl::StatusCode::kFailedPrecondition) {
        return PrintError(absl::FailedPreconditionError(
            absl::StrCat("another controller holds location '", opts.location,
                         "': ", std::string(s.message()))));  // 6
      }
      PrintError(s);
      return 1;
    }
    auto pass = ctl.RunPass();
    const int64_t epoch = ctl.lease_epoch();
    ctl.ReleaseLease();
    if (!pass.ok()) {
      PrintError(pass.status());
      return 1;
    }
    fmt::print("location={} epoch={} {}\n", opts.location, epoch, controller::PassSummary(*pass));
    return 0;
  }

  InstallStopHandlers();
  WOD_LOG(kInfo, "controller",
          "controller of location '{}' starting: concurrency {}, lease ttl {}, resync {}{}{}{}",
          opts.location, backend->options.concurrency,
          absl::FormatDuration(backend->options.lease_ttl),
          absl::FormatDuration(backend->options.resync), backend->hub ? "" : ", no hub",
          backend->appliances ? "" : ", no appliances",
          opts.fake_drivers ? ", FAKE DRIVERS (test only: nothing on this machine changes)" : "");
  absl::Status s = ctl.Run(g_stop);
  if (!s.ok()) {
    PrintError(s);
    return 1;
  }
  WOD_LOG(kInfo, "controller", "controller of location '{}' stopped, lease released",
          opts.location);
  return 0;
}

}  // namespace

void AddControllerCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<ControllerCmdOptions>();
  CLI::App* cmd = app.add_subcommand(
      "controller", "Converge one location: accounts, content, hub and appliances of this machine");
  // No capture_default_str: the default may come from $WOD_STORE, whose URL may hold a
  // password, and --help must not print it.
  cmd->add_option("--store", global.store_url,
                  "Store URL: sqlite:PATH or postgresql://... (default: $WOD_STORE, else "
                  "sqlite:/var/lib/wod/wod.db)")
      ->envname("WOD_STORE");
  cmd->add_option("--location", opts->location, "The location this machine is")->required();
  cmd->add_option("--config", opts->config, "Backend configuration file (YAML)")->required();
  cmd->add_flag("--once", opts->once,
                "Take the lease, run one pass, print its summary, release the lease");
  cmd->add_option("--holder", opts->holder, "Lease holder identity (default: HOSTNAME:PID)");
  // Test only, hidden from --help (the empty group): in-memory fakes instead of the real
  // drivers, so one machine runs many controllers without root (bench/scale_bench;
  // docs/operations.md). The lease, statuses, events and pass statistics are real.
  cmd->add_flag("--fake-drivers", opts->fake_drivers,
                "Test only: in-memory fake drivers; nothing on this machine changes")
      ->group("");
  cmd->footer(
      "Exit codes: 0 pass ran (--once) or stopped by SIGTERM/SIGINT; 1 the pass or the store "
      "failed; 2 bad configuration; 3 unknown location; 6 another controller holds the "
      "location (--once). See docs/controller.md.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunController(global, *opts); });
}

}  // namespace wod::cli
