// Live progress over HTTP against a real SQLite store: /api/v1/me shows the progress the
// controller observes while the registration is active and the harvest once it ended;
// /api/v1/seats shows each seat's live progress, last activity, time left and occupant, never
// another registration's progress; /metrics shows the controllers' pass statistics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/random.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"

namespace wod::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kJson[] = "application/json";
constexpr char kAdminToken[] = "admin-secret-token-0123456789";
constexpr char kOperatorToken[] = "operator-secret-token-0123456789";
constexpr char kLease[] = "controller/loc-a";

std::string ProgressJson(int executed, int code_cells) {
  return json{{"notebooks", json::array({{{"file", "WKSHP-Alpha/1-Lab.ipynb"},
                                          {"code_cells", code_cells},
                                          {"baseline_executed", 0},
                                          {"executed", executed},
                                          {"fraction", static_cast<double>(executed) / code_cells},
                                          {"readable", true}}})},
              {"total",
               {{"notebooks", 1},
                {"unreadable", 0},
                {"code_cells", code_cells},
                {"baseline_executed", 0},
                {"executed", executed},
                {"fraction", static_cast<double>(executed) / code_cells}}}}
      .dump();
}

class ProgressApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, store::testing::SqliteScratchDb::Create());
    ASSERT_OK_AND_ASSIGN(store_, store::OpenStore(db_->url()));
    ASSERT_OK(store_->UpsertCatalog({testing::MakeWorkshop("WKSHP-Alpha", 1, 3, 3)}));
    const absl::Time now = clock_.Now();
    ASSERT_OK(store_->CreateApiToken("admin", "admin", common::Sha256Hex(kAdminToken), now));
    ASSERT_OK(store_->CreateApiToken("ops", "operator", common::Sha256Hex(kOperatorToken), now));
    ASSERT_OK_AND_ASSIGN(lease_, store_->AcquireLease(kLease, "test", absl::Hours(1), now));
    config_.registration_rate_limit.per_minute = 0;
    running_ = testing::StartServer(store_.get(), config_, &clock_);
    ASSERT_NE(running_, nullptr);
  }

  httplib::Client& client() { return *running_->client; }

  // {registration id, seat, participant token}
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

  // What the controller writes for a Ready seat whose home holds `registration`'s notebooks.
  void PutProgress(int seat, int64_t registration, const std::string& progress,
                   std::optional<absl::Time> last_activity) {
    store::SeatStatus st;
    st.location = "loc-a";
    st.number = seat;
    st.observed_generation = 2;
    st.phase = model::Phase::kReady;
    st.conditions = {
        {"ContentReady", model::ConditionStatus::kTrue, "Converged", "", clock_.Now()}};
    st.updated = clock_.Now();
    st.progress_registration = registration;
    st.progress_json = progress;
    st.last_activity = last_activity;
    ASSERT_OK(store_->PutSeatStatus(st, kLease, lease_.epoch));
  }

  json Me(const std::string& token) {
    auto res = client().Get("/api/v1/me", {{"Authorization", "Participant " + token}});
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    return json::parse(res->body, nullptr, false);
  }

  std::map<int, json> Seats() {
    auto res =
        client().Get("/api/v1/seats", {{"Authorization", std::string("Bearer ") + kOperatorToken}});
    EXPECT_TRUE(res);
    std::map<int, json> out;
    if (!res) return out;
    EXPECT_EQ(res->status, 200) << res->body;
    const json body = json::parse(res->body);
    for (const json& s : body["seats"]) out[s["seat"].get<int>()] = s;
    return out;
  }

  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  common::FakeClock clock_;
  ServerConfig config_;
  store::Lease lease_;
  std::unique_ptr<testing::Running> running_;
};

TEST_F(ProgressApiTest, MeShowsLiveProgressWhileActiveAndTheHarvestOnceEnded) {
  auto [id, seat, token] = Register("ada@example.com");
  json me = Me(token);
  EXPECT_TRUE(me["progress"].is_null()) << "nothing observed yet";
  EXPECT_TRUE(me["last_activity"].is_null());

  const absl::Time saved = clock_.Now() - absl::Minutes(3);
  PutProgress(seat, id, ProgressJson(2, 5), saved);
  me = Me(token);
  ASSERT_TRUE(me["progress"].is_object()) << me.dump();
  EXPECT_EQ(me["progress"]["total"]["executed"], 2);
  EXPECT_EQ(me["progress"]["total"]["code_cells"], 5);
  ASSERT_EQ(me["progress"]["notebooks"].size(), 1u);
  EXPECT_EQ(me["progress"]["notebooks"][0]["file"], "WKSHP-Alpha/1-Lab.ipynb");
  EXPECT_EQ(me["progress"]["notebooks"][0]["executed"], 2);
  EXPECT_EQ(me["last_activity"], common::FormatTime(saved));
  EXPECT_EQ(me["phase"], "Ready");

  // The registration ends; the controller harvests 3 of 5 and vacates the seat.
  auto cleanup =
      client().Post(absl::StrCat("/api/v1/seats/loc-a/", seat, ":cleanup"),
                    {{"Authorization", std::string("Bearer ") + kAdminToken}}, "", kJson);
  ASSERT_TRUE(cleanup);
  ASSERT_EQ(cleanup->status, 200) << cleanup->body;
  ASSERT_OK_AND_ASSIGN(bool recorded, store_->RecordHarvest(id, ProgressJson(3, 5)));
  ASSERT_TRUE(recorded);
  me = Me(token);
  EXPECT_EQ(me["state"], "ended");
  EXPECT_EQ(me["progress"]["total"]["executed"], 3) << "the harvest, not the live view";
  EXPECT_TRUE(me["last_activity"].is_null());
}

TEST_F(ProgressApiTest, MeNeverShowsProgressObservedForAnotherRegistration) {
  auto [id, seat, token] = Register("ada@example.com");
  // The status still holds what the controller saw for the seat's previous occupant.
  PutProgress(seat, id + 100, ProgressJson(4, 5), clock_.Now());
  json me = Me(token);
  EXPECT_TRUE(me["progress"].is_null()) << me.dump();
  EXPECT_TRUE(me["last_activity"].is_null());
}

TEST_F(ProgressApiTest, SeatsShowLiveProgressLastActivityTimeLeftAndOccupant) {
  auto [ada, ada_seat, ada_token] = Register("ada@example.com");
  auto [bo, bo_seat, bo_token] = Register("bo@example.com");
  const absl::Time saved = clock_.Now() - absl::Seconds(30);
  PutProgress(ada_seat, ada, ProgressJson(1, 4), saved);
  PutProgress(bo_seat, ada, ProgressJson(4, 4), saved);  // stale: Ada's, not Bo's
  clock_.Advance(absl::Minutes(10));

  auto seats = Seats();
  ASSERT_EQ(seats.size(), 3u);
  const json& a = seats[ada_seat];
  EXPECT_EQ(a["progress"]["total"]["executed"], 1);
  EXPECT_EQ(a["progress"]["notebooks"][0]["code_cells"], 4);
  EXPECT_EQ(a["last_activity"], common::FormatTime(saved));
  EXPECT_EQ(a["time_left_seconds"], 4 * 3600 - 600);
  EXPECT_EQ(a["occupant"]["registration_id"], ada);
  EXPECT_EQ(a["occupant"]["email"], "ada@example.com");
  EXPECT_EQ(a["occupant"]["name"], "Name of ada@example.com");

  const json& b = seats[bo_seat];
  EXPECT_TRUE(b["progress"].is_null()) << "another registration's progress leaked: " << b.dump();
  EXPECT_TRUE(b["last_activity"].is_null());
  EXPECT_EQ(b["occupant"]["registration_id"], bo);

  const int vacant = 6 - ada_seat - bo_seat;  // seats 1..3
  const json& v = seats[vacant];
  EXPECT_TRUE(v["progress"].is_null());
  EXPECT_TRUE(v["last_activity"].is_null());
  EXPECT_TRUE(v["time_left_seconds"].is_null());
  EXPECT_TRUE(v["occupant"].is_null());

  clock_.Advance(absl::Hours(5));  // past the deadline, not yet cleaned up
  EXPECT_EQ(Seats()[ada_seat]["time_left_seconds"], 0);
}

TEST_F(ProgressApiTest, MetricsShowEachLocationsPassStatistics) {
  ASSERT_OK_AND_ASSIGN(store::Lease b, store_->AcquireLease("controller/loc-b", "test-b",
                                                            absl::Hours(1), clock_.Now()));
  ASSERT_OK(store_->RecordPass("loc-a", absl::Milliseconds(12),
                               absl::FromUnixSeconds(1'900'000'000), kLease, lease_.epoch));
  ASSERT_OK(store_->RecordPass("loc-a", absl::Milliseconds(30),
                               absl::FromUnixSeconds(1'900'000'015), kLease, lease_.epoch));
  ASSERT_OK(store_->RecordPass("loc-b", absl::Milliseconds(250),
                               absl::FromUnixSeconds(1'900'000'001), "controller/loc-b", b.epoch));
  auto res = client().Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const std::string& m = res->body;
  EXPECT_THAT(m, HasSubstr("# TYPE wod_controller_pass_seconds summary\n"));
  EXPECT_THAT(m, HasSubstr("wod_controller_pass_seconds_count{location=\"loc-a\"} 2\n"));
  EXPECT_THAT(m, HasSubstr("wod_controller_pass_seconds_sum{location=\"loc-a\"} 0.042\n"));
  EXPECT_THAT(m, HasSubstr("wod_controller_pass_seconds_count{location=\"loc-b\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("# TYPE wod_controller_last_pass_seconds gauge\n"));
  EXPECT_THAT(m, HasSubstr("wod_controller_last_pass_seconds{location=\"loc-a\"} 0.03\n"));
  EXPECT_THAT(m, HasSubstr("wod_controller_last_pass_seconds{location=\"loc-b\"} 0.25\n"));
  EXPECT_THAT(
      m, HasSubstr("wod_controller_last_pass_timestamp_seconds{location=\"loc-a\"} 1900000015\n"));
  EXPECT_THAT(m, Not(HasSubstr("location=\"loc-c\"")));
}

TEST_F(ProgressApiTest, MetricsWithoutAnyPassHaveNoPassSamples) {
  auto res = client().Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_THAT(res->body, Not(HasSubstr("wod_controller_pass_seconds_count{")));
  EXPECT_THAT(res->body, HasSubstr("wod_store_up 1"));
}

}  // namespace
}  // namespace wod::api
