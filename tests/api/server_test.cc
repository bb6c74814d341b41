// The API server against a real SQLite store in a temp file, over HTTP on 127.0.0.1:<ephemeral>:
// strict JSON, every registration outcome, the rate limit, probes, metrics and the OpenAPI
// document's coverage of the routes.
#include <algorithm>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "api/openapi.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"

namespace wod::api {
namespace {

using testing::ErrorOf;
using ::testing::HasSubstr;
using testing::MakeWorkshop;
using ::testing::Not;
using testing::RegistrationBody;
using json = nlohmann::json;

constexpr char kJson[] = "application/json";

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testing::SqliteScratchDb::Create();
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto store = store::OpenStore(db_->url());
    ASSERT_OK(store);
    store_ = std::move(store).value();
    ASSERT_OK(store_->UpsertCatalog({
        MakeWorkshop("WKSHP-Alpha", 1, 3, 3),
        MakeWorkshop("WKSHP-One", 10, 10, 1),
        MakeWorkshop("WKSHP-Capped", 20, 24, 2),  // capacity below its 5 seats
        MakeWorkshop("WKSHP-Off", 30, 31, 2, /*active=*/false),
    }));
    config_.registration_rate_limit.per_minute = 0;  // off, except where tested
    config_.public_base_url = "https://wod.example.com";
    config_.email_deny_list = {"mailinator.com"};
  }

  void Start() {
    running_ = testing::StartServer(store_.get(), config_, &clock_);
    ASSERT_NE(running_, nullptr);
  }
  httplib::Client& client() { return *running_->client; }
  Server& server() { return *running_->server; }

  httplib::Result Register(const std::string& body) {
    return client().Post("/api/v1/registrations", body, kJson);
  }
  httplib::Result Register(const std::string& workshop, const std::string& email) {
    return Register(RegistrationBody(workshop, email));
  }

  common::FakeClock clock_;
  ServerConfig config_;
  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<testing::Running> running_;
};

TEST_F(ServerTest, StrictJsonRejectsEveryMalformedBodyNamingTheFieldAndStoresNothing) {
  Start();
  struct Case {
    std::string body;
    int status;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"({"workshop": "WKSHP-Alpha", "email": "a@example.com", "name": "A", "company": "C",
           "accept_terms": true, "seat": 1})",
       400, "unknown_field", "seat"},
      {R"({"workshop": "WKSHP-Alpha", "email": "a@example.com", "name": "A", "company": "C",
           "accept_terms": 1})",
       400, "wrong_type", "accept_terms"},
      {R"({"workshop": "WKSHP-Alpha", "email": ["a@example.com"], "name": "A", "company": "C",
           "accept_terms": true})",
       400, "wrong_type", "email"},
      {R"({"workshop": "WKSHP-Alpha", "name": "A", "company": "C", "accept_terms": true})", 400,
       "missing_field", "email"},
      {R"({"workshop": "WKSHP-Alpha", "email": "a@example.com", "name": "A", "company": "C",
           "accept_terms": true, "name": "B"})",
       400, "duplicate_field", "name"},
      {R"({"workshop": "WKSHP-Alpha", "email": "a@example.com")", 400, "invalid_json", ""},
      {R"("WKSHP-Alpha")", 400, "invalid_body", ""},
      {R"({"workshop": "WKSHP-Alpha", "email": "a@example", "name": "A", "company": "C",
           "accept_terms": true})",
       400, "invalid_field", "email"},
      {R"({"workshop": "WKSHP-Alpha", "email": "a@example.com", "name": "A", "company": "C",
           "accept_terms": false})",
       400, "terms_not_accepted", "accept_terms"},
      {RegistrationBody("WKSHP-Alpha", "x@eu.mailinator.com"), 400, "email_denied", "email"},
  };
  for (const Case& c : cases) {
    auto res = Register(c.body);
    ASSERT_TRUE(res) << c.body;
    EXPECT_EQ(res->status, c.status) << c.body;
    EXPECT_EQ(res->get_header_value("Content-Type"), kJson);
    json e = ErrorOf(res);
    EXPECT_EQ(e.value("code", ""), c.code) << c.body;
    EXPECT_EQ(e.value("field", ""), c.field) << c.body;
    EXPECT_FALSE(e.value("message", "").empty());
  }
  auto regs = store_->ListRegistrations();
  ASSERT_OK(regs);
  EXPECT_TRUE(regs->empty());
  EXPECT_EQ(server().metrics().registrations("invalid"), 9);
  EXPECT_EQ(server().metrics().registrations("denied"), 1);
}

TEST_F(ServerTest, BodyOverTheLimitIs413AndWrongContentTypeIs415) {
  config_.max_body_bytes = 1024;
  Start();
  std::string big = RegistrationBody("WKSHP-Alpha", "a@example.com");
  big.insert(1, R"("pad": ")" + std::string(2000, 'x') + R"(", )");
  auto res = Register(big);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "body_too_large");

  res = client().Post("/api/v1/registrations", RegistrationBody("WKSHP-Alpha", "a@example.com"),
                      "application/x-www-form-urlencoded");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 415);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "unsupported_media_type");

  // No type at all: what a page of another site can send without a CORS preflight.
  const std::string body = RegistrationBody("WKSHP-Alpha", "a@example.com");
  const std::string answer = testing::RawExchange(
      running_->port, absl::StrCat("POST /api/v1/registrations HTTP/1.1\r\nHost: x\r\n"
                                   "Content-Length: ",
                                   body.size(), "\r\nConnection: close\r\n\r\n", body));
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 415"));
  EXPECT_THAT(answer, HasSubstr("Content-Type is missing"));

  // A charset parameter is fine.
  res = client().Post("/api/v1/registrations", RegistrationBody("WKSHP-Alpha", "a@example.com"),
                      "application/json; charset=utf-8");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
}

TEST_F(ServerTest, RegistrationCreatedReturnsTheRegistrationTokenAndPageButNoPassword) {
  Start();
  clock_.Set(absl::FromUnixSeconds(1'900'000'000));
  auto res = Register("WKSHP-Alpha", "Ada@Example.com");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  json j = json::parse(res->body);
  EXPECT_EQ(j["registration"]["workshop"], "WKSHP-Alpha");
  EXPECT_EQ(j["registration"]["location"], "loc-a");
  EXPECT_EQ(j["registration"]["seat"], 1);
  EXPECT_EQ(j["registration"]["state"], "active");
  EXPECT_EQ(j["registration"]["start"], common::FormatTime(clock_.Now()));
  EXPECT_EQ(j["registration"]["deadline"], common::FormatTime(clock_.Now() + absl::Hours(4)));
  EXPECT_EQ(j["participant"]["email"], "ada@example.com");
  EXPECT_EQ(j["participant"]["name"], "Name of Ada@Example.com");
  const std::string token = j["token"];
  ASSERT_GE(token.size(), 32u);
  EXPECT_EQ(j["page_url"], "https://wod.example.com/p/" + token);

  auto by_token = store_->GetRegistrationByToken(token);
  ASSERT_OK(by_token);
  EXPECT_EQ(by_token->id, j["registration"]["id"].get<int64_t>());
  auto seat = store_->GetSeat("loc-a", 1);
  ASSERT_OK(seat);
  ASSERT_FALSE(seat->seat.password.empty());
  EXPECT_THAT(res->body, Not(HasSubstr(seat->seat.password)));
  EXPECT_EQ(server().metrics().registrations("created"), 1);
}

TEST_F(ServerTest, SecondActiveRegistrationOfAnEmailIs409WithTheExistingDeadline) {
  Start();
  auto first = Register("WKSHP-Alpha", "ada@example.com");
  ASSERT_TRUE(first);
  ASSERT_EQ(first->status, 201);
  const std::string token = json::parse(first->body)["token"];
  clock_.Advance(absl::Minutes(5));
  auto again = Register("WKSHP-One", "  ADA@example.com ");
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 409);
  json e = ErrorOf(again);
  EXPECT_EQ(e.value("code", ""), "already_registered");
  EXPECT_EQ(e.value("deadline", ""), json::parse(first->body)["registration"]["deadline"]);
  EXPECT_THAT(again->body, Not(HasSubstr(token)));
  auto regs = store_->ListRegistrations();
  ASSERT_OK(regs);
  EXPECT_EQ(regs->size(), 1u);
}

TEST_F(ServerTest, FullWorkshopIs409FullForNoSeatAndForCapacity) {
  Start();
  auto res = Register("WKSHP-One", "a@example.com");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  res = Register("WKSHP-One", "b@example.com");  // its only seat is taken
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "full");

  for (const char* email : {"c@example.com", "d@example.com"}) {
    res = Register("WKSHP-Capped", email);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
  }
  res = Register("WKSHP-Capped", "e@example.com");  // seats free, capacity 2 reached
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 409);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "full");
  EXPECT_EQ(server().metrics().registrations("full"), 2);
}

TEST_F(ServerTest, UnknownAndInactiveWorkshopsAre404) {
  Start();
  auto res = Register("WKSHP-Nope", "a@example.com");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "workshop_not_found");
  EXPECT_EQ(ErrorOf(res).value("field", ""), "workshop");
  res = Register("WKSHP-Off", "a@example.com");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "workshop_inactive");

  res = client().Get("/api/v1/workshops/WKSHP-Nope");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "workshop_not_found");
  res = client().Get("/api/v1/workshops/WKSHP-Off");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "workshop_inactive");
}

TEST_F(ServerTest, RateLimitPerAddressAnswers429WithRetryAfterUntilTheBucketRefills) {
  config_.registration_rate_limit = {/*per_minute=*/6, /*burst=*/2};
  Start();
  for (const char* email : {"a@example.com", "b@example.com"}) {
    auto res = Register("WKSHP-Alpha", email);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 201);
  }
  auto res = Register("WKSHP-Alpha", "c@example.com");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "rate_limited");
  EXPECT_EQ(res->get_header_value("Retry-After"), "10");
  // Malformed bodies cost a token too: the limit comes before any parsing.
  res = Register("{");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);

  clock_.Advance(absl::Seconds(10));
  res = Register("WKSHP-Alpha", "c@example.com");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  EXPECT_EQ(server().metrics().registrations("rate_limited"), 2);
  // Other routes are not limited.
  res = client().Get("/api/v1/workshops");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ServerTest, ForwardedForPicksTheBucketOnlyWhenTrusted) {
  config_.registration_rate_limit = {/*per_minute=*/1, /*burst=*/1};
  config_.trust_x_forwarded_for = true;
  Start();
  httplib::Headers from_a = {{"X-Forwarded-For", "203.0.113.9, 198.51.100.1"}};
  httplib::Headers from_b = {{"X-Forwarded-For", "198.51.100.2"}};
  auto res = client().Post("/api/v1/registrations", from_a,
                           RegistrationBody("WKSHP-Alpha", "a@example.com"), kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
  res = client().Post("/api/v1/registrations", from_a,
                      RegistrationBody("WKSHP-Alpha", "b@example.com"), kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 429);
  res = client().Post("/api/v1/registrations", from_b,
                      RegistrationBody("WKSHP-Alpha", "b@example.com"), kJson);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 201);
}

TEST_F(ServerTest, WorkshopListShowsActiveWorkshopsWithSeatsLeft) {
  Start();
  ASSERT_EQ(Register("WKSHP-Alpha", "a@example.com")->status, 201);
  ASSERT_EQ(Register("WKSHP-Capped", "b@example.com")->status, 201);
  auto res = client().Get("/api/v1/workshops");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  json j = json::parse(res->body);
  std::map<std::string, int> seats_left;
  for (const json& w : j["workshops"]) seats_left[w["id"]] = w["seats_left"];
  EXPECT_EQ(seats_left, (std::map<std::string, int>{
                            {"WKSHP-Alpha", 2}, {"WKSHP-Capped", 1}, {"WKSHP-One", 1}}));
  for (const json& w : j["workshops"]) {
    EXPECT_FALSE(w.contains("content_dir"));
    EXPECT_FALSE(w.contains("variables"));
  }

  res = client().Get("/api/v1/workshops/WKSHP-Alpha");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  json w = json::parse(res->body);
  EXPECT_EQ(w["name"], "Workshop WKSHP-Alpha");
  EXPECT_EQ(w["capacity"], 3);
  EXPECT_EQ(w["seats_left"], 2);
  EXPECT_EQ(w["category"], json::array({"Test"}));
}

TEST_F(ServerTest, UnknownRouteIsAJson404) {
  Start();
  auto res = client().Get("/api/v1/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "not_found");
  res = client().Delete("/api/v1/registrations");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  // Route templates are literal: the '.' of openapi.json matches only itself.
  res = client().Get("/api/v1/openapiXjson");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = client().Get("/api/v1/workshops/a/b");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
}

TEST_F(ServerTest, HealthAndReadinessProbes) {
  Start();
  auto res = client().Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "ok");
  res = client().Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body)["status"], "ready");
}

// A client chooses the method: as a label it would let one client grow /metrics without
// bound and put raw bytes in it (a review sent 5,000 methods of 8,000 characters: 40 MB).
TEST_F(ServerTest, MethodsAClientMadeUpAreOneMetricLabel) {
  Start();
  const std::string long_method(8000, 'A');
  for (const std::string& method : {long_method, std::string("BREW"), std::string("G\xff\xfeT")}) {
    httplib::Request req;
    req.method = method;
    req.path = "/healthz";
    auto res = client().send(req);
    ASSERT_TRUE(res) << method.substr(0, 10);
    EXPECT_GE(res->status, 400);
  }
  auto res = client().Get("/metrics");
  ASSERT_TRUE(res);
  const std::string& m = res->body;
  EXPECT_EQ(m.find("AAAAAAAA"), std::string::npos);
  EXPECT_EQ(m.find("BREW"), std::string::npos);
  EXPECT_EQ(m.find("\xff"), std::string::npos);
  EXPECT_THAT(m, ::testing::ContainsRegex("method=\"other\",status=\"[0-9]+\"\\} [1-3]\n"));
  EXPECT_LT(m.size(), 20000u);
}

// A body framed two ways is refused before anything reads it as a registration.
TEST_F(ServerTest, ConflictingContentLengthsOrALengthBesideChunkedAre400) {
  Start();
  const std::string body = RegistrationBody("WKSHP-Alpha", "a@example.com");
  const std::string head =
      "POST /api/v1/registrations HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nConnection: close\r\n";
  std::string answer = testing::RawExchange(
      running_->port, absl::StrCat(head, "Content-Length: ", body.size(),
                                   "\r\nContent-Length: ", body.size() - 5, "\r\n\r\n", body));
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(answer, HasSubstr("Content-Length headers that differ"));
  answer = testing::RawExchange(
      running_->port,
      absl::StrCat(head, "Content-Length: ", body.size(), "\r\nTransfer-Encoding: chunked\r\n\r\n",
                   absl::StrCat(absl::Hex(body.size()), "\r\n", body, "\r\n0\r\n\r\n")));
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 400"));
  EXPECT_THAT(answer, HasSubstr("both Content-Length and Transfer-Encoding"));
  // The same length twice is one length.
  answer = testing::RawExchange(
      running_->port, absl::StrCat(head, "Content-Length: ", body.size(),
                                   "\r\nContent-Length: ", body.size(), "\r\n\r\n", body));
  EXPECT_THAT(answer, ::testing::StartsWith("HTTP/1.1 201"));
}

TEST_F(ServerTest, MetricsCountRegistrationsRequestsDurationsAndSeatsByPhase) {
  Start();
  ASSERT_EQ(Register("WKSHP-One", "a@example.com")->status, 201);
  ASSERT_EQ(Register("WKSHP-One", "b@example.com")->status, 409);
  ASSERT_EQ(client().Get("/no/such/route")->status, 404);
  auto res = client().Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_THAT(res->get_header_value("Content-Type"), HasSubstr("text/plain; version=0.0.4"));
  const std::string& m = res->body;
  EXPECT_THAT(m, HasSubstr("wod_api_registrations_total{outcome=\"created\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_api_registrations_total{outcome=\"full\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_api_http_requests_total{route=\"/api/v1/registrations\","
                           "method=\"POST\",status=\"201\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_api_http_requests_total{route=\"/api/v1/registrations\","
                           "method=\"POST\",status=\"409\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_api_http_requests_total{route=\"unmatched\",method=\"GET\","
                           "status=\"404\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_api_http_request_duration_seconds_count{route=\"/api/v1/"
                           "registrations\",method=\"POST\"} 2\n"));
  EXPECT_THAT(m, HasSubstr("wod_api_http_request_duration_seconds_bucket{route=\"/api/v1/"
                           "registrations\",method=\"POST\",le=\"+Inf\"} 2\n"));
  // 3 + 1 + 5 seats of the active workshops (the inactive one has none), none observed yet.
  EXPECT_THAT(m, HasSubstr("wod_seats{phase=\"Unobserved\"} 9\n"));
  EXPECT_THAT(m, HasSubstr("wod_seats{phase=\"Ready\"} 0\n"));
  EXPECT_THAT(m, HasSubstr("wod_seats_occupied 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_store_up 1\n"));
  // Per location: no controller reported yet (not live), active, its seats.
  EXPECT_THAT(m, HasSubstr("wod_location_live{location=\"loc-a\"} 0\n"));
  EXPECT_THAT(m, HasSubstr("wod_location_active{location=\"loc-a\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_location_seats{location=\"loc-a\",state=\"occupied\"} 1\n"));
  // Every sample line is "name{labels} value" or "name value".
  for (absl::string_view line : absl::StrSplit(m, '\n', absl::SkipEmpty())) {
    if (line[0] == '#') continue;
    EXPECT_EQ(std::count(line.begin(), line.end(), ' '), 1) << line;
  }
}

TEST_F(ServerTest, OpenApiDocumentsExactlyTheRoutesTheServerAnswers) {
  Start();
  auto res = client().Get("/api/v1/openapi.json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  json doc = json::parse(res->body);
  EXPECT_EQ(doc, OpenApiDocument());
  EXPECT_THAT(doc["openapi"].get<std::string>(), ::testing::StartsWith("3."));
  std::set<RouteInfo> documented;
  for (const auto& [path, item] : doc["paths"].items()) {
    for (const auto& [method, op] : item.items()) {
      documented.insert({absl::AsciiStrToUpper(method), path});
      EXPECT_TRUE(op.contains("responses")) << method << " " << path;
    }
  }
  const std::vector<RouteInfo> routes = server().Routes();
  const std::set<RouteInfo> served(routes.begin(), routes.end());
  EXPECT_EQ(served.size(), routes.size()) << "a route is registered twice";
  for (const RouteInfo& r : served) {
    EXPECT_TRUE(documented.count(r)) << r.method << " " << r.path << " is not documented";
  }
  for (const RouteInfo& r : documented) {
    EXPECT_TRUE(served.count(r)) << r.method << " " << r.path << " is documented but not served";
  }
  // Each served route answers (with a template parameter filled in), never "no such route".
  for (const RouteInfo& r : served) {
    std::string path = r.path;
    // Every template parameter filled in, keeping what follows it ("{n}:reset").
    for (size_t brace; (brace = path.find('{')) != std::string::npos;) {
      path.replace(brace, path.find('}', brace) - brace + 1, "WKSHP-Alpha");
    }
    auto answer = r.method == "GET"     ? client().Get(path)
                  : r.method == "PATCH" ? client().Patch(path, "{}", kJson)
                                        : client().Post(path, "{}", kJson);
    ASSERT_TRUE(answer) << path;
    EXPECT_NE(ErrorOf(answer).value("code", ""), "not_found") << r.method << " " << path;
  }
}

// A store whose database is down: every call is Unavailable, with a message holding a secret
// that must never reach a response.
class DownStore final : public store::Store {
 public:
  static absl::Status Down() {
    return absl::UnavailableError("cannot reach postgresql://wod:hunter2@db.internal/wod");
  }
  absl::StatusOr<store::CatalogChange> UpsertCatalog(const std::vector<model::Workshop>&) override {
    return Down();
  }
  absl::StatusOr<std::vector<model::Workshop>> ListWorkshops() override { return Down(); }
  absl::StatusOr<model::Workshop> GetWorkshop(const std::string&) override { return Down(); }
  absl::Status UpsertLocation(const model::Location&) override { return Down(); }
  absl::StatusOr<std::vector<model::Location>> ListLocations() override { return Down(); }
  absl::StatusOr<store::RegisterResult> Register(const store::RegisterRequest&) override {
    return Down();
  }
  absl::StatusOr<std::vector<store::SeatView>> ListSeats(
      const std::optional<std::string>&) override {
    return Down();
  }
  absl::StatusOr<store::SeatView> GetSeat(const std::string&, int) override { return Down(); }
  absl::StatusOr<model::Registration> GetRegistration(int64_t) override { return Down(); }
  absl::StatusOr<model::Registration> GetRegistrationByToken(const std::string&) override {
    return Down();
  }
  absl::StatusOr<std::vector<model::Registration>> ListRegistrations(
      std::optional<model::RegistrationState>) override {
    return Down();
  }
  absl::StatusOr<store::VerbResult> ApplyVerb(model::Verb, const std::string&, int,
                                              absl::Time) override {
    return Down();
  }
  absl::StatusOr<model::Registration> Extend(int64_t, absl::Time) override { return Down(); }
  absl::StatusOr<bool> RecordHarvest(int64_t, const std::string&) override { return Down(); }
  absl::Status PutSeatStatus(const store::SeatStatus&, const std::string&, int64_t) override {
    return Down();
  }
  absl::StatusOr<std::vector<store::SeatStatus>> ListSeatStatus(
      const std::optional<std::string>&) override {
    return Down();
  }
  absl::Status AppendEvent(const store::Event&) override { return Down(); }
  absl::StatusOr<std::vector<store::Event>> ListEvents(const std::optional<std::string>&,
                                                       int) override {
    return Down();
  }
  absl::StatusOr<store::Lease> AcquireLease(const std::string&, const std::string&, absl::Duration,
                                            absl::Time) override {
    return Down();
  }
  absl::Status ReleaseLease(const std::string&, const std::string&) override { return Down(); }
  absl::StatusOr<bool> EnqueueNotification(const model::Notification&) override { return Down(); }
  absl::StatusOr<std::vector<model::Notification>> ClaimNotifications(int, absl::Time,
                                                                      absl::Duration) override {
    return Down();
  }
  absl::Status MarkNotificationSent(int64_t, absl::Time) override { return Down(); }
  absl::Status MarkNotificationFailed(int64_t, const std::string&,
                                      std::optional<absl::Time>) override {
    return Down();
  }
  absl::StatusOr<std::vector<model::Notification>> ListNotifications() override { return Down(); }
};

TEST(ServerStoreDownTest, ReadyzAndStoreRoutesAnswer503WithoutTheStoreMessage) {
  DownStore down;
  common::FakeClock clock;
  ServerConfig config;
  auto running = testing::StartServer(&down, config, &clock);
  ASSERT_NE(running, nullptr);
  httplib::Client& c = *running->client;
  auto res = c.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);  // alive, just not ready
  res = c.Get("/readyz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_EQ(ErrorOf(res).value("code", ""), "store_unavailable");
  std::vector<httplib::Result> answers;
  answers.push_back(c.Get("/api/v1/workshops"));
  answers.push_back(c.Get("/api/v1/workshops/WKSHP-Alpha"));
  answers.push_back(
      c.Post("/api/v1/registrations", RegistrationBody("WKSHP-Alpha", "a@example.com"), kJson));
  for (const httplib::Result& r : answers) {
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 503);
    EXPECT_EQ(ErrorOf(r).value("code", ""), "unavailable");
    EXPECT_THAT(r->body, Not(HasSubstr("hunter2")));
    EXPECT_THAT(r->body, Not(HasSubstr("postgresql")));
  }
  res = c.Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("wod_store_up 0\n"));
}

TEST(ServerLifecycleTest, StopIsGracefulAndIdempotentAndBindReportsATakenPort) {
  DownStore down;
  common::FakeClock clock;
  Server a(&down, ServerConfig(), &clock);
  auto port = a.Bind("127.0.0.1", 0);
  ASSERT_OK(port);
  ASSERT_OK(a.Start());
  Server b(&down, ServerConfig(), &clock);
  EXPECT_THAT(b.Bind("127.0.0.1", *port), wod::testing::StatusIs(absl::StatusCode::kUnavailable));
  a.Stop();
  a.Stop();
  httplib::Client c("127.0.0.1", *port);
  EXPECT_FALSE(c.Get("/healthz"));
}

}  // namespace
}  // namespace wod::api
