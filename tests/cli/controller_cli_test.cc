// `wod controller` and `wod drift` end to end through the binary, against a temp SQLite store
// and a throwaway root prefix holding the accounts and homes (no hub, no appliances: the
// config leaves both sections out). Hermetic tests (controller_cli_test) check the config
// errors and `wod drift` (stored and --live, which only reads); the root tests
// (controller_cli_root_test, label `root`: useradd --prefix needs root) run passes, two
// controller processes on one location, a SIGKILL takeover and a SIGTERM hand-over.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/subprocess.h"
#include "store/store.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"
#ifdef WOD_CONTROLLER_CLI_ROOT
#include "tests/store/scratch_db.h"
#endif

namespace wod {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

using testing::ReadFile;

// A `wod controller` daemon with stdout and stderr in one log file.
class Daemon : public testing::DaemonProcess {
 public:
  Daemon(std::vector<std::string> args, fs::path log)
      : DaemonProcess(WOD_BINARY, std::move(args), std::move(log)) {}
};

class ControllerCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("wod_ctlcli_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_url_ = "sqlite:" + (dir_ / "wod.db").string();
    // A bare root for shadow-utils' --prefix (as tests/drivers/accounts_contract_test.cc).
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

  // The example catalog: 12 seats on location "local".
  void LoadCatalog() {
    auto r = Wod({"catalog", "load", "--store", store_url_,
                  std::string(WOD_SOURCE_DIR) + "/examples/catalog"});
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  }

  // A config for the temp root; `extra` is appended (more sections).
  std::string WriteConfig(const std::string& lease_ttl = "2s", const std::string& extra = "") {
    fs::path p = dir_ / "controller.yml";
    std::ofstream(p) << "# test backend\n"
                     << "accounts:\n"
                     << "  root: root\n"  // relative: to the config file's folder
                     << "  uid_base: 20000\n"
                     << "  gid: 20000\n"
                     << "controller:\n"
                     << "  lease_ttl: " << lease_ttl << "\n"
                     << "  resync: 500ms\n"
                     << "variables:\n"
                     << "  BRANDING: Test Workshops\n"
                     << extra;
    return p.string();
  }

  std::vector<std::string> Once(const std::string& config) {
    return {"controller", "--once", "--store",  store_url_,
            "--location", "local",  "--config", config};
  }

  // Runs --once until a pass reports converged=true; how many passes that took, or -1.
  int ConvergeOnce(const std::string& config, int max_passes = 5) {
    for (int i = 1; i <= max_passes; ++i) {
      auto r = Wod(Once(config));
      EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
      if (r.exit_code != 0) return -1;
      if (r.stdout_text.find("converged=true") != std::string::npos) return i;
    }
    return -1;
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

  bool WaitForPhase(int seat, const std::string& phase, std::chrono::milliseconds timeout) {
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      if (PhaseOf(seat) == phase) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return PhaseOf(seat) == phase;
  }

  std::vector<std::string> Daemonargs(const std::string& config, const std::string& holder) {
    return {"controller", "--store", store_url_, "--location", "local",
            "--config",   config,    "--holder", holder};
  }

  fs::path dir_, root_;
  std::string store_url_;
};

#ifndef WOD_CONTROLLER_CLI_ROOT

// --- hermetic: configuration and drift reading ---

TEST_F(ControllerCli, UnknownConfigKeyIsAnErrorNamingFileLineAndField) {
  LoadCatalog();
  fs::path p = dir_ / "bad.yml";
  std::ofstream(p) << "accounts:\n  root: /tmp\ncontroller:\n  concurency: 8\n";
  for (auto args : {Once(p.string()),
                    std::vector<std::string>{"drift", "--live", "--store", store_url_, "--location",
                                             "local", "--config", p.string()}}) {
    auto r = Wod(args);
    EXPECT_EQ(r.exit_code, 2);
    EXPECT_THAT(r.stderr_text, HasSubstr(p.string() + ":4: controller.concurency: unknown key"));
  }
}

TEST_F(ControllerCli, BadValuesNameTheirLineAndAMissingHubUrlItsSection) {
  LoadCatalog();
  struct Case {
    std::string yaml, expected;
  };
  for (const Case& c : std::vector<Case>{
           {"controller:\n  lease_ttl: soon\n", ":2: controller.lease_ttl: expected a duration"},
           {"controller:\n\n  concurrency: 0\n", ":3: controller.concurrency: must be between 1"},
           {"accounts:\n  uid_base: ten\n", ":2: accounts.uid_base: expected an integer"},
           {"hub:\n  token_file: t\n", ":1: hub.url: required"},
           {"accounts:\n  root: /\nhub:\n", ":3: hub.url: required"},
           {"accounts:\n  root: /\n  root: /x\n",
            ":3: accounts.root: duplicate key (first on line 2)"},
           {"controller:\n  backoff_base: 2s\n  backoff_cap: 1s\n",
            ":1: controller.backoff_cap: must not"},
           {"variables: [1, 2]\n", ":1: variables: expected a mapping"},
           {"accounts: {root: /x\n", ":2: yaml: end of map flow not found"},
       }) {
    fs::path p = dir_ / "c.yml";
    std::ofstream(p) << c.yaml;
    auto r = Wod(Once(p.string()));
    EXPECT_EQ(r.exit_code, 2) << c.yaml;
    EXPECT_THAT(r.stderr_text, HasSubstr(p.string() + c.expected)) << c.yaml;
  }
  auto missing = Wod(Once((dir_ / "nope.yml").string()));
  EXPECT_EQ(missing.exit_code, 2);
  EXPECT_THAT(missing.stderr_text, HasSubstr("nope.yml: cannot read the configuration file"));
}

TEST_F(ControllerCli, MissingHubTokenFileIsAConfigErrorAndTheTokenIsNeverPrinted) {
  LoadCatalog();
  std::string config =
      WriteConfig("2s", "hub:\n  url: http://127.0.0.1:1\n  token_file: hub.token\n");
  auto r = Wod(Once(config));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("controller.yml: hub: "));
  EXPECT_THAT(r.stderr_text, HasSubstr("hub.token"));

  // With the token there, a hub that cannot be reached leaves its domain unobserved; neither
  // the output nor the log shows the token.
  std::ofstream(dir_ / "hub.token") << "s3cret-hub-token-value\n";
  auto live = Wod({"drift", "--live", "--store", store_url_, "--location", "local", "--config",
                   config, "--log-level", "debug"});
  EXPECT_EQ(live.exit_code, 0) << live.stderr_text;
  EXPECT_THAT(live.stdout_text + live.stderr_text, Not(HasSubstr("s3cret-hub-token-value")));
}

TEST_F(ControllerCli, UnknownLocationIsRefused) {
  LoadCatalog();
  std::string config = WriteConfig();
  auto r = Wod(
      {"controller", "--once", "--store", store_url_, "--location", "lcoal", "--config", config});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_THAT(r.stderr_text, HasSubstr("location 'lcoal' is not in the store (known: local)"));
}

TEST_F(ControllerCli, LiveDriftPlansTheWholePoolWritesNothingAndExitCodeSaysSo) {
  LoadCatalog();
  std::string config = WriteConfig();
  const std::string passwd_before = ReadFile(root_ / "etc/passwd");
  auto live = Wod({"drift", "--live", "--json", "--exit-code", "--store", store_url_, "--location",
                   "local", "--config", config});
  EXPECT_EQ(live.exit_code, 8) << live.stderr_text;
  auto j = nlohmann::json::parse(live.stdout_text, nullptr, false);
  ASSERT_TRUE(j.is_array()) << live.stdout_text;
  std::set<int> seats;
  for (const auto& e : j) {
    EXPECT_EQ(e["location"], "local");
    EXPECT_EQ(e["domain"], "accounts");
    for (const char* k : {"expected", "observed", "planned", "since"}) EXPECT_TRUE(e.contains(k));
    seats.insert(e["seat"].get<int>());
  }
  EXPECT_EQ(seats.size(), 12u);  // every seat of the pool needs its account
  // Nothing written: the machine is as it was and the stored report is still empty.
  EXPECT_EQ(ReadFile(root_ / "etc/passwd"), passwd_before);
  EXPECT_TRUE(fs::is_empty(root_ / "home"));
  auto stored = Wod({"drift", "--store", store_url_, "--exit-code"});
  EXPECT_EQ(stored.exit_code, 0);
  EXPECT_EQ(stored.stdout_text, "no drift\n");
  auto table =
      Wod({"drift", "--live", "--store", store_url_, "--location", "local", "--config", config});
  EXPECT_EQ(table.exit_code, 0);
  EXPECT_THAT(table.stdout_text,
              MatchesRegex("LOCATION +SEAT +DOMAIN +PLANNED +EXPECTED +OBSERVED +SINCE\n.*"));
  EXPECT_THAT(table.stdout_text,
              HasSubstr("\nlocal        1  accounts  create seat 1 (seat has no account)  "));
}

// `--fake-drivers` (test only, bench/scale_bench): in-memory drivers for every domain the config
// names, while the lease, statuses and pass statistics are the store's real ones. The hub token
// file and the Docker socket do not exist: the fakes read neither. Hidden from --help.
TEST_F(ControllerCli, FakeDriversConvergeThroughTheStoreWithoutTouchingTheMachine) {
  auto help = Wod({"controller", "--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_THAT(help.stdout_text, Not(HasSubstr("fake")));
  LoadCatalog();
  const std::string config =
      WriteConfig("2s",
                  "hub:\n  url: http://127.0.0.1:9/\n  token_file: no-such-token\n"
                  "appliances:\n  docker_socket: /no/such/docker.sock\n");
  const std::string passwd_before = ReadFile(root_ / "etc/passwd");
  std::vector<std::string> args = Daemonargs(config, "fake-holder");
  args.push_back("--fake-drivers");
  Daemon ctl(args, dir_ / "ctl.log");
  ASSERT_TRUE(ctl.started());
  // The appliance workshop's first seat (9..12): every domain, the fake engine's image too.
  auto reg = Wod({"register", "--store", store_url_, "--workshop", "WKSHP-Busybox-Web", "--email",
                  "fake@example.com", "--name", "Fake", "--company", "ACME"});
  ASSERT_EQ(reg.exit_code, 0) << reg.stderr_text;
  EXPECT_TRUE(WaitForPhase(9, "Ready", std::chrono::milliseconds(20000))) << ctl.log();
  EXPECT_TRUE(WaitForPhase(1, "Vacant", std::chrono::milliseconds(20000))) << ctl.log();
  EXPECT_THAT(ctl.log(), HasSubstr("FAKE DRIVERS"));
  auto list = Wod({"location", "list", "--json", "--store", store_url_});
  EXPECT_THAT(list.stdout_text, HasSubstr("\"fake-holder\""));
  {
    auto store = store::OpenStore(store_url_);
    ASSERT_OK(store);
    auto stats = (*store)->ListPassStats(std::string("local"));
    ASSERT_OK(stats);
    ASSERT_EQ(stats->size(), 1u);
    EXPECT_GE((*stats)[0].passes, 1);
  }
  ctl.Signal(SIGTERM);
  EXPECT_EQ(ctl.Wait(std::chrono::milliseconds(10000)), 0) << ctl.log();
  // Nothing on the machine: no account, no home.
  EXPECT_EQ(ReadFile(root_ / "etc/passwd"), passwd_before);
  EXPECT_TRUE(fs::is_empty(root_ / "home"));
}

// A typo in accounts.root: the account files are not there. Before, `--once` said
// converged=false with no word why and `drift --live` said "no drift" (exit 0 with
// --exit-code) while not one seat account existed. An unobservable domain is drift.
TEST_F(ControllerCli, AnAccountsRootWithoutAccountFilesIsDriftAWarningAndExitEight) {
  LoadCatalog();
  fs::remove(root_ / "etc/passwd");
  std::string config = WriteConfig();
  auto live = Wod({"drift", "--live", "--exit-code", "--store", store_url_, "--location", "local",
                   "--config", config});
  EXPECT_EQ(live.exit_code, 8) << live.stdout_text << live.stderr_text;
  EXPECT_THAT(live.stdout_text, HasSubstr("none (cannot observe: "));
  EXPECT_THAT(live.stdout_text, HasSubstr("etc/passwd"));
  EXPECT_THAT(live.stderr_text, HasSubstr("cannot observe accounts"));
  auto json_live = Wod({"drift", "--live", "--json", "--store", store_url_, "--location", "local",
                        "--config", config});
  auto j = nlohmann::json::parse(json_live.stdout_text, nullptr, false);
  ASSERT_TRUE(j.is_array() && !j.empty()) << json_live.stdout_text;
  EXPECT_EQ(j[0]["domain"], "accounts");
  EXPECT_EQ(j[0]["expected"], "observable");
}

#else  // WOD_CONTROLLER_CLI_ROOT

// --- root: passes that change the temp root's accounts and homes ---

// One suite name per target, so the SQLite and PostgreSQL runs have distinct ctest names.
#ifdef WOD_CONTROLLER_CLI_PG
#define WOD_CLI_ROOT_SUITE ControllerCliPostgres
#else
#define WOD_CLI_ROOT_SUITE ControllerCliRoot
#endif

class WOD_CLI_ROOT_SUITE : public ControllerCli {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
#ifdef WOD_CONTROLLER_CLI_PG
    // The same tests on PostgreSQL (controller_cli_pg_test): leases, fencing and NOTIFY
    // wake-ups through a real server, one scratch database per test.
    WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
    auto db = store::testing::PgScratchDb::Create(base, "wod_ctlcli");
    ASSERT_OK(db);
    db_ = std::move(db).value();
#endif
    ControllerCli::SetUp();
    if (db_) store_url_ = db_->url();
  }
  std::unique_ptr<store::testing::ScratchDb> db_;
};

TEST_F(WOD_CLI_ROOT_SUITE, OnceConvergesThePoolThenAnOccupiedSeatAndRecordsDrift) {
  LoadCatalog();
  std::string config = WriteConfig();
  auto first = Wod(Once(config));
  ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
  EXPECT_THAT(first.stdout_text,
              MatchesRegex("location=local epoch=1 seats=12 actions=[1-9][0-9]* failures=0 "
                           "skipped=0 drift=12 harvests=0 converged=false time=[0-9]+ms\n"));
  // The first pass stored the drift it planned from.
  auto stored = Wod({"drift", "--store", store_url_, "--location", "local", "--json"});
  ASSERT_EQ(stored.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(stored.stdout_text, nullptr, false).size(), 12u);
  ASSERT_GT(ConvergeOnce(config), 0);
  EXPECT_EQ(Wod({"drift", "--store", store_url_, "--exit-code"}).exit_code, 0);
  EXPECT_EQ(PhaseOf(2), "Vacant");
  EXPECT_THAT(ReadFile(root_ / "etc/passwd"), HasSubstr("student12:x:20012:"));

  auto create = Wod({"verb", "--store", store_url_, "CREATE", "WKSHP-Shell101", "2"});
  ASSERT_EQ(create.exit_code, 0) << create.stderr_text;
  auto live = Wod({"drift", "--live", "--store", store_url_, "--location", "local", "--config",
                   config, "--exit-code"});
  EXPECT_EQ(live.exit_code, 8);
  EXPECT_THAT(live.stdout_text, HasSubstr("occupied by registration"));
  EXPECT_FALSE(fs::exists(
      root_ / "home/student2/WKSHP-Shell101/0-ReadMeFirst.ipynb"));  // --live wrote nothing
  ASSERT_GT(ConvergeOnce(config), 0);
  EXPECT_EQ(PhaseOf(2), "Ready");
  EXPECT_TRUE(fs::exists(root_ / "home/student2/WKSHP-Shell101/0-ReadMeFirst.ipynb"));
  auto quiet = Wod(Once(config));
  EXPECT_THAT(quiet.stdout_text, HasSubstr(" actions=0 failures=0 skipped=0 drift=0 "));
}

TEST_F(WOD_CLI_ROOT_SUITE, OnceFailsWhileADaemonHoldsTheLeaseAndSigtermHandsItOverAtOnce) {
  LoadCatalog();
  // A long TTL: a successor that gets the lease at once proves it was released, not expired.
  std::string config = WriteConfig("20s");
  Daemon a(Daemonargs(config, "ctl-a"), dir_ / "a.log");
  ASSERT_TRUE(a.started());
  ASSERT_TRUE(a.WaitForLog("converged=true", std::chrono::seconds(20))) << a.log();
  EXPECT_THAT(a.log(), HasSubstr("holding lease 'controller/local' epoch 1 as 'ctl-a'"));

  auto busy = Wod(Once(config));
  EXPECT_EQ(busy.exit_code, 6);
  EXPECT_THAT(busy.stderr_text, HasSubstr("another controller holds location 'local'"));

  const auto t0 = Clock::now();
  a.Signal(SIGTERM);
  EXPECT_EQ(a.Wait(std::chrono::seconds(5)), 0) << a.log();
  EXPECT_THAT(a.log(), HasSubstr("lease released"));
  auto next = Wod(Once(config));
  EXPECT_EQ(next.exit_code, 0) << next.stderr_text;
  EXPECT_THAT(next.stdout_text, HasSubstr("epoch=2 "));
  EXPECT_LT(Clock::now() - t0, std::chrono::seconds(10));
}

TEST_F(WOD_CLI_ROOT_SUITE, SecondControllerTakesOverWithinTheTtlAfterTheFirstIsKilled) {
  LoadCatalog();
  std::string config = WriteConfig("2s");
  Daemon a(Daemonargs(config, "ctl-a"), dir_ / "a.log");
  ASSERT_TRUE(a.WaitForLog("converged=true", std::chrono::seconds(20))) << a.log();
  Daemon b(Daemonargs(config, "ctl-b"), dir_ / "b.log");
  ASSERT_TRUE(b.WaitForLog("waiting for lease", std::chrono::seconds(5))) << b.log();
  EXPECT_THAT(b.log(), Not(HasSubstr("holding lease")));

  a.Signal(SIGKILL);
  const auto killed = Clock::now();
  EXPECT_EQ(a.Wait(std::chrono::seconds(5)), -1);
  auto create = Wod({"verb", "--store", store_url_, "CREATE", "WKSHP-Shell101", "3"});
  ASSERT_EQ(create.exit_code, 0) << create.stderr_text;

  ASSERT_TRUE(
      b.WaitForLog("holding lease 'controller/local' epoch 2 as 'ctl-b'", std::chrono::seconds(6)))
      << b.log();
  // TTL 2 s after A's last renewal, which was at most TTL/3 before the kill, plus B's
  // polling period (TTL/3) and process start-up.
  const auto takeover =
      std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - killed);
  EXPECT_LT(takeover, std::chrono::milliseconds(3500));
  std::printf("takeover %lld ms after SIGKILL (lease_ttl 2s)\n",
              static_cast<long long>(takeover.count()));
  EXPECT_TRUE(WaitForPhase(3, "Ready", std::chrono::seconds(15))) << b.log();
  EXPECT_TRUE(fs::exists(root_ / "home/student3/WKSHP-Shell101/0-ReadMeFirst.ipynb"));

  b.Signal(SIGTERM);
  EXPECT_EQ(b.Wait(std::chrono::seconds(5)), 0) << b.log();
  auto next = Wod(Once(config));
  EXPECT_EQ(next.exit_code, 0) << next.stderr_text;
  EXPECT_THAT(next.stdout_text, HasSubstr("epoch=3 "));
}

#endif  // WOD_CONTROLLER_CLI_ROOT

}  // namespace
}  // namespace wod
