// The lifecycle's deadline CLEANUP and ready-timeout PURGE end only the registration they were
// planned for. A store wrapper plays the race out between the pass's load and its verb: the
// planned registration is ended by an admin and a new participant takes the same seat. The
// verb must then change nothing (counted as skipped), on SQLite and PostgreSQL (label
// postgres for the second suite).
#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/lifecycle.h"
#include "drivers/mail/mail_fake.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::controller {
namespace {

using model::Registration;
using store::Store;

// Delegates every call to a real store; runs `before_guarded_verb` once, just before the first
// ApplyVerbIfHeldBy reaches it.
class RacingStore final : public Store {
 public:
  explicit RacingStore(Store* s) : s_(s) {}
  std::function<void()> before_guarded_verb;

  absl::StatusOr<store::VerbResult> ApplyVerbIfHeldBy(model::Verb verb, const std::string& location,
                                                      int number, int64_t expected,
                                                      absl::Time now) override {
    if (before_guarded_verb) {
      auto hook = std::move(before_guarded_verb);
      before_guarded_verb = nullptr;
      hook();
    }
    return s_->ApplyVerbIfHeldBy(verb, location, number, expected, now);
  }

  absl::StatusOr<store::CatalogChange> UpsertCatalog(
      const std::vector<model::Workshop>& w) override {
    return s_->UpsertCatalog(w);
  }
  absl::StatusOr<std::vector<model::Workshop>> ListWorkshops() override {
    return s_->ListWorkshops();
  }
  absl::StatusOr<model::Workshop> GetWorkshop(const std::string& id) override {
    return s_->GetWorkshop(id);
  }
  absl::Status UpsertLocation(const model::Location& l) override { return s_->UpsertLocation(l); }
  absl::StatusOr<std::vector<store::LocationHealth>> ListLocationHealth(absl::Time now) override {
    return s_->ListLocationHealth(now);
  }
  absl::StatusOr<store::RegisterResult> MoveRegistration(int64_t id, const std::string& location,
                                                         int seat, absl::Time now) override {
    return s_->MoveRegistration(id, location, seat, now);
  }
  absl::StatusOr<std::vector<model::Location>> ListLocations() override {
    return s_->ListLocations();
  }
  absl::StatusOr<store::RegisterResult> Register(const store::RegisterRequest& r) override {
    return s_->Register(r);
  }
  absl::StatusOr<std::vector<store::SeatView>> ListSeats(
      const std::optional<std::string>& l) override {
    return s_->ListSeats(l);
  }
  absl::StatusOr<store::SeatView> GetSeat(const std::string& l, int n) override {
    return s_->GetSeat(l, n);
  }
  absl::StatusOr<Registration> GetRegistration(int64_t id) override {
    return s_->GetRegistration(id);
  }
  absl::StatusOr<Registration> GetRegistrationByToken(const std::string& t) override {
    return s_->GetRegistrationByToken(t);
  }
  absl::StatusOr<std::vector<Registration>> ListRegistrations(
      std::optional<model::RegistrationState> st) override {
    return s_->ListRegistrations(st);
  }
  absl::StatusOr<store::VerbResult> ApplyVerb(model::Verb v, const std::string& l, int n,
                                              absl::Time now) override {
    return s_->ApplyVerb(v, l, n, now);
  }
  absl::StatusOr<Registration> Extend(int64_t id, absl::Time d) override {
    return s_->Extend(id, d);
  }
  absl::StatusOr<bool> RecordHarvest(int64_t id, const std::string& p) override {
    return s_->RecordHarvest(id, p);
  }
  absl::Status PutSeatStatus(const store::SeatStatus& st, const std::string& lease,
                             int64_t epoch) override {
    return s_->PutSeatStatus(st, lease, epoch);
  }
  absl::StatusOr<std::vector<store::SeatStatus>> ListSeatStatus(
      const std::optional<std::string>& l) override {
    return s_->ListSeatStatus(l);
  }
  absl::Status AppendEvent(const store::Event& e) override { return s_->AppendEvent(e); }
  absl::StatusOr<std::vector<store::Event>> ListEvents(const std::optional<std::string>& l,
                                                       int limit) override {
    return s_->ListEvents(l, limit);
  }
  absl::StatusOr<store::Lease> AcquireLease(const std::string& name, const std::string& holder,
                                            absl::Duration ttl, absl::Time now) override {
    return s_->AcquireLease(name, holder, ttl, now);
  }
  absl::Status ReleaseLease(const std::string& name, const std::string& holder) override {
    return s_->ReleaseLease(name, holder);
  }
  absl::StatusOr<bool> EnqueueNotification(const model::Notification& n) override {
    return s_->EnqueueNotification(n);
  }
  absl::StatusOr<std::vector<model::Notification>> ClaimNotifications(int limit, absl::Time now,
                                                                      absl::Duration ttl) override {
    return s_->ClaimNotifications(limit, now, ttl);
  }
  absl::Status MarkNotificationSent(int64_t id, absl::Time now) override {
    return s_->MarkNotificationSent(id, now);
  }
  absl::Status MarkNotificationFailed(int64_t id, const std::string& error,
                                      std::optional<absl::Time> retry_at) override {
    return s_->MarkNotificationFailed(id, error, retry_at);
  }
  absl::StatusOr<std::vector<model::Notification>> ListNotifications() override {
    return s_->ListNotifications();
  }

 private:
  Store* s_;
};

enum class Backend { kSqlite, kPostgres };

class LifecycleRaceTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
      ASSERT_OK_AND_ASSIGN(db_, store::testing::PgScratchDb::Create(base, "wod_lc_race"));
    } else {
      ASSERT_OK_AND_ASSIGN(db_, store::testing::SqliteScratchDb::Create());
    }
    ASSERT_OK_AND_ASSIGN(real_, store::OpenStore(db_->url()));
    // One seat: whoever registers next takes the seat just vacated.
    ASSERT_OK(real_->UpsertCatalog({api::testing::MakeWorkshop("WKSHP-Race", 1, 1, 1)}));
    racing_ = std::make_unique<RacingStore>(real_.get());
    LifecycleOptions o;
    o.holder = "test";
    o.jitter = [] { return 1.0; };
    lifecycle_ = std::make_unique<Lifecycle>(racing_.get(), &sender_, o, &clock_);
  }
  void TearDown() override {
    lifecycle_.reset();
    racing_.reset();
    real_.reset();
    db_.reset();
  }

  store::RegisterResult Register(const std::string& email) {
    store::RegisterRequest r;
    r.workshop = "WKSHP-Race";
    r.email = email;
    r.name = "N";
    r.now = clock_.Now();
    auto out = real_->Register(r);
    EXPECT_OK(out);
    return *out;
  }

  // The race: `first` is ended by an admin and `email` takes its seat.
  void RaceBeforeTheVerb(const store::RegisterResult& first, const std::string& email,
                         store::RegisterResult* second) {
    racing_->before_guarded_verb = [this, first, email, second] {
      ASSERT_OK(real_->ApplyVerb(model::Verb::kCleanup, "loc-a", first.seat.number, clock_.Now()));
      *second = Register(email);
      ASSERT_EQ(second->seat.number, first.seat.number);
    };
  }

  void ExpectUntouched(const store::RegisterResult& second) {
    ASSERT_OK_AND_ASSIGN(Registration r, real_->GetRegistration(second.registration.id));
    EXPECT_EQ(r.state, model::RegistrationState::kActive);
    ASSERT_OK_AND_ASSIGN(store::SeatView seat, real_->GetSeat("loc-a", second.seat.number));
    EXPECT_EQ(seat.seat.registration_id, second.registration.id);
    EXPECT_EQ(seat.seat.password, second.seat.password);
    ASSERT_OK_AND_ASSIGN(auto events, real_->ListEvents(std::nullopt, 0));
    for (const auto& e : events) {
      EXPECT_NE(e.kind, "lifecycle.cleanup");
      EXPECT_NE(e.kind, "lifecycle.purge");
    }
  }

  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<Store> real_;
  std::unique_ptr<RacingStore> racing_;
  drivers::FakeMailSender sender_;
  common::FakeClock clock_;
  std::unique_ptr<Lifecycle> lifecycle_;
};

TEST_P(LifecycleRaceTest, DeadlineCleanupSkipsASeatThatChangedHands) {
  const store::RegisterResult first = Register("first@example.com");
  clock_.Advance(absl::Hours(4));  // the workshop's duration: the deadline is now
  store::RegisterResult second;
  RaceBeforeTheVerb(first, "second@example.com", &second);
  ASSERT_OK_AND_ASSIGN(LifecycleRunResult run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.cleanups, 0);
  EXPECT_EQ(run.skipped, 1);
  EXPECT_EQ(run.errors, 0);
  ExpectUntouched(second);
}

TEST_P(LifecycleRaceTest, ReadyTimeoutPurgeSkipsASeatThatChangedHands) {
  const store::RegisterResult first = Register("first@example.com");
  clock_.Advance(absl::Minutes(11));  // never Ready, past the 10-minute timeout
  store::RegisterResult second;
  RaceBeforeTheVerb(first, "second@example.com", &second);
  ASSERT_OK_AND_ASSIGN(LifecycleRunResult run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.purges, 0);
  EXPECT_EQ(run.skipped, 1);
  ExpectUntouched(second);
}

// Without the race the same pass does end the registration: the guard is not what stops it.
TEST_P(LifecycleRaceTest, WithoutTheRaceTheDeadlineCleanupEndsTheRegistration) {
  const store::RegisterResult first = Register("first@example.com");
  clock_.Advance(absl::Hours(4));
  ASSERT_OK_AND_ASSIGN(LifecycleRunResult run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.cleanups, 1);
  EXPECT_EQ(run.skipped, 0);
  ASSERT_OK_AND_ASSIGN(Registration r, real_->GetRegistration(first.registration.id));
  EXPECT_EQ(r.state, model::RegistrationState::kEnded);
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

#ifdef WOD_LIFECYCLE_TEST_POSTGRES
INSTANTIATE_TEST_SUITE_P(Postgres, LifecycleRaceTest, ::testing::Values(Backend::kPostgres),
                         BackendName);
#else
INSTANTIATE_TEST_SUITE_P(Sqlite, LifecycleRaceTest, ::testing::Values(Backend::kSqlite),
                         BackendName);
#endif

}  // namespace
}  // namespace wod::controller
