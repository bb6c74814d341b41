// `wod serve --store URL --listen HOST:PORT [--config FILE]`: the REST API (api/server.h).
// Prints "wod serve: listening on http://HOST:PORT" once it accepts connections (PORT 0
// picks a free port: scripts read the line). SIGTERM or SIGINT stops it gracefully: no new
// connection is accepted, requests in flight finish, the process exits 0.
#include <signal.h>

#include <cstdio>

#include <fmt/format.h>

#include "api/config.h"
#include "api/server.h"
#include "cli/commands.h"
#include "cli/daemon_common.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "common/log.h"

namespace wod::cli {
namespace {

struct ServeOptions {
  std::string listen = "127.0.0.1:8080";
  std::string config;
};

int RunServe(const GlobalOptions& global, const ServeOptions& opts) {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseListen(opts.listen, &host, &port); !s.ok()) return PrintError(s);
  api::ServerConfig config;
  if (!opts.config.empty()) {
    auto loaded = api::LoadServerConfig(opts.config);
    if (!loaded.ok()) return PrintError(loaded.status());
    config = std::move(loaded).value();
  }
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;

  // The stop signals are taken synchronously by this thread (sigwait): blocked here, before
  // the server starts its threads, so every thread inherits the mask and none runs a handler.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  api::Server server(store.get(), config, common::RealClock::Get());
  auto bound = server.Bind(host, port);
  if (!bound.ok()) return PrintError(bound.status());
  if (absl::Status s = server.Start(); !s.ok()) return PrintError(s);
  const std::string shown_host = UrlHost(host);
  fmt::print("wod serve: listening on http://{}:{}\n", shown_host, *bound);
  std::fflush(stdout);
  WOD_LOG(kInfo, "serve", "listening on {}:{} (store {})", shown_host, *bound,
          common::RedactUrl(global.store_url));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  WOD_LOG(kInfo, "serve", "{}: stopping after the requests in flight",
          signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Stop();
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve the REST API (/api/v1, /healthz, /metrics)");
  // No capture_default_str: the default may come from $WOD_STORE, whose URL may hold a
  // password, and --help must not print it.
  cmd->add_option("--store", global.store_url,
                  "Store URL: sqlite:PATH or postgresql://... (default: $WOD_STORE, else "
                  "sqlite:/var/lib/wod/wod.db)")
      ->envname("WOD_STORE");
  cmd->add_option("--listen", opts->listen, "HOST:PORT to listen on (PORT 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--config", opts->config,
                  "YAML config file; its `api:` section sets body limit, rate limit, email deny "
                  "list, public base URL (docs/api.md)");
  cmd->footer(
      "Exit codes: 0 stopped by SIGTERM/SIGINT; 1 the store cannot be opened; 2 invalid "
      "--listen or config; 3 config file not readable; 7 the address cannot be bound.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunServe(global, *opts); });
}

}  // namespace wod::cli
