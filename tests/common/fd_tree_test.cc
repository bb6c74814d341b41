// The no-follow tree walker shared by the accounts driver (home wipe) and the content driver
// (its folders): what a participant can plant in a home — symlinks to the outside, fifos, hard
// links to outside files, nesting deeper than the fd budget, another filesystem — never makes
// it touch anything outside the tree. The drivers' own tests (accounts_test HomeTest,
// accounts_contract_test RealPrefixTest, content_real_test) run the same code through them.
#include "common/fd_tree.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace wod::common {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::wod::testing::StatusIs;

class FdTreeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string templ = ::testing::TempDir() + "/wod-fd-tree-test.XXXXXX";
    ASSERT_NE(mkdtemp(templ.data()), nullptr);
    root_ = templ;
    fs::create_directories(root_ / "home/tree");
    fs::create_directories(root_ / "outside/dir");
    Write(root_ / "outside/file", "outside\n");
    Write(root_ / "outside/dir/inner", "inner\n");
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }

  static void Write(const fs::path& p, const std::string& text) { std::ofstream(p) << text; }
  static std::string Read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
  }
  fs::path Tree() const { return root_ / "home/tree"; }
  UniqueFd OpenTree() const {
    return UniqueFd(open(Tree().c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  void ExpectOutsideUntouched() {
    EXPECT_EQ(Read(root_ / "outside/file"), "outside\n");
    EXPECT_EQ(Read(root_ / "outside/dir/inner"), "inner\n");
    struct stat st;
    ASSERT_EQ(stat((root_ / "outside/file").c_str(), &st), 0);
    EXPECT_EQ(st.st_nlink, 1u) << "a hard link to it was left in the tree";
  }

  fs::path root_;
};

int OpenFds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

TEST_F(FdTreeTest, RemoveContentsRemovesLinksFifosAndHardLinksNotWhatTheyPointAt) {
  fs::create_directories(Tree() / "a/b/c");
  Write(Tree() / ".bashrc", "x");
  Write(Tree() / "a/b/c/deep.txt", "x");
  fs::create_symlink(root_ / "outside/file", Tree() / "link");
  fs::create_directory_symlink(root_ / "outside/dir", Tree() / "a/dirlink");
  fs::create_symlink("/nonexistent", Tree() / "dangling");
  fs::create_hard_link(root_ / "outside/file", Tree() / "a/hardlink");
  // A fifo is unlinked, never opened: opening it would block the pass forever.
  ASSERT_EQ(mkfifo((Tree() / "fifo").c_str(), 0600), 0);

  UniqueFd tree = OpenTree();
  ASSERT_TRUE(tree.ok());
  ASSERT_OK(RemoveContents(tree.get()));
  EXPECT_TRUE(fs::is_empty(Tree()));
  ExpectOutsideUntouched();
  EXPECT_TRUE(fs::is_directory(root_ / "outside/dir"));
  ASSERT_OK(RemoveContents(tree.get())) << "emptying an empty directory is success";
}

TEST_F(FdTreeTest, RemoveAtRemovesAPlantedSymlinkNotItsTarget) {
  fs::create_directory_symlink(root_ / "outside", Tree() / "WKSHP-X");
  UniqueFd tree = OpenTree();
  ASSERT_OK_AND_ASSIGN(bool removed, RemoveAt(tree.get(), "WKSHP-X"));
  EXPECT_TRUE(removed);
  EXPECT_FALSE(fs::exists(fs::symlink_status(Tree() / "WKSHP-X")));
  ExpectOutsideUntouched();
  ASSERT_OK_AND_ASSIGN(removed, RemoveAt(tree.get(), "WKSHP-X"));
  EXPECT_FALSE(removed) << "a missing name is success, and says nothing was there";

  // A directory with a link out of it: the directory goes, the outside stays.
  fs::create_directories(Tree() / "WKSHP-Y/sub");
  fs::create_directory_symlink(root_ / "outside", Tree() / "WKSHP-Y/sub/escape");
  fs::create_hard_link(root_ / "outside/file", Tree() / "WKSHP-Y/hard");
  ASSERT_OK_AND_ASSIGN(removed, RemoveAt(tree.get(), "WKSHP-Y"));
  EXPECT_TRUE(removed);
  EXPECT_TRUE(fs::is_empty(Tree()));
  ExpectOutsideUntouched();
}

TEST_F(FdTreeTest, NestingDeeperThanTheFdBudgetIsRemovedWithBoundedFds) {
  // Several times the budget of 32 levels, made through fds as a participant could.
  int fd = open(Tree().c_str(), O_RDONLY | O_DIRECTORY);
  ASSERT_GE(fd, 0);
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(mkdirat(fd, "d", 0700), 0);
    const int next = openat(fd, "d", O_RDONLY | O_DIRECTORY);
    close(fd);
    ASSERT_GE(next, 0);
    fd = next;
  }
  const int file = openat(fd, "bottom.txt", O_WRONLY | O_CREAT, 0600);
  ASSERT_GE(file, 0);
  close(file);
  close(fd);
  const int fds_before = OpenFds();
  UniqueFd tree = OpenTree();
  ASSERT_OK_AND_ASSIGN(bool removed, RemoveAt(tree.get(), "d"));
  EXPECT_TRUE(removed);
  EXPECT_TRUE(fs::is_empty(Tree()));
  tree = UniqueFd();
  EXPECT_EQ(OpenFds(), fds_before) << "an fd leaked";
}

TEST_F(FdTreeTest, OpenDirBelowRefusesASymlinkOnThePathAndCreatesNothingThrough) {
  fs::create_directory_symlink(root_ / "outside", root_ / "linked");
  EXPECT_THAT(OpenDirBelow(root_.string(), "/linked/dir"),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("/linked/dir")));
  EXPECT_THAT(OpenDirBelow(root_.string(), "/linked/new", /*create_missing=*/true),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_FALSE(fs::exists(root_ / "outside/new"));
  EXPECT_THAT(OpenDirBelow(root_.string(), "/home/missing"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(OpenDirBelow(root_.string(), "home/tree"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenDirBelow(root_.string(), "/home/../outside"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(OpenDirBelow(root_.string(), "/home//tree/"));
  ASSERT_OK(OpenDirBelow(root_.string(), "/home/made/here", /*create_missing=*/true));
  EXPECT_TRUE(fs::is_directory(root_ / "home/made/here"));
  // A file where a directory belongs.
  Write(Tree() / "file", "x");
  EXPECT_THAT(OpenDirBelow(root_.string(), "/home/tree/file"),
              StatusIs(absl::StatusCode::kFailedPrecondition));
}

TEST_F(FdTreeTest, OpenDirAtTakesOnlyPlainRelativePathsWithoutLinks) {
  fs::create_directories(Tree() / "a/b");
  fs::create_directory_symlink(root_ / "outside", Tree() / "a/link");
  UniqueFd tree = OpenTree();
  ASSERT_OK(OpenDirAt(tree.get(), "a/b"));
  ASSERT_OK(OpenDirAt(tree.get(), ""));
  EXPECT_THAT(OpenDirAt(tree.get(), "a/link"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(OpenDirAt(tree.get(), "a/link/dir"), StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(OpenDirAt(tree.get(), "../outside"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenDirAt(tree.get(), "/etc"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(OpenDirAt(tree.get(), "a//b"), StatusIs(absl::StatusCode::kInvalidArgument));
}

// Another filesystem mounted inside the tree (a participant cannot mount, but an operator's
// bind mount must not be emptied through a home). Needs root; the mount lives in a child's
// private mount namespace, so nothing is left mounted on the host even if the test dies.
TEST_F(FdTreeTest, AnotherFilesystemMountedBelowIsRefusedNotEmptied) {
  if (geteuid() != 0) GTEST_SKIP() << "mounting needs root";
  fs::create_directories(Tree() / "mnt");
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (unshare(CLONE_NEWNS) != 0 || mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr))
      _exit(10);
    if (mount("tmpfs", (Tree() / "mnt").c_str(), "tmpfs", 0, "size=1m") != 0) _exit(10);
    Write(Tree() / "mnt/kept", "x");
    const int tree = open(Tree().c_str(), O_RDONLY | O_DIRECTORY);
    const absl::Status s = RemoveContents(tree);
    const bool kept = fs::exists(Tree() / "mnt/kept");
    _exit(s.code() == absl::StatusCode::kFailedPrecondition && kept ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  if (WEXITSTATUS(status) == 10) GTEST_SKIP() << "cannot make a private mount namespace here";
  EXPECT_EQ(WEXITSTATUS(status), 0) << "the mounted filesystem was emptied or not refused";
}

}  // namespace
}  // namespace wod::common
