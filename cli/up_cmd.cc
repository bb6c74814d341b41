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

// The `mail:` section: a maildir (the default) or an SMTP server.
struct MailConfig {
  std::string maildir = "/var/lib/wod/mail";
  std::string smtp_url;  // set: SMTP instead of the maildir
  drivers::SmtpOptions::Tls tls = drivers::SmtpOptions::Tls::kNone;
  std::string username;
  std::string password_file;
  absl::Duration timeout = absl::Seconds(30);
  drivers::MailIdentity identity;
};

// What `wod up` reads beyond the controller's sections.
struct UpConfig {
  api::ServerConfig api;
  MailConfig mail;
  controller::LifecycleOptions lifecycle;
  bool public_base_url_set = false;
};

absl::Status ReadMail(const ConfigReader& r, const YAML::Node& n, MailConfig& m) {
  return r.ForEachKey(
      n, "mail",
      {"maildir", "smtp_url", "tls", "username", "password_file", "timeout", "from_address",
       "from_name"},
      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
        const std::string f = "mail." + key;
        if (key == "maildir") {
          ASSIGN_OR_RETURN(m.maildir, r.Path(v, f));
        } else if (key == "smtp_url") {
          ASSIGN_OR_RETURN(m.smtp_url, r.NonEmpty(v, f));
          if (m.smtp_url.rfind("smtp://", 0) != 0 && m.smtp_url.rfind("smtps://", 0) != 0) {
            return r.Fail(v, f, "must start with smtp:// or smtps://");
          }
          if (m.smtp_url.find('@') != std::string::npos) {
            return r.Fail(v, f, "must not hold credentials (use username and password_file)");
          }
        } else if (key == "tls") {
          ASSIGN_OR_RETURN(std::string t, r.NonEmpty(v, f));
          if (t == "none") {
            m.tls = drivers::SmtpOptions::Tls::kNone;
          } else if (t == "starttls") {
            m.tls = drivers::SmtpOptions::Tls::kStartTlsIfOffer;
          } else if (t == "required") {
            m.tls = drivers::SmtpOptions::Tls::kRequired;
          } else {
            return r.Fail(v, f, "must be none, starttls or required");
          }
        } else if (key == "username") {
          ASSIGN_OR_RETURN(m.username, r.NonEmpty(v, f));
        } else if (key == "password_file") {
          ASSIGN_OR_RETURN(m.password_file, r.Path(v, f));
        } else if (key == "timeout") {
          ASSIGN_OR_RETURN(m.timeout, r.Duration(v, f, absl::Seconds(1)));
        } else if (key == "from_address") {
          ASSIGN_OR_RETURN(m.identity.from_address, r.NonEmpty(v, f));
        } else {
          ASSIGN_OR_RETURN(m.identity.from_name, r.NonEmpty(v, f));
        }
        return absl::OkStatus();
      });
}

absl::Status ReadLifecycle(const ConfigReader& r, const YAML::Node& n, UpConfig& c) {
  controller::LifecycleOptions& o = c.lifecycle;
  reconcilers::LifecycleConfig& p = o.plan;
  return r.ForEachKey(
      n, "lifecycle",
      {"reminder_lead", "ready_timeout", "harvest_wait", "ended_window", "milestones",
       "public_base_url", "hub_login_urls", "badge_base_url", "max_attempts", "retry_base",
       "retry_cap", "resync", "lease_ttl"},
      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
        const std::string f = "lifecycle." + key;
        if (key == "reminder_lead") {
          ASSIGN_OR_RETURN(p.reminder_lead, r.Duration(v, f, absl::ZeroDuration()));
        } else if (key == "ready_timeout") {
          ASSIGN_OR_RETURN(p.ready_timeout, r.Duration(v, f, absl::Seconds(1)));
        } else if (key == "harvest_wait") {
          ASSIGN_OR_RETURN(p.harvest_wait, r.Duration(v, f, absl::ZeroDuration()));
        } else if (key == "ended_window") {
          ASSIGN_OR_RETURN(p.ended_window, r.Duration(v, f, absl::ZeroDuration()));
        } else if (key == "milestones") {
          if (!v.IsSequence()) return r.Fail(v, f, "expected a list of integers");
          p.milestones.clear();
          for (const auto& item : v) {
            ASSIGN_OR_RETURN(int64_t x, r.Int(item, f, 1, 1000000));
            p.milestones.push_back(static_cast<int>(x));
          }
        } else if (key == "public_base_url") {
          ASSIGN_OR_RETURN(p.public_base_url, r.NonEmpty(v, f));
          c.public_base_url_set = true;
        } else if (key == "hub_login_urls") {
          return r.ForEachKey(
              v, f, {}, [&](const std::string& loc, const YAML::Node& u) -> absl::Status {
                ASSIGN_OR_RETURN(p.hub_login_urls[loc], r.NonEmpty(u, absl::StrCat(f, ".", loc)));
                return absl::OkStatus();
              });
        } else if (key == "badge_base_url") {
          ASSIGN_OR_RETURN(p.badge_base_url, r.NonEmpty(v, f));
        } else if (key == "max_attempts") {
          ASSIGN_OR_RETURN(int64_t x, r.Int(v, f, 1, 1000));
          o.max_attempts = static_cast<int>(x);
        } else if (key == "retry_base") {
          ASSIGN_OR_RETURN(o.backoff.base, r.Duration(v, f, absl::Seconds(1)));
        } else if (key == "retry_cap") {
          ASSIGN_OR_RETURN(o.backoff.cap, r.Duration(v, f, absl::Seconds(1)));
        } else if (key == "resync") {
          ASSIGN_OR_RETURN(o.resync, r.Duration(v, f, absl::Milliseconds(100)));
        } else {
          ASSIGN_OR_RETURN(o.lease_ttl, r.Duration(v, f, absl::Milliseconds(500)));
        }
        return absl::OkStatus();
      });
}

// Reads the `api:`, `mail:` and `lifecycle:` sections of `path` (the controller's sections
// are LoadControllerConfig's).
absl::StatusOr<UpConfig> LoadUpConfig(const std::string& path) {
  UpConfig c;
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  auto api = api::ParseServerConfig(text.str());
  if (!api.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": ", std::string(api.status().message())));
  }
  c.api = std::move(api).value();
  ConfigReader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(text.str());
  } catch (const YAML::Exception& e) {
    return r.Fail(e.mark.is_null() ? 0 : e.mark.line + 1, "", absl::StrCat("yaml: ", e.msg));
  }
  if (!root.IsMap()) return c;
  if (YAML::Node m = root["mail"]; m) RETURN_IF_ERROR(ReadMail(r, m, c.mail));
  if (YAML::Node l = root["lifecycle"]; l) RETURN_IF_ERROR(ReadLifecycle(r, l, c));
  if (c.lifecycle.backoff.cap < c.lifecycle.backoff.base) {
    return r.Fail(LineOf(root["lifecycle"]), "lifecycle.retry_cap",
                  "must not be below lifecycle.retry_base");
  }
  return c;
}

absl::StatusOr<std::unique_ptr<drivers::MailSender>> MakeMailSender(const MailConfig& m,
                                                                    const std::string& path) {
  if (m.smtp_url.empty()) {
    drivers::MaildirOptions o;
    o.dir = m.maildir;
    o.identity = m.identity;
    std::error_code ec;
    fs::create_directories(m.maildir, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": mail.maildir: cannot create '", m.maildir, "': ", ec.message()));
    }
    return std::unique_ptr<drivers::MailSender>(
        std::make_unique<drivers::MaildirMailSender>(std::move(o)));
  }
  drivers::SmtpOptions o;
  o.url = m.smtp_url;
  o.identity = m.identity;
  o.tls = m.tls;
  o.timeout = m.timeout;
  o.username = m.username;
  if (!m.password_file.empty()) {
    std::ifstream in(m.password_file);
    if (!in) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": mail.password_file: cannot read '", m.password_file, "'"));
    }
    std::getline(in, o.password);
    absl::StripAsciiWhitespace(&o.password);
  }
  return std::unique_ptr<drivers::MailSender>(
      std::make_unique<drivers::SmtpMailSender>(std::move(o)));
}

// The first failure of a worker thread; it then wakes the main thread with SIGTERM.
struct Failure {
  std::mutex mu;
  absl::Status status;
  void Set(const absl::Status& s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (status.ok()) status = s;
    }
    kill(getpid(), SIGTERM);
  }
};

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
  auto lifecycle_store = OpenStoreOrPrint(global.store_url);
  if (!lifecycle_store) return 1;
  auto backend = MakeBackend(*config, opts.location, /*read_only=*/false);
  if (!backend.ok()) return PrintError(backend.status());  // 2
  auto sender = MakeMailSender(up->mail, opts.config);
  if (!sender.ok()) return PrintError(sender.status());  // 2

  // Stop signals are taken by this thread with sigwait: blocked before any thread starts, so
  // every thread inherits the mask.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  api::Server server(store.get(), up->api, common::RealClock::Get());
  auto bound = server.Bind(host, port);
  if (!bound.ok()) return PrintError(bound.status());  // 7
  const std::string url = absl::StrCat("http://", UrlHost(host), ":", *bound);

  controller::LifecycleOptions lo = up->lifecycle;
  if (!up->public_base_url_set) {
    lo.plan.public_base_url = up->api.public_base_url.empty() ? url : up->api.public_base_url;
  }
  lo.plan.user_prefix = config->policy.user_prefix;
  if (config->has_hub && lo.plan.hub_login_urls.count(opts.location) == 0) {
    std::string hub = config->hub_url;
    while (!hub.empty() && hub.back() == '/') hub.pop_back();
    lo.plan.hub_login_urls[opts.location] = hub + "/hub/login";
  }
  controller::Lifecycle lifecycle(lifecycle_store.get(), sender->get(), lo);
  controller::Controller ctl(store.get(), backend->drivers(), backend->options);

  if (absl::Status s = server.Start(); !s.ok()) return PrintError(s);
  std::atomic<bool> stop{false};
  Failure failure;
  std::thread controller_thread([&] {
    if (absl::Status s = ctl.Run(stop); !s.ok()) failure.Set(s);
  });
  std::thread lifecycle_thread([&] {
    if (absl::Status s = lifecycle.Run(stop); !s.ok()) failure.Set(s);
  });

  fmt::print("wod up: listening on {}\n", url);
  std::fflush(stdout);
  WOD_LOG(kInfo, "up", "location '{}' up: API on {}, store {}, mail {}{}{}", opts.location, url,
          common::RedactUrl(global.store_url),
          up->mail.smtp_url.empty() ? "to maildir " + up->mail.maildir : "over SMTP",
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
  lifecycle_thread.join();
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
