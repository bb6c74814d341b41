// `wod up` end to end through the binary: the API, the controller and the lifecycle in one
// process on a temp SQLite store, with accounts in a throwaway root prefix (no hub, no
// appliances: the config leaves both out) and mail into a maildir. The hermetic half
// (up_cli_test) checks the config errors of the sections `wod up` adds; the root half
// (up_cli_root_test, label `root`: useradd --prefix needs root) registers through the API and
// watches the seat become Ready, the mails arrive and SIGTERM release both leases.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "store/store.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

using ::testing::HasSubstr;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using testing::ReadFile;

// A `wod up` process with stdout and stderr in one log file.
class Daemon : public testing::DaemonProcess {
 public:
  Daemon(std::vector<std::string> args, fs::path log)
      : DaemonProcess(WOD_BINARY, std::move(args), std::move(log)) {}

  // The port of "wod up: listening on http://127.0.0.1:PORT", or 0.
  int WaitForPort(std::chrono::milliseconds timeout) const {
    const std::string port =
        WaitForMatch(R"(wod up: listening on http://127\.0\.0\.1:(\d+))", timeout);
    return port.empty() ? 0 : std::stoi(port);
  }
};

class UpCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("wod_upcli_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    maildir_ = dir_ / "mail";
    store_url_ = "sqlite:" + (dir_ / "wod.db").string();
    // A bare root for shadow-utils' --prefix (as tests/cli/controller_cli_test.cc).
    root_ = dir_ / "root";
    fs::create_directories(root_ / "etc");
    fs::create_directories(root_ / "home");
    std::ofstream(root_ / "etc/passwd") << "root:x:0:0:root:/root:/bin/bash\n";
    std::ofstream(root_ / "etc/shadow") << "root:*:19000:0:99999:7:::\n";
    std::ofstream(root_ / "etc/group") << "root:x:0:\nusers:x:100:\n";
    std::ofstream(root_ / "etc/gshadow") << "root:*::\nusers:*::\n";
    fs::permissions(root_ / "etc/shadow", fs::perms(0640));
    fs::permissions(root_ / "etc/gshadow", fs::perms(0640));
    fs::copy_file("/etc/login.defs", root_ / "etc/login.defs");
  }
  void TearDown() override { fs::remove_all(dir_); }

  common::SubprocessResult Wod(std::vector<std::string> args) {
    args.insert(args.begin(), WOD_BINARY);
    common::SubprocessOptions o;
    o.timeout = absl::Seconds(30);
    auto r = common::RunProcess(args, o);
    EXPECT_OK(r);
    return r.ok() ? *r : common::SubprocessResult{};
  }

  void LoadCatalog() {
    auto r = Wod({"catalog", "load", "--store", store_url_,
                  std::string(WOD_SOURCE_DIR) + "/examples/catalog"});
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  }

  // The one-machine config for the temp root; `extra` is appended (more sections). The
  // controller's lease and resync are `controller_period`: when long, only a change wakes it.
  std::string WriteConfig(const std::string& extra = "",
                          const std::string& controller_period = "2s") {
    fs::path p = dir_ / "up.yml";
    std::ofstream(p) << "# test machine\n"
                     << "accounts:\n"
                     << "  root: root\n"  // relative: to the config file's folder
                     << "  uid_base: 20000\n"
                     << "  gid: 20000\n"
                     << "controller:\n"
                     << "  lease_ttl: " << controller_period << "\n"
                     << "  resync: " << controller_period << "\n"
                     << "api:\n"
                     << "  public_base_url: http://wod.test\n"
                     << "mail:\n"
                     << mail_section_ << "lifecycle:\n"
                     << "  resync: 500ms\n"
                     << "  lease_ttl: 2s\n"
                     << extra;
    return p.string();
  }

  std::vector<std::string> UpArgs(const std::string& config) {
    return {"up",       "--store",     store_url_,   "--config", config,
            "--listen", "127.0.0.1:0", "--location", "local"};
  }

  std::string PhaseOf(int seat) {
    auto store = store::OpenStore(store_url_);
    if (!store.ok()) return "store: " + std::string(store.status().message());
    auto st = (*store)->ListSeatStatus(std::string("local"));
    if (!st.ok()) return "status: " + std::string(st.status().message());
    for (const auto& s : *st) {
      if (s.number == seat) return model::PhaseName(s.phase);
    }
    return "none";
  }

  // The texts of the mails in the maildir's new/ (ours, or the SMTP server's).
  std::vector<std::string> Mails() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(maildir_ / "new", ec)) {
      out.push_back(ReadFile(e.path()));
    }
    return out;
  }

  // Registers `email` through the API of a `wod up` child and checks: the seat Ready within
  // 5 s, the welcome and credentials mails in maildir_, SIGTERM exit 0, both leases free.
  void Scenario(const std::string& email);

  fs::path dir_, root_;
  std::string store_url_;
  // The `mail:` section's keys and where the mails land.
  std::string mail_section_ = "  maildir: mail\n  from_address: wod@wod.test\n";
  fs::path maildir_ = dir_ / "mail";
};

#ifndef WOD_UP_CLI_ROOT

// --- hermetic: the sections `wod up` adds to the controller's config ---

TEST_F(UpCli, ConfigErrorsNameFileLineAndField) {
  LoadCatalog();
  const struct {
    std::string extra;
    std::string message;
  } cases[] = {
      {"bogus:\n  x: 1\n", ":17: bogus: unknown key"},
      {"  milestones: three\n", ":17: lifecycle.milestones: expected a list of integers"},
      {"  retry_base: soon\n", ":17: lifecycle.retry_base: expected a duration"},
  };
  for (const auto& c : cases) {
    auto r = Wod(UpArgs(WriteConfig(c.extra)));
    EXPECT_EQ(r.exit_code, 2) << c.extra << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr("up.yml" + c.message)) << c.extra;
  }
  // Inside mail: (the last section written before lifecycle:).
  fs::path p = dir_ / "mail.yml";
  std::ofstream(p) << "accounts:\n  root: root\nmail:\n  maildir: mail\n  smtp: x\n";
  auto r = Wod(UpArgs(p.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("mail.yml:5: mail.smtp: unknown key"));
  std::ofstream(p, std::ios::trunc) << "mail:\n  smtp_url: smtp://user:secret@host\n";
  r = Wod(UpArgs(p.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("mail.yml:2: mail.smtp_url: must not hold credentials"));
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("secret")));
  // api: is checked by the API's own reader, still naming the file.
  std::ofstream(p, std::ios::trunc) << "api:\n  max_body: 1\n";
  r = Wod(UpArgs(p.string()));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("mail.yml:2: api.max_body: unknown key"));
}

TEST_F(UpCli, UnknownLocationExits3BeforeServing) {
  LoadCatalog();
  auto r = Wod({"up", "--store", store_url_, "--config", WriteConfig(), "--listen", "127.0.0.1:0",
                "--location", "elsewhere"});
  EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("location 'elsewhere' is not in the store"));
  EXPECT_THAT(r.stdout_text, ::testing::Not(HasSubstr("listening")));
}

#else

// --- root: one process serves, converges and mails ---

#ifndef WOD_UP_CLI_SMTP
TEST_F(UpCli, RegistrationThroughApiBecomesReadyAndMailedThenSigtermReleasesLeases) {
  WOD_REQUIRE_ROOT();
  Scenario("ada@example.com");
}
#else
// The same with `mail.smtp_url`: the mails go through a real SMTP server into its maildir.
TEST_F(UpCli, SmtpMailConfigSendsThroughTheServer) {
  WOD_REQUIRE_ROOT();
  WOD_REQUIRE_SERVICE(url, "WOD_TEST_SMTP_URL", "an SMTP server");
  WOD_REQUIRE_SERVICE(maildir, "WOD_TEST_SMTP_MAILDIR", "the SMTP server's maildir");
  mail_section_ = absl::StrCat("  smtp_url: ", url, "\n  from_address: wod@wod.test\n");
  maildir_ = maildir;
  Scenario(absl::StrCat("ada-up-", getpid(), "@example.com"));
}
#endif

#endif

#ifdef WOD_UP_CLI_ROOT
void UpCli::Scenario(const std::string& email) {
  LoadCatalog();
  // The controller's lease and resync are 60 s: within the test, only the store's in-process
  // signal (the API's write) can wake it, and an unreleased lease would block the next holder.
  Daemon up(UpArgs(WriteConfig("", "60s")), dir_ / "up.log");
  ASSERT_TRUE(up.started());
  const int port = up.WaitForPort(std::chrono::seconds(20));
  ASSERT_GT(port, 0) << up.log();
  // Let the first pass build the warm pool, so the registration below is what wakes it.
  auto end = Clock::now() + std::chrono::seconds(30);
  while (Clock::now() < end && up.log().find("converged=true") == std::string::npos) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_THAT(up.log(), HasSubstr("converged=true"));

  httplib::Client c("127.0.0.1", port);
  auto res = c.Post("/api/v1/registrations",
                    nlohmann::json{{"workshop", "WKSHP-Shell101"},
                                   {"email", email},
                                   {"name", "Ada Lovelace"},
                                   {"company", "ACME"},
                                   {"accept_terms", true}}
                        .dump(),
                    "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  auto body = nlohmann::json::parse(res->body, nullptr, false);
  const int seat = body["registration"]["seat"].get<int>();
  const auto registered = Clock::now();

  // Woken by the API's write in the same process (the resync is 60 s): Ready within seconds.
  std::string phase;
  while (Clock::now() - registered < std::chrono::seconds(5)) {
    phase = PhaseOf(seat);
    if (phase == "Ready") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(phase, "Ready") << up.log();
  const auto ready_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - registered);
  std::printf("seat %d Ready %lld ms after the registration\n", seat,
              static_cast<long long>(ready_ms.count()));
  EXPECT_TRUE(fs::exists(root_ / "home" / ("student" + std::to_string(seat))));

  // The welcome and the credentials mail land in the maildir.
  bool welcome = false, credentials = false;
  while (Clock::now() - registered < std::chrono::seconds(10) && !(welcome && credentials)) {
    welcome = credentials = false;
    for (const auto& m : Mails()) {
      if (m.find("To: ") == std::string::npos || m.find(email) == std::string::npos) continue;
      if (m.find("Subject: Your seat for") != std::string::npos) credentials = true;
      if (m.find("Subject: Welcome") != std::string::npos) welcome = true;
    }
    if (!(welcome && credentials)) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(welcome) << up.log();
  EXPECT_TRUE(credentials) << up.log();
  // Only this test's mails: with SMTP the maildir is the server's, shared with other tests.
  for (const auto& m : Mails()) {
    if (m.find(email) == std::string::npos) continue;
    if (m.find("Subject: Your seat for") != std::string::npos) {
      EXPECT_THAT(m, HasSubstr("student" + std::to_string(seat)));
    }
  }

  up.Signal(SIGTERM);
  EXPECT_EQ(up.Wait(std::chrono::seconds(20)), 0) << up.log();
  EXPECT_THAT(up.log(), HasSubstr("stopped, leases released"));
  // Both leases are free at once: another holder takes them without waiting for expiry.
  auto store = store::OpenStore(store_url_);
  ASSERT_OK(store);
  for (const std::string name : {"controller/local", "lifecycle"}) {
    auto lease = (*store)->AcquireLease(name, "next", absl::Seconds(5), absl::Now());
    EXPECT_OK(lease) << name;
  }
}

#endif

}  // namespace
}  // namespace wod
