// The end-to-end test of issue 5, everything real: one `wod up` process (the API, the
// controller of location `e2e` and the lifecycle, as the README and scripts/up run wod on one
// machine) on a temp SQLite store, managing real Linux accounts on this machine (users
// wode2e<N>, uids 62000 + N, group wode2e), the test JupyterHub (WOD_TEST_HUB_URL), mail
// through the test SMTP server (WOD_TEST_SMTP_URL, which stores what it receives in
// WOD_TEST_SMTP_MAILDIR) and, when the test Docker engine is there (WOD_TEST_DOCKER_SOCKET),
// one appliance container per occupied seat. The workshop is tests/e2e/catalog/WKSHP-E2E: one
// seat, so the second participant gets the seat the first one left.
//
// The life of the seat, each step asserted:
//   1. POST /api/v1/registrations -> 201 with page_url and the participant token;
//   2. the seat becomes Ready (GET /api/v1/me, Authorization: Participant <token>);
//   3. the credentials mail arrives at the SMTP server; its password logs into JupyterHub
//      (POST /hub/login, as a browser) and the user's single-user server starts and answers;
//   4. /api/v1/me shows phase Ready and the same credentials;
//   5. the participant executes a cell (an executed code cell written into the lab notebook
//      by a process running as the seat's user) and /api/v1/me's progress rises;
//   6. the admin moves the deadline to just ahead (POST /api/v1/registrations/{id}:extend
//      takes any future deadline, earlier ones too): the lifecycle's CLEANUP ends it;
//   7. the SMTP server has the final mail with the completion (1 of 4 cells: 25%);
//   8. the next participant gets the same seat: no file of the previous one in the home, no
//      process of the seat's uid, no container of the previous registration, a different
//      password that logs into the hub while the old one no longer does.
// Everything made (the process, accounts, homes, group, hub users, containers, temp dir) is
// removed at the end, failed or not, and swept at the start in case an earlier run died.
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "common/clock.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/appliances/appliances_real.h"
#include "drivers/hub/hub_real.h"
#include "tests/drivers/hub_login.h"
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
using ::testing::HasSubstr;

constexpr char kLocation[] = "e2e";
constexpr char kWorkshop[] = "WKSHP-E2E";
constexpr char kPrefix[] = "wode2e";
constexpr uid_t kUidBase = 62000;
constexpr int kPolicySeats = 10;  // uids 62000..62009 are the managed range
constexpr int kLabCells = 4;      // code cells of 1-Lab.ipynb

model::AccountPolicy Policy() {
  return wod::testing::RealMachinePolicy(kPrefix, kUidBase, kPolicySeats);
}

using testing::Poll;
double Seconds(Clock::time_point since) { return testing::SecondsSince(since); }

// The processes whose real, effective or saved uid is `uid`, as "PID NAME (STATE) CMDLINE".
// Zombies are left out: they are dead and hold nothing but their exit status until their
// parent (for a single-user server: the hub) reaps them.
std::vector<std::string> ProcessesOf(uid_t uid) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc", ec)) {
    const std::string pid = e.path().filename();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(e.path() / "status");
    std::string line, name, state;
    bool ours = false;
    while (std::getline(in, line)) {
      if (line.rfind("Name:", 0) == 0)
        name = std::string(absl::StripAsciiWhitespace(line.substr(5)));
      if (line.rfind("State:", 0) == 0)
        state = std::string(absl::StripAsciiWhitespace(line.substr(6)));
      if (line.rfind("Uid:", 0) != 0) continue;
      std::istringstream uids(line.substr(4));
      uid_t u = 0;
      for (int i = 0; i < 3 && uids >> u; ++i) ours = ours || u == uid;
      break;
    }
    if (!ours || state.rfind("Z", 0) == 0) continue;
    std::string cmdline = testing::ReadFile(e.path() / "cmdline");
    std::replace(cmdline.begin(), cmdline.end(), '\0', ' ');
    out.push_back(absl::StrCat(pid, " ", name, " (", state, ") ", cmdline));
  }
  return out;
}

// Writes `files` (path -> content) as the user `uid`:`gid` from a child process, as the
// participant's own kernel or editor would. Paths that exist are overwritten in place.
bool WriteAsUser(uid_t uid, gid_t gid, const std::vector<std::pair<fs::path, std::string>>& files) {
  pid_t child = fork();
  if (child < 0) return false;
  if (child == 0) {
    if (setgroups(0, nullptr) != 0 || setgid(gid) != 0 || setuid(uid) != 0) _exit(2);
    for (const auto& [path, text] : files) {
      int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
      if (fd < 0) _exit(3);
      size_t done = 0;
      while (done < text.size()) {
        ssize_t n = write(fd, text.data() + done, text.size() - done);
        if (n <= 0) _exit(4);
        done += static_cast<size_t>(n);
      }
      if (close(fd) != 0) _exit(5);
    }
    _exit(0);
  }
  int status = 0;
  waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// The password of a credentials mail (the text body's "Password: X" line).
std::string PasswordOf(const std::string& mail) {
  std::smatch m;
  static const std::regex re(R"(Password: ([^\s<]+))");
  return std::regex_search(mail, m, re) ? std::string(m[1]) : "";
}

class EndToEnd : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
    WOD_REQUIRE_SERVICE(hub_url, "WOD_TEST_HUB_URL", "JupyterHub");
    WOD_REQUIRE_SERVICE(hub_token_file, "WOD_TEST_HUB_TOKEN_FILE", "JupyterHub");
    WOD_REQUIRE_SERVICE(smtp_url, "WOD_TEST_SMTP_URL", "an SMTP server");
    WOD_REQUIRE_SERVICE(smtp_maildir, "WOD_TEST_SMTP_MAILDIR", "the SMTP server's maildir");
    hub_url_ = hub_url;
    hub_token_file_ = hub_token_file;
    smtp_maildir_ = smtp_maildir;
    // Docker is optional here (the seat is complete without appliances), except where every
    // service is required: there a missing engine must not silently shrink the test.
    if (auto socket = testing::ServiceAddress("WOD_TEST_DOCKER_SOCKET")) {
      docker_socket_ = *socket;
      docker_image_ = testing::ServiceAddress("WOD_TEST_DOCKER_IMAGE").value_or("");
      ASSERT_FALSE(docker_image_.empty()) << "WOD_TEST_DOCKER_SOCKET without WOD_TEST_DOCKER_IMAGE";
    } else if (testing::ServicesRequired()) {
      FAIL() << "Docker is required but WOD_TEST_DOCKER_SOCKET is not set (run scripts/test)";
    } else {
      std::printf("no Docker engine (WOD_TEST_DOCKER_SOCKET unset): the seat gets no appliance\n");
    }
    hub_token_ = std::string(absl::StripAsciiWhitespace(testing::ReadFile(hub_token_file_)));

    // The drivers the test uses to look at the machine and to clean it up.
    drivers::accounts::RealAccountsOptions ao;
    ao.policy = Policy();
    ao.kill.grace = absl::Milliseconds(300);
    ASSERT_OK_AND_ASSIGN(accounts_, drivers::accounts::RealAccountsDriver::Create(ao));
    drivers::HubRealOptions ho;
    ho.url = hub_url_;
    ho.token_file = hub_token_file_;
    ho.policy.user_prefix = kPrefix;
    ASSERT_OK_AND_ASSIGN(hub_, drivers::HubReal::Create(ho));
    if (!docker_socket_.empty()) {
      drivers::DockerOptions dopt;
      dopt.socket_path = docker_socket_;
      dopt.location = kLocation;
      appliances_ = std::make_unique<drivers::DockerApplianceDriver>(dopt);
    }
    ASSERT_OK(Sweep());  // what a crashed earlier run may have left
    swept_ = true;
    const auto squatters = testing::RangeSquatters(Policy());
    ASSERT_TRUE(squatters.empty()) << squatters.front();

    char tmpl[] = "/tmp/wod-e2e-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::permissions(dir_, fs::perms(0755));
    store_url_ = "sqlite:" + (dir_ / "wod.db").string();

    // The catalog: our workshop, with an appliance of the test image when Docker is there.
    const fs::path workshop = dir_ / "catalog" / kWorkshop;
    fs::create_directories(workshop.parent_path());
    fs::copy(fs::path(WOD_SOURCE_DIR) / "tests/e2e/catalog" / kWorkshop, workshop);
    if (!docker_socket_.empty()) {
      std::ofstream(workshop / "wod.yml", std::ios::app) << "appliances:\n"
                                                         << "  - name: web\n"
                                                         << "    image: " << docker_image_ << "\n"
                                                         << "    command: [httpd, -f, -p, '8080']\n"
                                                         << "    env:\n"
                                                         << "      OWNER: 'wode2e{{ STDID }}'\n"
                                                         << "    memory: 32m\n";
    }
    auto loaded = Wod({"catalog", "load", "--store", store_url_, "--location", kLocation,
                       (dir_ / "catalog").string()});
    ASSERT_EQ(loaded.exit_code, 0) << loaded.stderr_text;
    auto token =
        Wod({"token", "create", "--role", "admin", "--name", "e2e", "--store", store_url_});
    ASSERT_EQ(token.exit_code, 0) << token.stderr_text;
    admin_token_ = std::string(absl::StripAsciiWhitespace(token.stdout_text));

    config_ = dir_ / "wod.yml";
    std::ofstream(config_) << "accounts:\n"
                           << "  root: /\n"
                           << "  user_prefix: " << kPrefix << "\n"
                           << "  uid_base: " << kUidBase << "\n"
                           << "  seat_count: " << kPolicySeats << "\n"
                           << "  group: " << kPrefix << "\n"
                           << "  gid: " << kUidBase << "\n"
                           << "  home_base: /home\n"
                           << "content:\n"
                           << "  archive_dir: archive\n"
                           << "hub:\n"
                           << "  url: " << hub_url_ << "\n"
                           << "  token_file: " << hub_token_file_ << "\n"
                           << (docker_socket_.empty()
                                   ? ""
                                   : absl::StrCat("appliances:\n  docker_socket: ", docker_socket_,
                                                  "\n"))
                           << "controller:\n"
                           << "  concurrency: 4\n"
                           << "  lease_ttl: 5s\n"
                           << "  resync: 2s\n"
                           << "  backoff_base: 200ms\n"
                           << "  backoff_cap: 2s\n"
                           << "api:\n"
                           << "  public_base_url: http://wod.e2e.test\n"
                           << "  participant_user_prefix: " << kPrefix << "\n"
                           << "mail:\n"
                           << "  smtp_url: " << smtp_url << "\n"
                           << "  from_address: wod@e2e.test\n"
                           << "lifecycle:\n"
                           << "  resync: 500ms\n"
                           << "  lease_ttl: 3s\n";
  }

  void TearDown() override {
    if (up_ != nullptr) {
      up_->Signal(SIGTERM);
      up_->Wait(milliseconds(20000));
      if (HasFailure()) {
        const std::string log = up_->log();
        std::printf("--- wod up log (last 6000 bytes)\n%s\n",
                    log.substr(log.size() > 6000 ? log.size() - 6000 : 0).c_str());
      }
      up_.reset();  // SIGKILL if still running
    }
    if (swept_) {
      EXPECT_OK(Sweep());
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  absl::Status Sweep() {
    testing::SweepTargets t;
    t.policy = Policy();
    t.accounts = accounts_.get();
    t.hub = hub_.get();
    t.appliances = appliances_.get();
    t.location = kLocation;
    return testing::SweepSeats(t);
  }

  common::SubprocessResult Wod(std::vector<std::string> args) {
    args.insert(args.begin(), WOD_BINARY);
    common::SubprocessOptions o;
    o.timeout = absl::Seconds(30);
    auto r = common::RunProcess(args, o);
    EXPECT_OK(r);
    return r.ok() ? *r : common::SubprocessResult{};
  }

  // --- the API of the `wod up` child ---

  httplib::Client Api() {
    httplib::Client c("127.0.0.1", port_);
    c.set_read_timeout(10);
    return c;
  }

  // POST /api/v1/registrations; the 201 body, or a failure.
  json Register(const std::string& email, const std::string& name) {
    auto res = Api().Post("/api/v1/registrations",
                          json{{"workshop", kWorkshop},
                               {"email", email},
                               {"name", name},
                               {"company", "ACME"},
                               {"accept_terms", true}}
                              .dump(),
                          "application/json");
    EXPECT_TRUE(res) << "no answer";
    if (!res) return json();
    EXPECT_EQ(res->status, 201) << res->body;
    return json::parse(res->body, nullptr, false);
  }

  // GET /api/v1/me with the participant token; null when it does not answer 200.
  json Me(const std::string& token) {
    auto res = Api().Get("/api/v1/me", {{"Authorization", "Participant " + token}});
    if (!res || res->status != 200) return json();
    return json::parse(res->body, nullptr, false);
  }

  json Admin(const std::string& method, const std::string& path, const json& body = json()) {
    httplib::Headers h{{"Authorization", "Bearer " + admin_token_}};
    auto res = method == "GET" ? Api().Get(path.c_str(), h)
                               : Api().Post(path.c_str(), h, body.dump(), "application/json");
    EXPECT_TRUE(res) << method << " " << path;
    if (!res) return json();
    EXPECT_EQ(res->status, 200) << method << " " << path << ": " << res->body;
    return json::parse(res->body, nullptr, false);
  }

  // Polls /api/v1/me until `done` holds; the last answer.
  json WaitForMe(const std::string& token, milliseconds timeout,
                 const std::function<bool(const json&)>& done) {
    json me;
    Poll(timeout, [&] {
      me = Me(token);
      return !me.is_null() && !me.is_discarded() && done(me);
    });
    return me;
  }

  // --- the hub, as the participant's browser and as the hub's admin API ---

  json HubUser(const std::string& user) {
    httplib::Client c(hub_url_);
    c.set_read_timeout(10);
    auto res =
        c.Get(("/hub/api/users/" + user).c_str(), {{"Authorization", "token " + hub_token_}});
    if (!res || res->status != 200) return json();
    return json::parse(res->body, nullptr, false);
  }

  // After a login: asks for the user's server as the browser's "Start My Server" does (GET
  // /hub/spawn/<user> with the session), then waits until the hub reports it ready and it
  // answers through the proxy at /user/<user>/api.
  void StartServerAndWait(const std::string& user, const std::string& cookies) {
    httplib::Client c(hub_url_);
    c.set_read_timeout(30);
    httplib::Headers h{{"Cookie", cookies}};
    auto spawn = c.Get(("/hub/spawn/" + user).c_str(), h);
    ASSERT_TRUE(spawn) << "GET /hub/spawn did not answer";
    ASSERT_TRUE(spawn->status == 302 || spawn->status == 200) << spawn->status << spawn->body;
    bool ready = Poll(milliseconds(45000), [&] {
      json u = HubUser(user);
      return u.is_object() && u.contains("servers") && u["servers"].contains("") &&
             u["servers"][""].value("ready", false);
    });
    ASSERT_TRUE(ready) << "the hub never reported the server of " << user
                       << " ready: " << HubUser(user).dump();
    int last_status = 0;
    bool answers = Poll(milliseconds(15000), [&] {
      auto res = c.Get(("/user/" + user + "/api").c_str(), h);
      last_status = res ? res->status : 0;
      return res && res->status == 200 && res->body.find("\"version\"") != std::string::npos;
    });
    ASSERT_TRUE(answers) << "/user/" << user << "/api answered " << last_status;
  }

  std::string hub_url_, hub_token_file_, hub_token_, docker_socket_, docker_image_;
  fs::path smtp_maildir_, dir_, config_;
  std::string store_url_, admin_token_;
  int port_ = 0;
  bool swept_ = false;
  std::unique_ptr<drivers::accounts::RealAccountsDriver> accounts_;
  std::unique_ptr<drivers::HubReal> hub_;
  std::unique_ptr<drivers::DockerApplianceDriver> appliances_;
  std::unique_ptr<testing::DaemonProcess> up_;
};

TEST_F(EndToEnd, SeatLifeFromRegistrationThroughDeadlineCleanupToTheNextParticipant) {
  const auto t0 = Clock::now();
  auto step = [&](const char* what) {
    std::printf("[%6.2f s] %s\n", Seconds(t0), what);
    std::fflush(stdout);
  };
  up_ = std::make_unique<testing::DaemonProcess>(
      WOD_BINARY,
      std::vector<std::string>{"up", "--store", store_url_, "--config", config_.string(),
                               "--listen", "127.0.0.1:0", "--location", kLocation},
      dir_ / "up.log");
  ASSERT_TRUE(up_->started());
  const std::string port =
      up_->WaitForMatch(R"(wod up: listening on http://127\.0\.0\.1:(\d+))", seconds(20));
  ASSERT_FALSE(port.empty()) << up_->log();
  port_ = std::stoi(port);
  // The warm pool first: the vacant seat's account and hub user exist before anyone registers.
  ASSERT_TRUE(up_->WaitForLog("converged=true", seconds(30))) << up_->log();
  step("wod up serving, pool converged");

  const uid_t uid = Policy().Uid(1);
  const gid_t gid = Policy().gid;
  const std::string user = Policy().UserName(1);
  const fs::path home = Policy().Home(1);
  const std::string tag = absl::StrCat(getpid(), "-", absl::ToUnixMillis(absl::Now()));
  const std::string email1 = absl::StrCat("ada-e2e-", tag, "@example.com");
  const std::string email2 = absl::StrCat("bob-e2e-", tag, "@example.com");

  // 1. Register over HTTP.
  json reg1 = Register(email1, "Ada Lovelace");
  ASSERT_TRUE(reg1.is_object());
  const std::string token1 = reg1.value("token", "");
  const int64_t reg1_id = reg1["registration"]["id"].get<int64_t>();
  ASSERT_EQ(reg1["registration"]["seat"], 1);
  ASSERT_FALSE(token1.empty());
  EXPECT_EQ(reg1.value("page_url", ""), "http://wod.e2e.test/p/" + token1);
  step("1. registered: 201 with page_url");

  // 2. The seat becomes Ready.
  json me = WaitForMe(token1, milliseconds(20000),
                      [](const json& j) { return j.value("phase", "") == "Ready"; });
  ASSERT_EQ(me.value("phase", ""), "Ready") << me.dump() << up_->log();
  step("2. seat Ready on /api/v1/me");

  // 3. The credentials mail; its password logs in at the hub; the server starts.
  auto mail1 = testing::WaitForMail(smtp_maildir_, email1, "is ready", milliseconds(10000));
  ASSERT_TRUE(mail1) << "no credentials mail for " << email1;
  EXPECT_THAT(*mail1, HasSubstr("User name: " + user));
  EXPECT_THAT(*mail1, HasSubstr(hub_url_ + "/hub/login"));
  const std::string password1 = PasswordOf(*mail1);
  ASSERT_FALSE(password1.empty()) << *mail1;
  auto session1 = testing::HubLogin(hub_url_, user, password1);
  ASSERT_OK(session1);
  ASSERT_NO_FATAL_FAILURE(StartServerAndWait(user, *session1));
  EXPECT_FALSE(ProcessesOf(uid).empty()) << "the single-user server should run as " << user;
  if (appliances_ != nullptr) {
    ASSERT_OK_AND_ASSIGN(auto containers, appliances_->Observe());
    int running = 0;
    for (const auto& c : containers.containers) {
      if (c.seat == 1 && c.registration_id == reg1_id &&
          c.state == model::ContainerState::kRunning) {
        ++running;
      }
    }
    EXPECT_EQ(running, 1) << "the seat's appliance should run for the first registration";
  }
  step("3. credentials mail received; its password logged into the hub; server answers");

  // 4. The participant view: Ready and the same credentials.
  me = Me(token1);
  ASSERT_TRUE(me.is_object());
  EXPECT_EQ(me.value("phase", ""), "Ready");
  EXPECT_EQ(me["credentials"].value("user", ""), user);
  EXPECT_EQ(me["credentials"].value("password", ""), password1);
  // No api.hub_public_url in the config: `wod up` links the hub it manages.
  EXPECT_EQ(me.value("hub_url", ""), hub_url_ + "/hub/login");
  step("4. /api/v1/me: Ready with the mailed credentials");

  // 5. The participant executes the first cell of the lab; the progress rises.
  const fs::path lab = home / kWorkshop / "1-Lab.ipynb";
  json notebook = json::parse(testing::ReadFile(lab), nullptr, false);
  ASSERT_TRUE(notebook.is_object()) << lab;
  auto executed_of = [](const json& me_json, int* total, int* lab_executed) {
    *total = *lab_executed = -1;
    const json& p = me_json.contains("progress") ? me_json["progress"] : json();
    if (!p.is_object()) return;
    if (p.contains("total")) *total = p["total"].value("executed", -1);
    for (const json& n : p.value("notebooks", json::array())) {
      if (n.value("file", "").find("1-Lab.ipynb") != std::string::npos) {
        *lab_executed = n.value("executed", -1);
      }
    }
  };
  int total_before = 0, lab_before = 0;
  executed_of(me, &total_before, &lab_before);
  for (json& cell : notebook["cells"]) {
    if (cell.value("cell_type", "") != "code") continue;
    cell["execution_count"] = 1;
    cell["outputs"] = json::array(
        {{{"output_type", "stream"}, {"name", "stdout"}, {"text", json::array({user + "\n"})}}});
    break;
  }
  ASSERT_TRUE(WriteAsUser(
      uid, gid,
      {{lab, notebook.dump(1)}, {home / "notes-of-the-first-participant.txt", "mine\n"}}));
  int total_after = -1, lab_after = -1;
  me = WaitForMe(token1, milliseconds(15000), [&](const json& j) {
    executed_of(j, &total_after, &lab_after);
    return total_after >= 1 && lab_after == 1;
  });
  EXPECT_EQ(lab_after, 1) << "progress before: total " << total_before << ", lab " << lab_before
                          << "; now: " << (me.contains("progress") ? me["progress"].dump() : "-");
  EXPECT_GT(total_after, total_before);
  std::printf("progress on /api/v1/me: executed %d before, %d after (lab notebook: %d)\n",
              std::max(total_before, 0), total_after, lab_after);
  step("5. cell executed as the user; /api/v1/me progress rose");

  // 6. The admin moves the deadline to just ahead; the lifecycle's CLEANUP ends it.
  const absl::Time deadline = absl::Now() + absl::Seconds(2);
  json extended = Admin("POST", absl::StrCat("/api/v1/registrations/", reg1_id, ":extend"),
                        json{{"deadline", common::FormatTime(deadline)}});
  ASSERT_TRUE(extended.is_object());
  me = WaitForMe(token1, milliseconds(15000),
                 [](const json& j) { return j.value("state", "") == "ended"; });
  ASSERT_EQ(me.value("state", ""), "ended") << me.dump();
  EXPECT_GE(absl::Now(), deadline);
  json events = Admin("GET", absl::StrCat("/api/v1/events?location=", kLocation, "&limit=1000"));
  bool lifecycle_cleanup = false;
  for (const json& e : events.value("events", json::array())) {
    if (e.value("kind", "") == "lifecycle.cleanup" &&
        e.value("reason", "").find("deadline") != std::string::npos) {
      lifecycle_cleanup = true;
    }
  }
  EXPECT_TRUE(lifecycle_cleanup) << events.dump();
  step("6. deadline moved to now + 2 s; the lifecycle's CLEANUP ended the registration");

  // 7. The final mail with the completion, once the controller harvested the progress.
  auto final1 =
      testing::WaitForMail(smtp_maildir_, email1, "Thank you for taking", milliseconds(20000));
  ASSERT_TRUE(final1) << "no final mail for " << email1;
  EXPECT_THAT(*final1, HasSubstr(absl::StrCat("You completed ", 100 / kLabCells,
                                              "% of the workshop's exercises.")));
  me = Me(token1);
  int harvested_total = -1, harvested_lab = -1;
  executed_of(me, &harvested_total, &harvested_lab);
  EXPECT_EQ(harvested_lab, 1) << me.dump();
  step("7. final mail with the completion received");

  // 8. The next participant gets the same seat, and nothing of the first one.
  json reg2 = Register(email2, "Bob Babbage");
  ASSERT_TRUE(reg2.is_object());
  ASSERT_EQ(reg2["registration"]["seat"], 1) << reg2.dump();
  const std::string token2 = reg2.value("token", "");
  const int64_t reg2_id = reg2["registration"]["id"].get<int64_t>();
  json me2 = WaitForMe(token2, milliseconds(20000),
                       [](const json& j) { return j.value("phase", "") == "Ready"; });
  ASSERT_EQ(me2.value("phase", ""), "Ready") << me2.dump();
  // /api/v1/me says Ready only from a status of the seat's current generation: right after
  // the CLEANUP the status row still described the previous occupant (as Ready), while the
  // new password was not set yet. The status seen now is at least as new as the one /me used.
  for (const json& s : Admin("GET", absl::StrCat("/api/v1/seats?location=", kLocation))
                           .value("seats", json::array())) {
    if (s.value("seat", 0) != 1) continue;
    ASSERT_TRUE(s["status"].is_object()) << s.dump();
    EXPECT_GE(s["status"].value("observed_generation", int64_t{0}),
              s.value("generation", int64_t{0}))
        << "/api/v1/me said Ready from an older generation's status: " << s.dump();
  }
  const std::string password2 = me2["credentials"].value("password", "");
  EXPECT_FALSE(password2.empty());
  EXPECT_NE(password2, password1);
  auto mail2 = testing::WaitForMail(smtp_maildir_, email2, "is ready", milliseconds(10000));
  ASSERT_TRUE(mail2) << "no credentials mail for " << email2;
  EXPECT_EQ(PasswordOf(*mail2), password2);

  // No file of the first participant: the marker is gone, nothing in the home predates the
  // deadline (the wipe came after it), the lab is pristine and no file holds the old password.
  EXPECT_FALSE(fs::exists(home / "notes-of-the-first-participant.txt"));
  std::vector<std::string> leftovers;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(home, ec);
       it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st {};
    if (lstat(it->path().c_str(), &st) != 0) continue;
    if (absl::FromUnixSeconds(st.st_ctim.tv_sec) < deadline - absl::Seconds(1)) {
      leftovers.push_back(it->path().string() + " (changed before the deadline)");
    }
    if (it->is_regular_file() &&
        testing::ReadFile(it->path()).find(password1) != std::string::npos) {
      leftovers.push_back(it->path().string() + " (holds the old password)");
    }
  }
  EXPECT_THAT(leftovers, ::testing::IsEmpty());
  json lab2 = json::parse(testing::ReadFile(lab), nullptr, false);
  ASSERT_TRUE(lab2.is_object());
  for (const json& cell : lab2["cells"]) EXPECT_TRUE(cell.value("outputs", json::array()).empty());
  // No process of the seat's uid (the first participant's server and kernels were killed).
  EXPECT_THAT(ProcessesOf(uid), ::testing::IsEmpty());
  // No container of the first registration; the new one has its own.
  if (appliances_ != nullptr) {
    ASSERT_OK_AND_ASSIGN(auto containers, appliances_->Observe());
    int of_reg2 = 0;
    for (const auto& c : containers.containers) {
      EXPECT_NE(c.registration_id, reg1_id) << c.name;
      if (c.seat == 1 && c.registration_id == reg2_id) ++of_reg2;
    }
    EXPECT_EQ(of_reg2, 1);
  }
  // The new password logs in; the old one no longer does.
  EXPECT_OK(testing::HubLogin(hub_url_, user, password2));
  auto old = testing::HubLogin(hub_url_, user, password1);
  EXPECT_EQ(old.status().code(), absl::StatusCode::kPermissionDenied) << old.status();
  step("8. same seat, fresh home, no process or container of the first, new password");

  up_->Signal(SIGTERM);
  EXPECT_EQ(up_->Wait(milliseconds(20000)), 0) << up_->log();
  up_.reset();
  step("wod up stopped (exit 0)");
}

}  // namespace
}  // namespace wod
