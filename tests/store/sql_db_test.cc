// The SQL layer's own pieces, on an in-memory SQLite database where one is needed:
//   - BindNamed numbers `:name` parameters by first use, leaves casts and quoted text alone,
//     drops unused parameters and refuses an unknown name.
//   - SqlRow reads columns by name, also through WithPrefix for one table of a join, and a
//     name the statement did not select is a bug that aborts naming the column.
//   - ConnectionPool opens at most its limit, hands back idle connections first, waits for one
//     to be released, and frees the place of a broken or unopened one.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "store/connection_pool.h"
#include "store/sql_db.h"
#include "tests/testing/status_matchers.h"

namespace wod::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using wod::testing::StatusIs;

std::vector<std::string> Texts(const std::vector<SqlParam>& params) {
  std::vector<std::string> out;
  for (const SqlParam& p : params) out.push_back(p.ToText());
  return out;
}

TEST(BindNamedTest, NumbersParametersByFirstUseAndReusesANumberForARepeatedName) {
  ASSERT_OK_AND_ASSIGN(SqlBound b, BindNamed("SELECT :b, :a WHERE x = :b AND y = :a_long",
                                             {{"a", 1}, {"a_long", 2}, {"b", "two"}}));
  EXPECT_EQ(b.sql, "SELECT $1, $2 WHERE x = $1 AND y = $3");
  EXPECT_THAT(Texts(b.params), ElementsAre("two", "1", "2"));
}

TEST(BindNamedTest, LeavesCastsAndQuotedTextAloneAndDropsUnusedParameters) {
  ASSERT_OK_AND_ASSIGN(SqlBound b,
                       BindNamed("SELECT ':a', \":a\", x::INTEGER, :a", {{"a", 7}, {"unused", 8}}));
  EXPECT_EQ(b.sql, "SELECT ':a', \":a\", x::INTEGER, $1");
  EXPECT_THAT(Texts(b.params), ElementsAre("7"));
}

TEST(BindNamedTest, AnUnknownNameIsInternalAndNamed) {
  EXPECT_THAT(BindNamed("SELECT :workshop, :slot_cuont", {{"workshop", "W"}, {"slot_count", 1}}),
              StatusIs(absl::StatusCode::kInternal, HasSubstr("':slot_cuont'")));
}

class SqlRowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, OpenSqliteDb(":memory:"));
    ASSERT_OK(db_->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(rows_, tx.QueryNamed("SELECT :id AS id, 'x' AS r_id, NULL AS r_name, "
                                            ":flag AS flag, 5 AS r_n",
                                            {{"id", 42}, {"flag", true}}));
      return absl::OkStatus();
    }));
    ASSERT_EQ(rows_.size(), 1u);
  }
  std::unique_ptr<SqlDb> db_;
  std::vector<SqlRow> rows_;
};

TEST_F(SqlRowTest, ReadsColumnsByNameAndThroughAPrefix) {
  const SqlRow& row = rows_[0];
  EXPECT_EQ(row.Int("id"), 42);
  EXPECT_TRUE(row.Bool("flag"));
  EXPECT_EQ(row.Text("r_id"), "x");
  const SqlRow r = row.WithPrefix("r_");
  EXPECT_EQ(r.Text("id"), "x") << "the prefixed name, not the plain one";
  EXPECT_TRUE(r.IsNull("name"));
  EXPECT_EQ(r.OptInt("name"), std::nullopt);
  EXPECT_EQ(r.Int("n"), 5);
  EXPECT_EQ(row.Int(0), 42) << "positions still work";
}

TEST_F(SqlRowTest, ANameTheStatementDidNotSelectAbortsNamingTheColumn) {
  EXPECT_DEATH((void)rows_[0].Text("name"), "no column 'name'");
  EXPECT_DEATH((void)rows_[0].WithPrefix("r_").Text("flag"), "no column 'r_flag'");
}

struct FakeConn {
  int id = 0;
};

TEST(ConnectionPoolTest, HandsBackIdleConnectionsFirstAndOpensUpToItsLimit) {
  int opened = 0;
  ConnectionPool<FakeConn> pool(
      2, [&] { return std::make_unique<FakeConn>(FakeConn{++opened}); },
      std::make_unique<FakeConn>());
  ASSERT_OK_AND_ASSIGN(auto first, pool.Acquire());
  EXPECT_EQ(first->id, 0) << "the connection given at construction";
  ASSERT_OK_AND_ASSIGN(auto second, pool.Acquire());
  EXPECT_EQ(second->id, 1);
  pool.Release(std::move(second));
  ASSERT_OK_AND_ASSIGN(auto again, pool.Acquire());
  EXPECT_EQ(again->id, 1);
  EXPECT_EQ(opened, 1);
}

TEST(ConnectionPoolTest, AFullPoolWaitsForARelease) {
  int opened = 0;
  ConnectionPool<FakeConn> pool(
      1, [&] { return std::make_unique<FakeConn>(FakeConn{++opened}); },
      std::make_unique<FakeConn>());
  ASSERT_OK_AND_ASSIGN(auto held, pool.Acquire());
  std::atomic<bool> got{false};
  std::thread waiter([&] {
    auto conn = pool.Acquire();
    got = conn.ok();
    if (conn.ok()) pool.Release(std::move(*conn));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(got) << "took a connection beyond the limit";
  pool.Release(std::move(held));
  waiter.join();
  EXPECT_TRUE(got);
  EXPECT_EQ(opened, 0);
}

TEST(ConnectionPoolTest, ABrokenOrUnopenedConnectionFreesItsPlace) {
  int calls = 0;
  ConnectionPool<FakeConn> pool(
      1,
      [&]() -> absl::StatusOr<std::unique_ptr<FakeConn>> {
        if (++calls == 1) return absl::UnavailableError("refused");
        return std::make_unique<FakeConn>(FakeConn{calls});
      },
      std::make_unique<FakeConn>());
  ASSERT_OK_AND_ASSIGN(auto conn, pool.Acquire());
  pool.Release(nullptr);  // broke
  EXPECT_THAT(pool.Acquire(), StatusIs(absl::StatusCode::kUnavailable, HasSubstr("refused")));
  ASSERT_OK_AND_ASSIGN(conn, pool.Acquire());
  EXPECT_EQ(conn->id, 2);
}

}  // namespace
}  // namespace wod::store
