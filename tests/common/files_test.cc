#include "common/files.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace wod::common {
namespace {

TEST(WriteFileAtomic, ReplacesContentAndSetsMode) {
  // A directory of this run's own, removed at the end: nothing is left in /tmp.
  std::string templ = ::testing::TempDir() + "/wod-files-test.XXXXXX";
  ASSERT_NE(mkdtemp(templ.data()), nullptr);
  const std::string dir = templ;
  struct RemoveDir {
    std::string dir;
    ~RemoveDir() {
      std::error_code ec;
      std::filesystem::remove_all(dir, ec);
    }
  } cleanup{dir};
  std::string path = dir + "/f.txt";
  ASSERT_OK(WriteFileAtomic(path, "one", 0600));
  ASSERT_OK(WriteFileAtomic(path, "two", 0640));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(path));
  EXPECT_EQ(got, "two");
  struct stat st {};
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
  // No temp file is left behind.
  int n = 0;
  for (auto& e : std::filesystem::directory_iterator(dir)) n += e.is_regular_file();
  EXPECT_EQ(n, 1);
}

TEST(ReadFile, MissingFileIsNotFound) {
  EXPECT_THAT(ReadFile("/no/such/file"), wod::testing::StatusIs(absl::StatusCode::kNotFound));
}

TEST(ReadFile, ADirectoryIsFailedPrecondition) {
  EXPECT_THAT(ReadFile("/"), wod::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
}

namespace fs = std::filesystem;

class AtomicFileTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/wod-atomic-test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    dir_ = templ;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  std::set<std::string> Names() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(dir_)) names.insert(e.path().filename());
    return names;
  }
  // Forks a writer that starts on `path` and is SIGKILLed mid-write: its file size limit is
  // below what it writes, and the SIGXFSZ of the first write past it makes it kill itself.
  void KillAWriterMidWrite(const std::string& path, bool unnamed) {
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      signal(SIGXFSZ, [](int) { kill(getpid(), SIGKILL); });
      const rlimit limit{64u << 10, 64u << 10};
      setrlimit(RLIMIT_FSIZE, &limit);
      auto file = AtomicFile::Create(path, 0600, unnamed);
      if (!file.ok()) _exit(1);
      const std::string chunk(16u << 10, 'x');
      for (int i = 0; i < 64; ++i) {
        if (write(file->fd(), chunk.data(), chunk.size()) < 0) _exit(2);
      }
      _exit(3);  // not killed: the test is wrong
    }
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
  }

  fs::path dir_;
};

TEST_F(AtomicFileTest, AWriterKilledMidWriteLeavesNothing) {
  const std::string path = dir_ / "a.tar.gz";
  KillAWriterMidWrite(path, /*unnamed=*/true);
  EXPECT_THAT(Names(), ::testing::IsEmpty());
  // And with the file already there (the replacing path): it is left as it was.
  ASSERT_OK(WriteFileAtomic(path, "old", 0600));
  KillAWriterMidWrite(path, /*unnamed=*/true);
  EXPECT_THAT(Names(), ::testing::ElementsAre("a.tar.gz"));
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(path));
  EXPECT_EQ(got, "old");
}

// Where the filesystem has no O_TMPFILE, a dead writer's temp name stays until a sweep, and the
// sweep leaves a live writer's alone.
TEST_F(AtomicFileTest, TheSweepRemovesADeadWritersTempFileAndKeepsALiveOnes) {
  const std::string path = dir_ / "a.tar.gz";
  KillAWriterMidWrite(path, /*unnamed=*/false);
  ASSERT_EQ(Names().size(), 1u);
  const std::string dead = *Names().begin();
  EXPECT_THAT(dead, ::testing::StartsWith("a.tar.gz.tmp-"));

  ASSERT_OK_AND_ASSIGN(AtomicFile live, AtomicFile::Create(dir_ / "b.json", 0640, false));
  ASSERT_FALSE(live.unnamed());
  ASSERT_EQ(write(live.fd(), "{}", 2), 2);
  // Temp names of earlier versions (never locked) and names that only look alike.
  for (const char* name :
       {"c.tar.gz.tmp-123", "d.json.tmp.456", "notes.tmp", "e.tmp-1-2-3", "f.tmp-x", "g.tar.gz"}) {
    std::ofstream(dir_ / name) << "x";
  }
  ASSERT_OK_AND_ASSIGN(int removed, RemoveStaleTempFiles(dir_));
  EXPECT_EQ(removed, 3);
  std::set<std::string> names = Names();
  EXPECT_FALSE(names.count(dead));
  EXPECT_FALSE(names.count("c.tar.gz.tmp-123"));
  EXPECT_FALSE(names.count("d.json.tmp.456"));
  for (const char* kept : {"notes.tmp", "e.tmp-1-2-3", "f.tmp-x", "g.tar.gz"}) {
    EXPECT_TRUE(names.count(kept)) << kept;
  }
  ASSERT_OK(live.Commit());
  ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(dir_ / "b.json"));
  EXPECT_EQ(got, "{}");
  struct stat st {};
  ASSERT_EQ(stat((dir_ / "b.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0640u);
}

TEST_F(AtomicFileTest, UncommittedLeavesNothingAndCommitReplaces) {
  const std::string path = dir_ / "r.json";
  for (bool unnamed : {true, false}) {
    SCOPED_TRACE(unnamed ? "unnamed" : "named");
    {
      ASSERT_OK_AND_ASSIGN(AtomicFile file, AtomicFile::Create(path, 0600, unnamed));
      EXPECT_EQ(file.unnamed(), unnamed);
      ASSERT_EQ(write(file.fd(), "abandoned", 9), 9);
    }
    EXPECT_THAT(Names(), ::testing::IsEmpty());
  }
  ASSERT_OK(WriteFileAtomic(path, "one", 0600));
  for (bool unnamed : {true, false}) {
    ASSERT_OK_AND_ASSIGN(AtomicFile file, AtomicFile::Create(path, 0600, unnamed));
    ASSERT_EQ(write(file.fd(), "two", 3), 3);
    ASSERT_OK(file.Commit());
    EXPECT_THAT(Names(), ::testing::ElementsAre("r.json"));
    ASSERT_OK_AND_ASSIGN(std::string got, ReadFile(path));
    EXPECT_EQ(got, "two");
    ASSERT_OK(WriteFileAtomic(path, "one", 0600));
  }
}

}  // namespace
}  // namespace wod::common
