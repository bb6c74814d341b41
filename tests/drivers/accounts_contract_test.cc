// The accounts driver contract, held against the in-memory fake (target
// accounts_contract_fake_test, hermetic) and against the real driver on a throwaway root
// prefix with real shadow-utils and real processes (target accounts_contract_real_test, label
// `root`, compiled with WOD_ACCOUNTS_CONTRACT_REAL): every action applied twice, the state
// observed after each, passwords checked with crypt, Observe's password_in_sync against the
// desired passwords it is handed, foreign users reported and untouched, and the error codes
// the controller acts on.
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_fake.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/accounts/password_hash.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers::accounts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::wod::testing::StatusIs;
using Action = model::AccountAction;
using Kind = model::AccountAction::Kind;

constexpr gid_t kUsersGid = 100;  // a group that exists in both backends, not ours

model::AccountPolicy TestPolicy() {
  model::AccountPolicy policy;
  policy.user_prefix = "student";
  // Far from Debian's 1000.. and from the real-root test's 59000: with real processes in
  // play, no uid here may belong to anything else on the host.
  policy.uid_base = 58000;
  // ctest runs these tests in parallel and processes are real host processes, scanned by uid:
  // a test that wipes a seat must not share the seat with a test that starts processes for it
  // (processes: seats 6, 7, 8, 10, 11, 15).
  policy.seat_count = 100;
  policy.group = "wod-ctest";
  policy.gid = 58000;
  return policy;
}

// What a backend offers besides the driver: setup a test needs that must not go through the
// driver under test.
class Backend {
 public:
  virtual ~Backend() = default;
  virtual AccountsDriver& driver() = 0;
  // How many crypt computations the driver's password checks have taken so far.
  virtual int64_t password_computations() = 0;
  // A user wod does not own, made behind the driver's back.
  virtual void AddForeignUser(const std::string& name, uid_t uid, gid_t gid) = 0;
  // A process running as uid:gid; its pid.
  virtual pid_t StartProcessAs(uid_t uid, gid_t gid) = 0;
  virtual bool ProcessAlive(pid_t pid) = 0;
  virtual void PutHomeEntry(const std::string& home, const std::string& name) = 0;
  // Entry names in a home; nullopt when the home does not exist.
  virtual std::optional<std::vector<std::string>> HomeEntries(const std::string& home) = 0;
  // The raw passwd and shadow lines of a user, where the backend has files.
  virtual std::optional<std::string> RawEntry(const std::string& name) = 0;
};

class FakeBackend : public Backend {
 public:
  FakeBackend() : fake_(TestPolicy()) { fake_.AddGroup("users", kUsersGid); }
  AccountsDriver& driver() override { return fake_; }
  // The fake compares with the password it stored: it never hashes to check.
  int64_t password_computations() override { return 0; }
  void AddForeignUser(const std::string& name, uid_t uid, gid_t gid) override {
    fake_.AddForeignUser(name, uid, gid);
  }
  pid_t StartProcessAs(uid_t uid, gid_t) override { return fake_.StartProcess(uid); }
  bool ProcessAlive(pid_t pid) override { return fake_.ProcessAlive(pid); }
  void PutHomeEntry(const std::string& home, const std::string& name) override {
    ASSERT_TRUE(fake_.AddHomeEntry(home, name)) << home;
  }
  std::optional<std::vector<std::string>> HomeEntries(const std::string& home) override {
    return fake_.HomeEntries(home);
  }
  std::optional<std::string> RawEntry(const std::string&) override { return std::nullopt; }

 private:
  FakeAccountsDriver fake_;
};

#ifdef WOD_ACCOUNTS_CONTRACT_REAL

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void WriteText(const std::string& path, const std::string& text, mode_t mode) {
  std::ofstream(path) << text;
  chmod(path.c_str(), mode);
}

// A bare root with only what shadow-utils' --prefix needs: etc/{passwd,shadow,group,gshadow,
// login.defs} and an empty /home. Processes are real host processes (the test policy's uids
// are unused on the host), so kill is exercised for real too.
class RealPrefixBackend : public Backend {
 public:
  RealPrefixBackend() {
    char dir[] = "/tmp/wod-accounts-XXXXXX";
    root_ = mkdtemp(dir);
    std::filesystem::create_directories(root_ + "/etc");
    std::filesystem::create_directories(root_ + "/home");
    WriteText(root_ + "/etc/passwd", "root:x:0:0:root:/root:/bin/bash\n", 0644);
    WriteText(root_ + "/etc/shadow", "root:*:19000:0:99999:7:::\n", 0640);
    WriteText(root_ + "/etc/group", absl::StrCat("root:x:0:\nusers:x:", kUsersGid, ":\n"), 0644);
    WriteText(root_ + "/etc/gshadow", "root:*::\nusers:*::\n", 0640);
    std::filesystem::copy_file("/etc/login.defs", root_ + "/etc/login.defs");
    RealAccountsOptions options;
    options.root = root_;
    options.policy = TestPolicy();
    options.proc_dir = "/proc";
    options.kill.grace = absl::Milliseconds(300);
    auto driver = RealAccountsDriver::Create(options);
    EXPECT_OK(driver);
    if (driver.ok()) driver_ = std::move(driver).value();
  }
  ~RealPrefixBackend() override {
    for (pid_t pid : children_) {
      kill(pid, SIGKILL);
      waitpid(pid, nullptr, 0);
    }
    std::error_code ec;
    std::filesystem::remove_all(root_, ec);
  }
  const std::string& root() const { return root_; }
  AccountsDriver& driver() override { return *driver_; }
  int64_t password_computations() override { return driver_->password_cache().computations(); }
  void AddForeignUser(const std::string& name, uid_t uid, gid_t gid) override {
    auto result = common::RunProcess({"useradd", "--prefix", root_, "-u", std::to_string(uid), "-g",
                                      std::to_string(gid), "-M", "-N", name});
    ASSERT_OK(result);
    ASSERT_EQ(result->exit_code, 0) << result->stderr_text;
  }
  pid_t StartProcessAs(uid_t uid, gid_t gid) override {
    return StartCommandAs(uid, gid, {"/bin/sleep", "300"});
  }
  pid_t StartCommandAs(uid_t uid, gid_t gid, const std::vector<std::string>& command) {
    std::vector<std::string> args = {"/usr/bin/setpriv", absl::StrCat("--reuid=", uid),
                                     absl::StrCat("--regid=", gid), "--clear-groups", "--"};
    args.insert(args.end(), command.begin(), command.end());
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    pid_t pid = -1;
    char* envp[] = {nullptr};
    EXPECT_EQ(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), envp), 0);
    children_.push_back(pid);
    // Wait until setpriv has switched uids, so an observation sees the process as the user.
    for (int i = 0; i < 200; ++i) {
      std::string status = ReadText(absl::StrCat("/proc/", pid, "/status"));
      if (status.find(absl::StrCat("\nUid:\t", uid, "\t")) != std::string::npos) return pid;
      absl::SleepFor(absl::Milliseconds(10));
    }
    ADD_FAILURE() << "process " << pid << " never ran as uid " << uid;
    return pid;
  }
  bool ProcessAlive(pid_t pid) override {
    // Our own child: reap it if it died, or it would linger as a zombie.
    if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
    return kill(pid, 0) == 0;
  }
  void PutHomeEntry(const std::string& home, const std::string& name) override {
    std::string path = root_ + home + "/" + name;
    std::ofstream(path) << "data\n";
    ASSERT_TRUE(std::filesystem::exists(path)) << path;
  }
  std::optional<std::vector<std::string>> HomeEntries(const std::string& home) override {
    std::string path = root_ + home;
    if (!std::filesystem::is_directory(path)) return std::nullopt;
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(path)) {
      names.push_back(entry.path().filename());
    }
    std::sort(names.begin(), names.end());
    return names;
  }
  std::optional<std::string> RawEntry(const std::string& name) override {
    std::string lines;
    for (const char* file : {"/etc/passwd", "/etc/shadow"}) {
      std::istringstream in(ReadText(root_ + file));
      for (std::string line; std::getline(in, line);) {
        if (line.rfind(name + ":", 0) == 0) lines += line + "\n";
      }
    }
    return lines;
  }

 private:
  std::string root_;
  std::unique_ptr<RealAccountsDriver> driver_;
  std::vector<pid_t> children_;
};

#endif  // WOD_ACCOUNTS_CONTRACT_REAL

enum class BackendKind { kFake, kRealPrefix };

class AccountsContractTest : public ::testing::TestWithParam<BackendKind> {
 protected:
  void SetUp() override {
    if (GetParam() == BackendKind::kFake) {
      backend_ = std::make_unique<FakeBackend>();
      return;
    }
#ifdef WOD_ACCOUNTS_CONTRACT_REAL
    WOD_REQUIRE_ROOT();
    backend_ = std::make_unique<RealPrefixBackend>();
#endif
  }

  AccountsDriver& driver() { return backend_->driver(); }
  const model::AccountPolicy policy_ = TestPolicy();

  // Applies `action` twice; both must give `code`.
  void ApplyTwice(const Action& action, absl::StatusCode code = absl::StatusCode::kOk) {
    for (int i = 0; i < 2; ++i) {
      EXPECT_THAT(driver().Apply(action), StatusIs(code))
          << action.Describe() << " (apply #" << (i + 1) << ")";
    }
  }

  model::ObservedAccounts ObserveOk(const model::DesiredPasswords& passwords = {}) {
    absl::StatusOr<model::ObservedAccounts> observed = driver().Observe(passwords);
    EXPECT_OK(observed);
    return observed.ok() ? *std::move(observed) : model::ObservedAccounts{};
  }

  std::unique_ptr<Backend> backend_;
};

TEST_P(AccountsContractTest, FreshSystemHasNoAccountsAndNoGroup) {
  model::ObservedAccounts observed = ObserveOk();
  EXPECT_THAT(observed.accounts, IsEmpty());
  EXPECT_THAT(observed.foreign, IsEmpty());
  EXPECT_FALSE(observed.group_exists);
}

TEST_P(AccountsContractTest, CreateTwiceMakesOneLockedAccountWithAnEmptyHome) {
  ApplyTwice(Action::Create(3, "seat added"));
  model::ObservedAccounts observed = ObserveOk();
  EXPECT_TRUE(observed.group_exists);
  EXPECT_EQ(observed.group_gid, policy_.gid);
  ASSERT_EQ(observed.accounts.size(), 1u);
  const model::ObservedAccount& a = observed.accounts[0];
  EXPECT_EQ(a.name, "student3");
  EXPECT_EQ(a.seat, 3);
  EXPECT_EQ(a.uid, policy_.uid_base + 3);
  EXPECT_EQ(a.gid, policy_.gid);
  EXPECT_EQ(a.home, "/home/student3");
  EXPECT_EQ(a.shell, "/bin/bash");
  EXPECT_TRUE(a.locked) << "a new account has no password: '!'";
  EXPECT_THAT(a.pids, IsEmpty());
  EXPECT_EQ(a.occupant, 0) << "a new account's marker says vacant";
  EXPECT_THAT(observed.foreign, IsEmpty());
  EXPECT_EQ(observed.Find(3), &observed.accounts[0]);
  EXPECT_EQ(observed.Find(4), nullptr);
  auto entries = backend_->HomeEntries("/home/student3");
  ASSERT_TRUE(entries.has_value()) << "home was not created";
  EXPECT_THAT(*entries, IsEmpty());
}

TEST_P(AccountsContractTest, SetPasswordTwiceMatchesWithCryptAndIsNotRewritten) {
  ASSERT_OK(driver().Apply(Action::Create(4, "seat added")));
  ASSERT_OK(driver().Apply(Action::SetPassword(4, "first-Secret-1", "occupied")));
  model::ObservedAccounts first = ObserveOk();
  ASSERT_NE(first.Find(4), nullptr);
  std::string first_hash = first.Find(4)->shadow_hash;

  ApplyTwice(Action::SetPassword(4, "Second-secret-2", "rotated"));
  model::ObservedAccounts observed = ObserveOk();
  const model::ObservedAccount* a = observed.Find(4);
  ASSERT_NE(a, nullptr);
  EXPECT_TRUE(PasswordMatches(*a, "Second-secret-2"));
  EXPECT_FALSE(PasswordMatches(*a, "first-Secret-1"));
  EXPECT_FALSE(PasswordMatches(*a, "second-secret-2"));
  EXPECT_NE(a->shadow_hash, first_hash);
  EXPECT_TRUE(a->locked) << "setting a password keeps the lock";
  EXPECT_EQ(a->shadow_hash.rfind("!$y$", 0), 0u) << "a locked yescrypt hash";

  // The driver remembers what it wrote: observing the seat in sync costs no hashing.
  int64_t before = backend_->password_computations();
  EXPECT_TRUE(ObserveOk({{4, "Second-secret-2"}}).Find(4)->password_in_sync);
  EXPECT_EQ(backend_->password_computations(), before);

  // A converged seat is not rewritten: same hash (and salt) after another apply.
  ASSERT_OK(driver().Apply(Action::SetPassword(4, "Second-secret-2", "again")));
  EXPECT_EQ(ObserveOk().Find(4)->shadow_hash, a->shadow_hash);
}

TEST_P(AccountsContractTest, ObserveReportsWhetherEachSeatHasItsDesiredPassword) {
  ASSERT_OK(driver().Apply(Action::Create(24, "seat added")));
  ASSERT_OK(driver().Apply(Action::Create(25, "seat added")));
  const model::DesiredPasswords desired = {{24, "pw-Sync-24"}, {25, "pw-Sync-25"}};
  model::ObservedAccounts observed = ObserveOk(desired);
  ASSERT_NE(observed.Find(24), nullptr);
  EXPECT_FALSE(observed.Find(24)->password_in_sync) << "a new account has no password: '!'";

  ASSERT_OK(driver().Apply(Action::SetPassword(24, "pw-Sync-24", "vacant")));
  ASSERT_OK(driver().Apply(Action::SetPassword(25, "pw-Other-25", "vacant")));
  // A pass right after the write: the driver remembers the hashes it wrote.
  const int64_t before = backend_->password_computations();
  observed = ObserveOk(desired);
  EXPECT_TRUE(observed.Find(24)->password_in_sync);
  EXPECT_FALSE(observed.Find(25)->password_in_sync) << "another password than the desired one";
  EXPECT_EQ(backend_->password_computations(), before) << "hashed what it had just written";
  EXPECT_FALSE(ObserveOk({{24, "pw-sync-24"}}).Find(24)->password_in_sync);
  EXPECT_FALSE(ObserveOk().Find(24)->password_in_sync) << "no desired password given";
  EXPECT_FALSE(ObserveOk({{25, "pw-Sync-24"}}).Find(24)->password_in_sync)
      << "another seat's password";

  // The lock is not the password: in sync while locked and unlocked alike.
  EXPECT_TRUE(observed.Find(24)->locked);
  ASSERT_OK(driver().Apply(Action::Unlock(24, "occupied")));
  observed = ObserveOk(desired);
  EXPECT_FALSE(observed.Find(24)->locked);
  EXPECT_TRUE(observed.Find(24)->password_in_sync);
  ASSERT_OK(driver().Apply(Action::Lock(24, "vacated")));
  observed = ObserveOk(desired);
  EXPECT_TRUE(observed.Find(24)->locked);
  EXPECT_TRUE(observed.Find(24)->password_in_sync);

  // Pass after pass over the same seats: no crypt computation at all.
  const int64_t warm = backend_->password_computations();
  for (int pass = 0; pass < 3; ++pass) {
    observed = ObserveOk(desired);
    EXPECT_TRUE(observed.Find(24)->password_in_sync) << "pass " << pass;
    EXPECT_FALSE(observed.Find(25)->password_in_sync) << "pass " << pass;
  }
  EXPECT_EQ(backend_->password_computations(), warm) << "a pass-like observe hashed";
}

TEST_P(AccountsContractTest, UnlockAndLockTwiceKeepThePassword) {
  ASSERT_OK(driver().Apply(Action::Create(5, "seat added")));
  ASSERT_OK(driver().Apply(Action::SetPassword(5, "pw-Unlock-5", "occupied")));
  ApplyTwice(Action::Unlock(5, "occupied"));
  model::ObservedAccounts observed = ObserveOk();
  ASSERT_NE(observed.Find(5), nullptr);
  EXPECT_FALSE(observed.Find(5)->locked);
  EXPECT_EQ(observed.Find(5)->shadow_hash.rfind("$y$", 0), 0u);
  EXPECT_TRUE(PasswordMatches(*observed.Find(5), "pw-Unlock-5"));

  ApplyTwice(Action::Lock(5, "vacated"));
  observed = ObserveOk();
  ASSERT_NE(observed.Find(5), nullptr);
  EXPECT_TRUE(observed.Find(5)->locked);
  EXPECT_TRUE(PasswordMatches(*observed.Find(5), "pw-Unlock-5")) << "the check ignores the lock";
}

TEST_P(AccountsContractTest, SetOccupantTwiceIsObservedAndOutlivesLockPasswordAndWipe) {
  ASSERT_OK(driver().Apply(Action::Create(20, "seat added")));
  ASSERT_OK(driver().Apply(Action::Create(21, "seat added")));
  ApplyTwice(Action::SetOccupant(20, 123, "occupied"));
  model::ObservedAccounts observed = ObserveOk();
  ASSERT_NE(observed.Find(20), nullptr);
  EXPECT_EQ(observed.Find(20)->occupant, 123);
  EXPECT_EQ(observed.Find(21)->occupant, 0) << "another seat's marker changed";

  // The marker is only changed by set-occupant: the vacate steps before its clearing keep it,
  // so a vacate stopped anywhere is still seen as one by the next pass.
  ASSERT_OK(driver().Apply(Action::SetPassword(20, "pw-Marker-20", "occupied")));
  ASSERT_OK(driver().Apply(Action::Unlock(20, "occupied")));
  backend_->PutHomeEntry("/home/student20", "notes.txt");
  ASSERT_OK(driver().Apply(Action::Lock(20, "vacated")));
  ASSERT_OK(driver().Apply(Action::SetPassword(20, "pw-Rotated-20", "rotated")));
  ASSERT_OK(driver().Apply(Action::WipeHome(20, "vacated")));
  EXPECT_EQ(ObserveOk().Find(20)->occupant, 123);

  ApplyTwice(Action::SetOccupant(20, 0, "home wiped"));
  observed = ObserveOk();
  EXPECT_EQ(observed.Find(20)->occupant, 0);
  EXPECT_TRUE(observed.Find(20)->locked);
  EXPECT_TRUE(PasswordMatches(*observed.Find(20), "pw-Rotated-20"));
}

TEST_P(AccountsContractTest, SetOccupantAndUnlockAsOneSeriesActLikeOneByOne) {
  ASSERT_OK(driver().Apply(Action::Create(22, "seat added")));
  ASSERT_OK(driver().Apply(Action::SetPassword(22, "pw-Series-22", "vacant")));
  const std::vector<Action> handover = {Action::SetOccupant(22, 456, "occupied"),
                                        Action::Unlock(22, "occupied")};
  for (int round = 0; round < 2; ++round) {  // and again: idempotent
    std::vector<size_t> reported;
    auto r = driver().ApplySeries(handover, [&](size_t i) { reported.push_back(i); });
    EXPECT_THAT(reported, ::testing::ElementsAre(0u, 1u)) << "round " << round;
    EXPECT_OK(r.error) << "round " << round;
    EXPECT_EQ(r.done, 2u) << "round " << round;
    model::ObservedAccounts observed = ObserveOk();
    ASSERT_NE(observed.Find(22), nullptr);
    EXPECT_EQ(observed.Find(22)->occupant, 456);
    EXPECT_FALSE(observed.Find(22)->locked);
    EXPECT_TRUE(PasswordMatches(*observed.Find(22), "pw-Series-22"));
  }

  // Without a password the marker is written and the unlock refused, as one by one.
  ASSERT_OK(driver().Apply(Action::Create(23, "seat added")));
  std::vector<size_t> reported;
  auto on_done = [&](size_t i) { reported.push_back(i); };
  auto r = driver().ApplySeries(
      std::vector<Action>{Action::SetOccupant(23, 789, "occupied"), Action::Unlock(23, "occupied")},
      on_done);
  EXPECT_THAT(reported, ::testing::ElementsAre(0u));
  EXPECT_EQ(r.done, 1u);
  EXPECT_THAT(r.error, StatusIs(absl::StatusCode::kFailedPrecondition));
  model::ObservedAccounts observed = ObserveOk();
  EXPECT_EQ(observed.Find(23)->occupant, 789);
  EXPECT_TRUE(observed.Find(23)->locked);

  // Nothing after a failed action is applied.
  r = driver().ApplySeries(
      std::vector<Action>{Action::Unlock(23, "occupied"), Action::SetOccupant(23, 1, "occupied")},
      on_done);
  EXPECT_EQ(r.done, 0u);
  EXPECT_THAT(reported, ::testing::ElementsAre(0u)) << "nothing more reported done";
  EXPECT_THAT(r.error, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ObserveOk().Find(23)->occupant, 789);
}

TEST_P(AccountsContractTest, UnlockWithoutPasswordIsFailedPrecondition) {
  ASSERT_OK(driver().Apply(Action::Create(6, "seat added")));
  ApplyTwice(Action::Unlock(6, "occupied"), absl::StatusCode::kFailedPrecondition);
  model::ObservedAccounts observed = ObserveOk();
  ASSERT_NE(observed.Find(6), nullptr);
  EXPECT_TRUE(observed.Find(6)->locked);
}

TEST_P(AccountsContractTest, EmptyPasswordIsInvalidArgument) {
  ASSERT_OK(driver().Apply(Action::Create(6, "seat added")));
  ApplyTwice(Action::SetPassword(6, "", "occupied"), absl::StatusCode::kInvalidArgument);
}

TEST_P(AccountsContractTest, KillProcessesTwiceEndsEveryProcessOfTheSeatOnly) {
  ASSERT_OK(driver().Apply(Action::Create(7, "seat added")));
  ASSERT_OK(driver().Apply(Action::Create(8, "seat added")));
  pid_t p1 = backend_->StartProcessAs(policy_.Uid(7), policy_.gid);
  pid_t p2 = backend_->StartProcessAs(policy_.Uid(7), policy_.gid);
  pid_t other = backend_->StartProcessAs(policy_.Uid(8), policy_.gid);
  model::ObservedAccounts observed = ObserveOk();
  ASSERT_NE(observed.Find(7), nullptr);
  std::vector<pid_t> expected = {p1, p2};
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(observed.Find(7)->pids, expected);
  EXPECT_THAT(observed.Find(8)->pids, ElementsAre(other));

  ApplyTwice(Action::KillProcesses(7, "vacated"));
  EXPECT_FALSE(backend_->ProcessAlive(p1));
  EXPECT_FALSE(backend_->ProcessAlive(p2));
  EXPECT_TRUE(backend_->ProcessAlive(other)) << "another seat's process was killed";
  observed = ObserveOk();
  EXPECT_THAT(observed.Find(7)->pids, IsEmpty());
  EXPECT_THAT(observed.Find(8)->pids, ElementsAre(other));
}

TEST_P(AccountsContractTest, WipeHomeTwiceEmptiesTheHomeAndKeepsTheAccount) {
  ASSERT_OK(driver().Apply(Action::Create(9, "seat added")));
  ASSERT_OK(driver().Apply(Action::SetPassword(9, "pw-Wipe-9", "occupied")));
  for (const char* name : {".bashrc", ".jupyter-state", "notes.txt", "lab.ipynb"}) {
    backend_->PutHomeEntry("/home/student9", name);
  }
  ASSERT_EQ(backend_->HomeEntries("/home/student9")->size(), 4u);
  ApplyTwice(Action::WipeHome(9, "vacated"));
  auto entries = backend_->HomeEntries("/home/student9");
  ASSERT_TRUE(entries.has_value()) << "the home itself must stay";
  EXPECT_THAT(*entries, IsEmpty());
  model::ObservedAccounts observed = ObserveOk();
  ASSERT_NE(observed.Find(9), nullptr);
  EXPECT_TRUE(PasswordMatches(*observed.Find(9), "pw-Wipe-9"));
}

TEST_P(AccountsContractTest, WipeWhileProcessesRunIsAbortedUntilTheyAreKilled) {
  ASSERT_OK(driver().Apply(Action::Create(10, "seat added")));
  backend_->PutHomeEntry("/home/student10", "work.txt");
  pid_t pid = backend_->StartProcessAs(policy_.Uid(10), policy_.gid);
  EXPECT_THAT(driver().Apply(Action::WipeHome(10, "vacated")),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(*backend_->HomeEntries("/home/student10"), ElementsAre("work.txt"));
  ASSERT_OK(driver().Apply(Action::KillProcesses(10, "vacated")));
  EXPECT_FALSE(backend_->ProcessAlive(pid));
  ApplyTwice(Action::WipeHome(10, "vacated"));
  EXPECT_THAT(*backend_->HomeEntries("/home/student10"), IsEmpty());
}

TEST_P(AccountsContractTest, DeleteTwiceRemovesAccountHomeAndProcesses) {
  ASSERT_OK(driver().Apply(Action::Create(11, "seat added")));
  ASSERT_OK(driver().Apply(Action::Create(12, "seat added")));
  ASSERT_OK(driver().Apply(Action::SetPassword(11, "pw-Delete-11", "occupied")));
  backend_->PutHomeEntry("/home/student11", ".profile");
  pid_t pid = backend_->StartProcessAs(policy_.Uid(11), policy_.gid);
  ApplyTwice(Action::Delete(11, "seat removed"));
  EXPECT_FALSE(backend_->ProcessAlive(pid));
  EXPECT_FALSE(backend_->HomeEntries("/home/student11").has_value()) << "home left behind";
  model::ObservedAccounts observed = ObserveOk();
  EXPECT_EQ(observed.Find(11), nullptr);
  ASSERT_NE(observed.Find(12), nullptr) << "another seat was deleted";
  EXPECT_TRUE(observed.group_exists) << "the group stays for the other seats";
  EXPECT_THAT(observed.foreign, IsEmpty());
}

TEST_P(AccountsContractTest, ActionsOnAMissingAccount) {
  for (Action action :
       {Action::SetPassword(13, "pw-x-13", "r"), Action::Lock(13, "r"), Action::Unlock(13, "r"),
        Action::WipeHome(13, "r"), Action::SetOccupant(13, 9, "r")}) {
    ApplyTwice(action, absl::StatusCode::kNotFound);
  }
  ApplyTwice(Action::Delete(13, "r"));
  ApplyTwice(Action::KillProcesses(13, "r"));
  EXPECT_THAT(ObserveOk().accounts, IsEmpty());
}

TEST_P(AccountsContractTest, SeatOutsideTheRangeIsInvalidArgument) {
  for (int seat : {-1, policy_.seat_count}) {
    for (Action action : {Action::Create(seat, "r"), Action::SetPassword(seat, "pw-x-1", "r"),
                          Action::Lock(seat, "r"), Action::Unlock(seat, "r"),
                          Action::KillProcesses(seat, "r"), Action::WipeHome(seat, "r"),
                          Action::Delete(seat, "r"), Action::SetOccupant(seat, 9, "r")}) {
      ApplyTwice(action, absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_THAT(ObserveOk().accounts, IsEmpty());
}

TEST_P(AccountsContractTest, ForeignUsersAreReportedAndNeverTouched) {
  ASSERT_OK(driver().Apply(Action::Create(1, "seat added")));  // the group exists from now on
  // In our uid range with another name; our name and uid in the wrong group; our name with a
  // uid outside the range.
  backend_->AddForeignUser("bob", policy_.Uid(15), kUsersGid);
  backend_->AddForeignUser("student16", policy_.Uid(16), kUsersGid);
  backend_->AddForeignUser("student17", 4242, kUsersGid);
  pid_t bobs = backend_->StartProcessAs(policy_.Uid(15), kUsersGid);

  model::ObservedAccounts before = ObserveOk();
  ASSERT_EQ(before.accounts.size(), 1u);
  ASSERT_EQ(before.foreign.size(), 3u);
  EXPECT_EQ(before.foreign[0].name, "student17");
  EXPECT_THAT(before.foreign[0].reason, HasSubstr("is not seat 17's uid"));
  EXPECT_EQ(before.foreign[1].name, "bob");
  EXPECT_EQ(before.foreign[1].uid, policy_.Uid(15));
  EXPECT_THAT(before.foreign[1].reason, HasSubstr("name is not 'student<seat>'"));
  EXPECT_EQ(before.foreign[2].name, "student16");
  EXPECT_THAT(before.foreign[2].reason, HasSubstr("is not group 'wod-ctest'"));
  std::vector<std::optional<std::string>> raw_before;
  for (const char* name : {"bob", "student16", "student17"}) {
    raw_before.push_back(backend_->RawEntry(name));
  }

  for (int seat : {15, 16, 17}) {
    for (Action action : {Action::Create(seat, "r"), Action::SetPassword(seat, "pw-Foreign-1", "r"),
                          Action::Lock(seat, "r"), Action::Unlock(seat, "r"),
                          Action::KillProcesses(seat, "r"), Action::WipeHome(seat, "r"),
                          Action::Delete(seat, "r"), Action::SetOccupant(seat, 9, "r")}) {
      ApplyTwice(action, absl::StatusCode::kFailedPrecondition);
    }
  }

  model::ObservedAccounts after = ObserveOk();
  EXPECT_EQ(after.foreign, before.foreign);
  EXPECT_EQ(after.accounts.size(), 1u);
  EXPECT_TRUE(backend_->ProcessAlive(bobs)) << "a foreign user's process was killed";
  int i = 0;
  for (const char* name : {"bob", "student16", "student17"}) {
    EXPECT_EQ(backend_->RawEntry(name), raw_before[i++]) << name << " was modified";
  }
}

#ifdef WOD_ACCOUNTS_CONTRACT_REAL
INSTANTIATE_TEST_SUITE_P(RealPrefix, AccountsContractTest,
                         ::testing::Values(BackendKind::kRealPrefix),
                         [](const auto&) { return std::string("RealPrefix"); });
#else
INSTANTIATE_TEST_SUITE_P(Fake, AccountsContractTest, ::testing::Values(BackendKind::kFake),
                         [](const auto&) { return std::string("Fake"); });
#endif

#ifdef WOD_ACCOUNTS_CONTRACT_REAL
// Checks only the real driver can be held to: modes and owners on disk, symlinks.
class RealPrefixTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
    backend_ = std::make_unique<RealPrefixBackend>();
  }
  std::unique_ptr<RealPrefixBackend> backend_;
};

// A restarted controller's driver knows none of the hashes: it checks each seat once, with
// crypt, and remembers the answer.
TEST_F(RealPrefixTest, AFreshDriverHashesEachSeatOnceThenNever) {
  ASSERT_OK(backend_->driver().Apply(Action::Create(2, "seat added")));
  ASSERT_OK(backend_->driver().Apply(Action::SetPassword(2, "pw-Fresh-2", "vacant")));
  RealAccountsOptions options;
  options.root = backend_->root();
  options.policy = TestPolicy();
  options.proc_dir = "";
  ASSERT_OK_AND_ASSIGN(auto fresh, RealAccountsDriver::Create(options));
  const model::DesiredPasswords desired = {{2, "pw-Fresh-2"}};
  ASSERT_OK_AND_ASSIGN(model::ObservedAccounts observed, fresh->Observe(desired));
  EXPECT_TRUE(observed.Find(2)->password_in_sync);
  EXPECT_EQ(fresh->password_cache().computations(), 1);
  ASSERT_OK_AND_ASSIGN(observed, fresh->Observe(desired));
  EXPECT_TRUE(observed.Find(2)->password_in_sync);
  EXPECT_EQ(fresh->password_cache().computations(), 1) << "the second pass hashed again";
  ASSERT_OK_AND_ASSIGN(observed, fresh->Observe({{2, "pw-Wrong-2"}}));
  EXPECT_FALSE(observed.Find(2)->password_in_sync);
  EXPECT_EQ(fresh->password_cache().computations(), 1)
      << "a hash known to be of one password was hashed to tell it is not another's";
}

TEST_F(RealPrefixTest, HomeIsMode0700AndOwnedByTheSeat) {
  ASSERT_OK(backend_->driver().Apply(Action::Create(2, "seat added")));
  struct stat st;
  ASSERT_EQ(stat((backend_->root() + "/home/student2").c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, TestPolicy().Uid(2));
  EXPECT_EQ(st.st_gid, TestPolicy().gid);
}

// Another process (an admin's useradd, vipw) holding the account files for a moment is no
// reason to fail. (Under --prefix, useradd itself waits up to ~14 s for the lock; on the real
// root a tool can give up at once with "lock ... already used by PID", which the driver
// retries for ~2 s: that case was seen on CI and cannot be staged in a prefix root.)
TEST_F(RealPrefixTest, AccountFilesLockedBrieflyByAnotherProcessAreWaitedFor) {
  const std::string lock = backend_->root() + "/etc/passwd.lock";
  // shadow-utils' lock file: the holder's pid, alive (this test's own).
  WriteText(lock, std::to_string(getpid()), 0600);
  std::thread release([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    std::filesystem::remove(lock);
  });
  absl::Status created = backend_->driver().Apply(Action::Create(12, "seat added"));
  release.join();
  ASSERT_OK(created);
  EXPECT_NE(backend_->driver().Observe()->Find(12), nullptr);
}

TEST_F(RealPrefixTest, WipeAndDeleteNeverFollowSymlinksOutOfTheHome) {
  AccountsDriver& driver = backend_->driver();
  const std::string& root = backend_->root();
  ASSERT_OK(driver.Apply(Action::Create(3, "seat added")));
  std::string home = root + "/home/student3";
  // Targets outside the home: a file, and a directory with a file.
  std::filesystem::create_directories(root + "/outside/dir");
  std::ofstream(root + "/outside/file") << "keep me\n";
  std::ofstream(root + "/outside/dir/inner") << "keep me too\n";
  auto plant = [&] {
    std::filesystem::create_directories(home + "/sub");
    std::filesystem::create_symlink(root + "/outside/file", home + "/link-file");
    std::filesystem::create_directory_symlink(root + "/outside/dir", home + "/link-dir");
    std::filesystem::create_directory_symlink(root + "/outside/dir", home + "/sub/nested-link");
    std::filesystem::create_directory_symlink("../../../outside", home + "/sub/relative-link");
    std::ofstream(home + "/.hidden") << "x\n";
  };
  auto outside_intact = [&] {
    EXPECT_EQ(ReadText(root + "/outside/file"), "keep me\n");
    EXPECT_EQ(ReadText(root + "/outside/dir/inner"), "keep me too\n");
  };
  plant();
  struct stat before;
  ASSERT_EQ(stat(home.c_str(), &before), 0);
  ASSERT_OK(driver.Apply(Action::WipeHome(3, "vacated")));
  ASSERT_OK(driver.Apply(Action::WipeHome(3, "vacated")));
  outside_intact();
  EXPECT_THAT(*backend_->HomeEntries("/home/student3"), IsEmpty());
  struct stat after;
  ASSERT_EQ(stat(home.c_str(), &after), 0);
  EXPECT_EQ(after.st_mode, before.st_mode);
  EXPECT_EQ(after.st_uid, before.st_uid);
  EXPECT_EQ(after.st_gid, before.st_gid);

  plant();
  ASSERT_OK(driver.Apply(Action::Delete(3, "seat removed")));
  outside_intact();
  EXPECT_FALSE(std::filesystem::exists(home));
}

TEST_F(RealPrefixTest, AHomeReplacedBySymlinkIsRefused) {
  AccountsDriver& driver = backend_->driver();
  const std::string& root = backend_->root();
  ASSERT_OK(driver.Apply(Action::Create(4, "seat added")));
  std::string home = root + "/home/student4";
  std::filesystem::create_directories(root + "/precious");
  std::ofstream(root + "/precious/data") << "keep\n";
  std::filesystem::remove(home);
  std::filesystem::create_directory_symlink(root + "/precious", home);
  EXPECT_THAT(driver.Apply(Action::WipeHome(4, "vacated")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_EQ(ReadText(root + "/precious/data"), "keep\n");
}

TEST_F(RealPrefixTest, KillEscalatesToSigkillAfterTheGracePeriod) {
  ASSERT_OK(backend_->driver().Apply(Action::Create(6, "seat added")));
  // SIG_IGN survives exec: this sleep ignores SIGTERM.
  pid_t stubborn = backend_->StartCommandAs(TestPolicy().Uid(6), TestPolicy().gid,
                                            {"/bin/sh", "-c", "trap '' TERM; exec /bin/sleep 300"});
  // Let sh install the trap and exec.
  for (int i = 0; i < 200; ++i) {
    if (ReadText(absl::StrCat("/proc/", stubborn, "/comm")) == "sleep\n") break;
    absl::SleepFor(absl::Milliseconds(10));
  }
  auto start = absl::Now();
  ASSERT_OK(backend_->driver().Apply(Action::KillProcesses(6, "vacated")));
  absl::Duration took = absl::Now() - start;
  EXPECT_FALSE(backend_->ProcessAlive(stubborn));
  EXPECT_GE(took, absl::Milliseconds(300)) << "SIGKILL came before the grace period ended";
  EXPECT_LT(took, absl::Seconds(5));
}

TEST_F(RealPrefixTest, ShadowUtilsOutputIsWhatTheDriverParses) {
  // A stranger's tools wrote the files: the driver reads what useradd/chpasswd made.
  ASSERT_OK(backend_->driver().Apply(Action::Create(5, "seat added")));
  ASSERT_OK(backend_->driver().Apply(Action::SetPassword(5, "pw-Parse-5", "occupied")));
  std::string passwd = ReadText(backend_->root() + "/etc/passwd");
  EXPECT_THAT(passwd,
              HasSubstr("student5:x:58005:58000:wod seat 5 vacant:/home/student5:/bin/bash\n"));
  ASSERT_OK(backend_->driver().Apply(Action::SetOccupant(5, 77, "occupied")));
  EXPECT_THAT(ReadText(backend_->root() + "/etc/passwd"),
              HasSubstr("student5:x:58005:58000:wod seat 5 registration 77:/home/student5:"));
  std::string group = ReadText(backend_->root() + "/etc/group");
  EXPECT_THAT(group, HasSubstr("wod-ctest:x:58000:"));
  // The clear password never reaches the files or the directory.
  EXPECT_THAT(ReadText(backend_->root() + "/etc/shadow"), ::testing::Not(HasSubstr("pw-Parse-5")));
}
#endif  // WOD_ACCOUNTS_CONTRACT_REAL

}  // namespace
}  // namespace wod::drivers::accounts
