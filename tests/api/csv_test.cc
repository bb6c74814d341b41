// The dashboard's API: GET /api/v1/registrations.csv (RFC 4180, formula cells neutralised, every
// registration with its participant and completion, harvested or live, ended ones included) and
// GET /api/v1/whoami (the token's role). The field encoder on its own, then both routes over
// HTTP against a real store: SQLite in api_csv_test, PostgreSQL in api_csv_pg_test.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "api/registrations_csv.h"
#include "common/random.h"
#include "model/progress.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/services.h"

namespace wod::api {
namespace {

using ::testing::ElementsAre;
using testing::ErrorOf;
using ::testing::HasSubstr;
using testing::MakeWorkshop;
using json = nlohmann::json;

constexpr char kJson[] = "application/json";
constexpr char kAdminToken[] = "admin-secret-token-csv-0123456789";
constexpr char kOperatorToken[] = "operator-secret-token-csv-0123456789";

httplib::Headers Bearer(const std::string& token) { return {{"Authorization", "Bearer " + token}}; }

// An RFC 4180 reader for the test's own checks: records of fields, quotes undone.
std::vector<std::vector<std::string>> ParseCsv(const std::string& text) {
  std::vector<std::vector<std::string>> records;
  std::vector<std::string> record;
  std::string field;
  bool quoted = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      record.push_back(std::move(field));
      field.clear();
    } else if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') {
      record.push_back(std::move(field));
      field.clear();
      records.push_back(std::move(record));
      record.clear();
      ++i;
    } else {
      field += c;
    }
  }
  EXPECT_TRUE(field.empty() && record.empty()) << "the document does not end with CRLF";
  return records;
}

TEST(CsvFieldTest, PlainValuesPassUnchanged) {
  EXPECT_EQ(CsvField(""), "");
  EXPECT_EQ(CsvField("ada@example.com"), "ada@example.com");
  EXPECT_EQ(CsvField("2026-11-29T18:00:00.000Z"), "2026-11-29T18:00:00.000Z");
  EXPECT_EQ(CsvField("Zoë O'Neil"), "Zoë O'Neil");
}

TEST(CsvFieldTest, CommaQuoteAndLineBreaksAreQuotedWithQuotesDoubled) {
  EXPECT_EQ(CsvField("ACME, Inc."), "\"ACME, Inc.\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField("cr\rhere"), "\"cr\rhere\"");
}

TEST(CsvFieldTest, FormulaStartsGetALeadingApostrophe) {
  EXPECT_EQ(CsvField("=1+1"), "'=1+1");
  EXPECT_EQ(CsvField("+33 1 23"), "'+33 1 23");
  EXPECT_EQ(CsvField("-2+3"), "'-2+3");
  EXPECT_EQ(CsvField("@SUM(A1)"), "'@SUM(A1)");
  EXPECT_EQ(CsvField("\t=cmd"), "'\t=cmd");
  EXPECT_EQ(CsvField("=HYPERLINK(\"http://x\",\"y\")"),
            "\"'=HYPERLINK(\"\"http://x\"\",\"\"y\"\")\"");
  // Only the first character matters, after blanks a spreadsheet skips (Unicode ones too).
  EXPECT_EQ(CsvField("a=b"), "a=b");
  EXPECT_EQ(CsvField("\xc2\xa0=1+1"), "'\xc2\xa0=1+1") << "no-break space";
  EXPECT_EQ(CsvField("  \xe3\x80\x80@SUM(A1)"), "'  \xe3\x80\x80@SUM(A1)");
  EXPECT_EQ(CsvField("\xef\xbb\xbf-2"), "'\xef\xbb\xbf-2");
  EXPECT_EQ(CsvField("\xc2\xa0"
                     "Ada"),
            "\xc2\xa0"
            "Ada");
}

TEST(RegistrationsCsvTest, HeaderThenOneRecordPerRegistrationWithCompletion) {
  model::Registration r;
  r.id = 7;
  r.participant_id = 3;
  r.workshop = "WKSHP-A";
  r.location = "loc-a";
  r.seat = 2;
  r.start = absl::FromUnixSeconds(1'800'000'000);
  r.deadline = r.start + absl::Hours(4);
  r.ended = r.start + absl::Hours(1);
  r.state = model::RegistrationState::kEnded;
  model::NotebookProgress nb;
  nb.file = "1-Lab.ipynb";
  nb.code_cells = 8;
  nb.executed = 6;
  r.progress_json = model::ProgressReportToJson(std::vector<model::NotebookProgress>{nb}).dump();
  model::Registration unknown = r;  // participant and workshop not in the maps
  unknown.id = 8;
  unknown.participant_id = 99;
  unknown.workshop = "WKSHP-Gone";
  unknown.progress_json = "";
  unknown.ended.reset();
  unknown.state = model::RegistrationState::kActive;
  std::map<int64_t, model::Participant> participants = {
      {3, {.id = 3, .email = "ada@example.com", .name = "Ada", .company = "ACME, Inc."}}};
  model::Workshop w = MakeWorkshop("WKSHP-A", 1, 3, 3);
  std::map<std::string, model::Workshop> workshops = {{"WKSHP-A", w}};

  auto records = ParseCsv(RegistrationsCsv({r, unknown}, participants, workshops));
  ASSERT_EQ(records.size(), 3u);
  EXPECT_THAT(records[0], ElementsAre("registration_id", "workshop", "workshop_name", "location",
                                      "seat", "state", "email", "name", "company", "start",
                                      "deadline", "ended", "completion_percent", "executed_cells",
                                      "counted_cells", "completion_source"));
  EXPECT_THAT(records[1], ElementsAre("7", "WKSHP-A", "Workshop WKSHP-A", "loc-a", "2", "ended",
                                      "ada@example.com", "Ada", "ACME, Inc.",
                                      common::FormatTime(r.start), common::FormatTime(r.deadline),
                                      common::FormatTime(*r.ended), "75", "6", "8", "harvested"));
  EXPECT_THAT(records[2], ElementsAre("8", "WKSHP-Gone", "", "loc-a", "2", "active", "", "", "",
                                      common::FormatTime(r.start), common::FormatTime(r.deadline),
                                      "", "", "", "", ""));
}

TEST(RegistrationsCsvTest, AnActiveRegistrationWithoutHarvestTakesTheLiveProgress) {
  model::Registration r;
  r.id = 9;
  r.workshop = "WKSHP-A";
  r.start = absl::FromUnixSeconds(1'800'000'000);
  r.deadline = r.start + absl::Hours(4);
  model::NotebookProgress nb;
  nb.file = "1-Lab.ipynb";
  nb.code_cells = 4;
  nb.executed = 1;
  const std::string live =
      model::ProgressReportToJson(std::vector<model::NotebookProgress>{nb}).dump();
  auto records = ParseCsv(RegistrationsCsv({r}, {}, {}, {{9, live}, {10, "{}"}}));
  ASSERT_EQ(records.size(), 2u);
  EXPECT_THAT(std::vector<std::string>(records[1].end() - 4, records[1].end()),
              ElementsAre("25", "1", "4", "live"));
  // The harvest wins over the live progress once stored.
  nb.executed = 4;
  r.progress_json = model::ProgressReportToJson(std::vector<model::NotebookProgress>{nb}).dump();
  records = ParseCsv(RegistrationsCsv({r}, {}, {}, {{9, live}}));
  EXPECT_THAT(std::vector<std::string>(records[1].end() - 4, records[1].end()),
              ElementsAre("100", "4", "4", "harvested"));
}

#ifdef WOD_API_TEST_POSTGRES
#define WOD_CSV_SUITE CsvRoutePostgresTest
#else
#define WOD_CSV_SUITE CsvRouteTest
#endif

class WOD_CSV_SUITE : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef WOD_API_TEST_POSTGRES
    WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
    auto db = store::testing::PgScratchDb::Create(base, "wod_api_csv_test");
#else
    auto db = store::testing::SqliteScratchDb::Create();
#endif
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto store = store::OpenStore(db_->url());
    ASSERT_OK(store);
    store_ = std::move(store).value();
    ASSERT_OK(store_->UpsertCatalog({MakeWorkshop("WKSHP-Alpha", 1, 3, 3)}));
    const absl::Time now = clock_.Now();
    ASSERT_OK(store_->CreateApiToken("admin", "admin", common::Sha256Hex(kAdminToken), now));
    ASSERT_OK(store_->CreateApiToken("ops", "operator", common::Sha256Hex(kOperatorToken), now));
    config_.registration_rate_limit.per_minute = 0;
    running_ = testing::StartServer(store_.get(), config_, &clock_);
    ASSERT_NE(running_, nullptr);
  }
  void TearDown() override {
    running_.reset();
    store_.reset();
    db_.reset();
  }

  httplib::Client& client() { return *running_->client; }

  json Register(const std::string& email, const std::string& name, const std::string& company) {
    json body = {{"workshop", "WKSHP-Alpha"},
                 {"email", email},
                 {"name", name},
                 {"company", company},
                 {"accept_terms", true}};
    auto res = client().Post("/api/v1/registrations", body.dump(), kJson);
    EXPECT_TRUE(res);
    if (!res) return json::object();
    EXPECT_EQ(res->status, 201) << res->body;
    return json::parse(res->body, nullptr, false);
  }

  common::FakeClock clock_;
  ServerConfig config_;
  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<testing::Running> running_;
};

TEST_F(WOD_CSV_SUITE, WhoamiAnswersTheTokensRole) {
  auto res = client().Get("/api/v1/whoami", Bearer(kAdminToken));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body), (json{{"role", "admin"}}));
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  res = client().Get("/api/v1/whoami", Bearer(kOperatorToken));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(json::parse(res->body), (json{{"role", "operator"}}));
  for (const httplib::Headers& h :
       {httplib::Headers{}, Bearer("not-a-token"),
        httplib::Headers{{"Authorization", std::string("Participant ") + kAdminToken}}}) {
    res = client().Get("/api/v1/whoami", h);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(ErrorOf(res).value("code", ""), "unauthenticated");
  }
}

TEST_F(WOD_CSV_SUITE, CsvNeedsABearerTokenOfEitherRole) {
  for (const httplib::Headers& h : {httplib::Headers{}, Bearer("not-a-token")}) {
    auto res = client().Get("/api/v1/registrations.csv", h);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
    EXPECT_EQ(ErrorOf(res).value("code", ""), "unauthenticated");
  }
  for (const char* token : {kAdminToken, kOperatorToken}) {
    auto res = client().Get("/api/v1/registrations.csv", Bearer(token));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_THAT(res->get_header_value("Content-Type"), ::testing::StartsWith("text/csv"));
    EXPECT_EQ(res->get_header_value("Content-Disposition"),
              "attachment; filename=\"registrations.csv\"");
    EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
    // No registration yet: the header line alone.
    EXPECT_EQ(ParseCsv(res->body).size(), 1u);
  }
}

TEST_F(WOD_CSV_SUITE, CsvListsActiveAndEndedRegistrationsWithParticipantsAndCompletion) {
  json ada = Register("ada@example.com", "Ada Lovelace", "ACME, Inc.");
  json eve = Register("eve@example.com", "=HYPERLINK(\"http://evil\",\"x\")", "@corp");
  const int64_t ada_id = ada["registration"]["id"].get<int64_t>();
  const int ada_seat = ada["registration"]["seat"].get<int>();
  // Ada's seat is cleaned up and her progress harvested: 3 of 4 counted cells.
  clock_.Advance(absl::Minutes(30));
  auto verb = client().Post("/api/v1/seats/loc-a/" + std::to_string(ada_seat) + ":cleanup",
                            Bearer(kAdminToken), "", kJson);
  ASSERT_TRUE(verb);
  ASSERT_EQ(verb->status, 200) << verb->body;
  model::NotebookProgress nb;
  nb.file = "1-Lab.ipynb";
  nb.code_cells = 5;
  nb.baseline_executed = 1;
  nb.executed = 3;
  ASSERT_OK(store_->RecordHarvest(
      ada_id, model::ProgressReportToJson(std::vector<model::NotebookProgress>{nb}).dump()));

  // Eve's home shows 1 of 2 cells executed (the controller's live progress).
  const int64_t eve_id = eve["registration"]["id"].get<int64_t>();
  auto lease = store_->AcquireLease("controller/loc-a", "test", absl::Hours(1), clock_.Now());
  ASSERT_OK(lease);
  store::SeatStatus st;
  st.location = "loc-a";
  st.number = eve["registration"]["seat"].get<int>();
  st.observed_generation = 1;
  st.phase = model::Phase::kReady;
  st.updated = clock_.Now();
  st.progress_registration = eve_id;
  model::NotebookProgress live;
  live.file = "1-Lab.ipynb";
  live.code_cells = 2;
  live.executed = 1;
  st.progress_json = model::ProgressReportToJson(std::vector<model::NotebookProgress>{live}).dump();
  ASSERT_OK(store_->PutSeatStatus(st, "controller/loc-a", lease->epoch));

  auto res = client().Get("/api/v1/registrations.csv", Bearer(kOperatorToken));
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_THAT(res->body, Not(HasSubstr("secret")));
  auto records = ParseCsv(res->body);
  ASSERT_EQ(records.size(), 3u) << res->body;
  for (const auto& r : records) EXPECT_EQ(r.size(), records[0].size());
  // Oldest first: Ada (ended, vacated seat, still named, harvested), then Eve (active, live).
  EXPECT_EQ(records[1][0], std::to_string(ada_id));
  EXPECT_EQ(records[1][5], "ended");
  EXPECT_EQ(records[1][6], "ada@example.com");
  EXPECT_EQ(records[1][7], "Ada Lovelace");
  EXPECT_EQ(records[1][8], "ACME, Inc.");
  EXPECT_FALSE(records[1][11].empty()) << "the end time";
  EXPECT_EQ(records[1][12], "75");
  EXPECT_EQ(records[1][13], "3");
  EXPECT_EQ(records[1][14], "4");
  EXPECT_EQ(records[1][15], "harvested");
  EXPECT_EQ(records[2][0], std::to_string(eve["registration"]["id"].get<int64_t>()));
  EXPECT_EQ(records[2][5], "active");
  EXPECT_EQ(records[2][6], "eve@example.com");
  // The participant's formula arrives as text, not as a formula.
  EXPECT_EQ(records[2][7], "'=HYPERLINK(\"http://evil\",\"x\")");
  EXPECT_EQ(records[2][8], "'@corp");
  EXPECT_EQ(records[2][12], "50");
  EXPECT_EQ(records[2][15], "live");
}

}  // namespace
}  // namespace wod::api
