// Live progress in the seat status and the controllers' pass statistics (migration 5), on
// every backend. Compiled twice like the contract suite: store_progress_test on SQLite (a temp
// file per test) and store_progress_pg_test (WOD_STORE_TEST_POSTGRES, label `postgres`) on a
// fresh database per test on the server of WOD_TEST_PG_URL.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>

#include "store/migrations.h"
#include "store/sql_db.h"
#include "store/store.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using wod::testing::StatusIs;

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
constexpr char kLoc[] = "loc-a";
constexpr char kLease[] = "controller/loc-a";
constexpr char kProgress[] =
    R"({"notebooks":[{"file":"WKSHP-X/1-Lab.ipynb","code_cells":4,"baseline_executed":1,)"
    R"("executed":2,"readable":true}],"total":{"notebooks":1,"unreadable":0,"code_cells":4,)"
    R"("baseline_executed":1,"executed":2}})";

class StoreProgressTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
      ASSERT_OK_AND_ASSIGN(db_, testing::PgScratchDb::Create(base, "wod_test_progress"));
    } else {
      ASSERT_OK_AND_ASSIGN(db_, testing::SqliteScratchDb::Create());
    }
    ASSERT_OK_AND_ASSIGN(store_, OpenStore(db_->url()));
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  absl::StatusOr<std::unique_ptr<SqlDb>> OpenRaw() {
    return GetParam() == Backend::kSqlite ? OpenSqliteDb(db_->url().substr(7))
                                          : OpenPostgresDb(db_->url());
  }

  Store& store() { return *store_; }

  SeatStatus Status(int number) {
    SeatStatus s;
    s.location = kLoc;
    s.number = number;
    s.observed_generation = 2;
    s.phase = model::Phase::kReady;
    s.conditions = {{"ContentReady", model::ConditionStatus::kTrue, "Converged", "", kNow}};
    s.updated = kNow;
    return s;
  }

  std::unique_ptr<testing::ScratchDb> db_;
  std::unique_ptr<Store> store_;
};

TEST_P(StoreProgressTest, SeatStatusKeepsLiveProgressAndLastActivityAndClearsThem) {
  ASSERT_OK_AND_ASSIGN(Lease l, store().AcquireLease(kLease, "ctl", absl::Minutes(1), kNow));
  SeatStatus s = Status(3);
  s.progress_registration = 17;
  s.progress_json = kProgress;
  s.last_activity = kNow - absl::Seconds(42);
  SeatStatus plain = Status(4);  // no progress observed: the defaults come back
  ASSERT_OK(store().PutSeatStatus(s, kLease, l.epoch));
  ASSERT_OK(store().PutSeatStatus(plain, kLease, l.epoch));
  ASSERT_OK_AND_ASSIGN(auto stored, store().ListSeatStatus(std::string(kLoc)));
  EXPECT_THAT(stored, ElementsAre(s, plain));
  ASSERT_EQ(stored.size(), 2u);
  EXPECT_EQ(stored[0].progress_json, kProgress) << "stored byte for byte";
  EXPECT_FALSE(stored[1].last_activity.has_value());

  // The seat changes hands: the controller writes the status without progress.
  s.progress_registration = 0;
  s.progress_json.clear();
  s.last_activity.reset();
  s.phase = model::Phase::kVacating;
  ASSERT_OK(store().PutSeatStatus(s, kLease, l.epoch));
  ASSERT_OK_AND_ASSIGN(stored, store().ListSeatStatus(std::string(kLoc)));
  EXPECT_THAT(stored, ElementsAre(s, plain));
}

TEST_P(StoreProgressTest, OneSeatStatusIsReadWithItsProgressOrNotFound) {
  ASSERT_OK_AND_ASSIGN(Lease l, store().AcquireLease(kLease, "ctl", absl::Minutes(1), kNow));
  SeatStatus s = Status(3);
  s.progress_registration = 17;
  s.progress_json = kProgress;
  s.last_activity = kNow - absl::Seconds(1);
  SeatStatus other = Status(3);
  other.location = "loc-b";
  ASSERT_OK(store().PutSeatStatus(s, kLease, l.epoch));
  ASSERT_OK(store().PutSeatStatus(other, kLease, l.epoch));
  ASSERT_OK(store().PutSeatStatus(Status(4), kLease, l.epoch));
  ASSERT_OK_AND_ASSIGN(SeatStatus got, store().GetSeatStatus(kLoc, 3));
  EXPECT_EQ(got, s);
  ASSERT_OK_AND_ASSIGN(got, store().GetSeatStatus("loc-b", 3));
  EXPECT_EQ(got, other);
  EXPECT_THAT(store().GetSeatStatus(kLoc, 5), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().GetSeatStatus("loc-z", 3), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreProgressTest, SeatProgressThatIsNotJsonIsRefusedAndNothingIsWritten) {
  ASSERT_OK_AND_ASSIGN(Lease l, store().AcquireLease(kLease, "ctl", absl::Minutes(1), kNow));
  SeatStatus s = Status(1);
  s.progress_json = "{\"notebooks\": [";
  EXPECT_THAT(store().PutSeatStatus(s, kLease, l.epoch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not JSON")));
  ASSERT_OK_AND_ASSIGN(auto stored, store().ListSeatStatus());
  EXPECT_TRUE(stored.empty());
}

TEST_P(StoreProgressTest, ProgressOfAControllerThatLostItsLeaseDoesNotLand) {
  ASSERT_OK_AND_ASSIGN(Lease old, store().AcquireLease(kLease, "ctl-1", absl::Seconds(30), kNow));
  SeatStatus s = Status(1);
  s.progress_registration = 5;
  s.progress_json = kProgress;
  ASSERT_OK(store().PutSeatStatus(s, kLease, old.epoch));
  ASSERT_OK_AND_ASSIGN(Lease taken, store().AcquireLease(kLease, "ctl-2", absl::Seconds(30),
                                                         kNow + absl::Seconds(31)));
  SeatStatus stale = s;
  stale.progress_json = R"({"notebooks":[],"total":{}})";
  stale.last_activity = kNow;
  EXPECT_THAT(store().PutSeatStatus(stale, kLease, old.epoch),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK_AND_ASSIGN(auto stored, store().ListSeatStatus());
  EXPECT_THAT(stored, ElementsAre(s));
  ASSERT_OK(store().PutSeatStatus(stale, kLease, taken.epoch));
  ASSERT_OK_AND_ASSIGN(stored, store().ListSeatStatus());
  EXPECT_THAT(stored, ElementsAre(stale));
}

TEST_P(StoreProgressTest, PassesAreCountedPerLocationWithLastAndTotalDuration) {
  ASSERT_OK_AND_ASSIGN(auto none, store().ListPassStats());
  EXPECT_TRUE(none.empty());
  ASSERT_OK_AND_ASSIGN(Lease a, store().AcquireLease(kLease, "ctl-a", absl::Minutes(1), kNow));
  ASSERT_OK_AND_ASSIGN(Lease b,
                       store().AcquireLease("controller/loc-b", "ctl-b", absl::Minutes(1), kNow));
  ASSERT_OK(store().RecordPass(kLoc, absl::Milliseconds(12), kNow, kLease, a.epoch));
  ASSERT_OK(store().RecordPass(kLoc, absl::Microseconds(30'500), kNow + absl::Seconds(15), kLease,
                               a.epoch));
  ASSERT_OK(store().RecordPass("loc-b", absl::Milliseconds(7), kNow + absl::Seconds(1),
                               "controller/loc-b", b.epoch));
  ASSERT_OK(
      store().RecordPass(kLoc, absl::ZeroDuration(), kNow + absl::Seconds(30), kLease, a.epoch));

  ASSERT_OK_AND_ASSIGN(auto all, store().ListPassStats());
  PassStats want_a{kLoc, 3, absl::ZeroDuration(), absl::Microseconds(42'500),
                   kNow + absl::Seconds(30)};
  PassStats want_b{"loc-b", 1, absl::Milliseconds(7), absl::Milliseconds(7),
                   kNow + absl::Seconds(1)};
  EXPECT_THAT(all, ElementsAre(want_a, want_b));
  ASSERT_OK_AND_ASSIGN(auto only_b, store().ListPassStats(std::string("loc-b")));
  EXPECT_THAT(only_b, ElementsAre(want_b));
  ASSERT_OK_AND_ASSIGN(auto unknown, store().ListPassStats(std::string("loc-z")));
  EXPECT_TRUE(unknown.empty());
}

TEST_P(StoreProgressTest, PassOfAStaleOrReleasedLeaseIsNotCounted) {
  EXPECT_THAT(store().RecordPass(kLoc, absl::Milliseconds(1), kNow, kLease, 1),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("does not exist")));
  ASSERT_OK_AND_ASSIGN(Lease old, store().AcquireLease(kLease, "ctl-1", absl::Seconds(30), kNow));
  ASSERT_OK(store().RecordPass(kLoc, absl::Milliseconds(5), kNow, kLease, old.epoch));
  ASSERT_OK_AND_ASSIGN(Lease taken, store().AcquireLease(kLease, "ctl-2", absl::Seconds(30),
                                                         kNow + absl::Seconds(31)));
  EXPECT_THAT(
      store().RecordPass(kLoc, absl::Milliseconds(9), kNow + absl::Seconds(32), kLease, old.epoch),
      StatusIs(absl::StatusCode::kAborted, HasSubstr("another holder")));
  ASSERT_OK(store().ReleaseLease(kLease, "ctl-2"));
  EXPECT_THAT(store().RecordPass(kLoc, absl::Milliseconds(9), kNow + absl::Seconds(33), kLease,
                                 taken.epoch),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("released")));
  ASSERT_OK_AND_ASSIGN(auto stats, store().ListPassStats());
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].passes, 1);
  EXPECT_EQ(stats[0].last_duration, absl::Milliseconds(5));
}

TEST_P(StoreProgressTest, PassWithoutLocationOrWithANegativeDurationIsRefused) {
  ASSERT_OK_AND_ASSIGN(Lease l, store().AcquireLease(kLease, "ctl", absl::Minutes(1), kNow));
  EXPECT_THAT(store().RecordPass("", absl::Milliseconds(1), kNow, kLease, l.epoch),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store().RecordPass(kLoc, absl::Milliseconds(-1), kNow, kLease, l.epoch),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto stats, store().ListPassStats());
  EXPECT_TRUE(stats.empty());
}

// A store at version 4 with seat status rows: migration 5 keeps them, without progress.
TEST_P(StoreProgressTest, MigratingFromVersion4KeepsSeatStatusWithoutProgress) {
  std::unique_ptr<testing::ScratchDb> old;
  std::unique_ptr<SqlDb> db;
  if (GetParam() == Backend::kPostgres) {
    ASSERT_OK_AND_ASSIGN(
        old, testing::PgScratchDb::Create(std::getenv("WOD_TEST_PG_URL"), "wod_test_v4"));
    ASSERT_OK_AND_ASSIGN(db, OpenPostgresDb(old->url()));
  } else {
    ASSERT_OK_AND_ASSIGN(old, testing::SqliteScratchDb::Create());
    ASSERT_OK_AND_ASSIGN(db, OpenSqliteDb(old->url().substr(7)));
  }
  ASSERT_OK(Migrate(*db, 4));
  ASSERT_OK(db->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
    return tx
        .Exec(
            "INSERT INTO seat_status (location, number, observed_generation, phase, "
            "conditions_json, last_error, updated_us, lease_name, lease_epoch) VALUES "
            "($1, 7, 3, 'Ready', '[]', '', $2, $3, 1)",
            {kLoc, int64_t{1'800'000'000'000'000}, kLease})
        .status();
  }));
  db.reset();
  ASSERT_OK_AND_ASSIGN(auto migrated, OpenStore(old->url()));
  ASSERT_OK_AND_ASSIGN(auto stored, migrated->ListSeatStatus());
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].number, 7);
  EXPECT_EQ(stored[0].phase, model::Phase::kReady);
  EXPECT_EQ(stored[0].updated, kNow);
  EXPECT_EQ(stored[0].progress_registration, 0);
  EXPECT_EQ(stored[0].progress_json, "");
  EXPECT_FALSE(stored[0].last_activity.has_value());
  ASSERT_OK_AND_ASSIGN(auto stats, migrated->ListPassStats());
  EXPECT_TRUE(stats.empty());
}

#ifdef WOD_STORE_TEST_POSTGRES
INSTANTIATE_TEST_SUITE_P(Postgres, StoreProgressTest, ::testing::Values(Backend::kPostgres),
                         BackendName);
#else
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreProgressTest, ::testing::Values(Backend::kSqlite),
                         BackendName);
#endif

}  // namespace
}  // namespace wod::store
