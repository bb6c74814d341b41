// The two-backend end-to-end test of issue 12, everything real: one PostgreSQL store (a fresh
// database on WOD_TEST_PG_URL's server), two locations on this machine, each with its own
// `wod controller` and JupyterHub:
//   east: users wodeast<N> (uids 66000 + N, group wodeast), the test hub (WOD_TEST_HUB_URL);
//   west: users wodwest<N> (uids 66100 + N, group wodwest), a hub this test starts itself
//         with scripts/services/jupyterhub;
// and two `wod serve` on the one store, both running the lifecycle (its lease picks one). The
// workshop WKSHP-TwoBackends (written by the test) has `location: east`, `alternateLocation:
// ['west']` and seats 1..8 on each. Controllers hold a 3 s lease (lease_ttl); the lifecycle
// moves waiting registrations off a location dead for 3 s (failover_after).
//
// Each step is asserted:
//   1. registrations are spread over both locations (the one with the most free seats; ties:
//      east) and turn Ready (GET /api/v1/me); each one's account (unlocked, its password, its
//      occupant marker) and hub user are on its own side only;
//   2. east's controller is stopped (SIGSTOP) and a registration X is taken on east (its lease
//      still holds), then SIGKILLed: east stops being live within the lease TTL, and new
//      registrations land on west (even where a tie would have sent them east) and turn Ready
//      there;
//   3. X, waiting on dead east, is moved by the lifecycle to west and turns Ready there: /me
//      shows west, a password other than its east seat's, events `lifecycle.move` on both
//      seats, the credentials mail links west's hub, the notebook renders west's fqdn;
//   4. `wod location set west --state draining`: with east dead, a registration is answered
//      503 no_backend with Retry-After and nothing is stored;
//   5. east's controller restarts: X's old seat on east is vacated (locked, vacant occupant
//      marker, a fresh password, no workshop files, no hub server) and east's drift report is
//      empty (stored and `wod drift --live`); with west still draining the next registration
//      goes to east and turns Ready there;
//   6. west active again, 50 registrations at once over both `wod serve`: exactly the free
//      seats are given (201), the rest answered 409 full, no seat twice.
// Everything made (processes, accounts, homes, groups, hub users, the second hub, the
// database, temp dir) is removed at the end, failed or not, and swept at the start in case an
// earlier run died.
//
// What it found, now fixed and asserted: /api/v1/me and the credentials mail named the seat's
// user api.participant_user_prefix + seat whatever the location, so every participant on west
// was told 'wodeast<N>' (each controller now records its prefix; mismatches are collected over
// the steps and asserted at the end); and a controller renewed its lease only at the top of its
// loop and when a seat started its steps, so its lease lapsed during a long first pass on a
// loaded machine and the location was briefly not live although its controller worked (a
// heartbeat now renews it; both must be live as soon as their warm pools converged).
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <map>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/accounts/password_hash.h"
#include "drivers/hub/hub_real.h"
#include "store/store.h"
#include "tests/drivers/hub_login.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/maildir.h"
#include "tests/testing/poll.h"
#include "tests/testing/seat_sweep.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

constexpr char kWorkshop[] = "WKSHP-TwoBackends";
constexpr int kSeats = 8;      // range [1,8] on each location
constexpr int kCapacity = 16;  // both locations' seats: the burst is limited by seats
constexpr int kPolicySeats = 100;
constexpr seconds kLeaseTtl{3};       // controller.lease_ttl
constexpr seconds kFailoverAfter{3};  // lifecycle.failover_after
constexpr int kBurst = 50;

using testing::Poll;
double Seconds(Clock::time_point since) { return testing::SecondsSince(since); }

std::string Tail(const std::string& log, size_t n = 5000) {
  return log.substr(log.size() > n ? log.size() - n : 0);
}

// One backend: its accounts policy, its hub, its controller.
struct Side {
  std::string name;
  std::string prefix;
  uid_t uid_base = 0;
  std::string fqdn;
  std::string hub_url;
  std::string hub_token_file;
  std::string hub_token;
  fs::path config;
  std::unique_ptr<drivers::accounts::RealAccountsDriver> accounts;
  std::unique_ptr<drivers::HubReal> hub;
  std::unique_ptr<testing::DaemonProcess> controller;
  int starts = 0;

  model::AccountPolicy Policy() const {
    return testing::RealMachinePolicy(prefix, uid_base, kPolicySeats);
  }
  std::string User(int seat) const { return absl::StrCat(prefix, seat); }
};

struct Reply {
  int status = 0;  // 0: no answer
  json body;
  std::string retry_after;
};

// A registration as the test follows it.
struct Reg {
  int64_t id = 0;
  std::string token;
  std::string email;
  std::string location;
  int seat = 0;
};

class TwoBackends : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
    WOD_REQUIRE_SERVICE(pg_url, "WOD_TEST_PG_URL", "PostgreSQL");
    WOD_REQUIRE_SERVICE(hub_url, "WOD_TEST_HUB_URL", "JupyterHub");
    WOD_REQUIRE_SERVICE(hub_token_file, "WOD_TEST_HUB_TOKEN_FILE", "JupyterHub");

    char tmpl[] = "/tmp/wod-two-backends-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::permissions(dir_, fs::perms(0755));

    east_.name = "east";
    east_.prefix = "wodeast";
    east_.uid_base = 66000;
    east_.fqdn = "east.wod.test";
    east_.hub_url = hub_url;
    east_.hub_token_file = hub_token_file;
    west_.name = "west";
    west_.prefix = "wodwest";
    west_.uid_base = 66100;
    west_.fqdn = "west.wod.test";

    // West's hub: a second JupyterHub of our own, stopped in TearDown whatever happens.
    west_hub_dir_ = dir_ / "west-hub";
    west_hub_started_ = true;
    auto hub = Run({std::string(WOD_SOURCE_DIR) + "/scripts/services/jupyterhub", "start",
                    west_hub_dir_.string()},
                   absl::Seconds(90));
    ASSERT_EQ(hub.exit_code, 0) << hub.stderr_text;
    std::smatch m;
    ASSERT_TRUE(std::regex_search(hub.stdout_text, m, std::regex(R"(WOD_TEST_HUB_URL=(\S+))")))
        << hub.stdout_text;
    west_.hub_url = m[1];
    ASSERT_TRUE(
        std::regex_search(hub.stdout_text, m, std::regex(R"(WOD_TEST_HUB_TOKEN_FILE=(\S+))")))
        << hub.stdout_text;
    west_.hub_token_file = m[1];

    for (Side* s : {&east_, &west_}) {
      s->hub_token = std::string(absl::StripAsciiWhitespace(testing::ReadFile(s->hub_token_file)));
      drivers::accounts::RealAccountsOptions ao;
      ao.policy = s->Policy();
      ao.kill.grace = absl::Milliseconds(300);
      ASSERT_OK_AND_ASSIGN(s->accounts, drivers::accounts::RealAccountsDriver::Create(ao));
      drivers::HubRealOptions ho;
      ho.url = s->hub_url;
      ho.token_file = s->hub_token_file;
      ho.policy.user_prefix = s->prefix;
      ASSERT_OK_AND_ASSIGN(s->hub, drivers::HubReal::Create(ho));
    }
    {
      // West's users never belong on the shared test hub; swept there in case a bug put some.
      // West's own hub is thrown away whole.
      drivers::HubRealOptions ho;
      ho.url = east_.hub_url;
      ho.token_file = east_.hub_token_file;
      ho.policy.user_prefix = west_.prefix;
      ASSERT_OK_AND_ASSIGN(west_on_test_hub_, drivers::HubReal::Create(ho));
    }
    swept_ = true;
    ASSERT_OK(Sweep());  // what a crashed earlier run may have left
    for (Side* s : {&east_, &west_}) {
      const auto squatters = testing::RangeSquatters(s->Policy());
      ASSERT_TRUE(squatters.empty()) << squatters.front();
    }

    ASSERT_OK_AND_ASSIGN(db_, store::testing::PgScratchDb::Create(pg_url, "wod_two_backends"));
    // The daemons and commands find the store here, so its password is on no command line.
    setenv("WOD_STORE", db_->url().c_str(), 1);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenStore(db_->url()));

    WriteCatalog();
    Wod({"catalog", "load", (dir_ / "catalog").string()});
    for (const Side* s : {&east_, &west_}) {
      Wod({"location", "set", s->name, "--fqdn", s->fqdn, "--hub-url", s->hub_url});
    }
    admin_token_ = std::string(absl::StripAsciiWhitespace(
        Wod({"token", "create", "--role", "admin", "--name", "two-backends"}).stdout_text));
    ASSERT_FALSE(admin_token_.empty());
    for (Side* s : {&east_, &west_}) WriteControllerConfig(*s);
    WriteServeConfig();
  }

  void TearDown() override {
    const bool failed = HasFailure();
    const auto t0 = Clock::now();
    auto note = [&](const char* what) {
      std::printf("[teardown %5.2f s] %s\n", Seconds(t0), what);
      std::fflush(stdout);
    };
    // All asked to stop at once, then waited for: each finishes its pass or request first.
    std::vector<std::pair<std::unique_ptr<testing::DaemonProcess>*, std::string>> daemons = {
        {&serve_a_, "wod serve a"},
        {&serve_b_, "wod serve b"},
        {&east_.controller, "east controller"},
        {&west_.controller, "west controller"}};
    for (auto& [p, what] : daemons) {
      if (*p == nullptr) continue;
      (*p)->Signal(SIGCONT);  // a stopped controller must see the SIGTERM
      (*p)->Signal(SIGTERM);
    }
    for (auto& [p, what] : daemons) {
      if (*p == nullptr) continue;
      const int code = (*p)->Wait(milliseconds(15000));
      EXPECT_EQ(code, 0) << what << " did not stop cleanly on SIGTERM";
      if (failed || code != 0) {
        std::printf("--- %s log (tail)\n%s\n", what.c_str(), Tail((*p)->log()).c_str());
      }
      p->reset();  // SIGKILL if still running
    }
    note("daemons stopped");
    // West's hub goes while the machine is swept (it takes seconds to stop).
    std::thread hub_stop;
    if (west_hub_started_) {
      west_.hub.reset();
      hub_stop = std::thread([this] {
        auto r = Run({std::string(WOD_SOURCE_DIR) + "/scripts/services/jupyterhub", "stop",
                      west_hub_dir_.string()},
                     absl::Seconds(60));
        EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
      });
    }
    if (swept_) {
      EXPECT_OK(Sweep());
      note("accounts, homes and groups of both prefixes and their users on the test hub swept");
    }
    if (hub_stop.joinable()) {
      hub_stop.join();
      note("west's hub stopped");
    }
    store_.reset();
    db_.reset();  // drops the database
    unsetenv("WOD_STORE");
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
    note("database dropped, temp dir removed");
  }

  absl::Status Sweep() {
    absl::Status first;
    for (Side* s : {&east_, &west_}) {
      testing::SweepTargets t;
      t.policy = s->Policy();
      t.accounts = s->accounts.get();
      t.hub = s == &west_ ? west_on_test_hub_.get() : s->hub.get();
      t.location = s->name;
      absl::Status st = testing::SweepSeats(t);
      if (first.ok()) first = st;
    }
    return first;
  }

  static common::SubprocessResult Run(std::vector<std::string> args, absl::Duration timeout) {
    common::SubprocessOptions o;
    o.timeout = timeout;
    if (const char* store = getenv("WOD_STORE")) o.env.push_back(absl::StrCat("WOD_STORE=", store));
    auto r = common::RunProcess(args, o);
    EXPECT_OK(r);
    return r.ok() ? *r : common::SubprocessResult{};
  }

  // A `wod` command that must succeed.
  common::SubprocessResult Wod(std::vector<std::string> args) {
    args.insert(args.begin(), WOD_BINARY);
    auto r = Run(args, absl::Seconds(30));
    EXPECT_EQ(r.exit_code, 0) << args[1] << " " << args[2] << ": " << r.stderr_text;
    return r;
  }

  void WriteCatalog() {
    const fs::path w = dir_ / "catalog" / kWorkshop;
    fs::create_directories(w);
    std::ofstream(w / "wod.yml") << "%YAML 1.1\n---\n"
                                 << "name: 'Two backends'\n"
                                 << "description: 'Spread, failed over and drained by tests/e2e.'\n"
                                 << "active: true\n"
                                 << "capacity: " << kCapacity << "\n"
                                 << "priority: 1\n"
                                 << "range: [1," << kSeats << "]\n"
                                 << "location: east\n"
                                 << "alternateLocation: ['west']\n"
                                 << "reset: false\nldap: false\nvarpass: false\n"
                                 << "compile: false\nbeta: false\n"
                                 << "category: ['Test']\nduration: 1\n"
                                 << "presenter: 'wod maintainers'\nrole: 'Test workshop'\n";
    json nb = {{"cells",
                {{{"cell_type", "markdown"},
                  {"id", "readme"},
                  {"metadata", json::object()},
                  {"source", "Backend: {{ WODBEEXTFQDN }}, seat {{ STDID }}"}},
                 {{"cell_type", "code"},
                  {"id", "lab"},
                  {"metadata", json::object()},
                  {"outputs", json::array()},
                  {"execution_count", nullptr},
                  {"source", "print('hello')"}}}},
               {"metadata", json::object()},
               {"nbformat", 4},
               {"nbformat_minor", 5}};
    std::ofstream(w / "0-ReadMeFirst.ipynb") << nb.dump(1);
  }

  void WriteControllerConfig(Side& s) {
    s.config = dir_ / (s.name + ".yml");
    fs::create_directories(dir_ / ("archive-" + s.name));
    std::ofstream(s.config) << "accounts:\n"
                            << "  root: /\n"
                            << "  user_prefix: " << s.prefix << "\n"
                            << "  uid_base: " << s.uid_base << "\n"
                            << "  seat_count: " << kPolicySeats << "\n"
                            << "  group: " << s.prefix << "\n"
                            << "  gid: " << s.uid_base << "\n"
                            << "  home_base: /home\n"
                            << "content:\n"
                            << "  archive_dir: archive-" << s.name << "\n"
                            << "hub:\n"
                            << "  url: " << s.hub_url << "\n"
                            << "  token_file: " << s.hub_token_file << "\n"
                            << "controller:\n"
                            << "  concurrency: 4\n"
                            << "  lease_ttl: " << kLeaseTtl.count() << "s\n"
                            << "  resync: 2s\n"
                            << "  backoff_base: 200ms\n"
                            << "  backoff_cap: 2s\n";
  }

  void WriteServeConfig() {
    serve_config_ = dir_ / "serve.yml";
    maildir_ = dir_ / "mail";
    // One file for both serves: they share the participant token secret next to it.
    std::ofstream(serve_config_) << "api:\n"
                                 << "  public_base_url: http://wod.two.test\n"
                                 << "  participant_user_prefix: " << east_.prefix << "\n"
                                 << "  registration_rate_limit:\n"
                                 << "    per_minute: 0\n"
                                 << "mail:\n"
                                 << "  maildir: " << maildir_.string() << "\n"
                                 << "  from_address: wod@two.test\n"
                                 << "lifecycle:\n"
                                 << "  resync: 500ms\n"
                                 << "  lease_ttl: 3s\n"
                                 << "  failover_after: " << kFailoverAfter.count() << "s\n";
  }

  void StartController(Side& s) {
    const int n = ++s.starts;
    s.controller = std::make_unique<testing::DaemonProcess>(
        WOD_BINARY,
        std::vector<std::string>{"controller", "--config", s.config.string(), "--location", s.name,
                                 "--holder", absl::StrCat(s.name, "-test-", n)},
        dir_ / absl::StrCat(s.name, "-", n, ".log"));
    ASSERT_TRUE(s.controller->started());
  }

  void StartServe(std::unique_ptr<testing::DaemonProcess>& p, int* port, const char* name) {
    p = std::make_unique<testing::DaemonProcess>(
        WOD_BINARY,
        std::vector<std::string>{"serve", "--config", serve_config_.string(), "--listen",
                                 "127.0.0.1:0"},
        dir_ / absl::StrCat("serve-", name, ".log"));
    ASSERT_TRUE(p->started());
    const std::string found =
        p->WaitForMatch(R"(wod serve: listening on http://127\.0\.0\.1:(\d+))", seconds(20));
    ASSERT_FALSE(found.empty()) << p->log();
    *port = std::stoi(found);
  }

  // --- HTTP ---

  static Reply Call(int port, const std::string& method, const std::string& path,
                    const httplib::Headers& headers, const json& body = json()) {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(30);
    httplib::Result res = method == "GET" ? c.Get(path.c_str(), headers)
                          : method == "PATCH"
                              ? c.Patch(path.c_str(), headers, body.dump(), "application/json")
                              : c.Post(path.c_str(), headers, body.dump(), "application/json");
    Reply r;
    if (!res) return r;
    r.status = res->status;
    r.body = json::parse(res->body, nullptr, false);
    r.retry_after = res->get_header_value("Retry-After");
    return r;
  }

  // Turns about serve a and serve b, as a proxy in front of both would.
  int NextPort() { return (turn_++ % 2 == 0) ? port_a_ : port_b_; }

  Reply PostRegistration(int port, const std::string& email) {
    return Call(port, "POST", "/api/v1/registrations", {},
                json{{"workshop", kWorkshop},
                     {"email", email},
                     {"name", "Pat Tester"},
                     {"company", "ACME"},
                     {"accept_terms", true}});
  }

  std::string Email(const std::string& who) { return absl::StrCat(who, "-", tag_, "@example.com"); }

  // Registers through the next serve; a failure unless 201.
  Reg Register(const std::string& who) {
    Reg g;
    g.email = Email(who);
    const int port = NextPort();
    Reply r = PostRegistration(port, g.email);
    EXPECT_EQ(r.status, 201) << who << " on :" << port << ": " << r.body.dump();
    if (r.status != 201 || !r.body.is_object()) return g;
    g.id = r.body["registration"].value("id", int64_t{0});
    g.location = r.body["registration"].value("location", "");
    g.seat = r.body["registration"].value("seat", 0);
    g.token = r.body.value("token", "");
    return g;
  }

  json Me(const Reg& g) {
    Reply r = Call(NextPort(), "GET", "/api/v1/me", {{"Authorization", "Participant " + g.token}});
    return r.status == 200 ? r.body : json();
  }

  json WaitForMe(const Reg& g, milliseconds timeout, const std::function<bool(const json&)>& ok) {
    json me;
    Poll(timeout, [&] {
      me = Me(g);
      return me.is_object() && ok(me);
    });
    return me;
  }

  json Admin(const std::string& method, const std::string& path, const json& body = json()) {
    Reply r = Call(NextPort(), method, path, {{"Authorization", "Bearer " + admin_token_}}, body);
    EXPECT_EQ(r.status, 200) << method << " " << path << ": " << r.body.dump();
    return r.body;
  }

  json Location(const std::string& name) {
    for (const json& l : Admin("GET", "/api/v1/locations").value("locations", json::array())) {
      if (l.value("name", "") == name) return l;
    }
    return json();
  }

  Side& SideOf(const std::string& location) { return location == "west" ? west_ : east_; }
  Side& OtherSide(const std::string& location) { return location == "west" ? east_ : west_; }

  // The hub user `user` as `side`'s hub reports it; null when it has none.
  static json HubUser(const Side& side, const std::string& user) {
    httplib::Client c(side.hub_url);
    c.set_read_timeout(10);
    auto res =
        c.Get(("/hub/api/users/" + user).c_str(), {{"Authorization", "token " + side.hub_token}});
    if (!res || res->status != 200) return json();
    return json::parse(res->body, nullptr, false);
  }

  static std::optional<model::ObservedAccount> AccountOf(Side& side, int seat) {
    auto obs = side.accounts->Observe();
    EXPECT_OK(obs);
    if (!obs.ok()) return std::nullopt;
    const model::ObservedAccount* a = obs->Find(seat);
    if (a == nullptr) return std::nullopt;
    return *a;
  }

  // Waits for `g` to be Ready on its location and checks that what makes its seat is on that
  // side only: the account (unlocked, occupied by g, its password), the hub user on the
  // location's hub and not on the other; on the other side the same seat number is not g's.
  json ExpectReadyOn(const Reg& g, const std::string& location) {
    json me = WaitForMe(g, milliseconds(20000), [&](const json& j) {
      return j.value("location", "") == location && j.value("phase", "") == "Ready";
    });
    EXPECT_EQ(me.value("location", ""), location) << g.email << ": " << me.dump();
    EXPECT_EQ(me.value("phase", ""), "Ready") << g.email << ": " << me.dump();
    if (me.value("phase", "") != "Ready" || me.value("location", "") != location) return me;
    Side& side = SideOf(location);
    Side& other = OtherSide(location);
    const int seat = me.value("seat", 0);
    const std::string user = side.User(seat);
    const std::string password = me["credentials"].value("password", "");
    EXPECT_FALSE(password.empty());
    // The participant must be told the user name of the seat's own backend. Collected and
    // asserted once at the end, so that a wrong name does not hide the later steps.
    if (const std::string told = me["credentials"].value("user", ""); told != user) {
      wrong_user_names_.push_back(absl::StrCat("registration ", g.id, " on ", location, " seat ",
                                               seat, ": told '", told, "', account '", user, "'"));
    }
    EXPECT_EQ(me.value("hub_url", ""), side.hub_url + "/hub/login");
    passwd* pw = getpwnam(user.c_str());
    EXPECT_NE(pw, nullptr) << user;
    if (pw != nullptr) {
      EXPECT_EQ(pw->pw_uid, side.uid_base + static_cast<uid_t>(seat));
    }
    auto account = AccountOf(side, seat);
    EXPECT_TRUE(account.has_value()) << user;
    if (account) {
      EXPECT_FALSE(account->locked) << user;
      EXPECT_EQ(account->occupant, g.id) << user;
      EXPECT_TRUE(drivers::accounts::PasswordMatches(*account, password)) << user;
    }
    EXPECT_TRUE(HubUser(side, user).is_object()) << user << " not on " << side.name << "'s hub";
    EXPECT_TRUE(HubUser(other, user).is_null()) << user << " on " << other.name << "'s hub";
    if (auto o = AccountOf(other, seat)) {
      EXPECT_NE(o->occupant, g.id) << other.User(seat) << " holds registration " << g.id;
    }
    return me;
  }

  fs::path dir_, west_hub_dir_, serve_config_, maildir_;
  bool west_hub_started_ = false;
  std::vector<std::string> wrong_user_names_;
  std::unique_ptr<drivers::HubReal> west_on_test_hub_;
  bool swept_ = false;
  Side east_, west_;
  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  std::string admin_token_;
  std::unique_ptr<testing::DaemonProcess> serve_a_, serve_b_;
  int port_a_ = 0, port_b_ = 0;
  unsigned turn_ = 0;
  const std::string tag_ = absl::StrCat(getpid(), "-", absl::ToUnixMillis(absl::Now()));
};

TEST_F(TwoBackends, SpreadFailoverDrainReturnAndBurstOnOneStore) {
  const auto t0 = Clock::now();
  auto step = [&](const std::string& what) {
    std::printf("[%6.2f s] %s\n", Seconds(t0), what.c_str());
    std::fflush(stdout);
  };

  ASSERT_NO_FATAL_FAILURE(StartController(east_));
  ASSERT_NO_FATAL_FAILURE(StartController(west_));
  ASSERT_TRUE(east_.controller->WaitForLog("converged=true", seconds(30)))
      << east_.controller->log();
  ASSERT_TRUE(west_.controller->WaitForLog("converged=true", seconds(30)))
      << west_.controller->log();
  ASSERT_NO_FATAL_FAILURE(StartServe(serve_a_, &port_a_, "a"));
  ASSERT_NO_FATAL_FAILURE(StartServe(serve_b_, &port_b_, "b"));
  // Both live before anyone registers, at once: the heartbeat keeps each lease through the
  // long first pass (the warm pool), so a working controller's location is never counted dead.
  auto not_live = [&] {
    std::vector<std::string> out;
    for (const json& l : Admin("GET", "/api/v1/locations").value("locations", json::array())) {
      if (!l.value("live", false)) out.push_back(l.value("name", "?"));
    }
    return out;
  };
  const auto lapsed = not_live();
  EXPECT_TRUE(lapsed.empty()) << "not live right after converging (lease lapsed): "
                              << absl::StrJoin(lapsed, ", ");
  if (!lapsed.empty()) {
    ASSERT_TRUE(Poll(seconds(10), [&] { return not_live().empty(); }))
        << "not live: " << absl::StrJoin(not_live(), ", ");
  }
  step("both controllers converged (warm pools) and live, two wod serve on one store");

  // 1. Spread: most free seats first, ties to the workshop's own location (east).
  std::vector<Reg> first;
  std::map<std::string, int> spread;
  for (int i = 0; i < 4; ++i) {
    first.push_back(Register(absl::StrCat("spread", i)));
    ASSERT_NE(first.back().id, 0);
    spread[first.back().location]++;
  }
  EXPECT_EQ(first[0].location, "east");
  EXPECT_EQ(first[1].location, "west");
  EXPECT_EQ(spread["east"], 2);
  EXPECT_EQ(spread["west"], 2);
  for (const Reg& g : first) ExpectReadyOn(g, g.location);
  ASSERT_FALSE(HasFailure());
  step("1. four registrations: two on east, two on west, each Ready on its own side only");

  // 2 and 3. East's controller stops (it still holds its lease): X is taken on east (6 free
  // there and on west: the tie goes to east) and waits. Then the controller dies.
  const auto stopped_at = Clock::now();
  east_.controller->Signal(SIGSTOP);
  Reg x = Register("waiting");
  ASSERT_EQ(x.location, "east") << "registered while east's lease still held";
  ASSERT_OK_AND_ASSIGN(store::SeatView x_east_seat, store_->GetSeat("east", x.seat));
  const std::string x_east_password = x_east_seat.seat.password;
  east_.controller->Signal(SIGKILL);
  east_.controller->Wait(milliseconds(5000));
  east_.controller.reset();
  step(absl::StrCat("2. east's controller stopped; registration ", x.id, " waits on east seat ",
                    x.seat, "; controller SIGKILLed"));

  // Not live within the lease TTL of its last renewal, which came before the SIGSTOP.
  json east_health;
  const bool dead = Poll(kLeaseTtl + seconds(5), [&] {
    east_health = Location("east");
    return east_health.is_object() && !east_health.value("live", true);
  });
  const double dead_after = Seconds(stopped_at);
  ASSERT_TRUE(dead) << east_health.dump();
  EXPECT_LE(dead_after, std::chrono::duration<double>(kLeaseTtl).count() + 1.0)
      << "east still live " << dead_after << " s after its controller stopped";
  step(absl::StrFormat("   east not live %.2f s after its controller stopped (lease TTL %d s)",
                       dead_after, static_cast<int>(kLeaseTtl.count())));

  const auto dead_at = Clock::now();

  // East has 5 free seats, west 6: a live east would get the second of these (a tie).
  std::vector<Reg> after_kill;
  for (int i = 0; i < 3; ++i) {
    after_kill.push_back(Register(absl::StrCat("afterkill", i)));
    EXPECT_EQ(after_kill.back().location, "west") << "registration " << i << " after the kill";
  }
  for (const Reg& g : after_kill) ExpectReadyOn(g, "west");
  ASSERT_FALSE(HasFailure());
  step("2. three registrations after the kill: all on west, Ready there, nothing on east");

  // 3. The lifecycle moves X to west, where it turns Ready.
  json me_x = ExpectReadyOn(x, "west");
  ASSERT_FALSE(HasFailure());
  const double ready_after_dead = Seconds(dead_at);
  const std::string x_password = me_x["credentials"].value("password", "");
  EXPECT_NE(x_password, x_east_password) << "the move gives a new password";
  const int x_west_seat = me_x.value("seat", 0);
  bool moved_out = false, moved_in = false;
  for (const json& e : Admin("GET", "/api/v1/events?limit=1000").value("events", json::array())) {
    if (e.value("kind", "") != "lifecycle.move") continue;
    const std::string msg = e.value("message", "");
    if (e.value("location", "") == "east" && e.value("seat", 0) == x.seat &&
        msg == absl::StrCat("registration ", x.id, " moved to seat west/", x_west_seat)) {
      moved_out = true;
    }
    if (e.value("location", "") == "west" && e.value("seat", 0) == x_west_seat &&
        msg == absl::StrCat("registration ", x.id, " moved here from seat east/", x.seat)) {
      moved_in = true;
    }
  }
  EXPECT_TRUE(moved_out) << "no lifecycle.move event on east/" << x.seat;
  EXPECT_TRUE(moved_in) << "no lifecycle.move event on west/" << x_west_seat;
  // The credentials mail links west's hub with the new password; the notebook names west.
  auto mail = testing::WaitForMail(maildir_, x.email, "is ready", milliseconds(10000));
  EXPECT_TRUE(mail) << "no credentials mail for " << x.email;
  if (mail) {
    EXPECT_THAT(*mail, ::testing::HasSubstr(west_.hub_url + "/hub/login"));
    EXPECT_THAT(*mail, ::testing::HasSubstr(x_password));
    const std::string user = west_.User(x_west_seat);
    if (mail->find("User name: " + user) == std::string::npos) {
      wrong_user_names_.push_back(
          absl::StrCat("registration ", x.id, "'s credentials mail does not name '", user, "'"));
    }
  }
  const std::string readme = testing::ReadFile(fs::path(west_.Policy().Home(x_west_seat)) /
                                               kWorkshop / "0-ReadMeFirst.ipynb");
  EXPECT_THAT(readme, ::testing::HasSubstr("Backend: west.wod.test"));
  ASSERT_OK(testing::HubLogin(west_.hub_url, west_.User(x_west_seat), x_password).status());
  step(absl::StrFormat(
      "3. registration %d moved to west seat %d (Ready %.2f s after east was seen dead; "
      "failover_after %d s): new password, lifecycle.move events, mail links west's hub",
      x.id, x_west_seat, ready_after_dead, static_cast<int>(kFailoverAfter.count())));

  // 4. West draining, east dead: no backend can take one; nothing is stored.
  Wod({"location", "set", "west", "--state", "draining"});
  ASSERT_OK_AND_ASSIGN(auto regs_before, store_->ListRegistrations());
  Reply refused = PostRegistration(NextPort(), Email("drained"));
  EXPECT_EQ(refused.status, 503) << refused.body.dump();
  EXPECT_EQ(refused.body["error"].value("code", ""), "no_backend") << refused.body.dump();
  EXPECT_FALSE(refused.retry_after.empty());
  ASSERT_OK_AND_ASSIGN(auto regs_after, store_->ListRegistrations());
  EXPECT_EQ(regs_after.size(), regs_before.size());
  step("4. west draining, east dead: 503 no_backend with Retry-After, nothing stored");

  // 5. East comes back: X's old seat is vacated, east has no drift.
  ASSERT_NO_FATAL_FAILURE(StartController(east_));
  ASSERT_TRUE(Poll(seconds(20), [&] { return Location("east").value("live", false); }));
  ASSERT_TRUE(east_.controller->WaitForLog("converged=true", seconds(30)))
      << east_.controller->log();
  ASSERT_OK_AND_ASSIGN(store::SeatView vacated, store_->GetSeat("east", x.seat));
  EXPECT_FALSE(vacated.seat.registration_id.has_value());
  auto old = AccountOf(east_, x.seat);
  ASSERT_TRUE(old.has_value()) << "the warm pool keeps the account of a vacant seat";
  EXPECT_TRUE(old->locked);
  EXPECT_EQ(old->occupant, 0) << "east's account still marked for a registration";
  EXPECT_FALSE(drivers::accounts::PasswordMatches(*old, x_east_password));
  EXPECT_TRUE(drivers::accounts::PasswordMatches(*old, vacated.seat.password));
  EXPECT_FALSE(fs::exists(fs::path(east_.Policy().Home(x.seat)) / kWorkshop));
  json hub_user = HubUser(east_, east_.User(x.seat));
  ASSERT_TRUE(hub_user.is_object());
  EXPECT_TRUE(hub_user.value("servers", json::object()).empty()) << hub_user.dump();
  json drift;
  Poll(seconds(15), [&] {
    drift = Admin("GET", "/api/v1/drift?location=east");
    return drift.value("drift", json::array()).empty();
  });
  EXPECT_TRUE(drift.value("drift", json::array()).empty()) << drift.dump();
  auto live_drift = Run({WOD_BINARY, "drift", "--live", "--location", "east", "--config",
                         east_.config.string(), "--exit-code"},
                        absl::Seconds(60));
  EXPECT_EQ(live_drift.exit_code, 0) << live_drift.stdout_text << live_drift.stderr_text;
  step(absl::StrCat("5. east back: seat ", x.seat,
                    " vacated (locked, fresh password, no files, no server), no drift"));

  // With west still draining, the next registration goes to east.
  Reg back = Register("eastback");
  EXPECT_EQ(back.location, "east");
  ExpectReadyOn(back, "east");
  ASSERT_FALSE(HasFailure());
  step("4/5. west draining, east back: the next registration went to east and is Ready");

  // 6. Both active and live; 50 at once over both serves for the free seats.
  json patched = Admin("PATCH", "/api/v1/locations/west", json{{"state", "active"}});
  ASSERT_EQ(Location("west").value("state", ""), "active") << patched.dump();
  int free_seats = 0;
  for (const json& l : Admin("GET", "/api/v1/locations").value("locations", json::array())) {
    ASSERT_TRUE(l.value("live", false)) << l.dump();
    free_seats += l["seats"].value("free", 0);
  }
  ASSERT_EQ(free_seats, 2 * kSeats - 9);  // 4 + 1 + 3 + 1 registrations hold seats
  std::vector<Reply> replies(kBurst);
  {
    std::latch go(kBurst);
    std::vector<std::thread> threads;
    for (int i = 0; i < kBurst; ++i) {
      threads.emplace_back([&, i] {
        const std::string email = Email(absl::StrCat("burst", i));
        go.arrive_and_wait();
        replies[i] = PostRegistration(i % 2 == 0 ? port_a_ : port_b_, email);
      });
    }
    for (auto& t : threads) t.join();
  }
  int created = 0, full = 0;
  std::set<std::pair<std::string, int>> given;
  for (const Reply& r : replies) {
    if (r.status == 201) {
      ++created;
      given.insert(
          {r.body["registration"].value("location", ""), r.body["registration"].value("seat", 0)});
    } else if (r.status == 409 && r.body["error"].value("code", "") == "full") {
      ++full;
    } else {
      ADD_FAILURE() << "burst answer " << r.status << ": " << r.body.dump();
    }
  }
  EXPECT_EQ(created, free_seats);
  EXPECT_EQ(full, kBurst - free_seats);
  EXPECT_EQ(given.size(), static_cast<size_t>(created)) << "a seat was given twice";
  // The store agrees: one active registration per seat, each seat's occupant is it.
  std::set<std::pair<std::string, int>> held;
  int active = 0;
  ASSERT_OK_AND_ASSIGN(auto actives, store_->ListRegistrations(model::RegistrationState::kActive));
  for (const auto& r : actives) {
    ++active;
    EXPECT_TRUE(held.insert({r.location, r.seat}).second) << r.location << "/" << r.seat;
    ASSERT_OK_AND_ASSIGN(store::SeatView s, store_->GetSeat(r.location, r.seat));
    EXPECT_EQ(s.seat.registration_id, r.id) << r.location << "/" << r.seat;
  }
  EXPECT_EQ(active, 2 * kSeats);
  EXPECT_THAT(wrong_user_names_, ::testing::IsEmpty())
      << "/api/v1/me and the credentials mail name the seat's user with "
         "api.participant_user_prefix, whatever the location's accounts prefix";
  step(absl::StrCat("6. burst of ", kBurst, " over both serves: ", created, " given (", free_seats,
                    " free), ", full, " full, no seat twice"));
}

}  // namespace
}  // namespace wod
