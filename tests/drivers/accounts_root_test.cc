// The real accounts driver on the real root ("/"), label `root`: a real user is created with
// useradd, a process runs as that user, kill-processes ends it, the home is wiped and the
// account deleted. The policy (prefix "wodtest", uids from 59000, group "wod-test") cannot
// collide with real users, and the fixture removes whatever the test made, even when it fails.
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/accounts/password_hash.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers::accounts {
namespace {

using ::testing::IsEmpty;
using Action = model::AccountAction;

constexpr int kSeat = 7;

model::AccountPolicy RootTestPolicy() {
  model::AccountPolicy policy;
  policy.user_prefix = "wodtest";
  policy.uid_base = 59000;
  policy.seat_count = 10;
  policy.group = "wod-test";
  policy.gid = 59000;
  return policy;
}

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class RealRootAccountsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
    Cleanup();  // leftovers of a run that was killed before its TearDown
    // Refuse to run where the test's names or ids are someone's.
    ASSERT_EQ(getpwuid(policy_.Uid(kSeat)), nullptr) << "uid " << policy_.Uid(kSeat) << " in use";
    ASSERT_EQ(getgrgid(policy_.gid), nullptr) << "gid " << policy_.gid << " in use";
    RealAccountsOptions options;
    options.policy = policy_;
    options.kill.grace = absl::Milliseconds(500);
    ASSERT_OK_AND_ASSIGN(driver_, RealAccountsDriver::Create(options));
    armed_ = true;
  }

  void TearDown() override {
    if (armed_) Cleanup();
  }

  // Removes the test's processes, user, home and group, whatever state they are in.
  void Cleanup() {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    children_.clear();
    std::string user = policy_.UserName(kSeat);
    if (getpwnam(user.c_str()) != nullptr) {
      auto r = common::RunProcess({"userdel", "-r", "-f", user});
      EXPECT_TRUE(r.ok() && r->exit_code == 0) << "cleanup: userdel " << user;
    }
    if (getgrnam(policy_.group.c_str()) != nullptr) {
      auto r = common::RunProcess({"groupdel", policy_.group});
      EXPECT_TRUE(r.ok() && r->exit_code == 0) << "cleanup: groupdel " << policy_.group;
    }
    std::error_code ec;
    std::filesystem::remove_all(policy_.Home(kSeat), ec);
  }

  // `sleep 300` as the user, like a login shell's child: setpriv switches every uid and gid.
  pid_t StartProcessAsUser() {
    std::string reuid = absl::StrCat("--reuid=", policy_.Uid(kSeat));
    std::string regid = absl::StrCat("--regid=", policy_.gid);
    const char* argv[] = {"/usr/bin/setpriv", reuid.c_str(), regid.c_str(), "--init-groups", "--",
                          "/bin/sleep",       "300",         nullptr};
    pid_t pid = -1;
    char* envp[] = {nullptr};
    EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, const_cast<char**>(argv), envp), 0);
    children_.push_back(pid);
    for (int i = 0; i < 200; ++i) {
      if (ReadText(absl::StrCat("/proc/", pid, "/status"))
              .find(absl::StrCat("\nUid:\t", policy_.Uid(kSeat), "\t")) != std::string::npos) {
        break;
      }
      absl::SleepFor(absl::Milliseconds(10));
    }
    return pid;
  }

  bool Alive(pid_t pid) {
    if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
    return kill(pid, 0) == 0;
  }

  const model::AccountPolicy policy_ = RootTestPolicy();
  std::unique_ptr<RealAccountsDriver> driver_;
  std::vector<pid_t> children_;
  bool armed_ = false;
};

TEST_F(RealRootAccountsTest, UserLifecycleWithARunningProcess) {
  const std::string user = policy_.UserName(kSeat);
  const std::string home = policy_.Home(kSeat);

  ASSERT_OK(driver_->Apply(Action::Create(kSeat, "seat added")));
  ASSERT_OK(driver_->Apply(Action::Create(kSeat, "seat added")));
  // NSS (which the driver never uses) agrees with what the driver observes.
  struct passwd* pw = getpwnam(user.c_str());
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(pw->pw_uid, policy_.Uid(kSeat));
  EXPECT_EQ(pw->pw_gid, policy_.gid);
  EXPECT_EQ(std::string(pw->pw_dir), home);
  struct stat st;
  ASSERT_EQ(stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, policy_.Uid(kSeat));

  EXPECT_EQ(std::string(pw->pw_gecos), model::OccupantComment(kSeat, 0));

  ASSERT_OK(driver_->Apply(Action::SetPassword(kSeat, "Real-root-Pw7", "occupied")));
  ASSERT_OK(driver_->Apply(Action::SetOccupant(kSeat, 4711, "occupied")));
  ASSERT_OK(driver_->Apply(Action::Unlock(kSeat, "occupied")));
  pw = getpwnam(user.c_str());
  ASSERT_NE(pw, nullptr);
  EXPECT_EQ(std::string(pw->pw_gecos), model::OccupantComment(kSeat, 4711))
      << "the marker is the real passwd comment field";
  ASSERT_OK_AND_ASSIGN(model::ObservedAccounts observed,
                       driver_->Observe({{kSeat, "Real-root-Pw7"}}));
  const model::ObservedAccount* account = observed.Find(kSeat);
  ASSERT_NE(account, nullptr);
  EXPECT_EQ(account->occupant, 4711);
  EXPECT_FALSE(account->locked);
  EXPECT_TRUE(PasswordMatches(*account, "Real-root-Pw7"));
  EXPECT_TRUE(account->password_in_sync);

  // The user "logs in": a process runs as the user and writes into the home.
  pid_t pid = StartProcessAsUser();
  std::ofstream(home + "/.bash_history") << "ls\n";
  std::filesystem::create_directories(home + "/work");
  std::ofstream(home + "/work/lab.ipynb") << "{}";
  ASSERT_OK_AND_ASSIGN(observed, driver_->Observe());
  ASSERT_NE(observed.Find(kSeat), nullptr);
  EXPECT_THAT(observed.Find(kSeat)->pids, ::testing::Contains(pid));

  auto start = std::chrono::steady_clock::now();
  ASSERT_OK(driver_->Apply(Action::KillProcesses(kSeat, "vacated")));
  ASSERT_OK(driver_->Apply(Action::KillProcesses(kSeat, "vacated")));
  double kill_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  std::printf("kill-processes twice (sleep dies on SIGTERM): %.1f ms\n", kill_ms);
  EXPECT_FALSE(Alive(pid)) << "pid " << pid << " survived kill-processes";
  ASSERT_OK_AND_ASSIGN(observed, driver_->Observe());
  EXPECT_THAT(observed.Find(kSeat)->pids, IsEmpty());

  ASSERT_OK(driver_->Apply(Action::Lock(kSeat, "vacated")));
  ASSERT_OK(driver_->Apply(Action::WipeHome(kSeat, "vacated")));
  ASSERT_OK(driver_->Apply(Action::WipeHome(kSeat, "vacated")));
  EXPECT_TRUE(std::filesystem::is_empty(home));
  ASSERT_EQ(stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, policy_.Uid(kSeat)) << "the wiped home keeps its owner";
  ASSERT_OK(driver_->Apply(Action::SetOccupant(kSeat, 0, "home wiped")));
  ASSERT_OK_AND_ASSIGN(observed, driver_->Observe());
  EXPECT_EQ(observed.Find(kSeat)->occupant, 0);

  ASSERT_OK(driver_->Apply(Action::Delete(kSeat, "seat removed")));
  ASSERT_OK(driver_->Apply(Action::Delete(kSeat, "seat removed")));
  EXPECT_EQ(getpwnam(user.c_str()), nullptr);
  EXPECT_FALSE(std::filesystem::exists(home));
  ASSERT_OK_AND_ASSIGN(observed, driver_->Observe());
  EXPECT_EQ(observed.Find(kSeat), nullptr);
}

TEST_F(RealRootAccountsTest, DeleteKillsAProcessThatWouldMakeUserdelRefuse) {
  ASSERT_OK(driver_->Apply(Action::Create(kSeat, "seat added")));
  pid_t pid = StartProcessAsUser();
  ASSERT_TRUE(Alive(pid));
  ASSERT_OK(driver_->Apply(Action::Delete(kSeat, "seat removed")));
  EXPECT_FALSE(Alive(pid));
  EXPECT_EQ(getpwnam(policy_.UserName(kSeat).c_str()), nullptr);
}

TEST_F(RealRootAccountsTest, ObserveOfTheRealSystemIncludingProcIsFast) {
  ASSERT_OK(driver_->Apply(Action::Create(kSeat, "seat added")));
  ASSERT_OK(driver_->Observe());
  auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 10;
  for (int i = 0; i < kRounds; ++i) ASSERT_OK(driver_->Observe());
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      kRounds;
  std::printf("Observe of / with a /proc scan: %.2f ms\n", ms);
  EXPECT_LT(ms, 50.0);
}

}  // namespace
}  // namespace wod::drivers::accounts
