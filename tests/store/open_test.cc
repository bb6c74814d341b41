// OpenStore's URL handling and error reporting, which need no running database.
#include <sys/stat.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/status_matchers.h"

namespace wod::store {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using wod::testing::StatusIs;

TEST(OpenStoreTest, UnknownSchemeIsInvalidArgumentWithoutThePassword) {
  auto s = OpenStore("mysql://root:hunter2@localhost/wod");
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument, Not(HasSubstr("hunter2"))));
}

TEST(OpenStoreTest, UnreachablePostgresIsUnavailableAndNeverShowsThePassword) {
  // Port 1 on loopback: nothing listens there, the connection is refused at once.
  for (const char* url : {"postgresql://wod:s3cret-pw@127.0.0.1:1/wod",
                          "postgres://wod:s3cret-pw@127.0.0.1:1/wod?connect_timeout=2"}) {
    auto s = OpenStore(url);
    EXPECT_THAT(s, StatusIs(absl::StatusCode::kUnavailable,
                            ::testing::AllOf(Not(HasSubstr("s3cret-pw")), HasSubstr("127.0.0.1"))))
        << url;
  }
}

TEST(OpenStoreTest, SqliteFileThatCannotBeCreatedIsUnavailable) {
  EXPECT_THAT(OpenStore("sqlite:/nonexistent-dir/sub/wod.db"),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/nonexistent-dir/sub/wod.db")));
}

// The store holds every seat's password: no other user of the machine may read it, whatever
// the umask of whoever made it, and a store an earlier version left 0644 is narrowed.
TEST(OpenStoreTest, SqliteFilesAreTheOwnersOnlyWhateverTheUmask) {
  auto dir = testing::SqliteScratchDb::Create();
  ASSERT_OK(dir);
  const std::string path = (*dir)->url().substr(7);
  const mode_t old_umask = umask(022);
  auto mode = [](const std::string& p) {
    struct stat st {};
    return stat(p.c_str(), &st) == 0 ? static_cast<int>(st.st_mode & 0777) : -1;
  };
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenStore("sqlite:" + path));
    model::Location here;
    here.name = "here";
    ASSERT_OK(store->UpsertLocation(here));  // a write: the -wal and -shm exist now
    EXPECT_EQ(mode(path), 0600);
    EXPECT_EQ(mode(path + "-wal"), 0600);
    EXPECT_EQ(mode(path + "-shm"), 0600);
  }
  ASSERT_EQ(chmod(path.c_str(), 0644), 0);
  {
    ASSERT_OK_AND_ASSIGN(auto store, OpenStore("sqlite:" + path));
    ASSERT_OK(store->ListLocations());
    EXPECT_EQ(mode(path), 0600) << "an existing world-readable store is narrowed";
    if (mode(path + "-wal") >= 0) {
      EXPECT_EQ(mode(path + "-wal") & 077, 0);
    }
  }
  umask(old_umask);
}

TEST(OpenStoreTest, InMemorySqliteWorks) {
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore("sqlite::memory:"));
  model::Workshop w;
  w.id = "WKSHP-A";
  w.active = true;
  w.capacity = 2;
  w.range = {1, 2};
  w.duration_hours = 1;
  w.location = "here";
  ASSERT_OK(store->UpsertCatalog({w}));
  RegisterRequest req;
  req.workshop = "WKSHP-A";
  req.email = "a@example.com";
  req.now = absl::FromUnixSeconds(1'800'000'000);
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store->Register(req));
  EXPECT_EQ(r.seat.number, 1);
}

TEST(OpenStoreTest, SqliteUrlAcceptsTheDoubleSlashForm) {
  auto dir = testing::SqliteScratchDb::Create();
  ASSERT_OK(dir);
  std::string path = (*dir)->url().substr(7);
  ASSERT_OK(OpenStore("sqlite://" + path));
  ASSERT_OK(OpenStore("sqlite:" + path));
}

TEST(ScratchDbTest, WithDatabaseReplacesOnlyTheDatabaseName) {
  using testing::WithDatabase;
  EXPECT_EQ(WithDatabase("postgresql://u:p@h:5/wod", "t1"), "postgresql://u:p@h:5/t1");
  EXPECT_EQ(WithDatabase("postgresql://u:p@h:5/wod?sslmode=disable", "t1"),
            "postgresql://u:p@h:5/t1?sslmode=disable");
  EXPECT_EQ(WithDatabase("postgresql://u:p@h:5", "t1"), "postgresql://u:p@h:5/t1");
  EXPECT_EQ(WithDatabase("postgresql://h?x=1", "t1"), "postgresql://h/t1?x=1");
}

}  // namespace
}  // namespace wod::store
