// Helpers shared by the long-running subcommands (`wod serve`, `wod up`): the listen address,
// the `mail:` and `lifecycle:` config sections, the mail sender, the participant token secret
// file, and the lifecycle thread.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "api/config.h"
#include "controller/lifecycle.h"
#include "drivers/mail/mail.h"
#include "drivers/mail/mail_smtp.h"
#include "store/store.h"

namespace wod::cli {

// Parses "HOST:PORT" or "[V6]:PORT" (PORT 0: any free port). InvalidArgument naming the text.
absl::Status ParseListen(const std::string& text, std::string* host, int* port);

// HOST as it appears in a URL: a v6 address in brackets.
std::string UrlHost(const std::string& host);

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

// The `mail:` and `lifecycle:` sections of a config file (docs/operations.md).
struct LifecycleSections {
  MailConfig mail;
  controller::LifecycleOptions lifecycle;
  bool public_base_url_set = false;  // lifecycle.public_base_url was given
};

// Parses the `mail:` and `lifecycle:` sections of `yaml_text` (other top-level keys are other
// readers'). InvalidArgument "PATH:LINE: FIELD: ..." for an unknown key or a bad value; `path`
// names the file in errors and anchors relative paths. Never throws.
absl::StatusOr<LifecycleSections> ParseLifecycleSections(const std::string& path,
                                                         std::string_view yaml_text);

// A MaildirMailSender (creating the folder) or an SmtpMailSender (reading the password file).
absl::StatusOr<std::unique_ptr<drivers::MailSender>> MakeMailSender(const MailConfig& m,
                                                                    const std::string& path);

// The participant token secret (api.secret_file; default `wod.secret` in the folder of
// `config_path`): read, or made on first start (32 random bytes, hex, mode 0600, created
// exclusively so two processes starting at once agree). Returns the secret.
// InvalidArgument: cannot be made or read, readable by others than its owner, or too short.
absl::StatusOr<std::string> LoadOrCreateTokenSecret(const std::string& config_path,
                                                    const std::string& secret_file);

// The first failure of a worker thread; it then wakes the main thread with SIGTERM.
struct WorkerFailure {
  std::mutex mu;
  absl::Status status;
  void Set(const absl::Status& s);
};

// The lifecycle (controller::Lifecycle::Run) on a thread of its own, on a Store of its own
// (a Store allows one waiting thread) and a mail sender made from `mail`.
class LifecycleRunner {
 public:
  // Opens the store and the sender; nothing runs until Start. InvalidArgument: the mail
  // section cannot be used; Unavailable: the store cannot be opened.
  static absl::StatusOr<std::unique_ptr<LifecycleRunner>> Create(
      const std::string& store_url, const MailConfig& mail, const std::string& config_path,
      controller::LifecycleOptions options);
  ~LifecycleRunner();  // stops and joins

  // Runs until `stop`; a failure is reported to `failure`. The destructor sets `stop`.
  void Start(std::atomic<bool>* stop, WorkerFailure* failure);
  void Join();

 private:
  LifecycleRunner() = default;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<drivers::MailSender> sender_;
  std::unique_ptr<controller::Lifecycle> lifecycle_;
  std::atomic<bool>* stop_ = nullptr;
  std::thread thread_;
};

// The lifecycle's options for a process serving the API at `listen_url`: the portal is
// lifecycle.public_base_url, else api.public_base_url, else `listen_url`; user names use the
// API's participant_user_prefix; the token secret is the API's.
controller::LifecycleOptions ResolveLifecycleOptions(const LifecycleSections& sections,
                                                     const api::ServerConfig& api,
                                                     const std::string& listen_url);

}  // namespace wod::cli
