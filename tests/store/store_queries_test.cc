// Contract tests of the store's hot-path queries and guarded verbs, on both stores: this file
// is compiled twice, store_queries_test on SQLite and store_queries_pg_test
// (WOD_STORE_TEST_POSTGRES, label `postgres`) on a fresh PostgreSQL database per test.
//   - ApplyVerbIfHeldBy ends only the expected registration: a seat that changed hands
//     between a caller's look and its verb is left alone (the interleaving is played out).
//   - ListWorkshopOccupancy counts seats and occupied seats per workshop.
//   - GetActiveRegistrationByEmail finds the active registration of an address.
//   - CountNotifications counts the outbox by (kind, state) with attempts and claims.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/store.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::store {
namespace {

using ::testing::ElementsAre;
using wod::testing::StatusIs;

enum class Backend { kSqlite, kPostgres };

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
constexpr char kLoc[] = "loc-q";

model::Workshop MakeWorkshop(const std::string& id, int min, int max, int capacity) {
  model::Workshop w;
  w.id = id;
  w.name = "Workshop " + id;
  w.active = true;
  w.capacity = capacity;
  w.range = {min, max};
  w.duration_hours = 4;
  w.location = kLoc;
  return w;
}

RegisterRequest Req(const std::string& workshop, const std::string& email) {
  RegisterRequest r;
  r.workshop = workshop;
  r.email = email;
  r.name = "Name";
  r.company = "ACME";
  r.now = kNow;
  return r;
}

class StoreQueriesTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
      auto db = testing::PgScratchDb::Create(base, "wod_queries");
      ASSERT_OK(db);
      db_ = std::move(db).value();
    } else {
      auto db = testing::SqliteScratchDb::Create();
      ASSERT_OK(db);
      db_ = std::move(db).value();
    }
    ASSERT_OK_AND_ASSIGN(store_, OpenStore(db_->url()));
    ASSERT_OK(store_->UpsertCatalog(
        {MakeWorkshop("WKSHP-A", 1, 3, 3), MakeWorkshop("WKSHP-B", 10, 14, 2)}));
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  std::unique_ptr<testing::ScratchDb> db_;
  std::unique_ptr<Store> store_;
};

// --- guarded verbs ---

TEST_P(StoreQueriesTest, GuardedCleanupEndsTheExpectedRegistration) {
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store_->Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(VerbResult r,
                       store_->ApplyVerbIfHeldBy(model::Verb::kCleanup, kLoc, a.seat.number,
                                                 a.registration.id, kNow + absl::Minutes(1)));
  EXPECT_TRUE(r.changed);
  ASSERT_TRUE(r.registration.has_value());
  EXPECT_EQ(r.registration->id, a.registration.id);
  EXPECT_EQ(r.registration->state, model::RegistrationState::kEnded);
  EXPECT_FALSE(r.seat.registration_id.has_value());
}

TEST_P(StoreQueriesTest, GuardedPurgeMarksTheExpectedRegistrationFailed) {
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store_->Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(VerbResult r,
                       store_->ApplyVerbIfHeldBy(model::Verb::kPurge, kLoc, a.seat.number,
                                                 a.registration.id, kNow + absl::Minutes(10)));
  EXPECT_TRUE(r.changed);
  ASSERT_TRUE(r.registration.has_value());
  EXPECT_EQ(r.registration->state, model::RegistrationState::kFailed);
}

// The race the guard closes: a caller (the lifecycle at a deadline, a participant ending
// early) reads that registration A holds seat 1; before its verb runs, A is ended by someone
// else and B takes the same seat. The caller's verb, meant for A, must not touch B.
TEST_P(StoreQueriesTest, GuardedVerbLeavesASeatThatChangedHandsAlone) {
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store_->Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(SeatView looked, store_->GetSeat(kLoc, a.seat.number));
  ASSERT_EQ(looked.seat.registration_id, a.registration.id);
  // Meanwhile: an admin ends A, and B registers onto the freed seat (the lowest free one).
  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, kLoc, a.seat.number, kNow));
  ASSERT_OK_AND_ASSIGN(RegisterResult b, store_->Register(Req("WKSHP-A", "b@example.com")));
  ASSERT_EQ(b.seat.number, a.seat.number);
  ASSERT_OK_AND_ASSIGN(SeatView before, store_->GetSeat(kLoc, a.seat.number));

  for (model::Verb verb : {model::Verb::kCleanup, model::Verb::kPurge, model::Verb::kReset}) {
    ASSERT_OK_AND_ASSIGN(VerbResult r, store_->ApplyVerbIfHeldBy(verb, kLoc, a.seat.number,
                                                                 a.registration.id, kNow));
    EXPECT_FALSE(r.changed) << model::VerbName(verb);
    EXPECT_FALSE(r.registration.has_value()) << model::VerbName(verb);
    EXPECT_EQ(r.seat.registration_id, b.registration.id);
  }
  ASSERT_OK_AND_ASSIGN(SeatView after, store_->GetSeat(kLoc, a.seat.number));
  EXPECT_EQ(after.seat, before.seat);  // same occupant, password, generation, reset epoch
  ASSERT_OK_AND_ASSIGN(model::Registration rb, store_->GetRegistration(b.registration.id));
  EXPECT_EQ(rb.state, model::RegistrationState::kActive);
}

TEST_P(StoreQueriesTest, GuardedVerbOnAVacantOrUnknownSeat) {
  ASSERT_OK_AND_ASSIGN(VerbResult r,
                       store_->ApplyVerbIfHeldBy(model::Verb::kCleanup, kLoc, 2, 1, kNow));
  EXPECT_FALSE(r.changed);
  EXPECT_THAT(store_->ApplyVerbIfHeldBy(model::Verb::kCleanup, kLoc, 99, 1, kNow),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store_->ApplyVerbIfHeldBy(model::Verb::kCreate, kLoc, 1, 1, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

// --- occupancy ---

TEST_P(StoreQueriesTest, OccupancyCountsSeatsAndOccupiedSeatsPerWorkshop) {
  ASSERT_OK_AND_ASSIGN(auto empty, store_->ListWorkshopOccupancy());
  EXPECT_THAT(empty,
              ElementsAre(WorkshopOccupancy{"WKSHP-A", 3, 0}, WorkshopOccupancy{"WKSHP-B", 5, 0}));
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store_->Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK(store_->Register(Req("WKSHP-A", "b@example.com")));
  ASSERT_OK(store_->Register(Req("WKSHP-B", "c@example.com")));
  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, kLoc, a.seat.number, kNow));
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListWorkshopOccupancy());
  EXPECT_THAT(all,
              ElementsAre(WorkshopOccupancy{"WKSHP-A", 3, 1}, WorkshopOccupancy{"WKSHP-B", 5, 1}));
  ASSERT_OK_AND_ASSIGN(auto one, store_->ListWorkshopOccupancy("WKSHP-B"));
  EXPECT_THAT(one, ElementsAre(WorkshopOccupancy{"WKSHP-B", 5, 1}));
  ASSERT_OK_AND_ASSIGN(auto none, store_->ListWorkshopOccupancy("WKSHP-Nope"));
  EXPECT_TRUE(none.empty());
}

// The aggregate agrees with the seat listing it replaces, across registrations and verbs.
TEST_P(StoreQueriesTest, OccupancyMatchesTheSeatListing) {
  for (int i = 0; i < 4; ++i) {
    (void)store_->Register(Req(i % 2 ? "WKSHP-A" : "WKSHP-B", absl::StrCat("p", i, "@x.org")));
  }
  ASSERT_OK(store_->ApplyVerb(model::Verb::kPurge, kLoc, 10, kNow));
  ASSERT_OK_AND_ASSIGN(auto seats, store_->ListSeats());
  std::map<std::string, WorkshopOccupancy> expected;
  for (const SeatView& v : seats) {
    WorkshopOccupancy& o = expected[v.seat.workshop];
    o.workshop = v.seat.workshop;
    ++o.seats;
    if (v.seat.registration_id) ++o.occupied;
  }
  ASSERT_OK_AND_ASSIGN(auto got, store_->ListWorkshopOccupancy());
  ASSERT_EQ(got.size(), expected.size());
  for (const WorkshopOccupancy& o : got) EXPECT_EQ(o, expected[o.workshop]);
}

// --- active registration by email ---

TEST_P(StoreQueriesTest, ActiveRegistrationByEmailIsFoundNormalizedAndOnlyWhileActive) {
  EXPECT_THAT(store_->GetActiveRegistrationByEmail("ada@example.com"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store_->Register(Req("WKSHP-A", "Ada@Example.com")));
  ASSERT_OK_AND_ASSIGN(model::Registration r,
                       store_->GetActiveRegistrationByEmail("  ADA@example.COM "));
  EXPECT_EQ(r.id, a.registration.id);
  EXPECT_EQ(r.deadline, a.registration.deadline);
  auto other = store_->GetActiveRegistrationByEmail("bob@example.com");
  EXPECT_THAT(other, StatusIs(absl::StatusCode::kNotFound));
  EXPECT_EQ(std::string(other.status().message()).find("bob"), std::string::npos);

  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, kLoc, a.seat.number, kNow));
  EXPECT_THAT(store_->GetActiveRegistrationByEmail("ada@example.com"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(RegisterResult again, store_->Register(Req("WKSHP-B", "ada@example.com")));
  ASSERT_OK_AND_ASSIGN(r, store_->GetActiveRegistrationByEmail("ada@example.com"));
  EXPECT_EQ(r.id, again.registration.id);
  EXPECT_EQ(r.workshop, "WKSHP-B");
}

// --- notification counts ---

model::Notification Mail(const std::string& key, const std::string& kind) {
  model::Notification n;
  n.key = key;
  n.kind = kind;
  n.recipient = "ada@example.com";
  n.subject = "s";
  n.text_body = "a long body that the counts never load";
  n.next_attempt = absl::InfinitePast();
  return n;
}

TEST_P(StoreQueriesTest, NotificationCountsByKindAndStateWithAttempts) {
  ASSERT_OK_AND_ASSIGN(auto none, store_->CountNotifications());
  EXPECT_TRUE(none.empty());
  for (const auto& [key, kind] :
       std::vector<std::pair<std::string, std::string>>{{"1:welcome", "welcome"},
                                                        {"2:welcome", "welcome"},
                                                        {"3:welcome", "welcome"},
                                                        {"1:credentials", "credentials"},
                                                        {"2:credentials", "credentials"}}) {
    ASSERT_OK(store_->EnqueueNotification(Mail(key, kind)));
  }
  // Claim everything: 5 attempts. Welcome 1 sent, welcome 2 failed for good, welcome 3
  // retried and claimed again (2 attempts, in flight); credentials 1 sent on its first
  // attempt, credentials 2 left claimed (in flight).
  ASSERT_OK_AND_ASSIGN(auto claimed, store_->ClaimNotifications(10, kNow, absl::Minutes(2)));
  ASSERT_EQ(claimed.size(), 5u);
  std::map<std::string, int64_t> id;
  for (const auto& n : claimed) id[n.key] = n.id;
  ASSERT_OK(store_->MarkNotificationSent(id["1:welcome"], kNow));
  ASSERT_OK(store_->MarkNotificationFailed(id["2:welcome"], "refused", std::nullopt));
  ASSERT_OK(store_->MarkNotificationFailed(id["3:welcome"], "down", kNow + absl::Seconds(30)));
  ASSERT_OK(store_->MarkNotificationSent(id["1:credentials"], kNow));
  ASSERT_OK_AND_ASSIGN(auto again,
                       store_->ClaimNotifications(10, kNow + absl::Minutes(1), absl::Minutes(2)));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, "3:welcome");

  using S = model::NotificationState;
  ASSERT_OK_AND_ASSIGN(auto counts, store_->CountNotifications());
  EXPECT_THAT(counts, ElementsAre(NotificationCount{"credentials", S::kPending, 1, 1, 1},
                                  NotificationCount{"credentials", S::kSent, 1, 1, 0},
                                  NotificationCount{"welcome", S::kFailed, 1, 1, 0},
                                  NotificationCount{"welcome", S::kPending, 1, 2, 1},
                                  NotificationCount{"welcome", S::kSent, 1, 1, 0}));
}

// --- the participant token nonce (migration 6) ---

TEST_P(StoreQueriesTest, AGivenTokenIsStoredOnlyAsItsHashBesideItsNonce) {
  RegisterRequest req = Req("WKSHP-A", "a@example.com");
  req.token = std::string(64, 'a');
  req.token_nonce = "0badcafe.0123";
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store_->Register(req));
  EXPECT_EQ(a.token, req.token);
  EXPECT_EQ(a.registration.token_nonce, "0badcafe.0123");
  ASSERT_OK_AND_ASSIGN(model::Registration by_token, store_->GetRegistrationByToken(req.token));
  EXPECT_EQ(by_token.id, a.registration.id);
  EXPECT_EQ(by_token.token_nonce, "0badcafe.0123");
  EXPECT_NE(by_token.token_hash, req.token);
  ASSERT_OK_AND_ASSIGN(auto all, store_->ListRegistrations());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].token_nonce, "0badcafe.0123");
  ASSERT_OK_AND_ASSIGN(SeatView seat, store_->GetSeat(kLoc, a.seat.number));
  ASSERT_TRUE(seat.registration.has_value());
  EXPECT_EQ(seat.registration->token_nonce, "0badcafe.0123");

  // Without a token: a random one and no nonce, as before.
  ASSERT_OK_AND_ASSIGN(RegisterResult b, store_->Register(Req("WKSHP-B", "b@example.com")));
  EXPECT_EQ(b.registration.token_nonce, "");
  EXPECT_EQ(b.token.size(), 48u);
  EXPECT_NE(b.token, req.token);
}

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

#ifdef WOD_STORE_TEST_POSTGRES
INSTANTIATE_TEST_SUITE_P(Postgres, StoreQueriesTest, ::testing::Values(Backend::kPostgres),
                         BackendName);
#else
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreQueriesTest, ::testing::Values(Backend::kSqlite),
                         BackendName);
#endif

}  // namespace
}  // namespace wod::store
