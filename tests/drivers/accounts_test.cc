// Hermetic tests of the accounts domain's pieces: the naming policy, the passwd/shadow/group
// parsers and the ownership rules, the crypt-based password check and its cache, the
// fd-relative home wipe, the fake's error injection, and how fast Observe reads 2,000 seats.
#include <fcntl.h>
#include <signal.h>
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
#include "absl/strings/str_replace.h"
#include "drivers/accounts/accounts_fake.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/accounts/etc_files.h"
#include "drivers/accounts/home.h"
#include "drivers/accounts/password_check.h"
#include "drivers/accounts/password_hash.h"
#include "drivers/accounts/processes.h"
#include "model/accounts.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers::accounts {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::wod::testing::StatusIs;
using Action = model::AccountAction;

// Made with libxcrypt's crypt(3) for the password "hello": Debian 12's default yescrypt and
// sha512crypt, as they appear in /etc/shadow.
constexpr char kYescryptHello[] =
    "$y$j9T$0IR3H6SNO5wvl3oVseWM2.$YeCObuZxUSTZYxyNDAyiK8cs8A7RyA3vYlVXayRrQbC";
constexpr char kSha512Hello[] =
    "$6$yJ2h51P.w0SPA8Lr$muChd3nJIQ5JFuRAJXS7G/t4BG46cxIA3uKtxx17gl5CDxmE4YU32wyUv4EIGYr2frHmDi."
    "wyW7Gtlf/ARHRA/";

TEST(AccountPolicyTest, SeatNamesAndUids) {
  model::AccountPolicy policy;
  EXPECT_EQ(policy.UserName(7), "student7");
  EXPECT_EQ(policy.Uid(7), 10007u);
  EXPECT_EQ(policy.Home(7), "/home/student7");
  EXPECT_EQ(policy.SeatOfName("student7"), 7);
  EXPECT_EQ(policy.SeatOfName("student0"), 0);
  EXPECT_EQ(policy.SeatOfName("student9999"), 9999);
  EXPECT_EQ(policy.SeatOfName("student10000"), std::nullopt) << "past seat_count";
  EXPECT_EQ(policy.SeatOfName("student07"), std::nullopt) << "leading zero";
  EXPECT_EQ(policy.SeatOfName("student"), std::nullopt);
  EXPECT_EQ(policy.SeatOfName("student7a"), std::nullopt);
  EXPECT_EQ(policy.SeatOfName("Student7"), std::nullopt);
  EXPECT_EQ(policy.SeatOfName("student-7"), std::nullopt);
  EXPECT_EQ(policy.SeatOfName("student99999999999"), std::nullopt);
  EXPECT_TRUE(policy.InUidRange(10000));
  EXPECT_TRUE(policy.InUidRange(19999));
  EXPECT_FALSE(policy.InUidRange(20000));
  EXPECT_FALSE(policy.InUidRange(9999));
}

TEST(OccupantMarkerTest, RoundTripsAndAnythingElseNamesNoRegistration) {
  EXPECT_EQ(model::OccupantComment(7, 123), "wod seat 7 registration 123");
  EXPECT_EQ(model::OccupantComment(7, 0), "wod seat 7 vacant");
  EXPECT_EQ(model::OccupantOfComment(model::OccupantComment(7, 123)), 123);
  EXPECT_EQ(model::OccupantOfComment(model::OccupantComment(7, 0)), 0);
  for (const char* other :
       {"", "Student Seven", "wod seat 7 registration", "wod seat 7 registration 0",
        "wod seat 7 registration -4", "wod seat 7 registration 12x", "wod seat x registration 12",
        "wod seat 7 registration 12 extra"}) {
    EXPECT_EQ(model::OccupantOfComment(other), 0) << "'" << other << "'";
  }
}

TEST(EtcFilesTest, TheCommentFieldIsTheOccupantMarker) {
  model::AccountPolicy policy;
  AccountTables tables;
  const std::string passwd =
      "student1:x:10001:10000:wod seat 1 registration 42:/home/student1:/bin/bash\n"
      "student2:x:10002:10000::/home/student2:/bin/bash\n";
  tables.passwd = ParsePasswd(passwd);
  tables.group = ParseGroup("wod-students:x:10000:\n");
  ASSERT_EQ(tables.passwd.size(), 2u);
  EXPECT_EQ(tables.passwd[0].gecos, "wod seat 1 registration 42");
  EXPECT_EQ(tables.passwd[0].home, "/home/student1");
  model::ObservedAccounts observed = AccountIndex(policy, tables).Observe({});
  ASSERT_EQ(observed.accounts.size(), 2u);
  EXPECT_EQ(observed.Find(1)->occupant, 42);
  EXPECT_EQ(observed.Find(2)->occupant, 0) << "an empty comment (made before markers) is vacant";
}

TEST(EtcFilesTest, ParsersSkipWhatIsNotAnEntry) {
  std::string passwd =
      "root:x:0:0:root:/root:/bin/bash\n"
      "# comment\n"
      "+nisuser::::::\n"
      "\n"
      "broken:x:notanumber:0::/:/bin/sh\n"
      "short:x:1:1\n"
      "student1:x:10001:10000:Student One:/home/student1:/bin/bash\r\n"
      "nologin:x:10002:10000::/home/nologin:";  // no final newline, empty shell
  auto entries = ParsePasswd(passwd);
  ASSERT_EQ(entries.size(), 3u);
  EXPECT_EQ(entries[0].name, "root");
  EXPECT_EQ(entries[1].name, "student1");
  EXPECT_EQ(entries[1].uid, 10001u);
  EXPECT_EQ(entries[1].gid, 10000u);
  EXPECT_EQ(entries[1].home, "/home/student1");
  EXPECT_EQ(entries[1].shell, "/bin/bash");
  EXPECT_EQ(entries[2].name, "nologin");
  EXPECT_EQ(entries[2].shell, "");

  auto shadow = ParseShadow(
      "root:*:19000:0:99999:7:::\nstudent1:!$y$abc:1::::::\nnohash\n"
      "student1:second:1::::::\n");
  EXPECT_EQ(shadow.size(), 2u);
  EXPECT_EQ(shadow["student1"], "!$y$abc") << "the first entry of a name wins";

  auto groups = ParseGroup("root:x:0:\nwod-students:x:10000:a,b\nbad:x:\nusers:x:100\n");
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[1].name, "wod-students");
  EXPECT_EQ(groups[1].gid, 10000u);
  EXPECT_EQ(groups[2].gid, 100u);
}

class AccountIndexTest : public ::testing::Test {
 protected:
  model::ObservedAccounts Observe(const std::string& passwd, const std::string& group) {
    passwd_ = passwd;
    group_ = group;
    tables_.passwd = ParsePasswd(passwd_);
    tables_.shadow = ParseShadow(shadow_);
    tables_.group = ParseGroup(group_);
    return AccountIndex(policy_, tables_).Observe({{10001, {42, 43}}, {10005, {44}}});
  }
  model::AccountPolicy policy_;
  std::string passwd_, group_;
  std::string shadow_ = "student1:!$y$j9T$x$y:1::::::\nstudent2:$y$j9T$x$y:1::::::\n";
  AccountTables tables_;
};

TEST_F(AccountIndexTest, OursNeedNameUidAndGroupToAgree) {
  model::ObservedAccounts observed = Observe(
      "root:x:0:0::/root:/bin/bash\n"
      "student1:x:10001:10000::/home/student1:/bin/bash\n"
      "student2:x:10002:10000::/home/student2:/bin/sh\n"
      "alice:x:1000:1000::/home/alice:/bin/bash\n"          // outside everything: not listed
      "bob:x:10005:100::/home/bob:/bin/bash\n"              // our range, not our name
      "student3:x:10004:10000::/home/student3:/bin/bash\n"  // uid of another seat
      "student6:x:10006:100::/home/student6:/bin/bash\n"    // wrong group
      "student7:x:2007:10000::/home/student7:/bin/bash\n",  // our name, uid out of range
      "root:x:0:\nwod-students:x:10000:\nusers:x:100:\n");
  EXPECT_TRUE(observed.group_exists);
  EXPECT_EQ(observed.group_gid, 10000u);
  ASSERT_EQ(observed.accounts.size(), 2u);
  EXPECT_EQ(observed.accounts[0].name, "student1");
  EXPECT_EQ(observed.accounts[0].seat, 1);
  EXPECT_TRUE(observed.accounts[0].locked);
  EXPECT_EQ(observed.accounts[0].shadow_hash, "!$y$j9T$x$y");
  EXPECT_THAT(observed.accounts[0].pids, ElementsAre(42, 43));
  EXPECT_EQ(observed.accounts[1].name, "student2");
  EXPECT_FALSE(observed.accounts[1].locked);
  EXPECT_EQ(observed.accounts[1].shell, "/bin/sh");
  EXPECT_THAT(observed.accounts[1].pids, IsEmpty());

  ASSERT_EQ(observed.foreign.size(), 4u);
  EXPECT_EQ(observed.foreign[0].name, "student7");
  EXPECT_THAT(observed.foreign[0].reason, HasSubstr("uid 2007 is not seat 7's uid 10007"));
  EXPECT_EQ(observed.foreign[1].name, "student3");
  EXPECT_THAT(observed.foreign[1].reason, HasSubstr("is not seat 3's uid"));
  EXPECT_EQ(observed.foreign[2].name, "bob");
  EXPECT_THAT(observed.foreign[2].reason, HasSubstr("name is not 'student<seat>'"));
  EXPECT_EQ(observed.foreign[3].name, "student6");
  EXPECT_THAT(observed.foreign[3].reason, HasSubstr("primary gid 100 is not group"));
}

TEST_F(AccountIndexTest, WithoutTheGroupNothingIsOurs) {
  model::ObservedAccounts observed =
      Observe("student1:x:10001:10000::/home/student1:/bin/bash\n", "root:x:0:\n");
  EXPECT_FALSE(observed.group_exists);
  EXPECT_THAT(observed.accounts, IsEmpty());
  ASSERT_EQ(observed.foreign.size(), 1u);
  EXPECT_THAT(observed.foreign[0].reason, HasSubstr("group 'wod-students' does not exist"));
}

TEST_F(AccountIndexTest, ASharedUidMakesBothForeign) {
  model::ObservedAccounts observed = Observe(
      "student1:x:10001:10000::/home/student1:/bin/bash\n"
      "toor:x:10001:10000::/root:/bin/bash\n",
      "wod-students:x:10000:\n");
  EXPECT_THAT(observed.accounts, IsEmpty());
  EXPECT_EQ(observed.foreign.size(), 2u);
}

TEST_F(AccountIndexTest, LookupTellsAbsentOursAndForeign) {
  Observe(
      "student1:x:10001:10000::/home/student1:/bin/bash\n"
      "bob:x:10005:100::/home/bob:/bin/bash\n"
      "student6:x:10006:100::/home/student6:/bin/bash\n",
      "wod-students:x:10000:\n");
  AccountIndex index(policy_, tables_);
  EXPECT_EQ(index.Lookup(1).state, SeatState::kOurs);
  EXPECT_EQ(index.Lookup(1).entry->name, "student1");
  EXPECT_EQ(index.Lookup(2).state, SeatState::kAbsent);
  SeatLookup uid_taken = index.Lookup(5);
  EXPECT_EQ(uid_taken.state, SeatState::kForeign);
  EXPECT_THAT(uid_taken.reason, HasSubstr("uid 10005 of seat 5 belongs to user 'bob'"));
  SeatLookup wrong_group = index.Lookup(6);
  EXPECT_EQ(wrong_group.state, SeatState::kForeign);
  EXPECT_THAT(wrong_group.reason, HasSubstr("user 'student6' is not managed by wod"));
}

TEST(PasswordTest, MatchesYescryptAndSha512HashesFromShadow) {
  EXPECT_TRUE(ShadowHashMatches(kYescryptHello, "hello"));
  EXPECT_FALSE(ShadowHashMatches(kYescryptHello, "hello "));
  EXPECT_FALSE(ShadowHashMatches(kYescryptHello, "Hello"));
  EXPECT_FALSE(ShadowHashMatches(kYescryptHello, ""));
  EXPECT_TRUE(ShadowHashMatches(kSha512Hello, "hello"));
  EXPECT_FALSE(ShadowHashMatches(kSha512Hello, "hellO"));
  model::ObservedAccount locked;
  locked.shadow_hash = std::string("!") + kYescryptHello;
  EXPECT_TRUE(PasswordMatches(locked, "hello")) << "the lock is not the password";
}

TEST(PasswordTest, NonHashesMatchNothing) {
  for (const char* field : {"", "!", "!!", "*", "!*", "x", "*LK*", "$y$"}) {
    EXPECT_FALSE(ShadowHashMatches(field, "")) << "'" << field << "'";
    EXPECT_FALSE(ShadowHashMatches(field, "hello")) << "'" << field << "'";
    EXPECT_FALSE(ShadowHashMatches(field, field)) << "'" << field << "'";
  }
}

TEST(PasswordTest, HashPasswordMakesSaltedYescrypt) {
  ASSERT_OK_AND_ASSIGN(std::string a, HashPassword("Tr0ub4dor&3", 1));
  ASSERT_OK_AND_ASSIGN(std::string b, HashPassword("Tr0ub4dor&3", 1));
  EXPECT_EQ(a.rfind("$y$", 0), 0u) << a;
  EXPECT_NE(a, b) << "each hash gets its own salt";
  EXPECT_TRUE(ShadowHashMatches(a, "Tr0ub4dor&3"));
  EXPECT_TRUE(ShadowHashMatches(b, "Tr0ub4dor&3"));
  EXPECT_FALSE(ShadowHashMatches(a, "Tr0ub4dor&4"));
  EXPECT_THAT(HashPassword(std::string("a\0b", 3)), StatusIs(absl::StatusCode::kInvalidArgument));
  // Debian's default cost when asked for 0: "j9T" is yescrypt's encoding of cost 5.
  ASSERT_OK_AND_ASSIGN(std::string d, HashPassword("x", 0));
  EXPECT_EQ(d.rfind("$y$j9T$", 0), 0u) << d;
}

TEST(PasswordCheckCacheTest, HashesOncePerUserHashAndPasswordAndNeverForANewOccupant) {
  PasswordCheckCache cache;
  model::ObservedAccount account;
  account.name = "student1";
  account.shadow_hash = kYescryptHello;
  EXPECT_TRUE(cache.Matches(account, "hello"));
  EXPECT_EQ(cache.computations(), 1);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(cache.Matches(account, "hello"));
  EXPECT_EQ(cache.computations(), 1) << "converged passes must not hash";
  account.shadow_hash = std::string("!") + kYescryptHello;  // locked: same password
  EXPECT_TRUE(cache.Matches(account, "hello"));
  EXPECT_EQ(cache.computations(), 1);
  // Desired password changed (a new occupant): a hash known to be of "hello" is not one of
  // "other", so no hashing is needed to tell.
  EXPECT_FALSE(cache.Matches(account, "other"));
  EXPECT_EQ(cache.computations(), 1);
  account.shadow_hash = kSha512Hello;  // shadow changed behind our back
  EXPECT_FALSE(cache.Matches(account, "other"));
  EXPECT_EQ(cache.computations(), 2);
  EXPECT_FALSE(cache.Matches(account, "other"));
  EXPECT_EQ(cache.computations(), 2) << "a known mismatch is remembered too";
  EXPECT_TRUE(cache.Matches(account, "hello"));
  EXPECT_EQ(cache.computations(), 3);
  EXPECT_EQ(cache.size(), 1u) << "one entry per user";
}

TEST(PasswordCheckCacheTest, RememberedWritesNeedNoHashing) {
  PasswordCheckCache cache;
  cache.Remember("student2", std::string("!") + kYescryptHello, "hello");
  model::ObservedAccount account;
  account.name = "student2";
  account.shadow_hash = kYescryptHello;
  EXPECT_TRUE(cache.Matches(account, "hello"));
  EXPECT_EQ(cache.computations(), 0);
  cache.Forget("student2");
  EXPECT_EQ(cache.size(), 0u);
}

TEST(PasswordCheckCacheTest, AFreshProcessAnswersFromTheSavedMemoWithoutHashing) {
  const std::filesystem::path dir =
      std::filesystem::path(::testing::TempDir()) / "wod_password_memo";
  std::filesystem::remove_all(dir);
  const std::string path = (dir / "accounts" / "student.password-checks").string();
  model::ObservedAccount s1;
  s1.name = "student1";
  s1.shadow_hash = kYescryptHello;
  model::ObservedAccount s2;
  s2.name = "student2";
  s2.shadow_hash = std::string("!") + kSha512Hello;
  {
    PasswordCheckCache first;
    ASSERT_OK(first.Load(path));  // no memo yet: nothing, no error
    EXPECT_TRUE(first.Matches(s1, "hello"));
    EXPECT_FALSE(first.Matches(s2, "other"));
    first.Remember("student3", kYescryptHello, "hello");
    ASSERT_OK(first.Save(path));
  }
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "as secret as the shadow file";
  ASSERT_EQ(stat((dir / "accounts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text.find("hello"), std::string::npos) << "no password in the memo";
  EXPECT_EQ(text.find("other"), std::string::npos);

  PasswordCheckCache fresh;
  ASSERT_OK(fresh.Load(path));
  EXPECT_EQ(fresh.size(), 3u);
  EXPECT_TRUE(fresh.Matches(s1, "hello"));
  EXPECT_FALSE(fresh.Matches(s2, "other"));
  model::ObservedAccount s3 = s1;
  s3.name = "student3";
  EXPECT_TRUE(fresh.Matches(s3, "hello"));
  EXPECT_EQ(fresh.computations(), 0) << "the memo answered all three";
  // A memo entry never answers for another password or a hash changed behind our back.
  model::ObservedAccount fresh_s1 = s1;
  EXPECT_FALSE(fresh.Matches(fresh_s1, "hello2"));
  EXPECT_EQ(fresh.computations(), 0) << "a hash known to be of another password";
  PasswordCheckCache again;
  ASSERT_OK(again.Load(path));
  EXPECT_TRUE(again.Matches(s2, "hello")) << "a known mismatch of 'other' says nothing of 'hello'";
  EXPECT_EQ(again.computations(), 1);
  s1.shadow_hash = kSha512Hello;
  EXPECT_TRUE(again.Matches(s1, "hello"));
  EXPECT_EQ(again.computations(), 2) << "the shadow hash changed: checked for real";

  // Nothing changed since the load: Save writes nothing (the file keeps its inode).
  PasswordCheckCache unchanged;
  ASSERT_OK(unchanged.Load(path));
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  const ino_t inode = st.st_ino;
  ASSERT_OK(unchanged.Save(path));
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_ino, inode);

  // Damaged lines are skipped; a file that is not a memo is named in the error.
  {
    std::ofstream out(path, std::ios::trunc);
    out << "wod-password-checks 1\nstudent1\tbad\nstudent9\t$y$x\t" << std::string(64, 'a')
        << "\t1\n";
  }
  PasswordCheckCache damaged;
  ASSERT_OK(damaged.Load(path));
  EXPECT_EQ(damaged.size(), 1u);
  {
    std::ofstream out(path, std::ios::trunc);
    out << "root:x:0:0::/root:/bin/bash\n";
  }
  PasswordCheckCache wrong;
  EXPECT_THAT(wrong.Load(path), StatusIs(absl::StatusCode::kInvalidArgument,
                                         ::testing::HasSubstr(path + ":1: not a password")));
  std::filesystem::remove_all(dir);
}

TEST(DescribeTest, NeverShowsPasswordsOrHashes) {
  Action action = Action::SetPassword(7, "s3cret-Pw", "occupant changed");
  EXPECT_EQ(action.Describe(), "set-password seat 7 (occupant changed)");
  model::ObservedAccount account;
  account.name = "student7";
  account.seat = 7;
  account.shadow_hash = kYescryptHello;
  account.locked = false;
  account.pids = {1, 2};
  std::string text = account.Describe();
  EXPECT_THAT(text, HasSubstr("user 'student7' seat 7"));
  EXPECT_THAT(text, HasSubstr("processes 2"));
  EXPECT_THAT(text, Not(HasSubstr("$y$")));
  EXPECT_EQ(Action::Delete(3, "").Describe(), "delete seat 3");
}

// A temp directory standing for a root prefix, removed afterwards.
class TempRoot {
 public:
  TempRoot() {
    char dir[] = "/tmp/wod-accounts-test-XXXXXX";
    path_ = mkdtemp(dir);
  }
  ~TempRoot() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TEST(HomeTest, EnsureHomeMakesParentsAndA0700HomeAndRepairsAnExistingOne) {
  TempRoot root;
  const std::string home = root.path() + "/srv/homes/student1";
  ASSERT_OK(EnsureHome(root.path(), "/srv/homes/student1", getuid(), getgid()));
  struct stat st;
  ASSERT_EQ(stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, getuid());
  // A home left half made (a crash between mkdir and chown) or loosened by its user gets the
  // seat's owner and mode back; what is inside stays.
  std::ofstream(home + "/kept") << "x";
  ASSERT_EQ(chmod(home.c_str(), 0755), 0);
  const uid_t other_uid = getuid() == 0 ? 4242 : getuid();
  ASSERT_OK(EnsureHome(root.path(), "/srv/homes/student1", other_uid, getgid()));
  ASSERT_EQ(stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_EQ(st.st_uid, other_uid);
  EXPECT_TRUE(std::filesystem::exists(home + "/kept"));
  EXPECT_TRUE(HomeExists(root.path(), "/srv/homes/student1"));
  EXPECT_FALSE(HomeExists(root.path(), "/srv/homes/student2"));
  EXPECT_THAT(EnsureHome(root.path(), "relative", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(EnsureHome(root.path(), "/home/../etc", 0, 0),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HomeTest, EnsureHomeRefusesASymlinkOnThePath) {
  TempRoot root;
  std::filesystem::create_directories(root.path() + "/elsewhere");
  std::filesystem::create_directory_symlink(root.path() + "/elsewhere", root.path() + "/home");
  EXPECT_THAT(EnsureHome(root.path(), "/home/student1", getuid(), getgid()),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(std::filesystem::exists(root.path() + "/elsewhere/student1"));
}

TEST(HomeTest, WipeRemovesEverythingInsideButNothingOutside) {
  TempRoot root;
  const std::string home = root.path() + "/home/student1";
  ASSERT_OK(EnsureHome(root.path(), "/home/student1", getuid(), getgid()));
  std::filesystem::create_directories(root.path() + "/outside/dir");
  std::ofstream(root.path() + "/outside/file") << "outside\n";
  std::ofstream(root.path() + "/outside/dir/inner") << "inner\n";
  std::filesystem::create_directories(home + "/a/b/c");
  std::ofstream(home + "/.bashrc") << "x";
  std::ofstream(home + "/a/b/c/deep.txt") << "x";
  std::filesystem::create_symlink(root.path() + "/outside/file", home + "/link");
  std::filesystem::create_directory_symlink(root.path() + "/outside/dir", home + "/a/dirlink");
  std::filesystem::create_symlink("/nonexistent", home + "/dangling");
  ASSERT_EQ(mkfifo((home + "/fifo").c_str(), 0600), 0);
  chmod((home + "/a/b").c_str(), 0);  // unreadable to its owner: root removes it anyway

  ASSERT_OK(WipeHome(root.path(), "/home/student1"));
  EXPECT_TRUE(std::filesystem::is_empty(home));
  EXPECT_EQ(ReadText(root.path() + "/outside/file"), "outside\n");
  EXPECT_EQ(ReadText(root.path() + "/outside/dir/inner"), "inner\n");
  struct stat st;
  ASSERT_EQ(stat(home.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  EXPECT_OK(WipeHome(root.path(), "/home/student1"));
  EXPECT_THAT(WipeHome(root.path(), "/home/student2"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(WipeHome(root.path(), "/"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(HomeTest, WipeHandlesNestingDeeperThanItsFdBudget) {
  TempRoot root;
  ASSERT_OK(EnsureHome(root.path(), "/home/student1", getuid(), getgid()));
  // Several times the fd budget of 32 levels, made through fds like a student could.
  int fd = open((root.path() + "/home/student1").c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(mkdirat(fd, "d", 0700), 0);
    int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    close(fd);
    ASSERT_GE(next, 0);
    fd = next;
  }
  int file = openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(file, 0);
  close(file);
  close(fd);
  ASSERT_OK(WipeHome(root.path(), "/home/student1"));
  EXPECT_TRUE(std::filesystem::is_empty(root.path() + "/home/student1"));
}

TEST(ProcessesTest, ScanFindsOurOwnChildAndKillRefusesRoot) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_OK_AND_ASSIGN(auto by_uid, ScanProcesses("/proc", getuid(), getuid()));
  EXPECT_THAT(by_uid[getuid()], ::testing::Contains(child));
  EXPECT_THAT(by_uid[getuid()], Not(::testing::Contains(getpid())))
      << "the scanner never lists itself";
  kill(child, SIGKILL);
  // A zombie (dead, not reaped yet) is not a live process.
  for (int i = 0; i < 100; ++i) {
    ASSERT_OK_AND_ASSIGN(by_uid, ScanProcesses("/proc", getuid(), getuid()));
    if (!::testing::Value(by_uid[getuid()], ::testing::Contains(child))) break;
    usleep(10000);
  }
  EXPECT_THAT(by_uid[getuid()], Not(::testing::Contains(child)));
  waitpid(child, nullptr, 0);
  EXPECT_THAT(KillProcessesOf("/proc", 0), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ScanProcesses("/nonexistent-proc", 1, 2), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(FakeAccountsTest, FailNextFailsOneCallAndChangesNothing) {
  FakeAccountsDriver fake;
  fake.FailNext(absl::UnavailableError("injected"));
  EXPECT_THAT(fake.Apply(Action::Create(1, "r")), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(fake.mutations(), 0);
  ASSERT_OK_AND_ASSIGN(auto observed, fake.Observe());
  EXPECT_THAT(observed.accounts, IsEmpty());
  fake.FailNext(absl::AbortedError("injected"));
  EXPECT_THAT(fake.Observe(), StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK(fake.Apply(Action::Create(1, "r")));
  int after_create = fake.mutations();
  EXPECT_GT(after_create, 0);
  ASSERT_OK(fake.Apply(Action::Create(1, "r")));
  ASSERT_OK(fake.Apply(Action::Lock(1, "r")));
  EXPECT_EQ(fake.mutations(), after_create) << "idempotent applies change nothing";
  ASSERT_OK_AND_ASSIGN(observed, fake.Observe());
  EXPECT_EQ(observed.accounts.size(), 1u);
}

TEST(FakeAccountsTest, TakenGidStopsGroupCreation) {
  FakeAccountsDriver fake;
  fake.AddGroup("somebody-else", 10000);
  EXPECT_THAT(fake.Apply(Action::Create(1, "r")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("somebody-else")));
}

TEST(RealAccountsTest, CreateRejectsBadOptions) {
  RealAccountsOptions options;
  options.root = "relative/root";
  EXPECT_THAT(RealAccountsDriver::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
  options.root = "/";
  options.policy.group = "";
  EXPECT_THAT(RealAccountsDriver::Create(options), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(RealAccountsTest, ObserveWithoutAccountFilesIsUnavailable) {
  TempRoot root;
  RealAccountsOptions options;
  options.root = root.path();
  ASSERT_OK_AND_ASSIGN(auto driver, RealAccountsDriver::Create(options));
  EXPECT_THAT(driver->Observe(), StatusIs(absl::StatusCode::kUnavailable));
}

// A restarted controller (or `wod drift --live`) must not hash every seat's password again:
// the driver saves what its checks learnt and the next driver starts from it.
TEST(RealAccountsTest, ADriverMadeAfterAnotherHashesNoPasswordTheFirstOneChecked) {
  TempRoot root;
  std::filesystem::create_directories(root.path() + "/etc");
  constexpr int kSeats = 12;
  std::string passwd = "root:x:0:0:root:/root:/bin/bash\n";
  std::string shadow = "root:*:19000:0:99999:7:::\n";
  model::DesiredPasswords desired;
  for (int seat = 1; seat <= kSeats; ++seat) {
    absl::StrAppend(&passwd, "student", seat, ":x:", 10000 + seat, ":10000::/home/student", seat,
                    ":/bin/bash\n");
    absl::StrAppend(&shadow, "student", seat, ":", seat == 1 ? "!" : "", kYescryptHello,
                    ":19000:0:99999:7:::\n");
    desired[seat] = seat == kSeats ? "not-hello" : "hello";
  }
  std::ofstream(root.path() + "/etc/passwd") << passwd;
  std::ofstream(root.path() + "/etc/shadow") << shadow;
  std::ofstream(root.path() + "/etc/group") << "root:x:0:\nwod-students:x:10000:\n";
  RealAccountsOptions options;
  options.root = root.path();
  options.password_memo = root.path() + "/var/lib/wod/accounts/student.password-checks";
  auto in_sync = [&](const model::ObservedAccounts& observed) {
    int n = 0;
    for (const auto& a : observed.accounts) n += a.password_in_sync ? 1 : 0;
    return n;
  };
  {
    ASSERT_OK_AND_ASSIGN(auto first, RealAccountsDriver::Create(options));
    ASSERT_OK_AND_ASSIGN(auto observed, first->Observe(desired));
    EXPECT_EQ(in_sync(observed), kSeats - 1);
    EXPECT_EQ(first->password_cache().computations(), kSeats);
  }
  ASSERT_TRUE(std::filesystem::exists(options.password_memo));
  {
    ASSERT_OK_AND_ASSIGN(auto second, RealAccountsDriver::Create(options));
    ASSERT_OK_AND_ASSIGN(auto observed, second->Observe(desired));
    EXPECT_EQ(in_sync(observed), kSeats - 1) << "the same answers";
    EXPECT_EQ(second->password_cache().computations(), 0) << "and no hash computed";
  }
  // Seat 2's shadow hash changed behind wod's back; a read-only driver (drift --live) checks it
  // for real and leaves the memo as it was.
  const std::string changed = absl::StrReplaceAll(
      shadow,
      {{absl::StrCat("student2:", kYescryptHello), absl::StrCat("student2:", kSha512Hello)}});
  ASSERT_NE(changed, shadow);
  std::ofstream(root.path() + "/etc/shadow", std::ios::trunc) << changed;
  struct stat before {};
  ASSERT_EQ(stat(options.password_memo.c_str(), &before), 0);
  options.read_only_memo = true;
  {
    ASSERT_OK_AND_ASSIGN(auto reader, RealAccountsDriver::Create(options));
    ASSERT_OK_AND_ASSIGN(auto observed, reader->Observe(desired));
    EXPECT_EQ(in_sync(observed), kSeats - 1) << "sha512 of 'hello' is still 'hello'";
    EXPECT_EQ(reader->password_cache().computations(), 1);
  }
  struct stat after {};
  ASSERT_EQ(stat(options.password_memo.c_str(), &after), 0);
  EXPECT_EQ(after.st_ino, before.st_ino) << "a read-only driver writes no memo";
}

// The later bench needs a no-op pass over 2,000 seats in 50 ms; Observe is its accounts part.
TEST(RealAccountsTest, ObserveOf2000AccountsReadsEachFileOnceAndIsFast) {
  TempRoot root;
  std::filesystem::create_directories(root.path() + "/etc");
  std::string passwd = "root:x:0:0:root:/root:/bin/bash\n";
  std::string shadow = "root:*:19000:0:99999:7:::\n";
  for (int seat = 1; seat <= 2000; ++seat) {
    absl::StrAppend(&passwd, "student", seat, ":x:", 10000 + seat, ":10000::/home/student", seat,
                    ":/bin/bash\n");
    absl::StrAppend(&shadow, "student", seat, ":", kYescryptHello, ":19000:0:99999:7:::\n");
  }
  std::ofstream(root.path() + "/etc/passwd") << passwd;
  std::ofstream(root.path() + "/etc/shadow") << shadow;
  std::ofstream(root.path() + "/etc/group") << "root:x:0:\nwod-students:x:10000:\n";
  RealAccountsOptions options;
  options.root = root.path();
  ASSERT_OK_AND_ASSIGN(auto driver, RealAccountsDriver::Create(options));
  ASSERT_OK(driver->Observe());  // warm the page cache
  auto start = std::chrono::steady_clock::now();
  constexpr int kRounds = 5;
  for (int i = 0; i < kRounds; ++i) {
    ASSERT_OK_AND_ASSIGN(auto observed, driver->Observe());
    ASSERT_EQ(observed.accounts.size(), 2000u);
  }
  double ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() /
      kRounds;
  RecordProperty("observe_2000_ms", std::to_string(ms));
  std::printf("Observe of 2000 accounts: %.2f ms\n", ms);
  // Generous against a loaded CI machine and sanitizers; a quadratic or hashing Observe
  // takes seconds.
  EXPECT_LT(ms, 50.0);
}

}  // namespace
}  // namespace wod::drivers::accounts
