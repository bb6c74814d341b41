// The hub driver contract, run against the in-memory fake (target hub_contract_fake_test,
// hermetic) and against a real JupyterHub (target hub_contract_real_test, labels `hub` and
// `root`: scripts/services/jupyterhub provides the hub, the test creates a Linux account per
// run and removes it). Every action is applied twice: the second time proves idempotency.
//
// The real run also proves what only a real hub can: the single-user server really runs as
// the Linux user and answers through the proxy, and a participant logs in with a password.
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <dirent.h>
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "common/subprocess.h"
#include "drivers/hub/hub.h"
#include "drivers/hub/hub_fake.h"
#include "drivers/hub/hub_real.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

#if WOD_HUB_CONTRACT_REAL
#include <httplib.h>

#include "tests/drivers/hub_login.h"
#endif

namespace wod::drivers {
namespace {

using model::HubAction;
using model::HubServerState;
using ::testing::HasSubstr;
using ::testing::Not;
using ::wod::testing::StatusIs;

// What the contract needs from the world around a hub: seats with and without a Linux
// account, a foreign user, a hub that is down, a token the hub refuses, and a way to check
// a server against the machine itself.
class HubEnv {
 public:
  virtual ~HubEnv() = default;
  virtual Hub& driver() = 0;
  // A seat whose Linux account exists (the hub user does not, at first).
  virtual int seat() const = 0;
  // A seat with no Linux account.
  virtual int seat_without_account() const = 0;
  // Makes a hub user that is not ours (with whatever it needs to exist); returns its name.
  virtual absl::StatusOr<std::string> AddForeignUser() = 0;
  virtual std::unique_ptr<Hub> DriverWithBadToken(const std::string& token) = 0;
  virtual std::unique_ptr<Hub> DriverForDownHub() = 0;
  // How long a server may take to start or stop, and how often to look.
  virtual absl::Duration transition_limit() const = 0;
  virtual absl::Duration poll_interval() const = 0;
  // Checks on the machine that the seat's server runs, or that nothing of it is left.
  virtual absl::Status CheckServerRuns(int seat) = 0;
  virtual absl::Status CheckServerGone(int seat) = 0;
};

// ---------------------------------------------------------------------------------------
// Fake

class FakeHubEnv : public HubEnv {
 public:
  FakeHubEnv() : hub_(Options()) { hub_.AddAccount("student42"); }
  static HubFakeOptions Options() {
    HubFakeOptions o;
    o.start_observes = 2;  // the real hub answers 202 and shows pending first
    o.stop_observes = 1;
    return o;
  }
  Hub& driver() override { return hub_; }
  int seat() const override { return 42; }
  int seat_without_account() const override { return 43; }
  absl::StatusOr<std::string> AddForeignUser() override {
    hub_.PutUser("instructor", /*admin=*/true, HubServerState::kRunning);
    return std::string("instructor");
  }
  std::unique_ptr<Hub> DriverWithBadToken(const std::string&) override {
    auto hub = std::make_unique<HubFake>(Options());
    hub->SetTokenRejected(true);
    return hub;
  }
  std::unique_ptr<Hub> DriverForDownHub() override {
    auto hub = std::make_unique<HubFake>(Options());
    hub->SetDown(true);
    return hub;
  }
  absl::Duration transition_limit() const override { return absl::Seconds(1); }
  absl::Duration poll_interval() const override { return absl::ZeroDuration(); }
  absl::Status CheckServerRuns(int) override { return absl::OkStatus(); }
  absl::Status CheckServerGone(int) override { return absl::OkStatus(); }

 private:
  HubFake hub_;
};

// ---------------------------------------------------------------------------------------
// Real

#if WOD_HUB_CONTRACT_REAL

// Pids of the processes whose real uid is `uid`, read from /proc.
std::vector<pid_t> PidsOfUid(uid_t uid) {
  std::vector<pid_t> pids;
  DIR* d = opendir("/proc");
  if (d == nullptr) return pids;
  while (dirent* e = readdir(d)) {
    pid_t pid = static_cast<pid_t>(atoi(e->d_name));
    if (pid <= 0) continue;
    std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
    std::string line;
    while (std::getline(status, line)) {
      unsigned real = 0;
      if (sscanf(line.c_str(), "Uid: %u", &real) == 1) {
        if (real == uid) pids.push_back(pid);
        break;
      }
    }
  }
  closedir(d);
  return pids;
}

std::string CmdlineOf(pid_t pid) {
  auto text = common::ReadFile(absl::StrCat("/proc/", pid, "/cmdline"));
  if (!text.ok()) return "";
  for (char& c : *text) {
    if (c == '\0') c = ' ';
  }
  return *text;
}

absl::Status Run(const std::vector<std::string>& argv, const std::string& stdin_text = "") {
  common::SubprocessOptions o;
  o.stdin_text = stdin_text;
  ASSIGN_OR_RETURN(common::SubprocessResult r, common::RunProcess(argv, o));
  if (r.exit_code != 0) {
    return absl::InternalError(absl::StrCat(argv[0], " exited ", r.exit_code, ": ", r.stderr_text));
  }
  return absl::OkStatus();
}

class RealHubEnv : public HubEnv {
 public:
  RealHubEnv(std::string url, std::string token_file)
      : url_(std::move(url)), token_file_(std::move(token_file)) {}
  ~RealHubEnv() override { Cleanup(); }

  // Creates the Linux account of seat(). ASSERTs, so call through ASSERT_NO_FATAL_FAILURE.
  void SetUp() {
    SweepUsersOfDeadRuns();
    // Unique per test process (ctest runs them in parallel), far above the accounts driver's
    // seats: an even seat gets the account, the odd one after it never has one.
    seat_ = 90000 + 2 * static_cast<int>(getpid() % 5000);
    while (getpwnam(policy_.UserName(seat_).c_str()) != nullptr ||
           getpwnam(policy_.UserName(seat_ + 1).c_str()) != nullptr) {
      seat_ += 2;
    }
    no_account_seat_ = seat_ + 1;
    ASSERT_OK(AddLinuxUser(policy_.UserName(seat_)));
    HubRealOptions o;
    o.url = url_;
    o.token_file = token_file_;
    auto d = HubReal::Create(o);
    ASSERT_OK(d);
    driver_ = std::move(d).value();
    auto token = common::ReadFile(token_file_);
    ASSERT_OK(token);
    token_ = std::string(absl::StripAsciiWhitespace(*token));
  }

  Hub& driver() override { return *driver_; }
  int seat() const override { return seat_; }
  int seat_without_account() const override { return no_account_seat_; }
  const std::string& url() const { return url_; }
  const std::string& token() const { return token_; }

  absl::StatusOr<std::string> AddForeignUser() override {
    std::string name = absl::StrCat("wodforeign", getpid());
    RETURN_IF_ERROR(AddLinuxUser(name));
    foreign_hub_users_.push_back(name);
    httplib::Client client(url_);
    auto res =
        client.Post(absl::StrCat("/hub/api/users/", name),
                    httplib::Headers{{"Authorization", "token " + token_}}, "", "application/json");
    if (!res || (res->status != 201 && res->status != 409)) {
      return absl::InternalError("could not create the foreign hub user");
    }
    return name;
  }

  std::unique_ptr<Hub> DriverWithBadToken(const std::string& token) override {
    std::string file = absl::StrCat("/tmp/wod-hub-bad-token-", getpid());
    EXPECT_OK(common::WriteFileAtomic(file, token, 0600));
    HubRealOptions o;
    o.url = url_;
    o.token_file = file;
    auto d = HubReal::Create(o);
    unlink(file.c_str());
    EXPECT_OK(d);
    return d.ok() ? std::move(d).value() : nullptr;
  }

  std::unique_ptr<Hub> DriverForDownHub() override {
    // A port that was free a moment ago: bound, then closed, so nothing listens there.
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    EXPECT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
    close(fd);
    HubRealOptions o;
    o.url = absl::StrCat("http://127.0.0.1:", ntohs(addr.sin_port));
    o.token_file = token_file_;
    auto d = HubReal::Create(o);
    EXPECT_OK(d);
    return d.ok() ? std::move(d).value() : nullptr;
  }

  absl::Duration transition_limit() const override { return absl::Seconds(60); }
  absl::Duration poll_interval() const override { return absl::Milliseconds(100); }

  absl::Status CheckServerRuns(int seat) override {
    std::string name = policy_.UserName(seat);
    const passwd* pw = getpwnam(name.c_str());
    if (pw == nullptr) return absl::NotFoundError(absl::StrCat("no linux user '", name, "'"));
    bool found = false;
    for (pid_t pid : PidsOfUid(pw->pw_uid)) {
      if (CmdlineOf(pid).find("jupyterhub-singleuser") != std::string::npos) found = true;
    }
    if (!found) {
      return absl::NotFoundError(absl::StrCat("no jupyterhub-singleuser runs as '", name, "'"));
    }
    // Through the proxy, as a browser would reach it; the service token may access servers.
    httplib::Client client(url_);
    client.set_read_timeout(10);
    auto res = client.Get(absl::StrCat("/user/", name, "/api/status"),
                          httplib::Headers{{"Authorization", "token " + token_}});
    if (!res) return absl::UnavailableError("the single-user server did not answer");
    if (res->status != 200 || res->body.find("\"started\"") == std::string::npos) {
      return absl::InternalError(
          absl::StrCat("single-user server answered ", res->status, ": ", res->body));
    }
    return absl::OkStatus();
  }

  absl::Status CheckServerGone(int seat) override {
    std::string name = policy_.UserName(seat);
    const passwd* pw = getpwnam(name.c_str());
    if (pw == nullptr) return absl::OkStatus();
    // The hub reports "stopped" once it sent the signal; the process may take a moment.
    absl::Time deadline = absl::Now() + absl::Seconds(15);
    while (true) {
      bool left = false;
      for (pid_t pid : PidsOfUid(pw->pw_uid)) {
        if (CmdlineOf(pid).find("jupyterhub-singleuser") != std::string::npos) left = true;
      }
      if (!left) return absl::OkStatus();
      if (absl::Now() > deadline) {
        return absl::InternalError(
            absl::StrCat("jupyterhub-singleuser of '", name, "' still runs"));
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
  }

  // Sets the seat's Linux password, for the login test.
  absl::Status SetPassword(int seat, const std::string& password) {
    return Run({"chpasswd"}, absl::StrCat(policy_.UserName(seat), ":", password, "\n"));
  }

 private:
  // The comment field of every Linux user a run creates names the test process, so a later
  // run can remove what a crashed one left behind.
  static constexpr char kComment[] = "wod hub test pid ";

  absl::Status AddLinuxUser(const std::string& name) {
    RETURN_IF_ERROR(Run({"useradd", "-m", "-K", "UID_MIN=30000", "-K", "UID_MAX=39999", "-s",
                         "/bin/bash", "-c", absl::StrCat(kComment, getpid()), name}));
    linux_users_.push_back(name);
    return absl::OkStatus();
  }

  // Kills the user's processes (by pid) and removes the user and its home.
  static void RemoveLinuxUser(const std::string& name) {
    if (const passwd* pw = getpwnam(name.c_str())) {
      uid_t uid = pw->pw_uid;
      for (int round = 0; round < 50; ++round) {
        std::vector<pid_t> pids = PidsOfUid(uid);
        if (pids.empty()) break;
        for (pid_t pid : pids) kill(pid, round == 0 ? SIGTERM : SIGKILL);
        absl::SleepFor(absl::Milliseconds(100));
      }
    }
    // userdel exits 12 when only the mail spool was missing; the check is the user's absence.
    (void)common::RunProcess({"userdel", "-r", name});
  }

  // Users made by test processes that no longer exist (a crash skipped their cleanup).
  static void SweepUsersOfDeadRuns() {
    std::vector<std::string> stale;
    setpwent();
    while (const passwd* pw = getpwent()) {
      std::string comment = pw->pw_gecos != nullptr ? pw->pw_gecos : "";
      if (comment.rfind(kComment, 0) != 0) continue;
      pid_t pid = static_cast<pid_t>(atoi(comment.c_str() + sizeof(kComment) - 1));
      if (pid > 0 && kill(pid, 0) != 0 && errno == ESRCH) stale.push_back(pw->pw_name);
    }
    endpwent();
    for (const std::string& name : stale) RemoveLinuxUser(name);
  }

  // Removes what this run made, whatever state a failed test left: the hub users (their
  // servers stop first), the processes of the Linux users, the Linux users and their homes.
  void Cleanup() {
    if (driver_ != nullptr) {
      for (int seat : {seat_, no_account_seat_}) {
        absl::Time deadline = absl::Now() + absl::Seconds(30);
        absl::Status s;
        while (!(s = driver_->Apply(HubAction::DeleteUser(seat, "test cleanup"))).ok() &&
               s.code() == absl::StatusCode::kUnavailable && absl::Now() < deadline) {
          absl::SleepFor(absl::Milliseconds(200));
        }
        EXPECT_OK(s) << "cleanup of seat " << seat;
      }
    }
    for (const std::string& name : foreign_hub_users_) {
      httplib::Client client(url_);
      client.Delete(absl::StrCat("/hub/api/users/", name),
                    httplib::Headers{{"Authorization", "token " + token_}});
    }
    for (const std::string& name : linux_users_) {
      RemoveLinuxUser(name);
      EXPECT_EQ(getpwnam(name.c_str()), nullptr) << "linux user '" << name << "' left behind";
    }
    linux_users_.clear();
  }

  model::HubPolicy policy_;
  std::string url_;
  std::string token_file_;
  std::string token_;
  std::unique_ptr<HubReal> driver_;
  int seat_ = 0;
  int no_account_seat_ = 0;
  std::vector<std::string> linux_users_;
  std::vector<std::string> foreign_hub_users_;
};

#endif  // WOD_HUB_CONTRACT_REAL

// ---------------------------------------------------------------------------------------
// The contract

class HubContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
#if WOD_HUB_CONTRACT_REAL
    if (GetParam() == "real") {
      WOD_REQUIRE_ROOT();
      WOD_REQUIRE_SERVICE(url, "WOD_TEST_HUB_URL", "jupyterhub");
      WOD_REQUIRE_SERVICE(token_file, "WOD_TEST_HUB_TOKEN_FILE", "jupyterhub");
      auto env = std::make_unique<RealHubEnv>(url, token_file);
      real_ = env.get();
      env_ = std::move(env);
      ASSERT_NO_FATAL_FAILURE(real_->SetUp());
      return;
    }
#endif
    env_ = std::make_unique<FakeHubEnv>();
  }
  void TearDown() override { env_.reset(); }

  Hub& hub() { return env_->driver(); }

  // The seat's observed user, or nullopt when the hub has no such user.
  std::optional<model::ObservedHubUser> User(int seat) {
    auto observed = hub().Observe();
    EXPECT_OK(observed);
    if (!observed.ok()) return std::nullopt;
    const model::ObservedHubUser* u = observed->Find(seat);
    if (u == nullptr) return std::nullopt;
    return *u;
  }

  // Observes until the seat's server is in `want`, within the env's limit; returns how long
  // it took, or nullopt on timeout. Records every state seen on the way.
  std::optional<absl::Duration> WaitFor(int seat, HubServerState want,
                                        std::vector<HubServerState>* seen = nullptr) {
    absl::Time start = absl::Now();
    while (true) {
      auto u = User(seat);
      HubServerState state = u ? u->server : HubServerState::kNone;
      if (seen != nullptr && (seen->empty() || seen->back() != state)) seen->push_back(state);
      if (u && state == want) return absl::Now() - start;
      if (absl::Now() - start > env_->transition_limit()) return std::nullopt;
      absl::SleepFor(env_->poll_interval());
    }
  }

  // Applies `action` until it stops answering Unavailable (a transition in the way), within
  // the env's limit.
  absl::Status ApplyRetryingWhileUnavailable(const HubAction& action) {
    absl::Time deadline = absl::Now() + env_->transition_limit();
    while (true) {
      absl::Status s = hub().Apply(action);
      if (s.code() != absl::StatusCode::kUnavailable || absl::Now() > deadline) return s;
      (void)hub().Observe();  // lets the fake's pending transitions progress
      absl::SleepFor(env_->poll_interval());
    }
  }

  std::unique_ptr<HubEnv> env_;
#if WOD_HUB_CONTRACT_REAL
  RealHubEnv* real_ = nullptr;
#endif
};

TEST_P(HubContractTest, CreateUserTwiceMakesOneUserWithNoServer) {
  int seat = env_->seat();
  EXPECT_FALSE(User(seat).has_value());
  ASSERT_OK(hub().Apply(HubAction::CreateUser(seat, "test")));
  ASSERT_OK(hub().Apply(HubAction::CreateUser(seat, "test again")));

  auto u = User(seat);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->name, model::HubPolicy().UserName(seat));
  EXPECT_EQ(u->seat, seat);
  EXPECT_FALSE(u->admin);
  EXPECT_EQ(u->server, HubServerState::kNone);
}

TEST_P(HubContractTest, DeleteUserTwiceRemovesItAndDeletingAMissingUserSucceeds) {
  int seat = env_->seat();
  ASSERT_OK(hub().Apply(HubAction::CreateUser(seat, "test")));
  ASSERT_TRUE(User(seat).has_value());
  ASSERT_OK(hub().Apply(HubAction::DeleteUser(seat, "test")));
  ASSERT_OK(hub().Apply(HubAction::DeleteUser(seat, "test again")));
  EXPECT_FALSE(User(seat).has_value());
  EXPECT_OK(hub().Apply(HubAction::DeleteUser(env_->seat_without_account(), "never existed")));
}

TEST_P(HubContractTest, ServerStartsAndStopsAndEachActionTwiceIsHarmless) {
  int seat = env_->seat();
  ASSERT_OK(hub().Apply(HubAction::CreateUser(seat, "test")));
  // Stopping a server that never ran is already converged.
  ASSERT_OK(hub().Apply(HubAction::StopServer(seat, "not running")));

  absl::Time start = absl::Now();
  ASSERT_OK(hub().Apply(HubAction::StartServer(seat, "test")));
  absl::Duration start_call = absl::Now() - start;
  ASSERT_OK(hub().Apply(HubAction::StartServer(seat, "test again")));
  std::vector<HubServerState> seen;
  auto took = WaitFor(seat, HubServerState::kRunning, &seen);
  ASSERT_TRUE(took.has_value()) << "server of seat " << seat << " did not start";
  std::cout << "[hub " << GetParam() << "] start call " << absl::FormatDuration(start_call)
            << ", running after " << absl::FormatDuration(absl::Now() - start) << "\n";
  // Started servers show up as running or pending start, never as anything else.
  for (HubServerState s : seen) {
    EXPECT_TRUE(s == HubServerState::kPendingStart || s == HubServerState::kRunning)
        << model::HubServerStateName(s);
  }
  EXPECT_OK(env_->CheckServerRuns(seat));
  auto u = User(seat);
  ASSERT_TRUE(u.has_value());
  EXPECT_TRUE(u->last_activity.has_value());
  // A start of a running server changes nothing.
  ASSERT_OK(hub().Apply(HubAction::StartServer(seat, "already running")));
  EXPECT_EQ(User(seat)->server, HubServerState::kRunning);

  start = absl::Now();
  ASSERT_OK(hub().Apply(HubAction::StopServer(seat, "test")));
  ASSERT_OK(hub().Apply(HubAction::StopServer(seat, "test again")));
  ASSERT_TRUE(WaitFor(seat, HubServerState::kNone).has_value()) << "server did not stop";
  std::cout << "[hub " << GetParam() << "] stopped after "
            << absl::FormatDuration(absl::Now() - start) << "\n";
  EXPECT_OK(env_->CheckServerGone(seat));

  ASSERT_OK(hub().Apply(HubAction::DeleteUser(seat, "test")));
  ASSERT_OK(hub().Apply(HubAction::DeleteUser(seat, "test again")));
  EXPECT_FALSE(User(seat).has_value());
}

TEST_P(HubContractTest, DeletingAUserWithARunningServerStopsTheServer) {
  int seat = env_->seat();
  ASSERT_OK(hub().Apply(HubAction::CreateUser(seat, "test")));
  ASSERT_OK(hub().Apply(HubAction::StartServer(seat, "test")));
  ASSERT_TRUE(WaitFor(seat, HubServerState::kRunning).has_value());

  // The hub may answer "still stopping" (Unavailable) until the server is gone.
  ASSERT_OK(ApplyRetryingWhileUnavailable(HubAction::DeleteUser(seat, "test")));
  ASSERT_OK(hub().Apply(HubAction::DeleteUser(seat, "test again")));
  EXPECT_FALSE(User(seat).has_value());
  EXPECT_OK(env_->CheckServerGone(seat));
}

TEST_P(HubContractTest, StartingTheServerOfAMissingUserIsNotFound) {
  int seat = env_->seat();
  EXPECT_THAT(hub().Apply(HubAction::StartServer(seat, "test")),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(hub().Apply(HubAction::StartServer(seat, "test again")),
              StatusIs(absl::StatusCode::kNotFound));
  // Stopping it is already converged.
  EXPECT_OK(hub().Apply(HubAction::StopServer(seat, "test")));
  EXPECT_OK(hub().Apply(HubAction::StopServer(seat, "test again")));
  EXPECT_FALSE(User(seat).has_value());
}

TEST_P(HubContractTest, CreatingAUserWithoutALinuxAccountIsFailedPrecondition) {
  int seat = env_->seat_without_account();
  for (int i = 0; i < 2; ++i) {
    absl::Status s = hub().Apply(HubAction::CreateUser(seat, "test"));
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
    EXPECT_THAT(std::string(s.message()), HasSubstr(model::HubPolicy().UserName(seat)));
  }
  EXPECT_FALSE(User(seat).has_value());
}

TEST_P(HubContractTest, ForeignUsersAreReportedAndNeverOurs) {
  ASSERT_OK_AND_ASSIGN(std::string foreign, env_->AddForeignUser());
  ASSERT_OK(hub().Apply(HubAction::CreateUser(env_->seat(), "test")));
  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, hub().Observe());
  EXPECT_THAT(observed.foreign, ::testing::Contains(foreign));
  for (const model::ObservedHubUser& u : observed.users) EXPECT_NE(u.name, foreign);
  EXPECT_NE(observed.Find(env_->seat()), nullptr);
}

TEST_P(HubContractTest, AHubThatIsDownIsUnavailable) {
  std::unique_ptr<Hub> down = env_->DriverForDownHub();
  ASSERT_NE(down, nullptr);
  absl::Time start = absl::Now();
  EXPECT_THAT(down->Observe(), StatusIs(absl::StatusCode::kUnavailable));
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(down->Apply(HubAction::CreateUser(env_->seat(), "test")),
                StatusIs(absl::StatusCode::kUnavailable));
    EXPECT_THAT(down->Apply(HubAction::StartServer(env_->seat(), "test")),
                StatusIs(absl::StatusCode::kUnavailable));
  }
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));  // refused at once, no waiting
}

TEST_P(HubContractTest, ABadTokenIsPermissionDeniedAndNeverShown) {
  const std::string bad = "0123456789abcdef-not-the-token";
  std::unique_ptr<Hub> refused = env_->DriverWithBadToken(bad);
  ASSERT_NE(refused, nullptr);
  auto observed = refused->Observe();
  EXPECT_THAT(observed, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(observed.status().message()), Not(HasSubstr(bad)));
  for (int i = 0; i < 2; ++i) {
    absl::Status s = refused->Apply(HubAction::CreateUser(env_->seat(), "test"));
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr(bad)));
  }
  EXPECT_FALSE(User(env_->seat()).has_value());
}

#if WOD_HUB_CONTRACT_REAL
INSTANTIATE_TEST_SUITE_P(Real, HubContractTest, ::testing::Values("real"),
                         [](const auto& info) { return info.param; });

// A participant logs in with the password of their seat's Linux account (PAM), the way the
// end-to-end flow will: POST /hub/login. The session cookie then opens the hub's home page.
TEST_P(HubContractTest, AParticipantLogsInWithTheSeatPassword) {
  ASSERT_NE(real_, nullptr);
  int seat = env_->seat();
  const std::string password = "Wod-test-pass-4821";
  ASSERT_OK(real_->SetPassword(seat, password));
  ASSERT_OK(hub().Apply(HubAction::CreateUser(seat, "test")));
  std::string name = model::HubPolicy().UserName(seat);

  EXPECT_THAT(wod::testing::HubLogin(real_->url(), name, "wrong-password"),
              StatusIs(absl::StatusCode::kPermissionDenied));
  absl::Time start = absl::Now();
  ASSERT_OK_AND_ASSIGN(std::string cookies, wod::testing::HubLogin(real_->url(), name, password));
  std::cout << "[hub real] login took " << absl::FormatDuration(absl::Now() - start) << "\n";
  httplib::Client client(real_->url());
  auto home = client.Get("/hub/home", httplib::Headers{{"Cookie", cookies}});
  ASSERT_TRUE(home);
  EXPECT_EQ(home->status, 200);
  EXPECT_THAT(home->body, HasSubstr(name));
  // Without the cookie the same page sends the browser to the login form.
  auto anonymous = client.Get("/hub/home");
  ASSERT_TRUE(anonymous);
  EXPECT_EQ(anonymous->status, 302);
}
#else
INSTANTIATE_TEST_SUITE_P(Fake, HubContractTest, ::testing::Values("fake"),
                         [](const auto& info) { return info.param; });
#endif

}  // namespace
}  // namespace wod::drivers
