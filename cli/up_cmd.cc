// `wod up [--store URL] [--config FILE] [--listen HOST:PORT] [--location NAME]`: the one-machine
// deployment (docs/operations.md). One process runs the REST API (api::Server), the controller
// of one location (controller::Controller::Run) and the lifecycle with its mail outbox
// (controller::Lifecycle::Run), on one store, from one config file: the sections of
// `wod controller` (docs/controller.md) plus `api:` (docs/api.md), `mail:` and `lifecycle:`.
//
// The API and the controller share one Store object, so with SQLite a registration made
// through the API wakes the controller at once (the store's in-process signal). The lifecycle
// gets a Store of its own on the same URL: a Store allows one waiting thread.
//
// Prints "wod up: listening on http://HOST:PORT" once the API accepts connections. SIGTERM or
// SIGINT: the API stops accepting and finishes its requests, the controller finishes the seats
// in flight and releases its lease, the lifecycle releases its lease; exit 0.
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/config.h"
#include "api/server.h"
#include "cli/commands.h"
#include "cli/config_reader.h"
#include "cli/controller_config.h"
#include "cli/daemon_common.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "common/log.h"
#include "controller/lifecycle.h"
#include "drivers/mail/mail_maildir.h"
#include "drivers/mail/mail_smtp.h"

namespace wod::cli {
namespace {

namespace fs = std::filesystem;

struct UpOptions {
  std::string config;
  std::string listen = "127.0.0.1:8080";
  std::string location = "local";
};

// What `wod up` reads beyond the controller's sections.
struct UpConfig {
  api::ServerConfig api;
  LifecycleSections sections;
};

// Reads the `api:`, `mail:` and `lifecycle:` sections of `path` (the controller's sections
// are LoadControllerConfig's).
absl::StatusOr<UpConfig> LoadUpConfig(const std::string& path) {
  UpConfig c;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  ASSIGN_OR_RETURN(c.api, api::ParseServerConfig(path, text.str()));
  ASSIGN_OR_RETURN(c.sections, ParseLifecycleSections(path, text.str()));
  return c;
}

int RunUp(const GlobalOptions& global, const UpOptions& opts) {
  std::string host;
  int port = 0;
  if (absl::Status s = ParseListen(opts.listen, &host, &port); !s.ok()) return PrintError(s);
  if (opts.config.empty()) {
    return PrintError(absl::InvalidArgumentError(
        "--config FILE is required (examples/wod.yml is the one-machine default)"));
  }
  auto config = LoadControllerConfig(opts.config, {"api", "mail", "lifecycle"});
  if (!config.ok()) return PrintError(config.status());  // 2
  auto up = LoadUpConfig(opts.config);
  if (!up.ok()) return PrintError(up.status());  // 2

  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  if (absl::Status s = RequireLocation(*store, opts.location); !s.ok()) {
    PrintError(s);
    return s.code() == absl::StatusCode::kNotFound ? 3 : 1;
  }
  auto backend = MakeBackend(*config, opts.location, /*read_only=*/false);
  if (!backend.ok()) return PrintError(backend.status());  // 2
  auto secret = LoadOrCreateTokenSecret(opts.config, up->api.secret_file);
  if (!secret.ok()) return PrintError(secret.status());  // 2
  up->api.participant_token_secret = *std::move(secret);

  // Stop signals are taken by this thread with sigwait: blocked before any thread starts, so
  // every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  // The hub this process manages, without a trailing '/': by default the participant page's
  // "Open workshop" and the mails' login link go there.
  std::string hub = config->has_hub ? config->hub_url : "";
  while (!hub.empty() && hub.back() == '/') hub.pop_back();
  if (!hub.empty() && up->api.hub_public_url.empty()) up->api.hub_public_url = hub;
  api::Server server(store.get(), up->api, common::RealClock::Get());
  auto bound = server.Bind(host, port);
  if (!bound.ok()) return PrintError(bound.status());  // 7
  const std::string url = absl::StrCat("http://", UrlHost(host), ":", *bound);

  controller::LifecycleOptions lo = ResolveLifecycleOptions(up->sections, up->api, url);
  lo.plan.user_prefix = config->policy.user_prefix;
  if (!hub.empty() && lo.plan.hub_login_urls.count(opts.location) == 0) {
    lo.plan.hub_login_urls[opts.location] = hub + "/hub/login";
  }
  // The lifecycle gets a Store of its own on the same URL (a Store allows one waiting thread).
  auto lifecycle = LifecycleRunner::Create(global.store_url, up->sections.mail, opts.config, lo);
  if (!lifecycle.ok()) {
    const int code = PrintError(lifecycle.status());
    return code == 2 ? 2 : 1;  // 2: the mail section; 1: the store
  }
  controller::Controller ctl(store.get(), backend->drivers(), backend->options);

  if (absl::Status s = server.Start(); !s.ok()) return PrintError(s);
  std::atomic<bool> stop{false};
  WorkerFailure failure;
  std::thread controller_thread([&] {
    if (absl::Status s = ctl.Run(stop); !s.ok()) failure.Set(s);
  });
  (*lifecycle)->Start(&stop, &failure);

  fmt::print("wod up: listening on {}\n", url);
  fmt::print("wod up: portal {}/  instructor dashboard {}/dashboard\n", url, url);
  std::fflush(stdout);
  WOD_LOG(
      kInfo, "up", "location '{}' up: API on {}, store {}, mail {}{}{}", opts.location, url,
      common::RedactUrl(global.store_url),
      up->sections.mail.smtp_url.empty() ? "to maildir " + up->sections.mail.maildir : "over SMTP",
      backend->hub ? "" : ", no hub", backend->appliances ? "" : ", no appliances");

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  {
    std::lock_guard<std::mutex> lock(failure.mu);
    if (failure.status.ok()) {
      WOD_LOG(kInfo, "up", "{}: stopping (requests and seats in flight finish first)",
              signal_number == SIGTERM ? "SIGTERM" : "SIGINT");
    }
  }
  server.Stop();
  stop.store(true);
  controller_thread.join();
  (*lifecycle)->Join();
  std::lock_guard<std::mutex> lock(failure.mu);
  if (!failure.status.ok()) {
    PrintError(failure.status);
    return 1;
  }
  WOD_LOG(kInfo, "up", "stopped, leases released");
  return 0;
}

}  // namespace

void AddUpCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<UpOptions>();
  CLI::App* cmd = app.add_subcommand(
      "up", "API, controller of one location and lifecycle (mail) in one process");
  // No capture_default_str: the default may come from $WOD_STORE, whose URL may hold a
  // password, and --help must not print it.
  cmd->add_option("--store", global.store_url,
                  "Store URL: sqlite:PATH or postgresql://... (default: $WOD_STORE, else "
                  "sqlite:/var/lib/wod/wod.db)")
      ->envname("WOD_STORE");
  cmd->add_option("--config", opts->config,
                  "Config file (YAML): the controller's sections plus api:, mail:, lifecycle: "
                  "(examples/wod.yml, docs/operations.md)")
      ->required();
  cmd->add_option("--listen", opts->listen, "HOST:PORT of the API (PORT 0: any free port)")
      ->capture_default_str();
  cmd->add_option("--location", opts->location, "The location this machine is")
      ->capture_default_str();
  cmd->footer(
      "Exit codes: 0 stopped by SIGTERM/SIGINT; 1 the store failed, or the controller or "
      "lifecycle stopped on an error; 2 bad --listen or configuration; 3 unknown location; "
      "7 the address cannot be bound. See docs/operations.md.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunUp(global, *opts); });
}

}  // namespace wod::cli
