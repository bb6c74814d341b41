// `wod serve --store URL --listen HOST:PORT [--config FILE] [--no-lifecycle]`: the REST API
// (api/server.h) and, unless --no-lifecycle, the lifecycle with its mail outbox
// (controller::Lifecycle, docs/lifecycle.md) under the global `lifecycle` lease: of several
// `wod serve` (or `wod up`) processes on one store, one sends the mails and runs the deadline
// verbs, the others wait for the lease and take over when its holder dies. The config file's
// `api:`, `mail:` and `lifecycle:` sections apply; other top-level keys are other readers'.
// Prints "wod serve: listening on http://HOST:PORT" once it accepts connections (PORT 0
// picks a free port: scripts read the line). SIGTERM or SIGINT stops it gracefully: no new
// connection is accepted, requests in flight finish, the lifecycle releases its lease, the
// process exits 0.
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>

#include <fmt/format.h>

#include "absl/strings/str_cat.h"
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
  bool no_lifecycle = false;
};

int RunServe(const GlobalOptions& global, const ServeOptions& opts) {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseListen(opts.listen, &host, &port); !s.ok()) return PrintError(s);
  api::ServerConfig config;
  LifecycleSections sections;
  if (!opts.config.empty()) {
    auto loaded = api::LoadServerConfig(opts.config);
    if (!loaded.ok()) return PrintError(loaded.status());
    config = std::move(loaded).value();
    std::ifstream in(opts.config);
    std::stringstream text;
    text << in.rdbuf();
    auto parsed = ParseLifecycleSections(opts.config, text.str());
    if (!parsed.ok()) return PrintError(parsed.status());  // 2
    sections = std::move(parsed).value();
    // The page token secret lives next to the config file: every API process and the
    // lifecycle of a deployment must share it (docs/lifecycle.md). Without a config file the
    // page tokens are random and the mails link the portal.
    auto secret = LoadOrCreateTokenSecret(opts.config, config.secret_file);
    if (!secret.ok()) return PrintError(secret.status());  // 2
    config.participant_token_secret = *std::move(secret);
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
  const std::string shown_host = UrlHost(host);
  const std::string url = absl::StrCat("http://", shown_host, ":", *bound);
  std::unique_ptr<LifecycleRunner> lifecycle;
  if (!opts.no_lifecycle) {
    auto made = LifecycleRunner::Create(global.store_url, sections.mail, opts.config,
                                        ResolveLifecycleOptions(sections, config, url));
    if (!made.ok()) {
      const int code = PrintError(made.status());
      return code == 2 ? 2 : 1;  // 2: the mail section; 1: the store
    }
    lifecycle = std::move(made).value();
  }
  if (absl::Status s = server.Start(); !s.ok()) return PrintError(s);
  std::atomic<bool> stop{false};
  WorkerFailure failure;
  if (lifecycle) lifecycle->Start(&stop, &failure);
  fmt::print("wod serve: listening on {}\n", url);
  std::fflush(stdout);
  WOD_LOG(kInfo, "serve", "listening on {} (store {}, lifecycle {})", url,
          common::RedactUrl(global.store_url),
          !lifecycle                       ? std::string("off")
          : sections.mail.smtp_url.empty() ? "on, mail to maildir " + sections.mail.maildir
                                           : std::string("on, mail over SMTP"));

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  {
    std::lock_guard<std::mutex> lock(failure.mu);
    if (failure.status.ok()) {
      WOD_LOG(kInfo, "serve", "{}: stopping after the requests in flight",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
    }
  }
  server.Stop();
  stop.store(true);
  if (lifecycle) lifecycle->Join();
  std::lock_guard<std::mutex> lock(failure.mu);
  if (!failure.status.ok()) {
    PrintError(failure.status);
    return 1;
  }
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
                  "YAML config file: `api:` (body limit, rate limit, email deny list, public "
                  "base URL; docs/api.md), `mail:` and `lifecycle:` (docs/operations.md)");
  cmd->add_flag("--no-lifecycle", opts->no_lifecycle,
                "Do not run the lifecycle (mails, deadline CLEANUP, PURGE): for sites that run "
                "it in another process");
  cmd->footer(
      "Exit codes: 0 stopped by SIGTERM/SIGINT; 1 the store cannot be opened, or the "
      "lifecycle stopped on an error; 2 invalid --listen, config or secret file; 3 config file "
      "not readable; 7 the address cannot be bound.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunServe(global, *opts); });
}

}  // namespace wod::cli
