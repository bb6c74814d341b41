#include "cli/daemon_common.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cli/config_reader.h"
#include "common/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "drivers/mail/mail_maildir.h"

namespace wod::cli {

namespace fs = std::filesystem;

absl::Status ParseListen(const std::string& text, std::string* host, int* port) {
  const size_t colon = text.rfind(':');
  auto bad = [&] {
    return absl::InvalidArgumentError(
        absl::StrCat("--listen '", text, "' is not HOST:PORT (e.g. 127.0.0.1:8080)"));
  };
  if (colon == std::string::npos || colon == 0) return bad();
  *host = text.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']') {
    *host = host->substr(1, host->size() - 2);
  }
  if (!absl::SimpleAtoi(text.substr(colon + 1), port) || *port < 0 || *port > 65535) {
    return bad();
  }
  return absl::OkStatus();
}

std::string UrlHost(const std::string& host) {
  return host.find(':') != std::string::npos ? "[" + host + "]" : host;
}

namespace {

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

absl::Status ReadLifecycle(const ConfigReader& r, const YAML::Node& n, LifecycleSections& c) {
  controller::LifecycleOptions& o = c.lifecycle;
  reconcilers::LifecycleConfig& p = o.plan;
  return r.ForEachKey(
      n, "lifecycle",
      {"reminder_lead", "ready_timeout", "failover_after", "harvest_wait", "ended_window",
       "milestones", "public_base_url", "hub_login_urls", "badge_base_url", "max_attempts",
       "retry_base", "retry_cap", "resync", "lease_ttl"},
      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
        const std::string f = "lifecycle." + key;
        if (key == "reminder_lead") {
          ASSIGN_OR_RETURN(p.reminder_lead, r.Duration(v, f, absl::ZeroDuration()));
        } else if (key == "ready_timeout") {
          ASSIGN_OR_RETURN(p.ready_timeout, r.Duration(v, f, absl::Seconds(1)));
        } else if (key == "failover_after") {
          ASSIGN_OR_RETURN(p.failover_after, r.Duration(v, f, absl::Seconds(1)));
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

}  // namespace

absl::StatusOr<LifecycleSections> ParseLifecycleSections(const std::string& path,
                                                         std::string_view yaml_text) {
  LifecycleSections c;
  ConfigReader r(path);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml_text));
  } catch (const YAML::Exception& e) {
    return r.Fail(e.mark.is_null() ? 0 : e.mark.line + 1, "", absl::StrCat("yaml: ", e.msg));
  }
  if (!root.IsMap()) return c;
  // yaml-cpp may still throw on odd documents (a non-scalar key converted to a string): the
  // readers below check node kinds first, and anything left becomes an error here.
  try {
    if (YAML::Node m = root["mail"]; m) RETURN_IF_ERROR(ReadMail(r, m, c.mail));
    if (YAML::Node l = root["lifecycle"]; l) RETURN_IF_ERROR(ReadLifecycle(r, l, c));
    if (c.lifecycle.backoff.cap < c.lifecycle.backoff.base) {
      return r.Fail(LineOf(root["lifecycle"]), "lifecycle.retry_cap",
                    "must not be below lifecycle.retry_base");
    }
  } catch (const YAML::Exception& e) {
    return r.Fail(e.mark.is_null() ? 0 : e.mark.line + 1, "", absl::StrCat("yaml: ", e.msg));
  }
  return c;
}

absl::StatusOr<std::unique_ptr<drivers::MailSender>> MakeMailSender(const MailConfig& m,
                                                                    const std::string& path) {
  // Errors name the config file, or say the value is the default when there is none.
  const std::string where = path.empty() ? "no --config (default mail settings)" : path;
  if (m.smtp_url.empty()) {
    drivers::MaildirOptions o;
    o.dir = m.maildir;
    o.identity = m.identity;
    std::error_code ec;
    fs::create_directories(m.maildir, ec);
    if (ec) {
      return absl::InvalidArgumentError(
          absl::StrCat(where, ": mail.maildir: cannot create '", m.maildir, "': ", ec.message(),
                       " (set mail.maildir, or run with --no-lifecycle)"));
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
          absl::StrCat(where, ": mail.password_file: cannot read '", m.password_file, "'"));
    }
    std::getline(in, o.password);
    absl::StripAsciiWhitespace(&o.password);
  }
  return std::unique_ptr<drivers::MailSender>(
      std::make_unique<drivers::SmtpMailSender>(std::move(o)));
}

absl::StatusOr<std::string> LoadOrCreateTokenSecret(const std::string& config_path,
                                                    const std::string& secret_file) {
  fs::path dir = fs::path(config_path).parent_path();
  if (dir.empty()) dir = ".";
  fs::path file = secret_file.empty() ? dir / "wod.secret" : fs::path(secret_file);
  if (file.is_relative()) file = dir / file;
  const std::string name = file.lexically_normal().string();
  // Made exclusively: of two processes starting at once, one writes and both read its secret.
  int fd = open(name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd >= 0) {
    const std::string fresh = common::RandomToken(32) + "\n";
    const bool ok = write(fd, fresh.data(), fresh.size()) == static_cast<ssize_t>(fresh.size()) &&
                    fsync(fd) == 0;
    close(fd);
    if (!ok) {
      unlink(name.c_str());
      return absl::InvalidArgumentError(absl::StrCat("cannot write the secret file '", name, "'"));
    }
    WOD_LOG(kInfo, "secret", "made the participant token secret '{}' (mode 0600)", name);
  } else if (errno != EEXIST) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create the secret file '", name, "': ", std::strerror(errno)));
  }
  struct stat st {};
  if (stat(name.c_str(), &st) != 0) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read the secret file '", name, "'"));
  }
  if ((st.st_mode & 077) != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "the secret file '", name, "' is readable by others: chmod 600 it (and replace it)"));
  }
  // A file made a moment ago by another process may still be empty: read until it is not.
  std::string secret;
  for (int attempt = 0; attempt < 50; ++attempt) {
    std::ifstream in(name);
    if (!in) {
      return absl::InvalidArgumentError(absl::StrCat("cannot read the secret file '", name, "'"));
    }
    std::getline(in, secret);
    absl::StripAsciiWhitespace(&secret);
    if (!secret.empty()) break;
    absl::SleepFor(absl::Milliseconds(20));
  }
  if (secret.size() < 32) {
    return absl::InvalidArgumentError(
        absl::StrCat("the secret file '", name, "' holds fewer than 32 characters"));
  }
  return secret;
}

void WorkerFailure::Set(const absl::Status& s) {
  {
    std::lock_guard<std::mutex> lock(mu);
    if (status.ok()) status = s;
  }
  kill(getpid(), SIGTERM);
}

absl::StatusOr<std::unique_ptr<LifecycleRunner>> LifecycleRunner::Create(
    const std::string& store_url, const MailConfig& mail, const std::string& config_path,
    controller::LifecycleOptions options) {
  std::unique_ptr<LifecycleRunner> runner(new LifecycleRunner());
  ASSIGN_OR_RETURN(runner->sender_, MakeMailSender(mail, config_path));
  ASSIGN_OR_RETURN(runner->store_, store::OpenStore(store_url));
  runner->lifecycle_ = std::make_unique<controller::Lifecycle>(
      runner->store_.get(), runner->sender_.get(), std::move(options));
  return runner;
}

void LifecycleRunner::Start(std::atomic<bool>* stop, WorkerFailure* failure) {
  stop_ = stop;
  thread_ = std::thread([this, stop, failure] {
    if (absl::Status s = lifecycle_->Run(*stop); !s.ok()) failure->Set(s);
  });
}

void LifecycleRunner::Join() {
  if (thread_.joinable()) thread_.join();
}

LifecycleRunner::~LifecycleRunner() {
  if (stop_ != nullptr) stop_->store(true);
  Join();
}

controller::LifecycleOptions ResolveLifecycleOptions(const LifecycleSections& sections,
                                                     const api::ServerConfig& api,
                                                     const std::string& listen_url) {
  controller::LifecycleOptions lo = sections.lifecycle;
  if (!sections.public_base_url_set) {
    lo.plan.public_base_url = api.public_base_url.empty() ? listen_url : api.public_base_url;
  }
  lo.plan.user_prefix = api.participant_user_prefix;
  lo.participant_token_secret = api.participant_token_secret;
  return lo;
}

}  // namespace wod::cli
