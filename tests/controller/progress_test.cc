// Live progress and pass statistics of the reconcile pass: the controller puts the progress the
// content driver observes in an occupied, Ready seat's home into the seat's status (written
// only when it changed), drops it when the seat is vacated or changes hands, and counts every
// pass. Against the fakes, and against the real content driver in a temp root prefix.
#include <fcntl.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalogfs/load.h"
#include "controller/controller.h"
#include "drivers/accounts/accounts_fake.h"
#include "drivers/appliances/appliances_fake.h"
#include "drivers/content/content_fake.h"
#include "drivers/content/content_real.h"
#include "drivers/hub/hub_fake.h"
#include "model/catalog.h"
#include "nlohmann/json.hpp"
#include "tests/testing/status_matchers.h"

namespace wod::controller {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

constexpr char kWorkshop[] = "WKSHP-Python-Intro";  // no appliances, three notebooks

// The notebook text with its first code cell not yet executed now executed, as Jupyter saves
// it; nullopt when every code cell already is.
std::optional<std::string> ExecuteNextCell(const std::string& text) {
  json nb = json::parse(text, nullptr, false);
  if (nb.is_discarded()) return std::nullopt;
  for (auto& cell : nb["cells"]) {
    if (cell.value("cell_type", "") != "code" || cell["execution_count"].is_number()) continue;
    cell["execution_count"] = 1;
    cell["outputs"] = json::array(
        {{{"output_type", "stream"}, {"name", "stdout"}, {"text", json::array({"ok\n"})}}});
    return nb.dump(1);
  }
  return std::nullopt;
}

json TotalOf(const store::SeatStatus& st) {
  json p = json::parse(st.progress_json, nullptr, false);
  return p.is_discarded() ? json() : p["total"];
}

class ProgressFixture : public ::testing::Test {
 protected:
  // `content` is the driver under test; the other domains are fakes.
  void Start(drivers::content::ContentDriver* content) {
    dir_ = fs::path(::testing::TempDir()) /
           ("wod_progress_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenStore("sqlite:" + (dir_ / "wod.db").string()));
    model::Catalog catalog =
        catalogfs::LoadCatalog({std::string(WOD_SOURCE_DIR) + "/examples/catalog"}, "local");
    ASSERT_FALSE(catalog.HasErrors());
    std::vector<model::Workshop> workshops;
    for (const auto& e : catalog.entries) workshops.push_back(e.workshop);
    ASSERT_OK(store_->UpsertCatalog(workshops));
    drivers::HubFakeOptions hub_options;
    hub_options.require_account = false;
    hub_ = std::make_unique<drivers::HubFake>(hub_options);
    appliances_ = std::make_unique<drivers::FakeApplianceDriver>(
        "local", std::set<std::string>{"wod-test/busybox:latest"});
    ControllerOptions options;
    options.location = "local";
    options.holder = "test";
    options.jitter = [] { return 1.0; };
    controller_ = std::make_unique<Controller>(
        store_.get(), Drivers{&accounts_, hub_.get(), content, appliances_.get()}, options,
        &clock_);
    ASSERT_OK(controller_->AcquireLease());
  }
  void TearDown() override {
    controller_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  int Converge(int max_passes = 6) {
    for (int i = 1; i <= max_passes; ++i) {
      auto r = controller_->RunPass();
      EXPECT_OK(r);
      if (!r.ok()) return -1;
      if (r->converged) return i;
    }
    return -1;
  }

  store::RegisterResult Register(const std::string& email) {
    store::RegisterRequest req;
    req.workshop = kWorkshop;
    req.email = email;
    req.name = "Name of " + email;
    req.company = "ACME";
    req.now = clock_.Now();
    auto r = store_->Register(req);
    EXPECT_OK(r);
    return r.ok() ? *r : store::RegisterResult{};
  }

  store::SeatStatus StatusOf(int seat) {
    auto st = store_->ListSeatStatus(std::string("local"));
    EXPECT_OK(st);
    if (st.ok()) {
      for (const auto& s : *st) {
        if (s.number == seat) return s;
      }
    }
    ADD_FAILURE() << "no status for seat " << seat;
    return {};
  }

  fs::path dir_;
  common::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  drivers::accounts::FakeAccountsDriver accounts_;
  std::unique_ptr<drivers::HubFake> hub_;
  std::unique_ptr<drivers::FakeApplianceDriver> appliances_;
  std::unique_ptr<Controller> controller_;
};

class ProgressFakeTest : public ProgressFixture {
 protected:
  void SetUp() override {
    Start(&content_);
    for (int seat = 1; seat <= 12; ++seat) content_.AddHome(seat);
  }
  drivers::content::FakeContentDriver content_;
};

TEST_F(ProgressFakeTest, ReadySeatShowsLiveProgressThatRisesWhenACellIsExecuted) {
  const absl::Time deployed = absl::FromUnixSeconds(1'700'000'000);
  content_.SetNow(deployed);
  ASSERT_GT(Converge(), 0);
  auto ada = Register("ada@example.com");
  const int seat = ada.seat.number;
  ASSERT_GT(Converge(), 0);
  store::SeatStatus st = StatusOf(seat);
  ASSERT_EQ(st.phase, model::Phase::kReady);
  EXPECT_EQ(st.progress_registration, ada.registration.id);
  json total = TotalOf(st);
  EXPECT_EQ(total["notebooks"], 3);
  EXPECT_EQ(total["executed"], 0);
  EXPECT_GT(total["code_cells"].get<int>(), 0);
  EXPECT_EQ(st.last_activity, deployed);

  // A pass over an unchanged home writes nothing: the status keeps its update time.
  const int parses = content_.notebook_parses();
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(controller_->RunPass());
  EXPECT_EQ(StatusOf(seat).updated, st.updated) << "status rewritten without a change";
  EXPECT_EQ(content_.notebook_parses(), parses) << "unchanged notebooks were parsed again";

  // Ada runs a cell of the lab and Jupyter saves the notebook.
  ASSERT_OK_AND_ASSIGN(auto observed, content_.Observe());
  ASSERT_NE(observed.Find(seat), nullptr);
  std::string lab;
  for (const auto& nb : observed.Find(seat)->notebooks) {
    if (nb.file.find("1-Python-Basics") != std::string::npos) lab = nb.file;
  }
  ASSERT_FALSE(lab.empty());
  auto executed = ExecuteNextCell(*content_.ReadFile(seat, lab));
  ASSERT_TRUE(executed.has_value());
  const absl::Time saved = deployed + absl::Minutes(7);
  content_.SetNow(saved);
  ASSERT_TRUE(content_.WriteFile(seat, lab, *executed));
  clock_.Advance(absl::Minutes(1));
  auto pass = controller_->RunPass();
  ASSERT_OK(pass);
  EXPECT_EQ(pass->actions, 0) << "progress is observed, not acted on";
  store::SeatStatus after = StatusOf(seat);
  EXPECT_EQ(TotalOf(after)["executed"], 1);
  EXPECT_EQ(after.last_activity, saved);
  EXPECT_EQ(after.updated, clock_.Now());
  EXPECT_EQ(after.phase, model::Phase::kReady);
  json per_notebook = json::parse(after.progress_json)["notebooks"];
  int lab_executed = -1;
  for (const auto& nb : per_notebook) {
    if (nb["file"] == lab) lab_executed = nb["executed"];
  }
  EXPECT_EQ(lab_executed, 1);
}

TEST_F(ProgressFakeTest, VacatedSeatDropsLiveProgressAndTheHarvestKeepsIt) {
  ASSERT_GT(Converge(), 0);
  auto ada = Register("ada@example.com");
  const int seat = ada.seat.number;
  ASSERT_GT(Converge(), 0);
  ASSERT_OK_AND_ASSIGN(auto observed, content_.Observe());
  const std::string lab = observed.Find(seat)->notebooks[1].file;
  ASSERT_TRUE(content_.WriteFile(seat, lab, *ExecuteNextCell(*content_.ReadFile(seat, lab))));
  ASSERT_OK(controller_->RunPass());
  EXPECT_EQ(TotalOf(StatusOf(seat))["executed"], 1);

  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, "local", seat, clock_.Now()).status());
  ASSERT_GT(Converge(), 0);
  store::SeatStatus st = StatusOf(seat);
  EXPECT_EQ(st.phase, model::Phase::kVacant);
  EXPECT_EQ(st.progress_registration, 0);
  EXPECT_EQ(st.progress_json, "");
  EXPECT_FALSE(st.last_activity.has_value());
  ASSERT_OK_AND_ASSIGN(auto ended, store_->GetRegistration(ada.registration.id));
  EXPECT_EQ(json::parse(ended.progress_json)["total"]["executed"], 1);

  // Bo takes the seat: his status never carries Ada's progress.
  auto bo = Register("bo@example.com");
  ASSERT_EQ(bo.seat.number, seat);
  for (int i = 0; i < 6; ++i) {
    auto r = controller_->RunPass();
    ASSERT_OK(r);
    store::SeatStatus now = StatusOf(seat);
    EXPECT_NE(now.progress_registration, ada.registration.id) << "pass " << i;
    if (!now.progress_json.empty()) {
      EXPECT_EQ(TotalOf(now)["executed"], 0) << "pass " << i;
    }
    if (r->converged) break;
  }
  store::SeatStatus ready = StatusOf(seat);
  EXPECT_EQ(ready.phase, model::Phase::kReady);
  EXPECT_EQ(ready.progress_registration, bo.registration.id);
}

TEST_F(ProgressFakeTest, ProgressStaysWhileContentCannotBeObserved) {
  ASSERT_GT(Converge(), 0);
  auto ada = Register("ada@example.com");
  const int seat = ada.seat.number;
  ASSERT_GT(Converge(), 0);
  const store::SeatStatus before = StatusOf(seat);
  ASSERT_FALSE(before.progress_json.empty());
  content_.FailNext(absl::UnavailableError("home base unreadable"));
  ASSERT_OK(controller_->RunPass());
  store::SeatStatus st = StatusOf(seat);
  EXPECT_EQ(st.progress_registration, ada.registration.id);
  EXPECT_EQ(st.progress_json, before.progress_json);
  EXPECT_EQ(st.last_activity, before.last_activity);
}

TEST_F(ProgressFakeTest, EveryPassIsCountedInThePassStatistics) {
  ASSERT_OK_AND_ASSIGN(auto none, store_->ListPassStats());
  EXPECT_TRUE(none.empty());
  absl::Duration sum;
  for (int i = 0; i < 4; ++i) {
    clock_.Advance(absl::Seconds(15));
    ASSERT_OK_AND_ASSIGN(auto r, controller_->RunPass());
    sum += r.total_time;
  }
  ASSERT_OK(controller_->RunPass(/*apply=*/false));  // wod drift --live writes nothing
  ASSERT_OK_AND_ASSIGN(auto stats, store_->ListPassStats());
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].location, "local");
  EXPECT_EQ(stats[0].passes, 4);
  EXPECT_EQ(stats[0].last_pass, clock_.Now());
  EXPECT_GE(stats[0].total_duration, stats[0].last_duration);
  EXPECT_LE(stats[0].total_duration, sum + absl::Microseconds(4));  // stored in microseconds
  EXPECT_GT(stats[0].total_duration, absl::ZeroDuration());
}

TEST_F(ProgressFakeTest, ControllerThatLostItsLeaseCountsNoPass) {
  ASSERT_OK(controller_->RunPass());
  ASSERT_OK(store_
                ->AcquireLease("controller/local", "other", absl::Seconds(15),
                               clock_.Now() + absl::Minutes(1))
                .status());
  EXPECT_FALSE(controller_->RunPass().ok());
  ASSERT_OK_AND_ASSIGN(auto stats, store_->ListPassStats());
  ASSERT_EQ(stats.size(), 1u);
  EXPECT_EQ(stats[0].passes, 1);
}

// The real content driver over homes in a temp root prefix: the notebook Jupyter saves is read
// again after the change, and the progress of the next pass is higher.
class ProgressRealContentTest : public ProgressFixture {
 protected:
  void SetUp() override {
    root_ = fs::path(::testing::TempDir()) /
            ("wod_progress_root_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
    drivers::content::RealContentOptions options;
    options.root = root_.string();
    options.chown = false;
    options.sync = false;
    for (int seat = 1; seat <= 12; ++seat) {
      fs::create_directories(root_ / ("home/" + options.policy.UserName(seat)));
    }
    ASSERT_OK_AND_ASSIGN(content_, drivers::content::RealContentDriver::Create(options));
    Start(content_.get());
  }
  void TearDown() override {
    ProgressFixture::TearDown();
    fs::remove_all(root_);
  }
  fs::path root_;
  std::unique_ptr<drivers::content::RealContentDriver> content_;
};

TEST_F(ProgressRealContentTest, ExecutedCellWrittenIntoARenderedNotebookRaisesProgress) {
  ASSERT_GT(Converge(), 0);
  auto ada = Register("ada@example.com");
  const int seat = ada.seat.number;
  ASSERT_GT(Converge(), 0);
  store::SeatStatus st = StatusOf(seat);
  ASSERT_EQ(st.phase, model::Phase::kReady);
  ASSERT_EQ(st.progress_registration, ada.registration.id);
  EXPECT_EQ(TotalOf(st)["executed"], 0);
  ASSERT_TRUE(st.last_activity.has_value());

  const auto parses = content_->stats().notebook_parses;
  ASSERT_OK(controller_->RunPass());
  EXPECT_EQ(content_->stats().notebook_parses, parses) << "unchanged notebooks were read again";

  const fs::path lab = fs::path(content_->HomePath(seat)) / kWorkshop / "1-Python-Basics.ipynb";
  ASSERT_TRUE(fs::exists(lab));
  std::stringstream text;
  text << std::ifstream(lab).rdbuf();
  auto once = ExecuteNextCell(text.str());
  ASSERT_TRUE(once.has_value());
  auto twice = ExecuteNextCell(*once);
  ASSERT_TRUE(twice.has_value());
  // Jupyter writes a temp file and renames it over the notebook.
  const fs::path tmp = lab.string() + ".~tmp";
  std::ofstream(tmp) << *twice;
  fs::rename(tmp, lab);
  const absl::Time saved = absl::FromUnixSeconds(2'000'000'000);
  const struct timespec times[2] = {{absl::ToUnixSeconds(saved), 0},
                                    {absl::ToUnixSeconds(saved), 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, lab.c_str(), times, 0), 0);

  ASSERT_OK_AND_ASSIGN(auto pass, controller_->RunPass());
  EXPECT_EQ(pass.actions, 0);
  EXPECT_EQ(content_->stats().notebook_parses, parses + 1) << "only the saved notebook is read";
  store::SeatStatus after = StatusOf(seat);
  EXPECT_EQ(TotalOf(after)["executed"], 2);
  EXPECT_GT(TotalOf(after)["fraction"].get<double>(), 0.0);
  EXPECT_EQ(after.last_activity, saved);
}

}  // namespace
}  // namespace wod::controller
