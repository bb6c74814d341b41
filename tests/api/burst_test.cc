// 50 registrations with distinct emails at once over HTTP for a workshop of 6 seats: exactly
// 6 × 201 on 6 distinct seats and 44 × 409 "full", seats left never below zero. Compiled
// twice: api_burst_test on SQLite, api_burst_pg_test (WOD_API_TEST_POSTGRES, label
// `postgres`) on a fresh database on the server of WOD_TEST_PG_URL.
#include <atomic>
#include <barrier>
#include <map>
#include <set>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/services.h"

namespace wod::api {
namespace {

using json = nlohmann::json;

// One suite name per target, so the SQLite and PostgreSQL runs have distinct ctest names.
#ifdef WOD_API_TEST_POSTGRES
#define WOD_BURST_SUITE BurstPostgresTest
#else
#define WOD_BURST_SUITE BurstTest
#endif

class WOD_BURST_SUITE : public ::testing::Test {
 protected:
  void SetUp() override {
#ifdef WOD_API_TEST_POSTGRES
    WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
    auto db = store::testing::PgScratchDb::Create(base, "wod_api_test");
#else
    auto db = store::testing::SqliteScratchDb::Create();
#endif
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto store = store::OpenStore(db_->url());
    ASSERT_OK(store);
    store_ = std::move(store).value();
  }
  void TearDown() override {
    store_.reset();
    db_.reset();
  }

  // Sends `n` registrations for `workshop` from `n` threads released at once; returns the
  // responses' "status code" strings ("201", "409 full", ...) and the seats granted.
  void Burst(const std::string& workshop, int n, std::map<std::string, int>* outcomes,
             std::vector<int>* seats) {
    ServerConfig config;
    config.registration_rate_limit.per_minute = 0;  // one client address sends them all
    auto running = testing::StartServer(store_.get(), config, &clock_);
    ASSERT_NE(running, nullptr);
    std::barrier start(n);
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        httplib::Client c("127.0.0.1", running->port);
        c.set_read_timeout(60, 0);
        c.set_connection_timeout(30, 0);
        std::string body =
            testing::RegistrationBody(workshop, absl::StrCat("p", i, "@example.com"));
        start.arrive_and_wait();
        auto res = c.Post("/api/v1/registrations", body, "application/json");
        std::lock_guard<std::mutex> lock(mu);
        if (!res) {
          ++(*outcomes)[absl::StrCat("transport error ", httplib::to_string(res.error()))];
          return;
        }
        std::string key = std::to_string(res->status);
        if (res->status == 201) {
          seats->push_back(json::parse(res->body)["registration"]["seat"]);
        } else {
          key += " " + testing::ErrorOf(res).value("code", "?");
        }
        ++(*outcomes)[key];
      });
    }
    for (auto& t : threads) t.join();
  }

  common::FakeClock clock_;
  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
};

TEST_F(WOD_BURST_SUITE, FiftyAtOnceForSixSeatsGiveSixSeatsAndFortyFourFull) {
  ASSERT_OK(store_->UpsertCatalog({testing::MakeWorkshop("WKSHP-Burst", 101, 106, 6)}));
  std::map<std::string, int> outcomes;
  std::vector<int> seats;
  Burst("WKSHP-Burst", 50, &outcomes, &seats);
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"201", 6}, {"409 full", 44}}));
  EXPECT_EQ(std::set<int>(seats.begin(), seats.end()),
            (std::set<int>{101, 102, 103, 104, 105, 106}));

  auto views = store_->ListSeats();
  ASSERT_OK(views);
  std::set<int64_t> holders;
  for (const auto& v : *views) {
    ASSERT_TRUE(v.seat.registration_id) << "seat " << v.seat.number << " left vacant";
    holders.insert(*v.seat.registration_id);
  }
  EXPECT_EQ(holders.size(), 6u);
  auto regs = store_->ListRegistrations(model::RegistrationState::kActive);
  ASSERT_OK(regs);
  EXPECT_EQ(regs->size(), 6u);
}

TEST_F(WOD_BURST_SUITE, FiftyAtOnceForCapacitySixOfTenSeatsStopAtTheCapacity) {
  ASSERT_OK(store_->UpsertCatalog({testing::MakeWorkshop("WKSHP-Cap", 201, 210, 6)}));
  std::map<std::string, int> outcomes;
  std::vector<int> seats;
  Burst("WKSHP-Cap", 50, &outcomes, &seats);
  EXPECT_EQ(outcomes, (std::map<std::string, int>{{"201", 6}, {"409 full", 44}}));
  EXPECT_EQ(std::set<int>(seats.begin(), seats.end()).size(), 6u);

  ServerConfig config;
  auto running = testing::StartServer(store_.get(), config, &clock_);
  ASSERT_NE(running, nullptr);
  auto res = running->client->Get("/api/v1/workshops/WKSHP-Cap");
  ASSERT_TRUE(res);
  EXPECT_EQ(json::parse(res->body)["seats_left"], 0);
}

}  // namespace
}  // namespace wod::api
