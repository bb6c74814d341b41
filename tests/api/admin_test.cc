// The admin/operator routes and the participant view over HTTP against a real SQLite store:
// every route answers 401 without or with a bad token, 403 to an operator where it acts, and
// 200/404 to the right role; verbs are idempotent; no secret leaves except the participant's
// own credentials once the seat is Ready.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/random.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"

namespace wod::api {
namespace {

using testing::ErrorOf;
using ::testing::HasSubstr;
using testing::MakeWorkshop;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kJson[] = "application/json";
constexpr char kAdminToken[] = "admin-secret-token-0123456789";
constexpr char kOperatorToken[] = "operator-secret-token-0123456789";
constexpr char kRevokedToken[] = "revoked-secret-token-0123456789";
constexpr char kLease[] = "controller/loc-a";

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }
httplib::Headers ParticipantAuth(const std::string& token) {
  return {{"Authorization", "Participant " + token}};
}

class AdminApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testing::SqliteScratchDb::Create();
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto store = store::OpenStore(db_->url());
    ASSERT_OK(store);
    store_ = std::move(store).value();
    ASSERT_OK(store_->UpsertCatalog({MakeWorkshop("WKSHP-Alpha", 1, 3, 3)}));
    const absl::Time now = clock_.Now();
    ASSERT_OK(store_->CreateApiToken("admin", "admin", common::Sha256Hex(kAdminToken), now));
    ASSERT_OK(store_->CreateApiToken("ops", "operator", common::Sha256Hex(kOperatorToken), now));
    ASSERT_OK(store_->CreateApiToken("old", "admin", common::Sha256Hex(kRevokedToken), now));
    ASSERT_OK(store_->RevokeApiToken("old"));
    config_.registration_rate_limit.per_minute = 0;
    running_ = testing::StartServer(store_.get(), config_, &clock_);
    ASSERT_NE(running_, nullptr);
  }

  httplib::Client& client() { return *running_->client; }

  // Registers `email` and returns {registration id, seat, participant token}.
  std::tuple<int64_t, int, std::string> Register(const std::string& email) {
    auto res = client().Post("/api/v1/registrations",
                             testing::RegistrationBody("WKSHP-Alpha", email), kJson);
    EXPECT_TRUE(res);
    if (!res) return {0, 0, ""};
    EXPECT_EQ(res->status, 201) << res->body;
    json j = json::parse(res->body);
    return {j["registration"]["id"].get<int64_t>(), j["registration"]["seat"].get<int>(),
            j["token"].get<std::string>()};
  }

  // A status as the controller writes it; by default for the seat's current generation.
  void PutPhase(int seat, const std::string& phase, std::optional<int64_t> observed = {}) {
    auto lease = store_->AcquireLease(kLease, "test", absl::Hours(1), clock_.Now());
    ASSERT_OK(lease);
    if (!observed) {
      auto v = store_->GetSeat("loc-a", seat);
      ASSERT_OK(v);
      observed = v->seat.generation;
    }
    store::SeatStatus st;
    st.location = "loc-a";
    st.number = seat;
    st.observed_generation = *observed;
    st.phase = *model::PhaseFromName(phase);
    st.conditions = {{"AccountReady", model::ConditionStatus::kTrue, "Created", "", clock_.Now()}};
    st.updated = clock_.Now();
    ASSERT_OK(store_->PutSeatStatus(st, kLease, lease->epoch));
  }

  std::string PasswordOf(int seat) {
    auto v = store_->GetSeat("loc-a", seat);
    EXPECT_OK(v);
    return v.ok() ? v->seat.password : "";
  }

  common::FakeClock clock_;
  ServerConfig config_;
  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<testing::Running> running_;
};

struct RouteCase {
  std::string method;
  std::string path;
  bool admin_only;
};

const std::vector<RouteCase>& BearerRoutes() {
  static const auto* routes = new std::vector<RouteCase>{
      {"GET", "/api/v1/seats", false},
      {"GET", "/api/v1/seats?location=loc-a", false},
      {"GET", "/api/v1/drift", false},
      {"GET", "/api/v1/events?limit=5", false},
      {"POST", "/api/v1/seats/loc-a/1:reset", true},
      {"POST", "/api/v1/seats/loc-a/1:cleanup", true},
      {"POST", "/api/v1/seats/loc-a/1:purge", true},
      {"POST", "/api/v1/registrations/1:extend", true},
      {"GET", "/api/v1/locations", false},
      {"PATCH", "/api/v1/locations/loc-a", true},
  };
  return *routes;
}

httplib::Result Send(httplib::Client& c, const RouteCase& r, const httplib::Headers& headers) {
  if (r.method == "GET") return c.Get(r.path, headers);
  if (r.method == "PATCH") return c.Patch(r.path, headers, R"({"state": "draining"})", kJson);
  const std::string body = absl::StrContains(r.path, ":extend") ? R"({"minutes": 30})" : "";
  return c.Post(r.path, headers, body, kJson);
}

TEST_F(AdminApiTest, EveryBearerRouteIs401WithoutAKnownLiveBearerToken) {
  const std::vector<httplib::Headers> bad = {
      {},
      Bearer("not-a-token"),
      Bearer(kRevokedToken),
      {{"Authorization", std::string("Basic ") + kAdminToken}},
      {{"Authorization", "Bearer"}},
      ParticipantAuth(kAdminToken),
  };
  for (const RouteCase& r : BearerRoutes()) {
    for (const httplib::Headers& h : bad) {
      auto res = Send(client(), r, h);
      ASSERT_TRUE(res);
      EXPECT_EQ(res->status, 401) << r.method << " " << r.path;
      EXPECT_EQ(ErrorOf(res).value("code", ""), "unauthenticated");
      EXPECT_EQ(res->get_header_value("WWW-Authenticate"), "Bearer realm=\"wod\"");
      EXPECT_THAT(res->body, Not(HasSubstr("secret")));
    }
  }
}

TEST_F(AdminApiTest, OperatorReadsButIsForbiddenToActAndChangesNothing) {
  auto [id, seat, token] = Register("ada@example.com");
  for (const RouteCase& r : BearerRoutes()) {
    auto res = Send(client(), r, Bearer(kOperatorToken));
    ASSERT_TRUE(res);
    if (r.admin_only) {
      EXPECT_EQ(res->status, 403) << r.path;
      EXPECT_EQ(ErrorOf(res).value("code", ""), "forbidden") << r.path;
    } else {
      EXPECT_EQ(res->status, 200) << r.path << ": " << res->body;
    }
  }
  auto reg = store_->GetRegistration(id);
  ASSERT_OK(reg);
  EXPECT_EQ(reg->state, model::RegistrationState::kActive);
  EXPECT_EQ(reg->deadline, clock_.Now() + absl::Hours(4));
}

// Locations over HTTP: the list says who runs each and whether it is live; PATCH changes one
// (admin), answers 400 naming a bad field and 404 for an unknown name; a draining location
// takes no registration, and when a dead backend holds the only free seats a registration is
// 503 no_backend with Retry-After and stores nothing.
TEST_F(AdminApiTest, LocationsAreListedPatchedAndRoutingRefusesDeadBackendsWithNoBackend) {
  auto res = client().Get("/api/v1/locations", Bearer(kOperatorToken));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  json list = json::parse(res->body)["locations"];
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0]["name"], "loc-a");
  EXPECT_EQ(list[0]["state"], "active");
  EXPECT_EQ(list[0]["seats"]["total"], 3);
  EXPECT_EQ(list[0]["live"], false);
  EXPECT_TRUE(list[0]["last_pass"].is_null());

  res = client().Patch("/api/v1/locations/loc-a", Bearer(kAdminToken),
                       R"({"fqdn": "east.example.com", "hub_url": "https://east.example.com/hub"})",
                       kJson);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["fqdn"], "east.example.com");
  ASSERT_OK_AND_ASSIGN(auto locations, store_->ListLocations());
  EXPECT_EQ(locations[0].hub_url, "https://east.example.com/hub");
  for (const auto& [body, field] : std::vector<std::pair<std::string, std::string>>{
           {R"({"state": "sleeping"})", "state"},
           {R"j({"hub_url": "javascript:alert(1)"})j", "hub_url"},
           {R"({"fqdn": "a b"})", "fqdn"},
           {R"({"colour": "red"})", "colour"}}) {
    res = client().Patch("/api/v1/locations/loc-a", Bearer(kAdminToken), body, kJson);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << body;
    EXPECT_EQ(ErrorOf(res).value("field", ""), field) << body;
  }
  res = client().Patch("/api/v1/locations/loc-nope", Bearer(kAdminToken), R"({"state": "active"})",
                       kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "location_not_found");

  // The controller of loc-a reported a pass long ago and let its lease lapse: dead.
  ASSERT_OK_AND_ASSIGN(auto lease,
                       store_->AcquireLease(kLease, "ctl", absl::Seconds(15), clock_.Now()));
  ASSERT_OK(store_->RecordPass("loc-a", absl::Milliseconds(3), clock_.Now(), kLease, lease.epoch));
  clock_.Advance(absl::Minutes(5));
  res = client().Post("/api/v1/registrations",
                      testing::RegistrationBody("WKSHP-Alpha", "late@example.com"), kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503) << res->body;
  EXPECT_EQ(ErrorOf(res).value("code", ""), "no_backend");
  EXPECT_EQ(res->get_header_value("Retry-After"), "15");
  EXPECT_THAT(store_->GetActiveRegistrationByEmail("late@example.com"),
              wod::testing::StatusIs(absl::StatusCode::kNotFound));
  res = client().Get("/api/v1/locations", Bearer(kOperatorToken));
  ASSERT_TRUE(res);
  list = json::parse(res->body)["locations"];
  EXPECT_EQ(list[0]["live"], false);
  EXPECT_EQ(list[0]["lease"]["holder"], "ctl");
  EXPECT_EQ(list[0]["last_pass"]["passes"], 1);

  // Back, then drained: full, not no_backend (drained on purpose).
  ASSERT_OK_AND_ASSIGN(lease, store_->AcquireLease(kLease, "ctl", absl::Seconds(15), clock_.Now()));
  ASSERT_OK(store_->RecordPass("loc-a", absl::Milliseconds(3), clock_.Now(), kLease, lease.epoch));
  res = client().Patch("/api/v1/locations/loc-a", Bearer(kAdminToken), R"({"state": "draining"})",
                       kJson);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["live"], true);
  res = client().Post("/api/v1/registrations",
                      testing::RegistrationBody("WKSHP-Alpha", "late@example.com"), kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409) << res->body;
}

// The participant page's "Open workshop" link is the hub of the seat's location once the
// location names one, before api.hub_public_url.
TEST_F(AdminApiTest, TheParticipantsHubLinkIsTheirLocationsHub) {
  // A named copy: clang 14 does not let a lambda capture a structured binding.
  const std::string token = std::get<2>(Register("ada@example.com"));
  auto hub_url = [&]() -> json {
    auto res = client().Get("/api/v1/me", ParticipantAuth(token));
    EXPECT_TRUE(res);
    if (!res) return nullptr;
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body)["hub_url"];
  };
  EXPECT_TRUE(hub_url().is_null()) << "neither the location nor the config names a hub";
  auto res = client().Patch("/api/v1/locations/loc-a", Bearer(kAdminToken),
                            R"({"hub_url": "https://east.example.com/"})", kJson);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(hub_url(), "https://east.example.com/hub/login");
}

TEST_F(AdminApiTest, SeatsListOccupantPhaseAndConditionsButNeverAPasswordOrTokenHash) {
  auto [id, seat, token] = Register("ada@example.com");
  PutPhase(seat, "Ready");
  auto res = client().Get("/api/v1/seats", Bearer(kOperatorToken));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  json seats = json::parse(res->body)["seats"];
  ASSERT_EQ(seats.size(), 3u);
  EXPECT_EQ(seats[0]["seat"], seat);
  EXPECT_EQ(seats[0]["workshop"], "WKSHP-Alpha");
  EXPECT_EQ(seats[0]["phase"], "Ready");
  EXPECT_EQ(seats[0]["status"]["conditions"][0]["type"], "AccountReady");
  EXPECT_EQ(seats[0]["occupant"]["email"], "ada@example.com");
  EXPECT_EQ(seats[0]["registration"]["id"], id);
  EXPECT_EQ(seats[0]["registration"]["deadline"],
            common::FormatTime(clock_.Now() + absl::Hours(4)));
  EXPECT_EQ(seats[1]["phase"], "Unobserved");
  EXPECT_TRUE(seats[1]["occupant"].is_null());
  for (int n = 1; n <= 3; ++n) EXPECT_THAT(res->body, Not(HasSubstr(PasswordOf(n))));
  EXPECT_THAT(res->body, Not(HasSubstr(common::Sha256Hex(token))));
  EXPECT_THAT(res->body, Not(HasSubstr(token)));

  auto other = client().Get("/api/v1/seats?location=elsewhere", Bearer(kOperatorToken));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  EXPECT_TRUE(json::parse(other->body)["seats"].empty());
}

// Right after a turnover the seat's stored status is still the previous occupant's Ready (the
// controller has not seen the new generation): /seats and /metrics must say Provisioning, as
// /me does (model::EffectivePhase), never the previous occupant's Ready.
TEST_F(AdminApiTest, RightAfterATurnoverSeatsAndMetricsShowProvisioningNotThePreviousReady) {
  auto [first, seat, token] = Register("ada@example.com");
  PutPhase(seat, "Ready");
  auto cleanup = client().Post(absl::StrCat("/api/v1/seats/loc-a/", seat, ":cleanup"),
                               Bearer(kAdminToken), "", kJson);
  ASSERT_TRUE(cleanup);
  ASSERT_EQ(cleanup->status, 200) << cleanup->body;
  auto phase_of = [&](int n) -> std::string {
    auto res = client().Get("/api/v1/seats", Bearer(kOperatorToken));
    if (!res || res->status != 200) return "no answer";
    const json seats = json::parse(res->body)["seats"];
    for (const auto& s : seats) {
      if (s["seat"] == n) return s["phase"].get<std::string>();
    }
    return "no seat";
  };
  EXPECT_EQ(phase_of(seat), "Vacating") << "vacated, not yet observed: not the old Ready";
  auto [second, next_seat, next_token] = Register("bob@example.com");
  ASSERT_EQ(next_seat, seat) << "the lowest free seat is the one just vacated";
  EXPECT_EQ(phase_of(seat), "Provisioning");
  auto metrics = client().Get("/metrics");
  ASSERT_TRUE(metrics);
  EXPECT_THAT(metrics->body, HasSubstr("wod_seats{phase=\"Provisioning\"} 1"));
  EXPECT_THAT(metrics->body, HasSubstr("wod_seats{phase=\"Ready\"} 0"));
  PutPhase(seat, "Ready");  // the controller saw the new generation
  EXPECT_EQ(phase_of(seat), "Ready");
}

TEST_F(AdminApiTest, CleanupEndsTheRegistrationOnceAndIsANoOpTheSecondTime) {
  auto [id, seat, token] = Register("ada@example.com");
  const std::string path = absl::StrCat("/api/v1/seats/loc-a/", seat, ":cleanup");
  auto first = client().Post(path, Bearer(kAdminToken), "", kJson);
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200) << first->body;
  json j = json::parse(first->body);
  EXPECT_TRUE(j["changed"].get<bool>());
  EXPECT_EQ(j["verb"], "cleanup");
  EXPECT_EQ(j["registration"]["state"], "ended");
  EXPECT_FALSE(j["seat"]["occupied"].get<bool>());
  EXPECT_THAT(first->body, Not(HasSubstr(PasswordOf(seat))));
  auto second = client().Post(path, Bearer(kAdminToken), "{}", kJson);
  ASSERT_TRUE(second);
  ASSERT_EQ(second->status, 200);
  EXPECT_FALSE(json::parse(second->body)["changed"].get<bool>());
  auto reg = store_->GetRegistration(id);
  ASSERT_OK(reg);
  EXPECT_EQ(reg->state, model::RegistrationState::kEnded);
}

// Who did it: every change made through the API leaves an event naming the admin token (by
// its name, never its secret) or the participant; a call that changed nothing leaves none.
TEST_F(AdminApiTest, ActionsLeaveAnEventNamingTheTokenOrTheParticipant) {
  auto [id, seat, token] = Register("ada@example.com");
  auto [id2, seat2, token2] = Register("bob@example.com");
  ASSERT_EQ(client().Post("/api/v1/me:end", ParticipantAuth(token2), "", kJson)->status, 200);
  ASSERT_EQ(client()
                .Post(absl::StrCat("/api/v1/registrations/", id, ":extend"), Bearer(kAdminToken),
                      R"({"minutes": 30})", kJson)
                ->status,
            200);
  const std::string cleanup = absl::StrCat("/api/v1/seats/loc-a/", seat, ":cleanup");
  ASSERT_EQ(client().Post(cleanup, Bearer(kAdminToken), "", kJson)->status, 200);
  ASSERT_EQ(client().Post(cleanup, Bearer(kAdminToken), "", kJson)->status, 200);  // no-op
  ASSERT_EQ(
      client()
          .Patch("/api/v1/locations/loc-a", Bearer(kAdminToken), R"({"state": "draining"})", kJson)
          ->status,
      200);

  ASSERT_OK_AND_ASSIGN(auto events, store_->ListEvents(std::nullopt, 0));
  std::map<std::string, int> kinds;
  for (const auto& e : events) {
    if (e.kind.rfind("api.", 0) != 0) continue;
    ++kinds[e.kind];
    EXPECT_THAT(e.reason + e.message, Not(HasSubstr(kAdminToken)));
    EXPECT_THAT(e.reason + e.message, Not(HasSubstr(token2)));
    if (e.kind == "api.end") {
      EXPECT_EQ(e.reason, "the participant (page token)");
      EXPECT_EQ(e.message, absl::StrCat("registration ", id2));
    } else {
      EXPECT_EQ(e.reason, "admin token 'admin'") << e.kind;
    }
    if (e.kind == "api.cleanup") {
      EXPECT_EQ(e.seat, seat);
    }
  }
  EXPECT_EQ(kinds,
            (std::map<std::string, int>{
                {"api.cleanup", 1}, {"api.end", 1}, {"api.extend", 1}, {"api.location.set", 1}}));
}

TEST_F(AdminApiTest, ResetKeepsTheOccupantAndPurgeFailsTheRegistration) {
  auto [id, seat, token] = Register("ada@example.com");
  auto reset = client().Post(absl::StrCat("/api/v1/seats/loc-a/", seat, ":reset"),
                             Bearer(kAdminToken), "", kJson);
  ASSERT_TRUE(reset);
  ASSERT_EQ(reset->status, 200);
  json r = json::parse(reset->body);
  EXPECT_TRUE(r["changed"].get<bool>());
  EXPECT_EQ(r["seat"]["reset_epoch"], 1);
  EXPECT_EQ(r["registration"]["state"], "active");
  auto purge = client().Post(absl::StrCat("/api/v1/seats/loc-a/", seat, ":purge"),
                             Bearer(kAdminToken), "", kJson);
  ASSERT_TRUE(purge);
  ASSERT_EQ(purge->status, 200);
  EXPECT_EQ(json::parse(purge->body)["registration"]["state"], "failed");
  // On a vacant seat every verb is a no-op.
  for (const char* verb : {"reset", "cleanup", "purge"}) {
    auto again = client().Post(absl::StrCat("/api/v1/seats/loc-a/", seat, ":", verb),
                               Bearer(kAdminToken), "", kJson);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->status, 200);
    EXPECT_FALSE(json::parse(again->body)["changed"].get<bool>()) << verb;
  }
}

TEST_F(AdminApiTest, VerbsOnUnknownSeatsAre404AndABodyWithFieldsIs400) {
  for (const std::string path : {"/api/v1/seats/loc-a/99:cleanup", "/api/v1/seats/nowhere/1:reset",
                                 "/api/v1/seats/loc-a/x:purge", "/api/v1/seats/loc-a/-1:purge"}) {
    auto res = client().Post(path, Bearer(kAdminToken), "", kJson);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(ErrorOf(res).value("code", ""), "seat_not_found") << path;
  }
  auto res = client().Post("/api/v1/seats/loc-a/1:cleanup", Bearer(kAdminToken),
                           R"({"force": true})", kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "unknown_field");
  EXPECT_EQ(ErrorOf(res).value("field", ""), "force");
}

TEST_F(AdminApiTest, ExtendByMinutesOrToADeadlineWithAStrictBody) {
  auto [id, seat, token] = Register("ada@example.com");
  const std::string path = absl::StrCat("/api/v1/registrations/", id, ":extend");
  const absl::Time deadline = clock_.Now() + absl::Hours(4);

  auto res = client().Post(path, Bearer(kAdminToken), R"({"minutes": 30})", kJson);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(json::parse(res->body)["registration"]["deadline"],
            common::FormatTime(deadline + absl::Minutes(30)));

  const absl::Time target = clock_.Now() + absl::Hours(8);
  res = client().Post(path, Bearer(kAdminToken),
                      json{{"deadline", common::FormatTime(target)}}.dump(), kJson);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto reg = store_->GetRegistration(id);
  ASSERT_OK(reg);
  EXPECT_EQ(reg->deadline, target);

  struct Case {
    std::string body;
    std::string code;
    std::string field;
  };
  const std::vector<Case> bad = {
      {R"({"minutes": 30, "reason": "x"})", "unknown_field", "reason"},
      {R"({"minutes": "30"})", "wrong_type", "minutes"},
      {R"({"minutes": 1.5})", "wrong_type", "minutes"},
      {R"({"minutes": 0})", "invalid_field", "minutes"},
      {R"({})", "missing_field", "deadline"},
      {R"({"minutes": 5, "deadline": "2030-01-01T00:00:00Z"})", "invalid_body", "deadline"},
      {R"({"deadline": "tomorrow"})", "invalid_field", "deadline"},
      {R"({"deadline": "2020-01-01T00:00:00Z"})", "invalid_field", "deadline"},
      {R"({"deadline": "infinite-future"})", "invalid_field", "deadline"},
      {json{{"deadline", common::FormatTime(clock_.Now() + absl::Hours(31 * 24))}}.dump(),
       "invalid_field", "deadline"},
      {R"({"minutes": 5)", "invalid_json", ""},
  };
  for (const Case& c : bad) {
    auto r = client().Post(path, Bearer(kAdminToken), c.body, kJson);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << c.body;
    EXPECT_EQ(ErrorOf(r).value("code", ""), c.code) << c.body;
    EXPECT_EQ(ErrorOf(r).value("field", ""), c.field) << c.body;
  }
  reg = store_->GetRegistration(id);
  ASSERT_OK(reg);
  EXPECT_EQ(reg->deadline, target);

  auto missing = client().Post("/api/v1/registrations/999:extend", Bearer(kAdminToken),
                               R"({"minutes": 5})", kJson);
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(ErrorOf(missing).value("code", ""), "registration_not_found");

  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, "loc-a", seat, clock_.Now()));
  auto ended = client().Post(path, Bearer(kAdminToken), R"({"minutes": 5})", kJson);
  ASSERT_TRUE(ended);
  EXPECT_EQ(ended->status, 409);
  EXPECT_EQ(ErrorOf(ended).value("code", ""), "registration_not_active");
}

TEST_F(AdminApiTest, DriftAndEventsAreListedAndFilteredByLocation) {
  auto lease = store_->AcquireLease(kLease, "test", absl::Hours(1), clock_.Now());
  ASSERT_OK(lease);
  store::DriftEntry d{"loc-a", 2, "accounts", "student2 exists", "missing", "create", clock_.Now()};
  ASSERT_OK(store_->ReplaceDrift("loc-a", {d}, kLease, lease->epoch));
  for (int i = 0; i < 3; ++i) {
    store::Event e;
    e.time = clock_.Now();
    e.location = i == 2 ? "loc-b" : "loc-a";
    e.seat = i;
    e.kind = "seat.create";
    e.reason = "test";
    e.message = absl::StrCat("event ", i);
    ASSERT_OK(store_->AppendEvent(e));
  }
  auto drift = client().Get("/api/v1/drift?location=loc-a", Bearer(kOperatorToken));
  ASSERT_TRUE(drift);
  ASSERT_EQ(drift->status, 200);
  json dj = json::parse(drift->body)["drift"];
  ASSERT_EQ(dj.size(), 1u);
  EXPECT_EQ(dj[0]["planned"], "create");
  EXPECT_EQ(dj[0]["seat"], 2);

  auto events = client().Get("/api/v1/events", Bearer(kOperatorToken));
  ASSERT_TRUE(events);
  ASSERT_EQ(events->status, 200);
  json ej = json::parse(events->body)["events"];
  ASSERT_EQ(ej.size(), 3u);
  EXPECT_EQ(ej[0]["message"], "event 2");  // newest first
  auto limited = client().Get("/api/v1/events?location=loc-a&limit=1", Bearer(kAdminToken));
  ASSERT_TRUE(limited);
  ASSERT_EQ(limited->status, 200);
  ej = json::parse(limited->body)["events"];
  ASSERT_EQ(ej.size(), 1u);
  EXPECT_EQ(ej[0]["message"], "event 1");
  for (const char* bad : {"0", "1001", "x", "-3"}) {
    auto res = client().Get(absl::StrCat("/api/v1/events?limit=", bad), Bearer(kAdminToken));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 400) << bad;
    EXPECT_EQ(ErrorOf(res).value("field", ""), "limit");
  }
}

TEST_F(AdminApiTest, ParticipantSeesCredentialsOnlyOnceTheSeatIsReady) {
  auto [id, seat, token] = Register("ada@example.com");
  const std::string password = PasswordOf(seat);
  auto before = client().Get("/api/v1/me", ParticipantAuth(token));
  ASSERT_TRUE(before);
  ASSERT_EQ(before->status, 200) << before->body;
  EXPECT_EQ(before->get_header_value("Cache-Control"), "no-store");
  json b = json::parse(before->body);
  EXPECT_EQ(b["state"], "active");
  EXPECT_EQ(b["phase"], "Unobserved");
  EXPECT_EQ(b["seat"], seat);
  EXPECT_EQ(b["workshop"]["name"], "Workshop WKSHP-Alpha");
  EXPECT_EQ(b["time_left_seconds"], 4 * 3600);
  EXPECT_TRUE(b["credentials"].is_null());
  EXPECT_THAT(before->body, Not(HasSubstr(password)));

  PutPhase(seat, "Provisioning");
  auto provisioning = client().Get("/api/v1/me", ParticipantAuth(token));
  ASSERT_TRUE(provisioning);
  EXPECT_THAT(provisioning->body, Not(HasSubstr(password)));

  // A "Ready" of an older generation is the previous occupant's (a turnover not yet
  // observed): no credentials, which would not log in yet.
  auto held = store_->GetSeat("loc-a", seat);
  ASSERT_OK(held);
  PutPhase(seat, "Ready", held->seat.generation - 1);
  auto stale = client().Get("/api/v1/me", ParticipantAuth(token));
  ASSERT_TRUE(stale);
  EXPECT_EQ(json::parse(stale->body)["phase"], "Provisioning");
  EXPECT_THAT(stale->body, Not(HasSubstr(password)));

  PutPhase(seat, "Ready");
  clock_.Advance(absl::Minutes(10));
  auto ready = client().Get("/api/v1/me", ParticipantAuth(token));
  ASSERT_TRUE(ready);
  ASSERT_EQ(ready->status, 200);
  json r = json::parse(ready->body);
  EXPECT_EQ(r["phase"], "Ready");
  EXPECT_EQ(r["time_left_seconds"], 4 * 3600 - 600);
  EXPECT_EQ(r["credentials"]["user"], absl::StrCat("student", seat));
  EXPECT_EQ(r["credentials"]["password"], password);
  EXPECT_THAT(ready->body, Not(HasSubstr(common::Sha256Hex(token))));

  // The location's controller recorded the prefix of its accounts (backends sharing a
  // machine name them apart): that is the user name the participant is told.
  store::LocationPatch prefix;
  prefix.user_prefix = "wodwest";
  ASSERT_OK(store_->UpdateLocation("loc-a", prefix).status());
  auto renamed = client().Get("/api/v1/me", ParticipantAuth(token));
  ASSERT_TRUE(renamed);
  EXPECT_EQ(json::parse(renamed->body)["credentials"]["user"], absl::StrCat("wodwest", seat));
}

TEST_F(AdminApiTest, ParticipantRoutesAre401WithoutTheirOwnToken) {
  Register("ada@example.com");
  const std::vector<httplib::Headers> bad = {
      {}, ParticipantAuth("nope"), Bearer(kAdminToken), {{"Authorization", "Participant "}}};
  for (const httplib::Headers& h : bad) {
    auto get = client().Get("/api/v1/me", h);
    ASSERT_TRUE(get);
    EXPECT_EQ(get->status, 401);
    EXPECT_EQ(ErrorOf(get).value("code", ""), "unauthenticated");
    EXPECT_EQ(get->get_header_value("Cache-Control"), "no-store");
    auto end = client().Post("/api/v1/me:end", h, "", kJson);
    ASSERT_TRUE(end);
    EXPECT_EQ(end->status, 401);
  }
  auto seats = store_->ListSeats();
  ASSERT_OK(seats);
  EXPECT_TRUE((*seats)[0].registration.has_value());
}

TEST_F(AdminApiTest, EndingEarlyCleansUpOnlyTheParticipantsOwnSeatOnce) {
  auto [id_a, seat_a, token_a] = Register("ada@example.com");
  auto [id_b, seat_b, token_b] = Register("bob@example.com");
  PutPhase(seat_a, "Ready");
  auto end = client().Post("/api/v1/me:end", ParticipantAuth(token_a), "", kJson);
  ASSERT_TRUE(end);
  ASSERT_EQ(end->status, 200) << end->body;
  json e = json::parse(end->body);
  EXPECT_TRUE(e["changed"].get<bool>());
  EXPECT_EQ(e["state"], "ended");
  auto again = client().Post("/api/v1/me:end", ParticipantAuth(token_a), "{}", kJson);
  ASSERT_TRUE(again);
  ASSERT_EQ(again->status, 200);
  EXPECT_FALSE(json::parse(again->body)["changed"].get<bool>());

  auto a = store_->GetRegistration(id_a);
  ASSERT_OK(a);
  EXPECT_EQ(a->state, model::RegistrationState::kEnded);
  auto b = store_->GetRegistration(id_b);
  ASSERT_OK(b);
  EXPECT_EQ(b->state, model::RegistrationState::kActive);

  // Once ended: no phase, no credentials (the seat's password is a new, locked one now).
  auto view = client().Get("/api/v1/me", ParticipantAuth(token_a));
  ASSERT_TRUE(view);
  ASSERT_EQ(view->status, 200);
  json v = json::parse(view->body);
  EXPECT_EQ(v["state"], "ended");
  EXPECT_TRUE(v["phase"].is_null());
  EXPECT_TRUE(v["credentials"].is_null());
  EXPECT_EQ(v["time_left_seconds"], 0);
  EXPECT_THAT(view->body, Not(HasSubstr(PasswordOf(seat_a))));

  // A new occupant of the same seat is not visible through the old token.
  auto [id_c, seat_c, token_c] = Register("cy@example.com");
  EXPECT_EQ(seat_c, seat_a);
  PutPhase(seat_c, "Ready");
  auto old = client().Get("/api/v1/me", ParticipantAuth(token_a));
  ASSERT_TRUE(old);
  EXPECT_THAT(old->body, Not(HasSubstr(PasswordOf(seat_c))));
  auto old_end = client().Post("/api/v1/me:end", ParticipantAuth(token_a), "", kJson);
  ASSERT_TRUE(old_end);
  EXPECT_FALSE(json::parse(old_end->body)["changed"].get<bool>());
  auto c = store_->GetRegistration(id_c);
  ASSERT_OK(c);
  EXPECT_EQ(c->state, model::RegistrationState::kActive);
}

// The dashboard loads seats per location or per workshop and refreshes them every 2 s:
// ?workshop= gives that workshop's seats on each of its locations only, and an unchanged list
// answers 304 to its ETag, even while the clock (time_left_seconds alone) moves.
TEST_F(AdminApiTest, SeatsOfOneWorkshopAcrossItsLocationsAndA304WhenOnlyTimePassed) {
  model::Workshop beta = MakeWorkshop("WKSHP-Beta", 4, 5, 4);
  beta.alternate_locations = {"loc-b"};
  ASSERT_OK(store_->UpsertCatalog({MakeWorkshop("WKSHP-Alpha", 1, 3, 3), beta}));
  auto seats_of = [&](const std::string& query) {
    auto res = client().Get("/api/v1/seats" + query, Bearer(kOperatorToken));
    EXPECT_TRUE(res);
    if (!res) return std::vector<std::string>{};
    EXPECT_EQ(res->status, 200) << query;
    std::vector<std::string> out;
    const json body = json::parse(res->body);
    for (const json& s : body["seats"]) {
      out.push_back(absl::StrCat(s["workshop"].get<std::string>(), "@",
                                 s["location"].get<std::string>(), "/", s["seat"].get<int>()));
    }
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(seats_of("?workshop=WKSHP-Beta"), (V{"WKSHP-Beta@loc-a/4", "WKSHP-Beta@loc-a/5",
                                                 "WKSHP-Beta@loc-b/4", "WKSHP-Beta@loc-b/5"}));
  EXPECT_EQ(seats_of("?workshop=WKSHP-Beta&location=loc-b"),
            (V{"WKSHP-Beta@loc-b/4", "WKSHP-Beta@loc-b/5"}));
  EXPECT_EQ(seats_of("?workshop=WKSHP-Alpha&location=loc-b"), V{});
  EXPECT_EQ(seats_of("?workshop=WKSHP-Nope"), V{});
  EXPECT_EQ(seats_of("?location=loc-a").size(), 5u);
  EXPECT_EQ(seats_of("").size(), 7u);

  Register("ada@example.com");
  auto first = client().Get("/api/v1/seats?location=loc-a", Bearer(kOperatorToken));
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 200);
  const std::string etag = first->get_header_value("ETag");
  EXPECT_THAT(etag, ::testing::MatchesRegex("W/\"[0-9a-f]{32}\""));
  EXPECT_EQ(first->get_header_value("Cache-Control"), "private, no-cache");
  EXPECT_EQ(json::parse(first->body)["seats"][0]["time_left_seconds"], 4 * 3600);

  // Only time passed: 304, no body, the same ETag.
  clock_.Advance(absl::Minutes(1));
  httplib::Headers again = Bearer(kOperatorToken);
  again.emplace("If-None-Match", etag);
  auto unchanged = client().Get("/api/v1/seats?location=loc-a", again);
  ASSERT_TRUE(unchanged);
  EXPECT_EQ(unchanged->status, 304);
  EXPECT_TRUE(unchanged->body.empty());
  EXPECT_EQ(unchanged->get_header_value("ETag"), etag);
  // Another validator, or one of several, is compared as such.
  httplib::Headers other = Bearer(kOperatorToken);
  other.emplace("If-None-Match", "W/\"0123\"");
  auto differs = client().Get("/api/v1/seats?location=loc-a", other);
  ASSERT_TRUE(differs);
  EXPECT_EQ(differs->status, 200);
  EXPECT_EQ(json::parse(differs->body)["seats"][0]["time_left_seconds"], 4 * 3600 - 60);
  httplib::Headers listed = Bearer(kOperatorToken);
  listed.emplace("If-None-Match", absl::StrCat("\"x\", ", etag.substr(2)));
  auto in_list = client().Get("/api/v1/seats?location=loc-a", listed);
  ASSERT_TRUE(in_list);
  EXPECT_EQ(in_list->status, 304);

  // A change of the list (a new occupant) is a new ETag and the full answer.
  Register("bea@example.com");
  auto changed = client().Get("/api/v1/seats?location=loc-a", again);
  ASSERT_TRUE(changed);
  EXPECT_EQ(changed->status, 200);
  EXPECT_NE(changed->get_header_value("ETag"), etag);
  EXPECT_EQ(json::parse(changed->body)["seats"][1]["occupant"]["email"], "bea@example.com");
  // A browser accepts Brotli too; the server compresses with gzip (httplib's Brotli runs at
  // its slowest quality: 0.7 s for 1,000 seats), and never with what was not accepted.
  for (const auto& [accepts, expected] : std::vector<std::pair<std::string, std::string>>{
           {"gzip, deflate, br", "gzip"}, {"br;q=1.0, gzip;q=0.8", "gzip"}, {"br", ""}}) {
    httplib::Headers compressed = Bearer(kOperatorToken);
    compressed.emplace("Accept-Encoding", accepts);
    auto res = client().Get("/api/v1/seats?location=loc-a", compressed);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->get_header_value("Content-Encoding"), expected) << accepts;
    EXPECT_EQ(json::parse(res->body)["seats"].size(), 5u) << accepts;
  }
  // A validator does not stand in for the token: without one it is still 401.
  httplib::Headers anonymous = {{"If-None-Match", etag}};
  auto refused = client().Get("/api/v1/seats?location=loc-a", anonymous);
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 401);
}

}  // namespace
}  // namespace wod::api
