#include "common/files.h"

#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>

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

}  // namespace
}  // namespace wod::common
