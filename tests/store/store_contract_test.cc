// The store contract: one suite, run unchanged against every backend. This file is compiled
// twice: store_contract_test instantiates it on SQLite (a temp file per test), and
// store_contract_pg_test (WOD_STORE_TEST_POSTGRES, label `postgres`) on a fresh PostgreSQL
// database per test, created on the server of WOD_TEST_PG_URL.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/random.h"
#include "store/migrations.h"
#include "store/sql_db.h"
#include "store/store.h"
#include "store/workshop_json.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::UnorderedElementsAre;
using wod::testing::StatusIs;

enum class Backend { kSqlite, kPostgres };

std::string BackendName(const ::testing::TestParamInfo<Backend>& info) {
  return info.param == Backend::kSqlite ? "Sqlite" : "Postgres";
}

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
constexpr char kLoc[] = "loc-a";

model::Workshop MakeWorkshop(const std::string& id, int min, int max, int capacity,
                             const std::string& location = kLoc, bool active = true) {
  model::Workshop w;
  w.id = id;
  w.name = "Workshop " + id;
  w.active = active;
  w.capacity = capacity;
  w.range = {min, max};
  w.duration_hours = 4;
  w.location = location;
  return w;
}

// A workshop using every field, to prove the stored spec round-trips.
model::Workshop RichWorkshop() {
  model::Workshop w = MakeWorkshop("WKSHP-Rich", 10, 12, 3);
  w.description = "all the fields";
  w.content_dir = "/srv/wod/WKSHP-Rich";
  w.priority = 7;
  w.reset = true;
  w.ldap = true;
  w.replay_id = 42;
  w.varpass = true;
  w.compile = true;
  w.beta = true;
  w.monoappliance = true;
  w.workshop_img = "https://example.com/w.png";
  w.badge_img = "https://example.com/b.png";
  w.category = {"Open Source", "Data"};
  w.presenter = "Ada";
  w.role = "Engineer";
  w.avatar = "ada.png";
  w.replay_link = "https://example.com/replay";
  w.video_link = "https://example.com/video";
  w.notebook = "0-ReadMeFirst.ipynb";
  w.alternate_locations = {"loc-b", "loc-c"};
  model::Appliance a;
  a.name = "redis";
  a.image = "redis:7";
  a.command = {"redis-server", "--save", ""};
  a.ports = {{6379, 16000}, {8001, 17000}};
  a.env = {{"PASSWORD", "{{ PASSSTU }}"}, {"MODE", "x"}};
  a.memory_bytes = 256 << 20;
  a.cpus = 0.5;
  a.privileged = true;
  w.appliances = {a};
  w.variables = {{"SURVEYURL", "https://example.com/s"}};
  return w;
}

RegisterRequest Req(const std::string& workshop, const std::string& email) {
  RegisterRequest r;
  r.workshop = workshop;
  r.email = email;
  r.name = "Name of " + email;
  r.company = "ACME";
  r.now = kNow;
  return r;
}

class StoreContractTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    if (GetParam() == Backend::kPostgres) {
      WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
      auto db = testing::PgScratchDb::Create(base, "wod_test");
      ASSERT_OK(db);
      db_ = std::move(db).value();
    } else {
      auto db = testing::SqliteScratchDb::Create();
      ASSERT_OK(db);
      db_ = std::move(db).value();
    }
    auto store = OpenStore(url());
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }

  void TearDown() override {
    store_.reset();  // closes the pool before the database is dropped
    db_.reset();
  }

  const std::string& url() const { return db_->url(); }
  Store& store() { return *store_; }

  // Reads one integer straight from the database, below the Store interface.
  int64_t QueryInt(const std::string& sql) {
    absl::StatusOr<std::unique_ptr<SqlDb>> db =
        GetParam() == Backend::kSqlite ? OpenSqliteDb(url().substr(7)) : OpenPostgresDb(url());
    EXPECT_OK(db);
    if (!db.ok()) return -1;
    int64_t out = -1;
    EXPECT_OK((*db)->Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query(sql));
      if (!rows.empty()) out = rows[0].Int(0);
      return absl::OkStatus();
    }));
    return out;
  }

  void LoadCatalog(const std::vector<model::Workshop>& workshops) {
    ASSERT_OK(store().UpsertCatalog(workshops));
  }

  std::map<int, model::Seat> SeatsByNumber(const std::string& location = kLoc) {
    std::map<int, model::Seat> out;
    auto seats = store().ListSeats(location);
    EXPECT_OK(seats);
    if (seats.ok()) {
      for (const SeatView& v : *seats) out[v.seat.number] = v.seat;
    }
    return out;
  }

  // The invariants no interleaving of writers may break, checked on the stored rows.
  void ExpectSeatInvariants(const std::string& workshop, int capacity) {
    auto seats = store().ListSeats();
    ASSERT_OK(seats);
    auto active = store().ListRegistrations(model::RegistrationState::kActive);
    ASSERT_OK(active);
    std::set<int64_t> holders;
    for (const SeatView& v : *seats) {
      if (!v.seat.registration_id) continue;
      EXPECT_TRUE(holders.insert(*v.seat.registration_id).second)
          << "registration " << *v.seat.registration_id << " holds two seats";
      ASSERT_TRUE(v.registration.has_value());
      EXPECT_EQ(v.registration->state, model::RegistrationState::kActive);
      EXPECT_EQ(v.registration->seat, v.seat.number);
      EXPECT_EQ(v.registration->location, v.seat.location);
    }
    std::set<std::pair<std::string, int>> seats_held;
    std::set<int64_t> participants;
    int of_workshop = 0;
    for (const model::Registration& r : *active) {
      EXPECT_TRUE(seats_held.insert({r.location, r.seat}).second)
          << "seat " << r.seat << " held by two active registrations";
      EXPECT_TRUE(participants.insert(r.participant_id).second)
          << "participant " << r.participant_id << " holds two active registrations";
      EXPECT_TRUE(holders.count(r.id)) << "active registration " << r.id << " holds no seat";
      if (r.workshop == workshop) ++of_workshop;
    }
    EXPECT_LE(of_workshop, capacity);
    EXPECT_EQ(holders.size(), active->size());
    ExpectSlotInvariants();
    // No workshop holds more capacity slots than its capacity (these tests never lower it).
    EXPECT_EQ(QueryInt("SELECT count(*) FROM workshops w WHERE w.capacity < (SELECT count(*) "
                       "FROM capacity_slots c WHERE c.workshop = w.id AND "
                       "c.registration_id IS NOT NULL)"),
              0);
  }

  // The capacity slots behind the capacity check match the rows: every active registration
  // holds exactly one slot of its own workshop and nothing else holds one; every workshop has
  // the slots 1..slot_count and no free one above; while a slot above slot_count is held (the
  // capacity was lowered below the active count) none up to it is free.
  void ExpectSlotInvariants() {
    EXPECT_EQ(QueryInt("SELECT count(*) FROM registrations r WHERE r.state = 'active' AND "
                       "(SELECT count(*) FROM capacity_slots c WHERE c.registration_id = r.id "
                       "AND c.workshop = r.workshop) <> 1"),
              0)
        << "an active registration holds no slot of its workshop";
    EXPECT_EQ(QueryInt("SELECT count(*) FROM capacity_slots c WHERE c.registration_id IS NOT "
                       "NULL AND NOT EXISTS (SELECT 1 FROM registrations r WHERE r.id = "
                       "c.registration_id AND r.state = 'active')"),
              0)
        << "a slot is held by a registration that is not active";
    EXPECT_EQ(QueryInt("SELECT count(*) FROM workshops w WHERE (SELECT count(*) FROM "
                       "capacity_slots c WHERE c.workshop = w.id AND c.slot <= w.slot_count) <> "
                       "w.slot_count"),
              0)
        << "a workshop lacks some of its slots 1..slot_count";
    EXPECT_EQ(QueryInt("SELECT count(*) FROM capacity_slots c JOIN workshops w ON w.id = "
                       "c.workshop WHERE c.registration_id IS NULL AND c.slot > w.slot_count"),
              0)
        << "a free slot above slot_count";
    EXPECT_EQ(QueryInt("SELECT count(*) FROM workshops w WHERE EXISTS (SELECT 1 FROM "
                       "capacity_slots c WHERE c.workshop = w.id AND c.slot > w.slot_count) AND "
                       "EXISTS (SELECT 1 FROM capacity_slots c WHERE c.workshop = w.id AND "
                       "c.slot <= w.slot_count AND c.registration_id IS NULL)"),
              0)
        << "a slot above slot_count is held while one below is free";
  }

  // The active registrations of `workshop`, counted on the rows.
  int64_t ActiveCount(const std::string& workshop) {
    return QueryInt("SELECT count(*) FROM registrations WHERE state = 'active' AND workshop = '" +
                    workshop + "'");
  }

  std::unique_ptr<testing::ScratchDb> db_;
  std::unique_ptr<Store> store_;
};

// --- catalog ---

TEST_P(StoreContractTest, UpsertCatalogInsertsWorkshopsLocationsAndSeatsOfActiveRanges) {
  ASSERT_OK_AND_ASSIGN(
      CatalogChange change,
      store().UpsertCatalog({MakeWorkshop("WKSHP-B", 4, 5, 2), MakeWorkshop("WKSHP-A", 1, 3, 3),
                             MakeWorkshop("WKSHP-Off", 6, 8, 3, kLoc, /*active=*/false),
                             MakeWorkshop("WKSHP-C", 1, 2, 2, "loc-b")}));
  EXPECT_THAT(change.inserted, ElementsAre("WKSHP-A", "WKSHP-B", "WKSHP-C", "WKSHP-Off"));
  EXPECT_TRUE(change.updated.empty());
  EXPECT_TRUE(change.unchanged.empty());
  EXPECT_EQ(change.seats_added, 7);
  EXPECT_EQ(change.seats_removed, 0);

  auto seats = SeatsByNumber();
  ASSERT_EQ(seats.size(), 5u);
  for (int n : {1, 2, 3}) EXPECT_EQ(seats[n].workshop, "WKSHP-A");
  for (int n : {4, 5}) EXPECT_EQ(seats[n].workshop, "WKSHP-B");
  for (const auto& [n, s] : seats) {
    EXPECT_FALSE(s.registration_id);
    EXPECT_EQ(s.password.size(), 12u) << "vacant seats are locked with a random password";
    EXPECT_EQ(s.generation, 1);
    EXPECT_EQ(s.reset_epoch, 0);
  }
  EXPECT_NE(seats[1].password, seats[2].password);
  EXPECT_EQ(SeatsByNumber("loc-b").size(), 2u);

  ASSERT_OK_AND_ASSIGN(auto locations, store().ListLocations());
  ASSERT_EQ(locations.size(), 2u);
  EXPECT_EQ(locations[0].name, "loc-a");
  EXPECT_EQ(locations[1].name, "loc-b");
}

TEST_P(StoreContractTest, StoredWorkshopSpecRoundTripsEveryField) {
  model::Workshop rich = RichWorkshop();
  LoadCatalog({rich, MakeWorkshop("WKSHP-A", 1, 2, 2)});
  ASSERT_OK_AND_ASSIGN(model::Workshop got, store().GetWorkshop("WKSHP-Rich"));
  EXPECT_EQ(got, rich);
  ASSERT_OK_AND_ASSIGN(auto all, store().ListWorkshops());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].id, "WKSHP-A");
  EXPECT_EQ(all[1], rich);
  EXPECT_THAT(store().GetWorkshop("WKSHP-Nope"),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'WKSHP-Nope'")));
}

TEST_P(StoreContractTest, LoadingTheSameCatalogTwiceChangesNothing) {
  std::vector<model::Workshop> catalog = {RichWorkshop(), MakeWorkshop("WKSHP-A", 1, 5, 5)};
  LoadCatalog(catalog);
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")));
  auto seats_before = store().ListSeats();
  ASSERT_OK(seats_before);
  int64_t generations_before = QueryInt("SELECT sum(generation) FROM workshops");

  ASSERT_OK_AND_ASSIGN(CatalogChange again, store().UpsertCatalog(catalog));
  EXPECT_TRUE(again.inserted.empty());
  EXPECT_TRUE(again.updated.empty());
  EXPECT_THAT(again.unchanged, ElementsAre("WKSHP-A", "WKSHP-Rich"));
  EXPECT_EQ(again.seats_added, 0);
  EXPECT_EQ(again.seats_removed, 0);

  auto seats_after = store().ListSeats();
  ASSERT_OK(seats_after);
  ASSERT_EQ(seats_after->size(), seats_before->size());
  for (size_t i = 0; i < seats_after->size(); ++i) {
    EXPECT_EQ((*seats_after)[i].seat, (*seats_before)[i].seat);
  }
  EXPECT_EQ(QueryInt("SELECT sum(generation) FROM workshops"), generations_before);
}

TEST_P(StoreContractTest, ChangedSpecIsUpdatedAndBumpsGenerationOnce) {
  model::Workshop w = MakeWorkshop("WKSHP-A", 1, 3, 3);
  LoadCatalog({w});
  EXPECT_EQ(QueryInt("SELECT generation FROM workshops WHERE id = 'WKSHP-A'"), 1);
  w.description = "new text";
  ASSERT_OK_AND_ASSIGN(CatalogChange change, store().UpsertCatalog({w}));
  EXPECT_THAT(change.updated, ElementsAre("WKSHP-A"));
  EXPECT_EQ(change.seats_added + change.seats_removed, 0);
  EXPECT_EQ(QueryInt("SELECT generation FROM workshops WHERE id = 'WKSHP-A'"), 2);
  ASSERT_OK_AND_ASSIGN(change, store().UpsertCatalog({w}));
  EXPECT_THAT(change.unchanged, ElementsAre("WKSHP-A"));
  EXPECT_EQ(QueryInt("SELECT generation FROM workshops WHERE id = 'WKSHP-A'"), 2);
  ASSERT_OK_AND_ASSIGN(model::Workshop got, store().GetWorkshop("WKSHP-A"));
  EXPECT_EQ(got.description, "new text");
}

TEST_P(StoreContractTest, MovingARangeRemovesVacantSeatsAndKeepsOccupiedOnes) {
  model::Workshop w = MakeWorkshop("WKSHP-A", 1, 5, 5);
  LoadCatalog({w});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_EQ(r.seat.number, 1);

  w.range = {4, 6};
  ASSERT_OK_AND_ASSIGN(CatalogChange change, store().UpsertCatalog({w}));
  EXPECT_EQ(change.seats_removed, 2);  // 2 and 3; seat 1 is occupied
  EXPECT_EQ(change.seats_added, 1);    // 6
  auto seats = SeatsByNumber();
  std::vector<int> numbers;
  for (const auto& [n, s] : seats) numbers.push_back(n);
  EXPECT_THAT(numbers, ElementsAre(1, 4, 5, 6));
  EXPECT_EQ(seats[1], r.seat) << "the occupied seat is untouched";
}

TEST_P(StoreContractTest, DeactivatingAWorkshopRemovesOnlyItsVacantSeats) {
  model::Workshop w = MakeWorkshop("WKSHP-A", 1, 3, 3);
  LoadCatalog({w});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  w.active = false;
  ASSERT_OK_AND_ASSIGN(CatalogChange change, store().UpsertCatalog({w}));
  EXPECT_THAT(change.updated, ElementsAre("WKSHP-A"));
  EXPECT_EQ(change.seats_removed, 2);
  auto seats = SeatsByNumber();
  ASSERT_EQ(seats.size(), 1u);
  EXPECT_EQ(seats[1].registration_id, r.registration.id);
  EXPECT_THAT(store().Register(Req("WKSHP-A", "b@example.com")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("not active")));
}

TEST_P(StoreContractTest, OverlappingRangesGiveEachSeatToTheFirstWorkshopById) {
  ASSERT_OK_AND_ASSIGN(
      CatalogChange change,
      store().UpsertCatalog({MakeWorkshop("WKSHP-B", 4, 8, 5), MakeWorkshop("WKSHP-A", 1, 5, 5)}));
  EXPECT_EQ(change.seats_added, 8);
  auto seats = SeatsByNumber();
  ASSERT_EQ(seats.size(), 8u);
  for (int n = 1; n <= 5; ++n) EXPECT_EQ(seats[n].workshop, "WKSHP-A") << n;
  for (int n = 6; n <= 8; ++n) EXPECT_EQ(seats[n].workshop, "WKSHP-B") << n;
  // B's range starts at 4, but 4 and 5 are A's: B's first registration gets 6.
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-B", "b@example.com")));
  EXPECT_EQ(r.seat.number, 6);
}

TEST_P(StoreContractTest, AnOccupiedSeatIsNeverReassignedToAnotherWorkshop) {
  LoadCatalog({MakeWorkshop("WKSHP-B", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-B", "b@example.com")));
  ASSERT_EQ(r.seat.number, 1);
  // A sorts first and now claims 1-2: the vacant 2 moves to A, the occupied 1 stays B's.
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2), MakeWorkshop("WKSHP-B", 1, 3, 3)});
  auto seats = SeatsByNumber();
  EXPECT_EQ(seats[1], r.seat);
  EXPECT_EQ(seats[2].workshop, "WKSHP-A");
  EXPECT_EQ(seats[2].generation, 2);
  EXPECT_EQ(seats[3].workshop, "WKSHP-B");
}

TEST_P(StoreContractTest, InvalidCatalogsAreRejectedWithoutWritingAnything) {
  model::Workshop no_location = MakeWorkshop("WKSHP-A", 1, 2, 2, "");
  EXPECT_THAT(store().UpsertCatalog({no_location}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("no location")));
  EXPECT_THAT(
      store().UpsertCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2), MakeWorkshop("WKSHP-A", 3, 4, 2)}),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("twice")));
  EXPECT_THAT(store().UpsertCatalog({MakeWorkshop("WKSHP-A", 5, 2, 2)}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("range")));
  ASSERT_OK_AND_ASSIGN(auto workshops, store().ListWorkshops());
  EXPECT_TRUE(workshops.empty());
  EXPECT_TRUE(SeatsByNumber().empty());
}

model::Location Loc(const std::string& name, const std::string& fqdn, int64_t generation = 0) {
  model::Location l;
  l.name = name;
  l.fqdn = fqdn;
  l.generation = generation;
  return l;
}

TEST_P(StoreContractTest, UpsertLocationBumpsGenerationOnlyOnChange) {
  ASSERT_OK(store().UpsertLocation(Loc("loc-x", "x.example.com")));
  ASSERT_OK(store().UpsertLocation(Loc("loc-x", "x.example.com")));
  ASSERT_OK_AND_ASSIGN(auto locations, store().ListLocations());
  ASSERT_EQ(locations.size(), 1u);
  EXPECT_EQ(locations[0], Loc("loc-x", "x.example.com", 1));
  ASSERT_OK(store().UpsertLocation(Loc("loc-x", "y.example.com")));
  ASSERT_OK_AND_ASSIGN(locations, store().ListLocations());
  EXPECT_EQ(locations[0], Loc("loc-x", "y.example.com", 2));
  EXPECT_THAT(store().UpsertLocation(Loc("", "")), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreContractTest, UpdateLocationChangesOnlyTheFieldsGivenAndNamesAnUnknownLocation) {
  ASSERT_OK(store().UpsertLocation(Loc("loc-x", "x.example.com")));
  LocationPatch patch;
  patch.hub_url = "https://hub-x.example.com";
  patch.state = model::LocationState::kDraining;
  ASSERT_OK_AND_ASSIGN(model::Location changed, store().UpdateLocation("loc-x", patch));
  EXPECT_EQ(changed.fqdn, "x.example.com");
  EXPECT_EQ(changed.hub_url, "https://hub-x.example.com");
  EXPECT_EQ(changed.state, model::LocationState::kDraining);
  EXPECT_EQ(changed.generation, 2);
  ASSERT_OK_AND_ASSIGN(auto locations, store().ListLocations());
  ASSERT_EQ(locations.size(), 1u);
  EXPECT_EQ(locations[0], changed);
  ASSERT_OK_AND_ASSIGN(model::Location same, store().UpdateLocation("loc-x", patch));
  EXPECT_EQ(same.generation, 2) << "an unchanged location keeps its generation";
  EXPECT_THAT(store().UpdateLocation("loc-nope", patch),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'loc-nope'")));
}

// --- registration ---

TEST_P(StoreContractTest, RegisterOccupiesTheLowestFreeSeatWithThePasswordItsVacancyRotatedIn) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 3, 6, 4)});
  model::Seat vacant = SeatsByNumber()[3];
  RegisterRequest req = Req("WKSHP-A", "  Ada.Lovelace@Example.COM ");
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(req));

  EXPECT_EQ(r.participant.email, "ada.lovelace@example.com");
  EXPECT_EQ(r.participant.name, req.name);
  EXPECT_EQ(r.participant.company, "ACME");
  EXPECT_EQ(r.seat.number, 3);
  EXPECT_EQ(r.seat.registration_id, r.registration.id);
  EXPECT_EQ(r.seat.generation, vacant.generation + 1);
  // The warm account already holds this password (locked): taking the seat writes none.
  EXPECT_EQ(r.seat.password, vacant.password);
  EXPECT_EQ(r.registration.participant_id, r.participant.id);
  EXPECT_EQ(r.registration.workshop, "WKSHP-A");
  EXPECT_EQ(r.registration.location, kLoc);
  EXPECT_EQ(r.registration.seat, 3);
  EXPECT_EQ(r.registration.state, model::RegistrationState::kActive);
  EXPECT_EQ(r.registration.start, kNow);
  EXPECT_EQ(r.registration.deadline, kNow + absl::Hours(4));
  EXPECT_FALSE(r.registration.ended);
  EXPECT_GE(r.token.size(), 32u);
  EXPECT_EQ(r.registration.token_hash, common::Sha256Hex(r.token));

  ASSERT_OK_AND_ASSIGN(RegisterResult r2, store().Register(Req("WKSHP-A", "b@example.com")));
  EXPECT_EQ(r2.seat.number, 4);
  EXPECT_NE(r2.token, r.token);

  // What Register returned is what is stored.
  ASSERT_OK_AND_ASSIGN(model::Registration stored, store().GetRegistration(r.registration.id));
  EXPECT_EQ(stored, r.registration);
  ASSERT_OK_AND_ASSIGN(SeatView view, store().GetSeat(kLoc, 3));
  EXPECT_EQ(view.seat, r.seat);
  EXPECT_EQ(view.registration, r.registration);
  EXPECT_EQ(view.participant, r.participant);
}

TEST_P(StoreContractTest, RequestDurationOverridesTheWorkshopDuration) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2)});
  RegisterRequest req = Req("WKSHP-A", "a@example.com");
  req.duration = absl::Minutes(90);
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(req));
  EXPECT_EQ(r.registration.deadline, kNow + absl::Minutes(90));
}

TEST_P(StoreContractTest, ParticipantTokenFindsTheRegistrationAndOnlyItsHashIsStored) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(model::Registration found, store().GetRegistrationByToken(r.token));
  EXPECT_EQ(found.id, r.registration.id);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM registrations WHERE token_hash = '" + r.token + "'"), 0);
  std::string wrong = r.token;
  wrong[0] = wrong[0] == 'a' ? 'b' : 'a';
  auto missing = store().GetRegistrationByToken(wrong);
  EXPECT_THAT(missing, StatusIs(absl::StatusCode::kNotFound, Not(HasSubstr(wrong))));
  EXPECT_THAT(store().GetRegistrationByToken(""), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, SecondActiveRegistrationOfAnEmailIsAlreadyExistsNamingItsEnd) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 5), MakeWorkshop("WKSHP-B", 6, 9, 4)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  auto again = store().Register(Req("WKSHP-B", "A@Example.com"));
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAlreadyExists,
                              HasSubstr(common::FormatTime(r.registration.deadline))));
  EXPECT_THAT(again, StatusIs(absl::StatusCode::kAlreadyExists, HasSubstr("'WKSHP-A'")));
  // Nothing of the failed attempt was kept.
  ASSERT_OK_AND_ASSIGN(auto regs, store().ListRegistrations());
  EXPECT_EQ(regs.size(), 1u);
}

TEST_P(StoreContractTest, RegisterErrorsSayWhatIsWrong) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 5),
               MakeWorkshop("WKSHP-Off", 6, 7, 2, kLoc, /*active=*/false)});
  EXPECT_THAT(store().Register(Req("WKSHP-Nope", "a@example.com")),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'WKSHP-Nope'")));
  EXPECT_THAT(store().Register(Req("WKSHP-Off", "a@example.com")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("'WKSHP-Off'")));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "not-an-email")),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "")), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto regs, store().ListRegistrations());
  EXPECT_TRUE(regs.empty());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM participants"), 0);
}

TEST_P(StoreContractTest, FullWorkshopIsResourceExhaustedSayingWhetherCapacityOrSeats) {
  // Capacity 1 below the 3 seats of the range.
  LoadCatalog({MakeWorkshop("WKSHP-Cap", 1, 3, 1), MakeWorkshop("WKSHP-Seats", 10, 11, 5)});
  ASSERT_OK(store().Register(Req("WKSHP-Cap", "a@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-Cap", "b@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("workshop 'WKSHP-Cap' is full: capacity 1 reached")));
  // Capacity 5 above the 2 seats of the range.
  ASSERT_OK(store().Register(Req("WKSHP-Seats", "c@example.com")));
  ASSERT_OK(store().Register(Req("WKSHP-Seats", "d@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-Seats", "e@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       HasSubstr("workshop 'WKSHP-Seats' is full: no free seat")));
}

TEST_P(StoreContractTest, RegisteringAgainUpdatesTheParticipantByEmail) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 5)});
  ASSERT_OK_AND_ASSIGN(RegisterResult first, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, first.seat.number, kNow));
  RegisterRequest req = Req("WKSHP-A", "A@EXAMPLE.COM");
  req.name = "Ada L.";
  req.company = "Analytical Engines";
  ASSERT_OK_AND_ASSIGN(RegisterResult second, store().Register(req));
  EXPECT_EQ(second.participant.id, first.participant.id);
  EXPECT_EQ(second.participant.name, "Ada L.");
  EXPECT_EQ(second.participant.company, "Analytical Engines");
  EXPECT_EQ(second.seat.number, 1) << "the freed seat is the lowest again";
  EXPECT_NE(second.registration.id, first.registration.id);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM participants"), 1);
}

TEST_P(StoreContractTest, CreateTakesExactlyTheNamedSeat) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 5), MakeWorkshop("WKSHP-B", 6, 8, 3)});
  RegisterRequest req = Req("WKSHP-A", "a@example.com");
  req.seat = 4;
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(req));
  EXPECT_EQ(r.seat.number, 4);
  EXPECT_EQ(r.registration.seat, 4);

  req.email = "b@example.com";
  EXPECT_THAT(store().Register(req),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("occupied")));
  req.seat = 7;  // B's seat
  EXPECT_THAT(store().Register(req),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("outside the range")));
  req.seat = 2;
  ASSERT_OK_AND_ASSIGN(RegisterResult r2, store().Register(req));
  EXPECT_EQ(r2.seat.number, 2);
}

TEST_P(StoreContractTest, CreateOfAFullWorkshopReportsTheCapacityFirst) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 1)});
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")));
  RegisterRequest req = Req("WKSHP-A", "b@example.com");
  req.seat = 1;  // occupied, and the workshop is full: the capacity is named, as before
  EXPECT_THAT(store().Register(req),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 1 reached")));
  req.seat = 3;
  EXPECT_THAT(store().Register(req),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 1 reached")));
}

TEST_P(StoreContractTest, CapacityAboveTheSeatsCountsTheSeats) {
  // Capacity 5 on 2 seats: the seats are the limit, and the message says so.
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 5)});
  EXPECT_EQ(QueryInt("SELECT slot_count FROM workshops WHERE id = 'WKSHP-A'"), 2);
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK(store().Register(Req("WKSHP-A", "b@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "c@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("no free seat")));
  // A huge capacity builds no huge slot pool.
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 4, 2'000'000'000)});
  EXPECT_EQ(QueryInt("SELECT count(*) FROM capacity_slots"), 4);
  ASSERT_OK(store().Register(Req("WKSHP-A", "c@example.com")));
  ExpectSlotInvariants();
}

TEST_P(StoreContractTest, AReleasedSlotIsReusable) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 2)});
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(RegisterResult b, store().Register(Req("WKSHP-A", "b@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "c@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 2 reached")));
  // CLEANUP frees a slot for the next registration; PURGE does the same.
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, a.seat.number, kNow));
  ASSERT_OK_AND_ASSIGN(RegisterResult c, store().Register(Req("WKSHP-A", "c@example.com")));
  EXPECT_EQ(c.seat.number, a.seat.number);
  EXPECT_THAT(store().Register(Req("WKSHP-A", "d@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 2 reached")));
  ASSERT_OK(store().ApplyVerb(model::Verb::kPurge, kLoc, b.seat.number, kNow));
  ASSERT_OK(store().Register(Req("WKSHP-A", "d@example.com")));
  // A RESET keeps the occupant, and so its slot.
  ASSERT_OK(store().ApplyVerb(model::Verb::kReset, kLoc, c.seat.number, kNow));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "e@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // Many rounds through the same two slots.
  for (int i = 0; i < 10; ++i) {
    ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, c.seat.number, kNow));
    ASSERT_OK_AND_ASSIGN(c, store().Register(Req("WKSHP-A", absl::StrCat("r", i, "@example.com"))));
  }
  EXPECT_EQ(ActiveCount("WKSHP-A"), 2);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM capacity_slots"), 2);
  ExpectSeatInvariants("WKSHP-A", 2);
}

TEST_P(StoreContractTest, CapacityLoweredBelowTheActiveCountBlocksRegistrationsUntilEnoughEnd) {
  model::Workshop w = MakeWorkshop("WKSHP-A", 1, 6, 5);
  LoadCatalog({w});
  std::vector<RegisterResult> regs;
  for (int i = 0; i < 5; ++i) {
    ASSERT_OK_AND_ASSIGN(RegisterResult r,
                         store().Register(Req("WKSHP-A", absl::StrCat("p", i, "@example.com"))));
    regs.push_back(r);
  }
  // End two so that the held slots are not the lowest ones, then lower the capacity to 2
  // with 3 active.
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, regs[0].seat.number, kNow));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, regs[2].seat.number, kNow));
  w.capacity = 2;
  LoadCatalog({w});
  ExpectSlotInvariants();
  EXPECT_EQ(ActiveCount("WKSHP-A"), 3);
  auto refused = [&](const std::string& email) {
    EXPECT_THAT(store().Register(Req("WKSHP-A", email)),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 2 reached")));
  };
  refused("x@example.com");
  // 3 -> 2 active: still at capacity.
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, regs[1].seat.number, kNow));
  ExpectSlotInvariants();
  refused("x@example.com");
  // 2 -> 1 active: one place again, and only one.
  ASSERT_OK(store().ApplyVerb(model::Verb::kPurge, kLoc, regs[4].seat.number, kNow));
  ExpectSlotInvariants();
  ASSERT_OK(store().Register(Req("WKSHP-A", "x@example.com")));
  refused("y@example.com");
  EXPECT_EQ(ActiveCount("WKSHP-A"), 2);

  // Raising the capacity again opens exactly the difference.
  w.capacity = 4;
  LoadCatalog({w});
  ASSERT_OK(store().Register(Req("WKSHP-A", "y@example.com")));
  ASSERT_OK(store().Register(Req("WKSHP-A", "z@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "zz@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 4 reached")));
  EXPECT_EQ(ActiveCount("WKSHP-A"), 4);
  ExpectSeatInvariants("WKSHP-A", 4);

  // Deactivated with 4 active, reactivated with capacity 1: blocked until all 4 have ended.
  w.active = false;
  LoadCatalog({w});
  ExpectSlotInvariants();
  w.active = true;
  w.capacity = 1;
  LoadCatalog({w});
  ExpectSlotInvariants();
  ASSERT_OK_AND_ASSIGN(auto seats, store().ListSeats());
  std::vector<int> held;
  for (const SeatView& v : seats) {
    if (v.seat.registration_id) held.push_back(v.seat.number);
  }
  ASSERT_EQ(held.size(), 4u);
  for (size_t i = 0; i < held.size(); ++i) {
    EXPECT_THAT(store().Register(Req("WKSHP-A", "late@example.com")),
                StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 1 reached")))
        << i;
    ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, held[i], kNow));
    ExpectSlotInvariants();
  }
  ASSERT_OK(store().Register(Req("WKSHP-A", "late@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "later@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 1 reached")));
}

// --- verbs ---

TEST_P(StoreContractTest, CleanupEndsTheRegistrationAndLocksTheSeatWithANewPassword) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  absl::Time later = kNow + absl::Hours(1);
  ASSERT_OK_AND_ASSIGN(VerbResult v, store().ApplyVerb(model::Verb::kCleanup, kLoc, 1, later));
  EXPECT_TRUE(v.changed);
  EXPECT_FALSE(v.seat.registration_id);
  EXPECT_NE(v.seat.password, r.seat.password);
  EXPECT_EQ(v.seat.password.size(), 12u);
  EXPECT_EQ(v.seat.generation, r.seat.generation + 1);
  ASSERT_TRUE(v.registration);
  EXPECT_EQ(v.registration->id, r.registration.id);
  EXPECT_EQ(v.registration->state, model::RegistrationState::kEnded);
  EXPECT_EQ(v.registration->ended, later);
  ASSERT_OK_AND_ASSIGN(model::Registration stored, store().GetRegistration(r.registration.id));
  EXPECT_EQ(stored, *v.registration);
  ASSERT_OK_AND_ASSIGN(SeatView seat, store().GetSeat(kLoc, 1));
  EXPECT_EQ(seat.seat, v.seat);
  EXPECT_FALSE(seat.registration);
}

TEST_P(StoreContractTest, TheNextOccupantGetsThePasswordTheCleanupRotatedInNeverThePrevious) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 1, 1)});
  std::set<std::string> seen;
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK_AND_ASSIGN(RegisterResult r,
                         store().Register(Req("WKSHP-A", absl::StrCat("p", i, "@example.com"))));
    ASSERT_EQ(r.seat.number, 1);
    EXPECT_TRUE(seen.insert(r.seat.password).second) << "occupant " << i << " got a used password";
    ASSERT_OK_AND_ASSIGN(
        VerbResult v, store().ApplyVerb(i == 1 ? model::Verb::kPurge : model::Verb::kCleanup, kLoc,
                                        1, kNow + absl::Minutes(i + 1)));
    ASSERT_OK_AND_ASSIGN(SeatView vacant, store().GetSeat(kLoc, 1));
    EXPECT_EQ(vacant.seat.password, v.seat.password);
    EXPECT_FALSE(seen.count(vacant.seat.password)) << "the vacancy kept occupant " << i << "'s";
  }
}

TEST_P(StoreContractTest, CleanupOfAVacantSeatIsANoOpThatWritesNothing) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(SeatView before, store().GetSeat(kLoc, 2));
  for (model::Verb verb : {model::Verb::kCleanup, model::Verb::kPurge, model::Verb::kReset}) {
    ASSERT_OK_AND_ASSIGN(VerbResult v, store().ApplyVerb(verb, kLoc, 2, kNow));
    EXPECT_FALSE(v.changed) << model::VerbName(verb);
    EXPECT_EQ(v.seat, before.seat) << model::VerbName(verb);
    EXPECT_FALSE(v.registration);
  }
  ASSERT_OK_AND_ASSIGN(SeatView after, store().GetSeat(kLoc, 2));
  EXPECT_EQ(after.seat, before.seat);
}

TEST_P(StoreContractTest, CleanupTwiceChangesOnlyOnce) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(VerbResult first, store().ApplyVerb(model::Verb::kCleanup, kLoc, 1, kNow));
  ASSERT_OK_AND_ASSIGN(VerbResult second, store().ApplyVerb(model::Verb::kCleanup, kLoc, 1, kNow));
  EXPECT_TRUE(first.changed);
  EXPECT_FALSE(second.changed);
  EXPECT_EQ(second.seat, first.seat);
}

TEST_P(StoreContractTest, PurgeMarksTheRegistrationFailed) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(VerbResult v, store().ApplyVerb(model::Verb::kPurge, kLoc, 1, kNow));
  EXPECT_TRUE(v.changed);
  EXPECT_FALSE(v.seat.registration_id);
  EXPECT_NE(v.seat.password, r.seat.password);
  ASSERT_TRUE(v.registration);
  EXPECT_EQ(v.registration->state, model::RegistrationState::kFailed);
  EXPECT_EQ(v.registration->ended, kNow);
  ASSERT_OK_AND_ASSIGN(auto failed, store().ListRegistrations(model::RegistrationState::kFailed));
  ASSERT_EQ(failed.size(), 1u);
  EXPECT_EQ(failed[0].id, r.registration.id);
  ASSERT_OK_AND_ASSIGN(auto active, store().ListRegistrations(model::RegistrationState::kActive));
  EXPECT_TRUE(active.empty());
}

TEST_P(StoreContractTest, ResetBumpsTheEpochOfAnOccupiedSeatAndKeepsItsOccupant) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(VerbResult v, store().ApplyVerb(model::Verb::kReset, kLoc, 1, kNow));
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(v.seat.reset_epoch, 1);
  EXPECT_EQ(v.seat.generation, r.seat.generation + 1);
  EXPECT_EQ(v.seat.registration_id, r.registration.id);
  EXPECT_EQ(v.seat.password, r.seat.password);
  ASSERT_TRUE(v.registration);
  EXPECT_EQ(*v.registration, r.registration);
  ASSERT_OK_AND_ASSIGN(v, store().ApplyVerb(model::Verb::kReset, kLoc, 1, kNow));
  EXPECT_EQ(v.seat.reset_epoch, 2);
}

TEST_P(StoreContractTest, VerbErrors) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  EXPECT_THAT(store().ApplyVerb(model::Verb::kCleanup, kLoc, 99, kNow),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("seat 99")));
  EXPECT_THAT(store().ApplyVerb(model::Verb::kCleanup, "loc-nope", 1, kNow),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("'loc-nope'")));
  EXPECT_THAT(store().ApplyVerb(model::Verb::kCreate, kLoc, 1, kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreContractTest, ExtendMovesTheDeadlineOfAnActiveRegistrationOnly) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  absl::Time later = r.registration.deadline + absl::Hours(2);
  ASSERT_OK_AND_ASSIGN(model::Registration extended, store().Extend(r.registration.id, later));
  EXPECT_EQ(extended.deadline, later);
  ASSERT_OK_AND_ASSIGN(model::Registration stored, store().GetRegistration(r.registration.id));
  EXPECT_EQ(stored.deadline, later);
  EXPECT_THAT(store().Extend(r.registration.id, kNow - absl::Hours(1)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, 1, kNow));
  EXPECT_THAT(store().Extend(r.registration.id, later),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("ended")));
  EXPECT_THAT(store().Extend(12345, later), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, HarvestIsRecordedExactlyOnce) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, 1, kNow));
  ASSERT_OK_AND_ASSIGN(bool first, store().RecordHarvest(r.registration.id, R"({"total":0.5})"));
  ASSERT_OK_AND_ASSIGN(bool second, store().RecordHarvest(r.registration.id, R"({"total":0.9})"));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  ASSERT_OK_AND_ASSIGN(model::Registration stored, store().GetRegistration(r.registration.id));
  EXPECT_EQ(stored.progress_json, R"({"total":0.5})");
  EXPECT_THAT(store().RecordHarvest(999, "{}"), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().RecordHarvest(r.registration.id, "not json"),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreContractTest, ListSeatsJoinsOccupantsAndFiltersByLocation) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2), MakeWorkshop("WKSHP-B", 1, 1, 1, "loc-b")});
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(auto all, store().ListSeats());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].seat.location, "loc-a");
  EXPECT_EQ(all[0].seat.number, 1);
  ASSERT_TRUE(all[0].participant);
  EXPECT_EQ(all[0].participant->email, "a@example.com");
  EXPECT_EQ(all[0].registration, r.registration);
  EXPECT_FALSE(all[1].registration);
  EXPECT_FALSE(all[1].participant);
  EXPECT_EQ(all[2].seat.location, "loc-b");
  ASSERT_OK_AND_ASSIGN(auto b, store().ListSeats(std::string("loc-b")));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].seat.workshop, "WKSHP-B");
  EXPECT_THAT(store().GetSeat("loc-b", 2), StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, ListRegistrationsIsOldestFirstAndFiltersByState) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 5, 5)});
  std::vector<int64_t> ids;
  for (const char* email : {"a@x.com", "b@x.com", "c@x.com"}) {
    ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", email)));
    ids.push_back(r.registration.id);
  }
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, 2, kNow));
  ASSERT_OK_AND_ASSIGN(auto all, store().ListRegistrations());
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].id, ids[0]);
  EXPECT_EQ(all[2].id, ids[2]);
  ASSERT_OK_AND_ASSIGN(auto active, store().ListRegistrations(model::RegistrationState::kActive));
  ASSERT_EQ(active.size(), 2u);
  EXPECT_EQ(active[0].id, ids[0]);
  EXPECT_EQ(active[1].id, ids[2]);
  ASSERT_OK_AND_ASSIGN(auto ended, store().ListRegistrations(model::RegistrationState::kEnded));
  ASSERT_EQ(ended.size(), 1u);
  EXPECT_EQ(ended[0].id, ids[1]);
}

TEST_P(StoreContractTest, ListLocationSeatsIsTheLocationsSeatsByNumberAsListSeatsHasThem) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3), MakeWorkshop("WKSHP-B", 1, 1, 1, "loc-b")});
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")).status());
  ASSERT_OK_AND_ASSIGN(auto views, store().ListSeats(std::string(kLoc)));
  ASSERT_OK_AND_ASSIGN(auto seats, store().ListLocationSeats(kLoc));
  ASSERT_EQ(seats.size(), 3u);
  for (size_t i = 0; i < seats.size(); ++i) {
    EXPECT_EQ(seats[i], views[i].seat) << "seat " << i + 1;
    EXPECT_EQ(seats[i].number, static_cast<int>(i) + 1);
  }
  EXPECT_TRUE(seats[0].registration_id);
  ASSERT_OK_AND_ASSIGN(auto b, store().ListLocationSeats("loc-b"));
  ASSERT_EQ(b.size(), 1u);
  EXPECT_EQ(b[0].workshop, "WKSHP-B");
  ASSERT_OK_AND_ASSIGN(auto none, store().ListLocationSeats("loc-nope"));
  EXPECT_TRUE(none.empty());
}

TEST_P(StoreContractTest, ListRegistrationsByIdsReturnsThoseThatExistOldestFirstInAnyNumber) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store().Register(Req("WKSHP-A", "a@example.com")));
  ASSERT_OK_AND_ASSIGN(RegisterResult b, store().Register(Req("WKSHP-A", "b@example.com")));
  ASSERT_OK(store().ApplyVerb(model::Verb::kPurge, kLoc, b.seat.number, kNow).status());
  ASSERT_OK_AND_ASSIGN(
      auto got, store().ListRegistrationsByIds({b.registration.id, 424242, a.registration.id}));
  ASSERT_EQ(got.size(), 2u);
  EXPECT_EQ(got[0].id, a.registration.id);
  EXPECT_EQ(got[0].state, model::RegistrationState::kActive);
  EXPECT_EQ(got[1].id, b.registration.id);
  EXPECT_EQ(got[1].state, model::RegistrationState::kFailed);
  ASSERT_OK_AND_ASSIGN(auto empty, store().ListRegistrationsByIds({}));
  EXPECT_TRUE(empty.empty());
  // More ids than one statement takes (the store reads them in chunks).
  std::vector<int64_t> many;
  for (int64_t i = 0; i < 1200; ++i) many.push_back(100000 + i);
  many.push_back(a.registration.id);
  ASSERT_OK_AND_ASSIGN(auto found, store().ListRegistrationsByIds(many));
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].id, a.registration.id);
}

// --- several locations: routing by liveness ---

// A workshop on loc-a with loc-b and loc-c as alternates: its range exists on all three.
model::Workshop Spread(int min, int max, int capacity) {
  model::Workshop w = MakeWorkshop("WKSHP-S", min, max, capacity);
  w.alternate_locations = {"loc-b", "loc-c"};
  return w;
}

class RoutingTest : public StoreContractTest {
 protected:
  // loc's controller holds its lease (for a minute from `now`) and finished a pass at `now`.
  void Alive(const std::string& loc, absl::Time now) {
    ASSERT_OK_AND_ASSIGN(Lease lease, store().AcquireLease("controller/" + loc, "ctl-" + loc,
                                                           absl::Minutes(1), now));
    ASSERT_OK(
        store().RecordPass(loc, absl::Milliseconds(5), now, "controller/" + loc, lease.epoch));
  }
  std::map<std::string, int> OccupiedPerLocation() {
    std::map<std::string, int> out;
    auto seats = store().ListSeats();
    EXPECT_OK(seats);
    if (!seats.ok()) return out;
    for (const auto& v : *seats) {
      if (v.seat.registration_id) ++out[v.seat.location];
    }
    return out;
  }
};

TEST_P(RoutingTest, AWorkshopsRangeExistsOnItsLocationAndEachAlternate) {
  LoadCatalog({Spread(1, 3, 9)});
  for (const char* loc : {"loc-a", "loc-b", "loc-c"}) {
    EXPECT_EQ(SeatsByNumber(loc).size(), 3u) << loc;
  }
  ASSERT_OK_AND_ASSIGN(auto locations, store().ListLocations());
  EXPECT_EQ(locations.size(), 3u);
}

TEST_P(RoutingTest, RegistrationsGoToTheLocationWithTheMostFreeSeatsTiesToTheWorkshopsOwn) {
  LoadCatalog({Spread(1, 3, 9)});
  std::vector<std::string> order;
  for (int i = 0; i < 6; ++i) {
    ASSERT_OK_AND_ASSIGN(RegisterResult r,
                         store().Register(Req("WKSHP-S", absl::StrCat("p", i, "@x.com"))));
    EXPECT_EQ(r.registration.location, r.seat.location);
    order.push_back(r.seat.location);
  }
  EXPECT_THAT(order, ElementsAre("loc-a", "loc-b", "loc-c", "loc-a", "loc-b", "loc-c"));
}

TEST_P(RoutingTest, ADeadLocationGetsNothingAndOnlyDeadSeatsLeftIsNoBackendWithNothingStored) {
  LoadCatalog({Spread(1, 2, 9)});
  Alive("loc-a", kNow - absl::Minutes(5));  // reported once, long ago: dead now
  Alive("loc-b", kNow);
  Alive("loc-c", kNow - absl::Seconds(10));
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(store().Register(Req("WKSHP-S", absl::StrCat("p", i, "@x.com"))).status());
  }
  EXPECT_THAT(OccupiedPerLocation(),
              UnorderedElementsAre(std::pair<const std::string, int>("loc-b", 2),
                                   std::pair<const std::string, int>("loc-c", 2)));
  auto refused = store().Register(Req("WKSHP-S", "late@x.com"));
  ASSERT_FALSE(refused.ok());
  EXPECT_TRUE(IsNoBackend(refused.status())) << refused.status();
  EXPECT_THAT(std::string(refused.status().message()), HasSubstr("'loc-a'"));
  EXPECT_THAT(store().GetActiveRegistrationByEmail("late@x.com"),
              StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(auto all, store().ListRegistrations());
  EXPECT_EQ(all.size(), 4u);
  // The controller comes back: the same registration goes through, on loc-a.
  Alive("loc-a", kNow);
  ASSERT_OK_AND_ASSIGN(RegisterResult back, store().Register(Req("WKSHP-S", "late@x.com")));
  EXPECT_EQ(back.seat.location, "loc-a");
}

// A controller that took a location's lease over (a restart, a standby) is live during its
// first pass, however long: that pass may take minutes on a large backend.
TEST_P(RoutingTest, ANewLeaseHolderIsLiveBeforeItsFirstPassEnds) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2)});
  Alive("loc-a", kNow - absl::Minutes(10));
  auto dead = store().Register(Req("WKSHP-A", "a@x.com"));
  EXPECT_TRUE(IsNoBackend(dead.status())) << dead.status();
  ASSERT_OK(
      store().AcquireLease("controller/loc-a", "restarted", absl::Seconds(15), kNow).status());
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-A", "a@x.com")));
  EXPECT_EQ(r.seat.location, "loc-a");
}

// Failover: a registration waiting on a location that died moves to a live one. The old seat
// is vacated with a fresh password (its controller wipes it when back), the new one is taken
// with the password its vacancy put in, the capacity slot stays with the registration.
TEST_P(RoutingTest, MoveRegistrationTakesAWaitingRegistrationOffADeadLocation) {
  LoadCatalog({Spread(1, 2, 4)});
  ASSERT_OK_AND_ASSIGN(RegisterResult ada, store().Register(Req("WKSHP-S", "ada@x.com")));
  ASSERT_EQ(ada.seat.location, "loc-a");
  EXPECT_THAT(store().MoveRegistration(ada.registration.id, "loc-a", ada.seat.number, kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("is live")));
  const absl::Time later = kNow + absl::Minutes(5);
  Alive("loc-a", kNow);  // then nothing for five minutes: dead
  Alive("loc-b", later);
  Alive("loc-c", later);
  ASSERT_OK_AND_ASSIGN(auto before, store().GetSeat("loc-a", ada.seat.number));
  EXPECT_THAT(store().MoveRegistration(ada.registration.id, "loc-a", ada.seat.number + 1, later),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(RegisterResult moved, store().MoveRegistration(ada.registration.id, "loc-a",
                                                                      ada.seat.number, later));
  EXPECT_EQ(moved.registration.id, ada.registration.id);
  EXPECT_EQ(moved.registration.location, moved.seat.location);
  EXPECT_NE(moved.seat.location, "loc-a");
  EXPECT_EQ(moved.seat.registration_id, ada.registration.id);
  EXPECT_EQ(moved.registration.deadline, ada.registration.deadline);
  ASSERT_OK_AND_ASSIGN(auto old_seat, store().GetSeat("loc-a", ada.seat.number));
  EXPECT_FALSE(old_seat.seat.registration_id);
  EXPECT_NE(old_seat.seat.password, before.seat.password) << "the old seat's password rotates";
  EXPECT_EQ(old_seat.seat.generation, before.seat.generation + 1);
  ASSERT_OK_AND_ASSIGN(model::Registration stored, store().GetRegistration(ada.registration.id));
  EXPECT_EQ(stored, moved.registration);
  ASSERT_OK_AND_ASSIGN(auto occupancy, store().ListWorkshopOccupancy("WKSHP-S"));
  ASSERT_EQ(occupancy.size(), 1u);
  EXPECT_EQ(occupancy[0].occupied, 1) << "still one registration holding one seat";
  // Capacity 4: three more fit, then the workshop is full whatever the locations.
  for (int i = 0; i < 3; ++i) {
    ASSERT_OK(store().Register(Req("WKSHP-S", absl::StrCat("p", i, "@x.com"))).status());
  }
  EXPECT_THAT(store().Register(Req("WKSHP-S", "late@x.com")),
              StatusIs(absl::StatusCode::kResourceExhausted));
}

TEST_P(RoutingTest, AReleasedLeaseIsNotLiveAndAFullWorkshopIsStillFull) {
  LoadCatalog({Spread(1, 1, 2)});
  Alive("loc-a", kNow);
  Alive("loc-b", kNow);
  Alive("loc-c", kNow);
  ASSERT_OK(store().ReleaseLease("controller/loc-a", "ctl-loc-a"));
  ASSERT_OK(store().Register(Req("WKSHP-S", "a@x.com")).status());
  ASSERT_OK(store().Register(Req("WKSHP-S", "b@x.com")).status());
  EXPECT_EQ(OccupiedPerLocation().count("loc-a"), 0u);
  // Capacity 2 reached: full (409), not "no backend", though loc-a has a free seat.
  auto full = store().Register(Req("WKSHP-S", "c@x.com"));
  EXPECT_THAT(full, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 2")));
}

TEST_P(RoutingTest, DrainingTakesNothingNewDisabledIsNotCapacity) {
  LoadCatalog({Spread(1, 2, 100)});
  LocationPatch drain;
  drain.state = model::LocationState::kDraining;
  ASSERT_OK(store().UpdateLocation("loc-a", drain).status());
  for (int i = 0; i < 4; ++i) {
    ASSERT_OK(store().Register(Req("WKSHP-S", absl::StrCat("p", i, "@x.com"))).status());
  }
  EXPECT_EQ(OccupiedPerLocation().count("loc-a"), 0u);
  // Only draining seats left: full, not no_backend (drained on purpose, not dead).
  EXPECT_THAT(store().Register(Req("WKSHP-S", "late@x.com")),
              StatusIs(absl::StatusCode::kResourceExhausted));
  // Disabled: its two seats are not capacity (6 seats, capacity 100 -> 4 slots).
  LocationPatch disable;
  disable.state = model::LocationState::kDisabled;
  ASSERT_OK(store().UpdateLocation("loc-a", disable).status());
  ASSERT_OK_AND_ASSIGN(auto occupancy, store().ListWorkshopOccupancy("WKSHP-S"));
  ASSERT_EQ(occupancy.size(), 1u);
  LocationPatch activate;
  activate.state = model::LocationState::kActive;
  ASSERT_OK(store().UpdateLocation("loc-a", activate).status());
  ASSERT_OK_AND_ASSIGN(RegisterResult r, store().Register(Req("WKSHP-S", "late@x.com")));
  EXPECT_EQ(r.seat.location, "loc-a");
}

TEST_P(RoutingTest, LocationHealthSaysWhoHoldsEachLocationWhenItLastPassedAndItsSeats) {
  LoadCatalog({Spread(1, 3, 9)});
  Alive("loc-b", kNow - absl::Seconds(2));
  Alive("loc-c", kNow - absl::Minutes(10));
  ASSERT_OK(store().Register(Req("WKSHP-S", "a@x.com")).status());
  ASSERT_OK_AND_ASSIGN(auto health, store().ListLocationHealth(kNow));
  ASSERT_EQ(health.size(), 3u);
  EXPECT_EQ(health[0].location.name, "loc-a");
  EXPECT_FALSE(health[0].last_pass);
  EXPECT_FALSE(health[0].live) << "never reported: not shown as live";
  EXPECT_EQ(health[1].location.name, "loc-b");
  EXPECT_TRUE(health[1].live);
  EXPECT_EQ(health[1].lease_holder, "ctl-loc-b");
  ASSERT_TRUE(health[1].last_pass);
  EXPECT_EQ(*health[1].last_pass, kNow - absl::Seconds(2));
  EXPECT_EQ(health[1].seats, 3);
  // loc-a never reported a pass: it takes registrations (ties go to the workshop's own).
  EXPECT_EQ(health[0].occupied, 1);
  EXPECT_EQ(health[1].occupied, 0);
  EXPECT_FALSE(health[2].live);
  EXPECT_EQ(health[2].occupied, 0);
}

// --- leases and fencing ---

TEST_P(StoreContractTest, LeaseIsTakenRenewedAndRefusedToOthersWhileValid) {
  ASSERT_OK_AND_ASSIGN(Lease a, store().AcquireLease("loc-a", "ctl-1", absl::Seconds(30), kNow));
  EXPECT_EQ(a.epoch, 1);
  EXPECT_EQ(a.holder, "ctl-1");
  EXPECT_EQ(a.expires, kNow + absl::Seconds(30));
  ASSERT_OK_AND_ASSIGN(Lease renewed, store().AcquireLease("loc-a", "ctl-1", absl::Seconds(30),
                                                           kNow + absl::Seconds(10)));
  EXPECT_EQ(renewed.epoch, 1) << "renewing keeps the fencing token";
  EXPECT_EQ(renewed.expires, kNow + absl::Seconds(40));
  EXPECT_THAT(store().AcquireLease("loc-a", "ctl-2", absl::Seconds(30), kNow + absl::Seconds(39)),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::AllOf(HasSubstr("'ctl-1'"),
                                        HasSubstr(common::FormatTime(kNow + absl::Seconds(40))))));
  // Another lease name is independent.
  ASSERT_OK_AND_ASSIGN(Lease other,
                       store().AcquireLease("loc-b", "ctl-2", absl::Seconds(30), kNow));
  EXPECT_EQ(other.epoch, 1);
}

TEST_P(StoreContractTest, ExpiredLeaseIsTakenOverWithANewEpochThatFencesTheOldHolder) {
  ASSERT_OK_AND_ASSIGN(Lease old, store().AcquireLease("loc-a", "ctl-1", absl::Seconds(30), kNow));
  SeatStatus status{kLoc, 1, 3, model::Phase::kReady, {}, "", kNow};
  ASSERT_OK(store().PutSeatStatus(status, "loc-a", old.epoch));

  ASSERT_OK_AND_ASSIGN(Lease taken, store().AcquireLease("loc-a", "ctl-2", absl::Seconds(30),
                                                         kNow + absl::Seconds(31)));
  EXPECT_EQ(taken.epoch, old.epoch + 1);
  EXPECT_EQ(taken.holder, "ctl-2");

  status.phase = model::Phase::kFailed;
  EXPECT_THAT(store().PutSeatStatus(status, "loc-a", old.epoch),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("'loc-a'")));
  ASSERT_OK_AND_ASSIGN(auto stored, store().ListSeatStatus());
  ASSERT_EQ(stored.size(), 1u);
  EXPECT_EQ(stored[0].phase, model::Phase::kReady) << "the fenced write did not land";

  status.phase = model::Phase::kVacating;
  ASSERT_OK(store().PutSeatStatus(status, "loc-a", taken.epoch));
  ASSERT_OK_AND_ASSIGN(stored, store().ListSeatStatus());
  EXPECT_EQ(stored[0].phase, model::Phase::kVacating);
  // The old holder cannot come back while the new one holds it.
  EXPECT_THAT(store().AcquireLease("loc-a", "ctl-1", absl::Seconds(30), kNow + absl::Seconds(32)),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("'ctl-2'")));
}

TEST_P(StoreContractTest, ReleasedLeaseGoesToTheNextHolderWithANewEpoch) {
  ASSERT_OK_AND_ASSIGN(Lease a, store().AcquireLease("loc-a", "ctl-1", absl::Hours(1), kNow));
  ASSERT_OK(store().ReleaseLease("loc-a", "ctl-2"));  // not the holder: no effect
  EXPECT_THAT(store().AcquireLease("loc-a", "ctl-2", absl::Hours(1), kNow),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK(store().ReleaseLease("loc-a", "ctl-1"));
  EXPECT_THAT(
      store().PutSeatStatus({kLoc, 1, 1, model::Phase::kReady, {}, "", kNow}, "loc-a", a.epoch),
      StatusIs(absl::StatusCode::kAborted, HasSubstr("released")));
  ASSERT_OK_AND_ASSIGN(Lease b, store().AcquireLease("loc-a", "ctl-2", absl::Hours(1), kNow));
  EXPECT_EQ(b.epoch, a.epoch + 1);
  ASSERT_OK(store().ReleaseLease("loc-a", "ctl-2"));
  ASSERT_OK(store().ReleaseLease("loc-a", "ctl-2"));  // idempotent
}

TEST_P(StoreContractTest, SeatStatusIsUpsertedWithConditionsAndNeedsAnExistingLease) {
  EXPECT_THAT(store().PutSeatStatus({kLoc, 1, 1, model::Phase::kReady, {}, "", kNow}, "nope", 1),
              StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK_AND_ASSIGN(Lease l, store().AcquireLease("loc-a", "ctl", absl::Minutes(1), kNow));
  SeatStatus s1{
      kLoc,
      1,
      4,
      model::Phase::kProvisioning,
      {{"AccountReady", model::ConditionStatus::kTrue, "Created", "useradd student1", kNow},
       {"HubReady", model::ConditionStatus::kUnknown, "HubDown", "connection refused",
        kNow + absl::Seconds(1)}},
      "hub: connection refused",
      kNow + absl::Seconds(2)};
  SeatStatus s2{kLoc, 2, 1, model::Phase::kVacant, {}, "", kNow};
  SeatStatus other{"loc-b", 1, 1, model::Phase::kVacant, {}, "", kNow};
  ASSERT_OK(store().PutSeatStatus(s2, "loc-a", l.epoch));
  ASSERT_OK(store().PutSeatStatus(s1, "loc-a", l.epoch));
  ASSERT_OK(store().PutSeatStatus(other, "loc-a", l.epoch));
  s1.phase = model::Phase::kReady;
  s1.observed_generation = 5;
  s1.conditions[1].status = model::ConditionStatus::kTrue;
  s1.last_error = "";
  ASSERT_OK(store().PutSeatStatus(s1, "loc-a", l.epoch));
  ASSERT_OK_AND_ASSIGN(auto all, store().ListSeatStatus());
  EXPECT_THAT(all, ElementsAre(s1, s2, other));
  ASSERT_OK_AND_ASSIGN(auto b, store().ListSeatStatus(std::string("loc-b")));
  EXPECT_THAT(b, ElementsAre(other));
}

TEST_P(StoreContractTest, ASeatOutcomeStoresItsEventsAndStatusTogetherAndOnlyTheEventsWhenFenced) {
  ASSERT_OK_AND_ASSIGN(Lease old, store().AcquireLease("loc-a", "ctl-1", absl::Seconds(30), kNow));
  auto event = [](int seat, const std::string& kind) {
    Event e;
    e.time = kNow;
    e.location = kLoc;
    e.seat = seat;
    e.kind = kind;
    e.reason = "handover";
    e.message = "done";
    return e;
  };
  SeatStatus ready{kLoc, 1, 2, model::Phase::kReady, {}, "", kNow};
  ASSERT_OK(store().RecordSeatOutcome({event(1, "account.mark"), event(1, "account.unlock")},
                                      &ready, "loc-a", old.epoch));
  ASSERT_OK_AND_ASSIGN(auto events, store().ListEvents(std::string(kLoc), 0));
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].kind, "account.unlock") << "newest first: stored in the given order";
  EXPECT_EQ(events[1].kind, "account.mark");
  ASSERT_OK_AND_ASSIGN(auto stored, store().ListSeatStatus(std::string(kLoc)));
  EXPECT_THAT(stored, ElementsAre(ready));

  // Events without a status need no lease (a failed step's record).
  ASSERT_OK(store().RecordSeatOutcome({event(2, "hub.create")}, nullptr, "nope", 7));

  // Bad input: nothing of the outcome is stored.
  SeatStatus bad = ready;
  bad.progress_json = "{not json";
  EXPECT_THAT(store().RecordSeatOutcome({event(1, "content.render")}, &bad, "loc-a", old.epoch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("JSON")));
  EXPECT_THAT(store().RecordSeatOutcome({event(1, "")}, &ready, "loc-a", old.epoch),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("kind")));
  ASSERT_OK_AND_ASSIGN(events, store().ListEvents(std::string(kLoc), 0));
  EXPECT_EQ(events.size(), 3u);

  // Fenced out by a takeover: the events (which took effect) land, the status does not.
  ASSERT_OK(
      store().AcquireLease("loc-a", "ctl-2", absl::Seconds(30), kNow + absl::Seconds(31)).status());
  SeatStatus failed = ready;
  failed.phase = model::Phase::kFailed;
  EXPECT_THAT(store().RecordSeatOutcome({event(1, "content.render")}, &failed, "loc-a", old.epoch),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("'loc-a'")));
  ASSERT_OK_AND_ASSIGN(events, store().ListEvents(std::string(kLoc), 0));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, "content.render");
  ASSERT_OK_AND_ASSIGN(stored, store().ListSeatStatus(std::string(kLoc)));
  EXPECT_THAT(stored, ElementsAre(ready)) << "the fenced status did not land";
}

TEST_P(StoreContractTest, EventsListNewestFirstWithLimitAndLocation) {
  for (int i = 0; i < 5; ++i) {
    Event e;
    e.time = kNow + absl::Seconds(i);
    e.location = i % 2 == 0 ? "loc-a" : "loc-b";
    if (i != 0) e.seat = i;
    e.kind = "account.create";
    e.reason = absl::StrCat("reason ", i);
    e.message = absl::StrCat("message ", i);
    ASSERT_OK(store().AppendEvent(e));
  }
  ASSERT_OK_AND_ASSIGN(auto newest, store().ListEvents(std::nullopt, 3));
  ASSERT_EQ(newest.size(), 3u);
  EXPECT_EQ(newest[0].reason, "reason 4");
  EXPECT_EQ(newest[2].reason, "reason 2");
  EXPECT_GT(newest[0].id, newest[1].id);
  EXPECT_EQ(newest[0].time, kNow + absl::Seconds(4));
  EXPECT_EQ(newest[0].seat, 4);
  ASSERT_OK_AND_ASSIGN(auto a, store().ListEvents(std::string("loc-a"), 10));
  ASSERT_EQ(a.size(), 3u);
  EXPECT_EQ(a[0].reason, "reason 4");
  EXPECT_EQ(a[2].reason, "reason 0");
  EXPECT_FALSE(a[2].seat);
  EXPECT_EQ(a[2].message, "message 0");
  ASSERT_OK_AND_ASSIGN(auto unlimited, store().ListEvents(std::nullopt, 0));
  EXPECT_EQ(unlimited.size(), 5u);
}

TEST_P(StoreContractTest, DriftIsReplacedPerLocationAndFencedByTheLease) {
  ASSERT_OK_AND_ASSIGN(Lease a, store().AcquireLease("loc-a", "ctl-a", absl::Minutes(1), kNow));
  ASSERT_OK_AND_ASSIGN(Lease b, store().AcquireLease("loc-b", "ctl-b", absl::Minutes(1), kNow));
  DriftEntry missing{"loc-a", 2, "accounts", "student2 exists", "no user", "create", kNow};
  // Two foreign objects of one domain: both kept.
  DriftEntry foreign1{"loc-a", 0, "appliances", "", "container 'x'", "none (foreign)", kNow};
  DriftEntry foreign2{"loc-a", 0, "appliances", "", "container 'y'", "none (foreign)", kNow};
  DriftEntry other{"loc-b", 1, "hub", "hub user", "none", "create", kNow + absl::Seconds(1)};
  ASSERT_OK(store().ReplaceDrift("loc-a", {missing, foreign1, foreign2}, "loc-a", a.epoch));
  ASSERT_OK(store().ReplaceDrift("loc-b", {other}, "loc-b", b.epoch));
  ASSERT_OK_AND_ASSIGN(auto all, store().ListDrift(std::nullopt));
  EXPECT_THAT(all, ElementsAre(foreign1, foreign2, missing, other));

  ASSERT_OK(store().ReplaceDrift("loc-a", {missing}, "loc-a", a.epoch));
  ASSERT_OK_AND_ASSIGN(auto only_a, store().ListDrift(std::string("loc-a")));
  EXPECT_THAT(only_a, ElementsAre(missing));
  ASSERT_OK(store().ReplaceDrift("loc-a", {}, "loc-a", a.epoch));
  ASSERT_OK_AND_ASSIGN(only_a, store().ListDrift(std::string("loc-a")));
  EXPECT_TRUE(only_a.empty());

  EXPECT_THAT(store().ReplaceDrift("loc-b", {}, "loc-b", b.epoch + 1),
              StatusIs(absl::StatusCode::kAborted));
  EXPECT_THAT(store().ReplaceDrift("loc-a", {other}, "loc-a", a.epoch),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto b_rows, store().ListDrift(std::string("loc-b")));
  EXPECT_THAT(b_rows, ElementsAre(other)) << "refused reports change nothing";
}

// --- change wake-ups ---

TEST_P(StoreContractTest, WaitForChangeWakesOnDesiredChangesButNotOnStatusWrites) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  EXPECT_FALSE(store().WaitForChange(absl::ZeroDuration()));  // baseline
  ASSERT_OK_AND_ASSIGN(Lease l, store().AcquireLease("loc-a", "ctl", absl::Minutes(1), kNow));
  ASSERT_OK(
      store().PutSeatStatus({kLoc, 1, 1, model::Phase::kVacant, {}, "", kNow}, "loc-a", l.epoch));
  ASSERT_OK(store().AppendEvent({0, kNow, kLoc, 1, "account.create", "why", "what"}));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, 1, kNow));    // vacant: no change
  ASSERT_OK(store().UpsertCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)}));  // unchanged
  EXPECT_FALSE(store().WaitForChange(absl::Milliseconds(300)));

  // A change made before the call is reported by it.
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")));
  EXPECT_TRUE(store().WaitForChange(absl::ZeroDuration()));
  EXPECT_FALSE(store().WaitForChange(absl::Milliseconds(300)));

  // A change made while waiting wakes the waiter long before its timeout.
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_OK(store().ApplyVerb(model::Verb::kReset, kLoc, 1, kNow));
  });
  absl::Time start = absl::Now();
  EXPECT_TRUE(store().WaitForChange(absl::Seconds(30)));
  writer.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
}

TEST_P(StoreContractTest, WaitForChangeSeesChangesMadeThroughAnotherStore) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)});
  // Another store on the same database stands for another process.
  ASSERT_OK_AND_ASSIGN(auto other, OpenStore(url()));
  EXPECT_FALSE(store().WaitForChange(absl::ZeroDuration()));  // baseline; starts listening
  std::thread writer([&] {
    absl::SleepFor(absl::Milliseconds(200));
    EXPECT_OK(other->Register(Req("WKSHP-A", "a@example.com")));
  });
  absl::Time start = absl::Now();
  EXPECT_TRUE(store().WaitForChange(absl::Seconds(30)));
  writer.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_FALSE(store().WaitForChange(absl::Milliseconds(500)));
  other.reset();
}

TEST_P(StoreContractTest, WaitForChangeOfOneLocationSleepsThroughRegistrationsOfAnother) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3), MakeWorkshop("WKSHP-B", 1, 3, 3, "loc-b")});
  // Another store stands for the controller process of loc-a; this one for an API process.
  ASSERT_OK_AND_ASSIGN(auto controller_a, OpenStore(url()));
  EXPECT_FALSE(controller_a->WaitForChange(absl::ZeroDuration(), kLoc));  // baseline
  // The catalog load's notification (every location) may still be on its way: let it land.
  controller_a->WaitForChange(absl::Milliseconds(500), kLoc);
  ASSERT_OK_AND_ASSIGN(RegisterResult b, store().Register(Req("WKSHP-B", "b@example.com")));
  EXPECT_EQ(b.seat.location, "loc-b");
  const bool woken_by_b = controller_a->WaitForChange(absl::Seconds(1), kLoc);
  if (GetParam() == Backend::kPostgres) {
    EXPECT_FALSE(woken_by_b) << "a registration on loc-b woke the controller of loc-a";
  } else {
    EXPECT_TRUE(woken_by_b);  // SQLite: one change counter, every change wakes (documented)
  }
  // Its own location's registration, a verb on its seat and a move off it do wake it.
  ASSERT_OK_AND_ASSIGN(RegisterResult a, store().Register(Req("WKSHP-A", "a@example.com")));
  EXPECT_EQ(a.seat.location, kLoc);
  EXPECT_TRUE(controller_a->WaitForChange(absl::Seconds(30), kLoc));
  ASSERT_OK(store().ApplyVerb(model::Verb::kReset, kLoc, a.seat.number, kNow));
  EXPECT_TRUE(controller_a->WaitForChange(absl::Seconds(30), kLoc));
  // A catalog change concerns every location; a waiter of no location sees everything.
  ASSERT_OK(store().UpsertCatalog(
      {MakeWorkshop("WKSHP-A", 1, 3, 2), MakeWorkshop("WKSHP-B", 1, 3, 3, "loc-b")}));
  EXPECT_TRUE(controller_a->WaitForChange(absl::Seconds(30), kLoc));
  ASSERT_OK(store().Register(Req("WKSHP-B", "b2@example.com")));
  EXPECT_TRUE(controller_a->WaitForChange(absl::Seconds(30)));
  controller_a.reset();
}

// A backend's controller opens its store with a small pool (twenty share one PostgreSQL): many
// threads writing at once queue for its connections and all succeed, and the server never
// sees more connections of that store than the bound.
TEST_P(StoreContractTest, APoolBoundCapsTheConnectionsOfManyWritingThreads) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 40, 40)});
  StoreOptions options;
  options.max_connections = 2;
  ASSERT_OK_AND_ASSIGN(auto bounded, OpenStore(url(), options));
  std::atomic<bool> done{false};
  std::atomic<int> most{0};
  std::thread watcher;
  if (GetParam() == Backend::kPostgres) {
    watcher = std::thread([&] {
      pqxx::connection conn(url());
      while (!done.load()) {
        pqxx::nontransaction tx(conn);
        const int n = tx.exec1(
                            "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                            "current_database() AND pid <> pg_backend_pid()")[0]
                          .as<int>();
        most = std::max(most.load(), n);
        absl::SleepFor(absl::Milliseconds(2));
      }
    });
  }
  std::vector<std::thread> writers;
  std::atomic<int> registered{0};
  for (int t = 0; t < 8; ++t) {
    writers.emplace_back([&, t] {
      for (int i = 0; i < 5; ++i) {
        auto r = bounded->Register(Req("WKSHP-A", absl::StrCat("p", t, "-", i, "@example.com")));
        EXPECT_OK(r);
        if (r.ok()) ++registered;
      }
    });
  }
  for (auto& w : writers) w.join();
  done = true;
  if (watcher.joinable()) watcher.join();
  EXPECT_EQ(registered.load(), 40);
  if (GetParam() == Backend::kPostgres) {
    // The fixture's own store holds connections too: count only beyond its one.
    EXPECT_LE(most.load(), 2 + 1) << "connections of a store bounded to 2 (plus the fixture's)";
    EXPECT_GE(most.load(), 1);
  }
}

// The scope a change names survives its trip through a NOTIFY payload.
TEST(ChangeScopeTest, EncodesNamesAndDecodesAnythingUnknownAsEveryLocation) {
  ChangeScope s;
  EXPECT_TRUE(s.empty());
  s.Add("west");
  s.Add("east");
  s.Add("west");
  EXPECT_EQ(s.Encode(), "east,west");
  EXPECT_TRUE(s.Concerns("east"));
  EXPECT_FALSE(s.Concerns("north"));
  EXPECT_TRUE(s.Concerns(""));
  EXPECT_EQ(ChangeScope::Decode("east,west").locations, s.locations);
  EXPECT_TRUE(ChangeScope::Decode("*").all);
  EXPECT_TRUE(ChangeScope::Decode("").all);
  EXPECT_TRUE(ChangeScope::Decode("42").Concerns("42"));
  EXPECT_FALSE(ChangeScope::Decode("42").Concerns("4"));
  EXPECT_TRUE(ChangeScope::Decode("east,WEST").all);
  s.Add("");
  EXPECT_EQ(s.Encode(), "*");
  EXPECT_TRUE(s.Concerns("north"));
}

// --- notifications outbox ---

model::Notification Mail(const std::string& key, absl::Time due = absl::InfinitePast()) {
  model::Notification n;
  n.key = key;
  n.kind = "welcome";
  n.recipient = "a@example.com";
  n.subject = "Subject " + key;
  n.text_body = "text";
  n.html_body = "<p>html</p>";
  n.next_attempt = due;
  return n;
}

TEST_P(StoreContractTest, EnqueueIsIdempotentByKey) {
  model::Notification n = Mail("1:welcome");
  n.registration_id = 1;
  ASSERT_OK_AND_ASSIGN(bool first, store().EnqueueNotification(n));
  n.subject = "changed";
  ASSERT_OK_AND_ASSIGN(bool second, store().EnqueueNotification(n));
  EXPECT_TRUE(first);
  EXPECT_FALSE(second);
  ASSERT_OK_AND_ASSIGN(auto all, store().ListNotifications());
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].subject, "Subject 1:welcome");
  EXPECT_EQ(all[0].registration_id, 1);
  EXPECT_EQ(all[0].state, model::NotificationState::kPending);
  EXPECT_EQ(all[0].attempts, 0);
  EXPECT_EQ(all[0].html_body, "<p>html</p>");
  EXPECT_THAT(store().EnqueueNotification(Mail("")), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST_P(StoreContractTest, ClaimHidesNotificationsUntilTheClaimExpires) {
  ASSERT_OK(store().EnqueueNotification(Mail("a")));
  ASSERT_OK(store().EnqueueNotification(Mail("b")));
  ASSERT_OK(store().EnqueueNotification(Mail("later", kNow + absl::Hours(1))));
  ASSERT_OK_AND_ASSIGN(auto claimed, store().ClaimNotifications(10, kNow, absl::Minutes(5)));
  ASSERT_EQ(claimed.size(), 2u);
  EXPECT_EQ(claimed[0].key, "a");
  EXPECT_EQ(claimed[1].key, "b");
  EXPECT_EQ(claimed[0].attempts, 1);
  ASSERT_OK_AND_ASSIGN(auto none,
                       store().ClaimNotifications(10, kNow + absl::Minutes(4), absl::Minutes(5)));
  EXPECT_TRUE(none.empty());
  // The sender crashed: after the claim ttl the rows come back, counting a second attempt.
  ASSERT_OK(store().MarkNotificationSent(claimed[0].id, kNow));
  ASSERT_OK_AND_ASSIGN(auto again,
                       store().ClaimNotifications(10, kNow + absl::Minutes(6), absl::Minutes(5)));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].key, "b");
  EXPECT_EQ(again[0].attempts, 2);
  // Limit.
  ASSERT_OK_AND_ASSIGN(auto due_later,
                       store().ClaimNotifications(1, kNow + absl::Hours(2), absl::Minutes(5)));
  ASSERT_EQ(due_later.size(), 1u);
}

TEST_P(StoreContractTest, FailedSendIsRetriedAtRetryAtOrFailsForGood) {
  ASSERT_OK(store().EnqueueNotification(Mail("a")));
  ASSERT_OK(store().EnqueueNotification(Mail("b")));
  ASSERT_OK_AND_ASSIGN(auto claimed, store().ClaimNotifications(10, kNow, absl::Minutes(5)));
  ASSERT_EQ(claimed.size(), 2u);
  absl::Time retry_at = kNow + absl::Minutes(1);
  ASSERT_OK(store().MarkNotificationFailed(claimed[0].id, "smtp: 451 try later", retry_at));
  ASSERT_OK(store().MarkNotificationFailed(claimed[1].id, "smtp: 550 no such user", std::nullopt));
  ASSERT_OK_AND_ASSIGN(auto early,
                       store().ClaimNotifications(10, kNow + absl::Seconds(59), absl::Minutes(5)));
  EXPECT_TRUE(early.empty());
  ASSERT_OK_AND_ASSIGN(auto retried, store().ClaimNotifications(10, retry_at, absl::Minutes(5)));
  ASSERT_EQ(retried.size(), 1u);
  EXPECT_EQ(retried[0].key, "a");
  EXPECT_EQ(retried[0].attempts, 2);
  EXPECT_EQ(retried[0].last_error, "smtp: 451 try later");
  ASSERT_OK(store().MarkNotificationSent(retried[0].id, retry_at));
  ASSERT_OK_AND_ASSIGN(auto all, store().ListNotifications());
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].state, model::NotificationState::kSent);
  EXPECT_EQ(all[1].state, model::NotificationState::kFailed);
  EXPECT_EQ(all[1].attempts, 1);
  EXPECT_EQ(all[1].last_error, "smtp: 550 no such user");
  EXPECT_THAT(store().MarkNotificationSent(999, kNow), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(store().MarkNotificationFailed(999, "x", std::nullopt),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, ConcurrentClaimersNeverGetTheSameNotification) {
  constexpr int kMails = 300;
  for (int i = 0; i < kMails; ++i) ASSERT_OK(store().EnqueueNotification(Mail(absl::StrCat(i))));
  constexpr int kThreads = 8;
  std::vector<std::vector<int64_t>> got(kThreads);
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      while (true) {
        auto claimed = store().ClaimNotifications(3, kNow, absl::Hours(1));
        if (!claimed.ok()) {
          ++errors;
          return;
        }
        if (claimed->empty()) return;
        for (const auto& n : *claimed) {
          got[t].push_back(n.id);
          if (!store().MarkNotificationSent(n.id, kNow).ok()) ++errors;
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  std::multiset<int64_t> all;
  for (const auto& v : got) all.insert(v.begin(), v.end());
  EXPECT_EQ(all.size(), static_cast<size_t>(kMails));
  EXPECT_EQ(std::set<int64_t>(all.begin(), all.end()).size(), static_cast<size_t>(kMails))
      << "a notification was claimed twice";
  ASSERT_OK_AND_ASSIGN(auto stored, store().ListNotifications());
  for (const auto& n : stored) {
    EXPECT_EQ(n.state, model::NotificationState::kSent);
    EXPECT_EQ(n.attempts, 1);
  }
}

// --- API tokens ---

TEST_P(StoreContractTest, ApiTokenIsFoundByItsHashWithItsRoleAndOnlyTheHashIsStored) {
  const std::string hash = common::Sha256Hex("secret-admin-token");
  ASSERT_OK_AND_ASSIGN(ApiToken made, store().CreateApiToken("ci", "admin", hash, kNow));
  EXPECT_GT(made.id, 0);
  EXPECT_EQ(made.role, "admin");
  EXPECT_FALSE(made.revoked);
  ASSERT_OK_AND_ASSIGN(ApiToken got, store().GetApiTokenByHash(hash, kNow));
  EXPECT_EQ(got.id, made.id);
  EXPECT_EQ(got.name, "ci");
  EXPECT_EQ(got.role, "admin");
  EXPECT_EQ(got.created, kNow);
  EXPECT_EQ(got.last_used, kNow);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM api_tokens WHERE token_hash = '" + hash + "'"), 1);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM api_tokens WHERE token_hash LIKE '%secret%'"), 0);
  EXPECT_THAT(store().GetApiTokenByHash(common::Sha256Hex("other"), kNow),
              StatusIs(absl::StatusCode::kNotFound));
}

TEST_P(StoreContractTest, ApiTokenLastUseIsWrittenAtMostOnceAMinute) {
  const std::string hash = common::Sha256Hex("t");
  ASSERT_OK(store().CreateApiToken("ops", "operator", hash, kNow));
  ASSERT_OK(store().GetApiTokenByHash(hash, kNow));
  ASSERT_OK(store().GetApiTokenByHash(hash, kNow + absl::Seconds(30)));
  ASSERT_OK_AND_ASSIGN(auto list, store().ListApiTokens());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].last_used, kNow);
  ASSERT_OK(store().GetApiTokenByHash(hash, kNow + absl::Seconds(61)));
  ASSERT_OK_AND_ASSIGN(list, store().ListApiTokens());
  EXPECT_EQ(list[0].last_used, kNow + absl::Seconds(61));
}

TEST_P(StoreContractTest, ApiTokenNamesAndHashesAreUniqueAndInputIsChecked) {
  const std::string hash = common::Sha256Hex("a");
  ASSERT_OK(store().CreateApiToken("one", "admin", hash, kNow));
  EXPECT_THAT(store().CreateApiToken("one", "operator", common::Sha256Hex("b"), kNow),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store().CreateApiToken("two", "operator", hash, kNow),
              StatusIs(absl::StatusCode::kAlreadyExists));
  EXPECT_THAT(store().CreateApiToken("", "admin", common::Sha256Hex("c"), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store().CreateApiToken("three", "root", common::Sha256Hex("c"), kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(store().CreateApiToken("three", "admin", "not-a-hash", kNow),
              StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto list, store().ListApiTokens());
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].name, "one");
}

TEST_P(StoreContractTest, RevokedApiTokenStaysListedAndRevokingTwiceChangesNothing) {
  const std::string hash = common::Sha256Hex("r");
  ASSERT_OK(store().CreateApiToken("b-ops", "operator", hash, kNow));
  ASSERT_OK(store().CreateApiToken("a-admin", "admin", common::Sha256Hex("s"), kNow));
  ASSERT_OK_AND_ASSIGN(bool first, store().RevokeApiToken("b-ops"));
  EXPECT_TRUE(first);
  ASSERT_OK_AND_ASSIGN(bool second, store().RevokeApiToken("b-ops"));
  EXPECT_FALSE(second);
  EXPECT_THAT(store().RevokeApiToken("nobody"), StatusIs(absl::StatusCode::kNotFound));
  ASSERT_OK_AND_ASSIGN(ApiToken got, store().GetApiTokenByHash(hash, kNow));
  EXPECT_TRUE(got.revoked);
  ASSERT_OK_AND_ASSIGN(auto list, store().ListApiTokens());
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0].name, "a-admin");
  EXPECT_FALSE(list[0].revoked);
  EXPECT_EQ(list[1].name, "b-ops");
  EXPECT_TRUE(list[1].revoked);
  // A revoked name stays taken: a new token under it would be confused with the old one.
  EXPECT_THAT(store().CreateApiToken("b-ops", "operator", common::Sha256Hex("t"), kNow),
              StatusIs(absl::StatusCode::kAlreadyExists));
}

// --- migrations ---

TEST_P(StoreContractTest, ReopeningAppliesNoMigrationTwiceAndKeepsTheData) {
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 2, 2)});
  ASSERT_OK(store().Register(Req("WKSHP-A", "a@example.com")));
  const int64_t count = static_cast<int64_t>(Migrations().size());
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations"), count);
  for (int i = 0; i < 2; ++i) {
    ASSERT_OK_AND_ASSIGN(auto reopened, OpenStore(url()));
    ASSERT_OK_AND_ASSIGN(auto regs, reopened->ListRegistrations());
    EXPECT_EQ(regs.size(), 1u);
  }
  EXPECT_EQ(QueryInt("SELECT count(*) FROM schema_migrations"), count);
  EXPECT_EQ(QueryInt("SELECT max(version) FROM schema_migrations"), Migrations().back().version);
}

// A database at schema version 2 (capacity counted in workshops.active_registrations), with
// registrations in it, opened by this version: the migration gives every active registration
// a capacity slot, so what was full stays full and what had room keeps exactly that room.
TEST_P(StoreContractTest, MigratingFromVersion2KeepsTheCapacityAccountingOfRegistrations) {
  std::unique_ptr<testing::ScratchDb> old;
  std::unique_ptr<SqlDb> db;
  if (GetParam() == Backend::kPostgres) {
    ASSERT_OK_AND_ASSIGN(
        old, testing::PgScratchDb::Create(std::getenv("WOD_TEST_PG_URL"), "wod_test_v2"));
    ASSERT_OK_AND_ASSIGN(db, OpenPostgresDb(old->url()));
  } else {
    ASSERT_OK_AND_ASSIGN(old, testing::SqliteScratchDb::Create());
    ASSERT_OK_AND_ASSIGN(db, OpenSqliteDb(old->url().substr(7)));
  }
  ASSERT_OK(Migrate(*db, 2));
  // What a version-2 store wrote: A (capacity 3, 2 active and 1 ended registration), B
  // (capacity lowered to 1 under 2 active), C (deactivated with 1 active).
  struct OldWorkshop {
    model::Workshop spec;
    std::vector<bool> registrations;  // active?, one per seat from range.min on
  };
  std::vector<OldWorkshop> workshops = {
      {MakeWorkshop("WKSHP-A", 1, 5, 3), {true, false, true}},
      {MakeWorkshop("WKSHP-B", 6, 9, 1), {true, true}},
      {MakeWorkshop("WKSHP-C", 10, 11, 2, kLoc, /*active=*/false), {true}},
  };
  ASSERT_OK(db->Transact(TxMode::kWrite, [&](SqlTx& tx) -> absl::Status {
    RETURN_IF_ERROR(tx.Exec("INSERT INTO locations (name) VALUES ($1)", {kLoc}).status());
    int person = 0;
    for (const OldWorkshop& o : workshops) {
      const model::Workshop& w = o.spec;
      int active =
          static_cast<int>(std::count(o.registrations.begin(), o.registrations.end(), true));
      RETURN_IF_ERROR(tx.Exec("INSERT INTO workshops (id, spec_json, spec_hash, generation, "
                              "active, capacity, range_min, range_max, location, duration_hours, "
                              "active_registrations) VALUES ($1, $2, $3, 1, $4, $5, $6, $7, $8, "
                              "4, $9)",
                              {w.id, WorkshopToJson(w), WorkshopSpecHash(w), w.active, w.capacity,
                               w.range.min, w.range.max, w.location, active})
                          .status());
      for (int n = w.range.min; n <= w.range.max; ++n) {
        const size_t i = static_cast<size_t>(n - w.range.min);
        const bool has_registration = i < o.registrations.size();
        if (!w.active && !has_registration) continue;  // vacant seats of inactive: removed
        RETURN_IF_ERROR(tx.Exec("INSERT INTO seats (location, number, workshop, password) "
                                "VALUES ($1, $2, $3, 'locked')",
                                {kLoc, n, w.id})
                            .status());
        if (!has_registration) continue;
        ASSIGN_OR_RETURN(auto p, tx.Query("INSERT INTO participants (email, name, company) VALUES "
                                          "($1, 'P', 'C') RETURNING id",
                                          {absl::StrCat("old", person++, "@example.com")}));
        const bool is_active = o.registrations[i];
        ASSIGN_OR_RETURN(
            auto r, tx.Query("INSERT INTO registrations (participant_id, workshop, location, seat, "
                             "start_us, deadline_us, ended_us, state, token_hash) VALUES ($1, $2, "
                             "$3, $4, 0, 1, $5, $6, $7) RETURNING id",
                             {p[0].Int(0), w.id, kLoc, n,
                              is_active ? SqlParam(nullptr) : SqlParam(int64_t{1}),
                              is_active ? "active" : "ended", absl::StrCat("hash-", w.id, n)}));
        if (is_active) {
          RETURN_IF_ERROR(tx.Exec("UPDATE seats SET registration_id = $1 WHERE location = $2 AND "
                                  "number = $3",
                                  {r[0].Int(0), kLoc, n})
                              .status());
        }
      }
    }
    return absl::OkStatus();
  }));
  db.reset();

  store_.reset();
  ASSERT_OK_AND_ASSIGN(store_, OpenStore(old->url()));
  db_.swap(old);  // QueryInt and the invariants now look at the migrated database
  old.reset();
  EXPECT_EQ(QueryInt("SELECT max(version) FROM schema_migrations"), Migrations().back().version);
  ExpectSlotInvariants();
  EXPECT_EQ(QueryInt("SELECT count(*) FROM capacity_slots WHERE registration_id IS NOT NULL"), 5);

  // A: 2 of 3 taken, so one more fits.
  ASSERT_OK(store().Register(Req("WKSHP-A", "new-a@example.com")));
  EXPECT_THAT(store().Register(Req("WKSHP-A", "new-a2@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 3 reached")));
  // B: 2 active over a capacity of 1; both must end before anyone new gets in.
  EXPECT_THAT(store().Register(Req("WKSHP-B", "new-b@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 1 reached")));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, 6, kNow));
  EXPECT_THAT(store().Register(Req("WKSHP-B", "new-b@example.com")),
              StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 1 reached")));
  ASSERT_OK(store().ApplyVerb(model::Verb::kCleanup, kLoc, 7, kNow));
  ASSERT_OK(store().Register(Req("WKSHP-B", "new-b@example.com")));
  // C: inactive; ending its registration works and leaves no slot behind.
  EXPECT_THAT(store().Register(Req("WKSHP-C", "new-c@example.com")),
              StatusIs(absl::StatusCode::kFailedPrecondition));
  ASSERT_OK_AND_ASSIGN(VerbResult v, store().ApplyVerb(model::Verb::kCleanup, kLoc, 10, kNow));
  EXPECT_TRUE(v.changed);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM capacity_slots WHERE workshop = 'WKSHP-C'"), 0);
  // Reloading the same catalog leaves the migrated workshops alone.
  std::vector<model::Workshop> catalog;
  for (const OldWorkshop& o : workshops) catalog.push_back(o.spec);
  ASSERT_OK_AND_ASSIGN(CatalogChange change, store().UpsertCatalog(catalog));
  EXPECT_THAT(change.unchanged, ElementsAre("WKSHP-A", "WKSHP-B", "WKSHP-C"));
  ExpectSeatInvariants("WKSHP-A", 3);
}

TEST_P(StoreContractTest, ConcurrentOpensOfOneDatabaseAllSucceed) {
  // A second, never-opened database: every thread races to migrate it.
  std::unique_ptr<testing::ScratchDb> fresh;
  if (GetParam() == Backend::kPostgres) {
    ASSERT_OK_AND_ASSIGN(
        fresh, testing::PgScratchDb::Create(std::getenv("WOD_TEST_PG_URL"), "wod_test_open"));
  } else {
    ASSERT_OK_AND_ASSIGN(fresh, testing::SqliteScratchDb::Create());
  }
  constexpr int kThreads = 8;
  std::vector<absl::Status> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      auto s = OpenStore(fresh->url());
      results[t] = s.status();
      if (s.ok()) results[t] = (*s)->UpsertCatalog({MakeWorkshop("WKSHP-A", 1, 3, 3)}).status();
    });
  }
  for (auto& th : threads) th.join();
  for (const auto& s : results) EXPECT_OK(s);
  ASSERT_OK_AND_ASSIGN(auto store, OpenStore(fresh->url()));
  ASSERT_OK_AND_ASSIGN(auto seats, store->ListSeats());
  EXPECT_EQ(seats.size(), 3u);
  store.reset();
}

// --- concurrency ---

// 16 threads x 500 registrations (distinct emails, plus a few emails every thread tries)
// against one workshop with 200 seats of capacity: exactly 200 succeed, checked on the rows.
TEST_P(StoreContractTest, ConcurrentRegistrationsNeverShareASeatOrExceedCapacity) {
  constexpr int kThreads = 16;
  constexpr int kPerThread = 500;
  constexpr int kCapacity = 200;
  // The range is larger than the capacity, so both limits are exercised.
  LoadCatalog({MakeWorkshop("WKSHP-Hot", 1, 220, kCapacity)});
  std::atomic<int> ok{0}, already{0}, full{0}, other{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        // Every 7th attempt uses one of 5 emails shared by all threads.
        std::string email = i % 7 == 0 ? absl::StrCat("shared", i % 5, "@example.com")
                                       : absl::StrCat("p", t, "-", i, "@example.com");
        auto r = store().Register(Req("WKSHP-Hot", email));
        if (r.ok()) {
          ++ok;
        } else if (r.status().code() == absl::StatusCode::kAlreadyExists) {
          ++already;
        } else if (r.status().code() == absl::StatusCode::kResourceExhausted) {
          ++full;
        } else {
          ++other;
          ADD_FAILURE() << r.status();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(ok.load(), kCapacity);
  EXPECT_EQ(other.load(), 0);
  EXPECT_GT(already.load(), 0) << "shared emails must have collided";
  EXPECT_EQ(ok + already + full, kThreads * kPerThread);
  ExpectSeatInvariants("WKSHP-Hot", kCapacity);
  ASSERT_OK_AND_ASSIGN(auto active, store().ListRegistrations(model::RegistrationState::kActive));
  EXPECT_EQ(active.size(), static_cast<size_t>(kCapacity));
  std::set<std::string> emails;
  ASSERT_OK_AND_ASSIGN(auto seats, store().ListSeats());
  for (const SeatView& v : seats) {
    if (v.participant) {
      EXPECT_TRUE(emails.insert(v.participant->email).second);
    }
  }
  EXPECT_EQ(emails.size(), static_cast<size_t>(kCapacity));
}

// Registrations, cleanups and resets racing on one workshop: the invariants hold after.
TEST_P(StoreContractTest, RacingRegistrationsAndVerbsKeepEverySeatConsistent) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 60;
  LoadCatalog({MakeWorkshop("WKSHP-A", 1, 10, 10)});
  std::atomic<int> unexpected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto r = store().Register(Req("WKSHP-A", absl::StrCat("t", t, "@example.com")));
        if (!r.ok() && r.status().code() != absl::StatusCode::kResourceExhausted &&
            r.status().code() != absl::StatusCode::kAlreadyExists) {
          ++unexpected;
        }
        int seat = 1 + static_cast<int>(common::RandomUniform(10));
        model::Verb verb = i % 3 == 0 ? model::Verb::kReset : model::Verb::kCleanup;
        if (!store().ApplyVerb(verb, kLoc, seat, kNow).ok()) ++unexpected;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(unexpected.load(), 0);
  ExpectSeatInvariants("WKSHP-A", 10);
}

// Registrations, cleanups and capacity changes racing on one workshop whose capacity keeps
// being lowered below its active registrations: the slots stay exact, and afterwards the
// workshop admits exactly up to its capacity.
TEST_P(StoreContractTest, RacingVerbsAndCapacityChangesKeepTheCapacitySlotsExact) {
  constexpr int kThreads = 6;
  constexpr int kRounds = 40;
  constexpr int kSeats = 20;
  model::Workshop w = MakeWorkshop("WKSHP-A", 1, kSeats, 12);
  LoadCatalog({w});
  for (int i = 0; i < 12; ++i) {
    ASSERT_OK(store().Register(Req("WKSHP-A", absl::StrCat("pre", i, "@example.com"))));
  }
  std::atomic<int> unexpected{0};
  std::atomic<bool> done{false};
  std::thread catalog([&] {
    // Capacity moves between below and above the active count while the others run.
    model::Workshop changing = w;
    for (int i = 0; !done.load(); ++i) {
      changing.capacity = i % 3 == 0 ? 3 : (i % 3 == 1 ? 7 : 15);
      auto change = store().UpsertCatalog({changing});
      if (!change.ok()) {
        ++unexpected;
        ADD_FAILURE() << change.status();
      }
      absl::SleepFor(absl::Milliseconds(5));
    }
  });
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        auto r = store().Register(Req("WKSHP-A", absl::StrCat("t", t, "@example.com")));
        if (!r.ok() && r.status().code() != absl::StatusCode::kResourceExhausted &&
            r.status().code() != absl::StatusCode::kAlreadyExists) {
          ++unexpected;
          ADD_FAILURE() << r.status();
        }
        int seat = 1 + static_cast<int>(common::RandomUniform(kSeats));
        model::Verb verb = i % 4 == 0 ? model::Verb::kReset
                                      : (i % 4 == 1 ? model::Verb::kPurge : model::Verb::kCleanup);
        auto v = store().ApplyVerb(verb, kLoc, seat, kNow);
        if (!v.ok()) {
          ++unexpected;
          ADD_FAILURE() << v.status();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  done = true;
  catalog.join();
  EXPECT_EQ(unexpected.load(), 0);
  ExpectSlotInvariants();

  // Settle on capacity 5: registrations are admitted exactly while fewer than 5 are active.
  w.capacity = 5;
  LoadCatalog({w});
  ExpectSlotInvariants();
  const int64_t before = ActiveCount("WKSHP-A");
  int admitted = 0;
  for (int i = 0; i < kSeats; ++i) {
    auto r = store().Register(Req("WKSHP-A", absl::StrCat("after", i, "@example.com")));
    if (!r.ok()) {
      EXPECT_THAT(r, StatusIs(absl::StatusCode::kResourceExhausted, HasSubstr("capacity 5")));
      break;
    }
    ++admitted;
  }
  EXPECT_EQ(admitted, std::max<int64_t>(0, 5 - before));
  EXPECT_EQ(ActiveCount("WKSHP-A"), std::max<int64_t>(5, before));
  ExpectSeatInvariants("WKSHP-A", static_cast<int>(std::max<int64_t>(5, before)));
}

// The same as above from several processes, each with its own store.
TEST_P(StoreContractTest, RegistrationsFromSeveralProcessesNeverShareASeat) {
  constexpr int kProcesses = 4;
  constexpr int kPerProcess = 100;
  constexpr int kSeats = 150;
  LoadCatalog({MakeWorkshop("WKSHP-Proc", 1, kSeats, kSeats)});
  // Fork only without threads: the store's own (PostgreSQL's change notifier) may hold a lock
  // inside libpq that a forked child would then wait for forever.
  store_.reset();
  std::vector<pid_t> children;
  for (int p = 0; p < kProcesses; ++p) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: a store of its own; the exit code says whether anything unexpected happened.
      int code = 0;
      auto store = OpenStore(url());
      if (!store.ok()) _exit(2);
      for (int i = 0; i < kPerProcess; ++i) {
        auto r =
            (*store)->Register(Req("WKSHP-Proc", absl::StrCat("proc", p, "-", i, "@example.com")));
        if (!r.ok() && r.status().code() != absl::StatusCode::kResourceExhausted) code = 3;
        // Every process also tries one email shared by all.
        if (i == 0) {
          auto s = (*store)->Register(Req("WKSHP-Proc", "everyone@example.com"));
          if (!s.ok() && s.status().code() != absl::StatusCode::kAlreadyExists) code = 4;
        }
      }
      store->reset();
      _exit(code);
    }
    children.push_back(pid);
  }
  // A child that hangs is killed after the deadline instead of hanging the suite.
  const absl::Time deadline = absl::Now() + absl::Minutes(2);
  for (pid_t pid : children) {
    int wstatus = 0;
    pid_t done = 0;
    while ((done = waitpid(pid, &wstatus, WNOHANG)) == 0 && absl::Now() < deadline) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    if (done == 0) {
      kill(pid, SIGKILL);
      waitpid(pid, &wstatus, 0);
      ADD_FAILURE() << "child " << pid << " did not finish in time";
      continue;
    }
    ASSERT_EQ(done, pid);
    ASSERT_TRUE(WIFEXITED(wstatus));
    EXPECT_EQ(WEXITSTATUS(wstatus), 0);
  }
  ASSERT_OK_AND_ASSIGN(store_, OpenStore(url()));
  ASSERT_OK_AND_ASSIGN(auto active, store().ListRegistrations(model::RegistrationState::kActive));
  EXPECT_EQ(active.size(), static_cast<size_t>(kSeats));
  ExpectSeatInvariants("WKSHP-Proc", kSeats);
  EXPECT_EQ(QueryInt("SELECT count(*) FROM registrations r JOIN participants p ON "
                     "p.id = r.participant_id WHERE p.email = 'everyone@example.com'"),
            1);
}

#ifdef WOD_STORE_TEST_POSTGRES
INSTANTIATE_TEST_SUITE_P(Postgres, StoreContractTest, ::testing::Values(Backend::kPostgres),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Postgres, RoutingTest, ::testing::Values(Backend::kPostgres), BackendName);
#else
INSTANTIATE_TEST_SUITE_P(Sqlite, StoreContractTest, ::testing::Values(Backend::kSqlite),
                         BackendName);
INSTANTIATE_TEST_SUITE_P(Sqlite, RoutingTest, ::testing::Values(Backend::kSqlite), BackendName);
#endif

}  // namespace
}  // namespace wod::store
