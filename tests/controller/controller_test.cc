// The reconcile pass against in-memory fakes and a real SQLite store: occupy, converge, vacate
// with a harvest recorded once, and keep going when one domain cannot be observed.
#include "controller/controller.h"

#include <filesystem>
#include <functional>
#include <optional>
#include <thread>
#include <utility>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "catalogfs/load.h"
#include "drivers/accounts/accounts_fake.h"
#include "drivers/appliances/appliances_fake.h"
#include "drivers/content/content_fake.h"
#include "drivers/hub/hub_fake.h"
#include "model/catalog.h"
#include "tests/testing/status_matchers.h"

namespace wod::controller {
namespace {

namespace fs = std::filesystem;

class ControllerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("wod_ctl_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
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
        store_.get(), Drivers{&accounts_, hub_.get(), &content_, appliances_.get()}, options,
        &clock_);
    ASSERT_OK(controller_->AcquireLease());
    for (int seat = 1; seat <= 12; ++seat) content_.AddHome(seat);  // the accounts side's job
  }
  void TearDown() override { fs::remove_all(dir_); }

  // Runs passes until one acts on nothing; returns how many passes that took.
  int Converge(int max_passes = 6) {
    for (int i = 1; i <= max_passes; ++i) {
      auto r = controller_->RunPass();
      EXPECT_OK(r);
      if (!r.ok()) return -1;
      if (r->converged) return i;
    }
    for (const auto& d : controller_->last_drift()) {
      auto st = store_->GetSeat("local", d.seat);
      auto statuses = store_->ListSeatStatus(std::string("local"));
      std::string err;
      if (statuses.ok())
        for (auto& x : *statuses)
          if (x.number == d.seat) err = x.last_error;
      ADD_FAILURE() << "error: " << err << " drift: seat " << d.seat << " " << d.domain << ": "
                    << d.planned << " [" << d.observed << "]";
    }
    return -1;
  }

  std::map<int, std::string> Phases() {
    std::map<int, std::string> out;
    auto st = store_->ListSeatStatus(std::string("local"));
    EXPECT_OK(st);
    if (st.ok()) {
      for (const auto& s : *st) out[s.number] = model::PhaseName(s.phase);
    }
    return out;
  }

  fs::path dir_;
  common::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  drivers::accounts::FakeAccountsDriver accounts_;
  drivers::content::FakeContentDriver content_;
  std::unique_ptr<drivers::HubFake> hub_;
  std::unique_ptr<drivers::FakeApplianceDriver> appliances_;
  std::unique_ptr<Controller> controller_;
};

TEST_F(ControllerTest, PoolConvergesThenAPassOverItPlansNothing) {
  int passes = Converge();
  ASSERT_GT(passes, 0);
  auto phases = Phases();
  ASSERT_FALSE(phases.empty());
  for (const auto& [seat, phase] : phases) EXPECT_EQ(phase, "Vacant") << "seat " << seat;
  auto again = controller_->RunPass();
  ASSERT_OK(again);
  EXPECT_TRUE(again->converged);
  EXPECT_EQ(again->actions, 0);
  EXPECT_TRUE(controller_->last_drift().empty());
}

TEST_F(ControllerTest, RegistrationBecomesReadyAndCleanupHarvestsOnce) {
  ASSERT_GT(Converge(), 0);
  store::RegisterRequest req;
  req.workshop = "WKSHP-Busybox-Web";
  req.email = "ada@example.com";
  req.name = "Ada";
  req.company = "ACME";
  req.now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto reg, store_->Register(req));
  const int seat = reg.seat.number;
  ASSERT_GT(Converge(), 0);
  EXPECT_EQ(Phases()[seat], "Ready");
  // Each step of the handover left its event (stored with the seat's status, in one write).
  ASSERT_OK_AND_ASSIGN(auto events, store_->ListEvents(std::string("local"), 0));
  std::set<std::string> domains;
  for (const auto& e : events) {
    if (e.seat != seat || e.time < req.now) continue;
    EXPECT_EQ(e.message, "done") << e.kind;
    domains.insert(e.kind.substr(0, e.kind.find('.')));
  }
  EXPECT_THAT(domains, ::testing::IsSupersetOf({"content", "hub", "appliances"}));
  ASSERT_OK_AND_ASSIGN(auto observed, appliances_->Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  EXPECT_EQ(observed.containers[0].registration_id, reg.registration.id);
  EXPECT_TRUE(observed.containers[0].running());

  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, "local", seat, clock_.Now()).status());
  ASSERT_GT(Converge(), 0);
  EXPECT_EQ(Phases()[seat], "Vacant");
  ASSERT_OK_AND_ASSIGN(auto after, appliances_->Observe());
  EXPECT_TRUE(after.containers.empty());
  ASSERT_OK_AND_ASSIGN(auto ended, store_->GetRegistration(reg.registration.id));
  EXPECT_EQ(ended.state, model::RegistrationState::kEnded);
  EXPECT_FALSE(ended.progress_json.empty()) << "harvest was not recorded";
  ASSERT_OK_AND_ASSIGN(auto content, content_.Observe());
  const auto* c = content.Find(seat);
  EXPECT_TRUE(c == nullptr || !c->deployed());
}

// PURGE: the registration failed, so its content is wiped without a harvest. Which stale
// content belongs to a purged registration is read after observing, for the ids found in
// homes; a CLEANUP on another seat in the same pass is still harvested.
TEST_F(ControllerTest, APurgedRegistrationsContentIsWipedWithoutAHarvestACleanedOneIsHarvested) {
  ASSERT_GT(Converge(), 0);
  auto reg = [&](const std::string& email) {
    store::RegisterRequest req;
    req.workshop = "WKSHP-Busybox-Web";
    req.email = email;
    req.now = clock_.Now();
    return store_->Register(req);
  };
  ASSERT_OK_AND_ASSIGN(auto purged, reg("purged@example.com"));
  ASSERT_OK_AND_ASSIGN(auto cleaned, reg("cleaned@example.com"));
  ASSERT_GT(Converge(), 0);
  ASSERT_OK(
      store_->ApplyVerb(model::Verb::kPurge, "local", purged.seat.number, clock_.Now()).status());
  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, "local", cleaned.seat.number, clock_.Now())
                .status());
  ASSERT_OK_AND_ASSIGN(auto pass, controller_->RunPass());
  EXPECT_EQ(pass.harvests, 1);
  ASSERT_GT(Converge(), 0);
  ASSERT_OK_AND_ASSIGN(auto p, store_->GetRegistration(purged.registration.id));
  EXPECT_EQ(p.state, model::RegistrationState::kFailed);
  EXPECT_TRUE(p.progress_json.empty()) << "a purged registration was harvested";
  ASSERT_OK_AND_ASSIGN(auto c, store_->GetRegistration(cleaned.registration.id));
  EXPECT_FALSE(c.progress_json.empty()) << "a cleaned-up registration was not harvested";
  ASSERT_OK_AND_ASSIGN(auto content, content_.Observe());
  for (int seat : {purged.seat.number, cleaned.seat.number}) {
    const auto* home = content.Find(seat);
    EXPECT_TRUE(home == nullptr || !home->deployed()) << "seat " << seat << " was not wiped";
  }
}

// {{ WODBEEXTFQDN }} (and IP-<workshop>) render the location's fqdn when one is set
// (`wod location set --fqdn`), and the operator's configured value when not: an empty fqdn
// must not erase it. Through real passes of the controller into the homes it deploys.
TEST_F(ControllerTest, TheExternalNameIsTheLocationsFqdnElseTheOperatorsValue) {
  ControllerOptions options;
  options.location = "local";
  options.holder = "test-fqdn";
  options.jitter = [] { return 1.0; };
  options.operator_variables = {{"WODBEEXTFQDN", "ops.example.com"}};
  controller_->ReleaseLease();
  controller_ = std::make_unique<Controller>(
      store_.get(), Drivers{&accounts_, hub_.get(), &content_, appliances_.get()}, options,
      &clock_);
  ASSERT_OK(controller_->AcquireLease());
  ASSERT_GT(Converge(), 0);
  store::RegisterRequest req;
  req.workshop = "WKSHP-Busybox-Web";
  req.email = "ada@example.com";
  req.now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto reg, store_->Register(req));
  const int seat = reg.seat.number;
  ASSERT_GT(Converge(), 0);
  auto readme = [&] {
    return content_.ReadFile(seat, "WKSHP-Busybox-Web/0-ReadMeFirst.ipynb").value_or("");
  };
  EXPECT_THAT(readme(), ::testing::HasSubstr("on **ops.example.com**"));

  store::LocationPatch patch;
  patch.fqdn = "east.example.com";
  ASSERT_OK(store_->UpdateLocation("local", patch).status());
  ASSERT_OK(store_->ApplyVerb(model::Verb::kReset, "local", seat, clock_.Now()).status());
  ASSERT_GT(Converge(), 0);
  EXPECT_THAT(readme(), ::testing::HasSubstr("on **east.example.com**"));
  EXPECT_THAT(readme(), ::testing::Not(::testing::HasSubstr("ops.example.com")));
}

// CLEANUP of Ada's seat in a pass that cannot observe the accounts: content is harvested and
// wiped, but her account stays unlocked with her files and processes. Bo takes the same seat
// before the next pass. Nothing but the account's occupant marker shows the handover now; the
// next pass must vacate the account (lock, kill, wipe, marker cleared) before setting it up
// for Bo.
TEST_F(ControllerTest, SeatTakenAgainBeforeTheAccountsSideOfItsVacateRanIsWipedForTheNewOccupant) {
  ASSERT_GT(Converge(), 0);
  store::RegisterRequest req;
  req.workshop = "WKSHP-Busybox-Web";
  req.email = "ada@example.com";
  req.name = "Ada";
  req.company = "ACME";
  req.now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto ada, store_->Register(req));
  const int seat = ada.seat.number;
  ASSERT_GT(Converge(), 0);
  ASSERT_OK_AND_ASSIGN(auto observed, accounts_.Observe());
  ASSERT_NE(observed.Find(seat), nullptr);
  EXPECT_EQ(observed.Find(seat)->occupant, ada.registration.id);
  const std::string home = observed.Find(seat)->home;
  ASSERT_TRUE(accounts_.AddHomeEntry(home, "ada.txt"));
  const pid_t ada_process = accounts_.StartProcess(observed.Find(seat)->uid);

  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, "local", seat, clock_.Now()).status());
  accounts_.FailNext(absl::UnavailableError("passwd is being edited"));
  ASSERT_OK(controller_->RunPass());
  ASSERT_OK_AND_ASSIGN(auto content, content_.Observe());
  ASSERT_TRUE(content.Find(seat) == nullptr || !content.Find(seat)->deployed())
      << "the content side of the vacate ran";
  ASSERT_OK_AND_ASSIGN(observed, accounts_.Observe());
  ASSERT_FALSE(observed.Find(seat)->locked) << "the accounts side did not";

  req.email = "bo@example.com";
  req.name = "Bo";
  ASSERT_OK_AND_ASSIGN(auto bo, store_->Register(req));
  ASSERT_EQ(bo.seat.number, seat) << "the lowest free seat is Ada's again";

  // A pass that cannot see the account does not know it still holds Ada's home: nothing of
  // Bo's goes there yet (it would be harvested and wiped as part of Ada's vacate).
  accounts_.FailNext(absl::UnavailableError("passwd is being edited"));
  ASSERT_OK(controller_->RunPass());
  ASSERT_OK_AND_ASSIGN(content, content_.Observe());
  EXPECT_TRUE(content.Find(seat) == nullptr || !content.Find(seat)->deployed())
      << "Bo's content deployed before the handover was seen";
  ASSERT_OK_AND_ASSIGN(auto containers, appliances_->Observe());
  for (const auto& c : containers.containers) {
    EXPECT_NE(c.registration_id, bo.registration.id) << c.name << " started for Bo";
  }

  // The next pass vacates: Bo's account is not unlocked over Ada's files.
  ASSERT_OK(controller_->RunPass());
  ASSERT_OK_AND_ASSIGN(observed, accounts_.Observe());
  EXPECT_TRUE(observed.Find(seat)->locked);
  EXPECT_EQ(observed.Find(seat)->occupant, 0);
  EXPECT_FALSE(accounts_.ProcessAlive(ada_process));
  EXPECT_THAT(*accounts_.HomeEntries(home), ::testing::IsEmpty());

  ASSERT_GT(Converge(), 0);
  EXPECT_EQ(Phases()[seat], "Ready");
  ASSERT_OK_AND_ASSIGN(observed, accounts_.Observe());
  EXPECT_FALSE(observed.Find(seat)->locked);
  EXPECT_EQ(observed.Find(seat)->occupant, bo.registration.id);
  EXPECT_THAT(*accounts_.HomeEntries(home), ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto ended, store_->GetRegistration(ada.registration.id));
  EXPECT_FALSE(ended.progress_json.empty()) << "Ada's harvest was recorded";
  ASSERT_OK_AND_ASSIGN(auto active, store_->GetRegistration(bo.registration.id));
  EXPECT_TRUE(active.progress_json.empty()) << "Bo was harvested";
}

// With the real drivers the home is shared: the accounts side's wipe-home would also destroy
// the notebooks the content side has not harvested yet. A pass that cannot observe the
// content stops the accounts side of a vacate before its wipe (the lock still happens) and
// keeps the marker, so the next pass harvests first.
TEST_F(ControllerTest, VacateWithoutObservedContentLocksButWipesOnlyAfterTheHarvest) {
  ASSERT_GT(Converge(), 0);
  store::RegisterRequest req;
  req.workshop = "WKSHP-Busybox-Web";
  req.email = "cy@example.com";
  req.name = "Cy";
  req.company = "ACME";
  req.now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto cy, store_->Register(req));
  const int seat = cy.seat.number;
  ASSERT_GT(Converge(), 0);
  ASSERT_OK_AND_ASSIGN(auto observed, accounts_.Observe());
  const std::string home = observed.Find(seat)->home;
  ASSERT_TRUE(accounts_.AddHomeEntry(home, "lab.ipynb"));

  ASSERT_OK(store_->ApplyVerb(model::Verb::kCleanup, "local", seat, clock_.Now()).status());
  content_.FailNext(absl::UnavailableError("home server busy"));
  ASSERT_OK(controller_->RunPass());
  ASSERT_OK_AND_ASSIGN(observed, accounts_.Observe());
  EXPECT_TRUE(observed.Find(seat)->locked) << "Cy is locked out at once";
  EXPECT_EQ(observed.Find(seat)->occupant, cy.registration.id) << "the vacate is not finished";
  EXPECT_THAT(*accounts_.HomeEntries(home), ::testing::ElementsAre("lab.ipynb"))
      << "wiped before the harvest";

  ASSERT_GT(Converge(), 0);
  ASSERT_OK_AND_ASSIGN(observed, accounts_.Observe());
  EXPECT_EQ(observed.Find(seat)->occupant, 0);
  EXPECT_THAT(*accounts_.HomeEntries(home), ::testing::IsEmpty());
  ASSERT_OK_AND_ASSIGN(auto ended, store_->GetRegistration(cy.registration.id));
  EXPECT_FALSE(ended.progress_json.empty()) << "Cy's harvest was recorded";
}

TEST_F(ControllerTest, AHubThatCannotBeObservedDoesNotBlockOtherDomains) {
  hub_->SetDown(true);
  auto r = controller_->RunPass();
  ASSERT_OK(r);
  EXPECT_FALSE(r->converged);
  EXPECT_GT(r->actions, 0);  // accounts and content still acted
  auto st = store_->ListSeatStatus(std::string("local"));
  ASSERT_OK(st);
  ASSERT_FALSE(st->empty());
  bool hub_unknown = false;
  for (const auto& c : (*st)[0].conditions) {
    if (c.type == "HubReady") hub_unknown = c.status == model::ConditionStatus::kUnknown;
  }
  EXPECT_TRUE(hub_unknown);
  hub_->SetDown(false);
  EXPECT_GT(Converge(), 0);
}

TEST_F(ControllerTest, ATerminalFailureMarksTheSeatFailedUntilDesiredStateChanges) {
  // An engine without the appliance's image: create fails with FailedPrecondition.
  appliances_ = std::make_unique<drivers::FakeApplianceDriver>("local", std::set<std::string>{});
  ControllerOptions options;
  options.holder = "test";
  controller_ = std::make_unique<Controller>(
      store_.get(), Drivers{&accounts_, hub_.get(), &content_, appliances_.get()}, options,
      &clock_);
  ASSERT_OK(controller_->AcquireLease());
  ASSERT_GT(Converge(), 0);
  store::RegisterRequest req;
  req.workshop = "WKSHP-Busybox-Web";
  req.email = "bo@example.com";
  req.name = "Bo";
  req.company = "ACME";
  req.now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto reg, store_->Register(req));
  const int seat = reg.seat.number;
  int failures = 0;
  for (int i = 0; i < 4; ++i) {
    auto r = controller_->RunPass();
    ASSERT_OK(r);
    failures += r->failures;
  }
  EXPECT_EQ(failures, 1);  // tried once, then held until the desired state changes
  EXPECT_EQ(Phases()[seat], "Failed");
  auto later = controller_->RunPass();
  ASSERT_OK(later);
  EXPECT_EQ(later->skipped_seats, 1);
  // RESET bumps the seat's generation: the controller tries again.
  ASSERT_OK(store_->ApplyVerb(model::Verb::kReset, "local", seat, clock_.Now()).status());
  auto retried = controller_->RunPass();
  ASSERT_OK(retried);
  EXPECT_EQ(retried->failures, 1);
}

TEST_F(ControllerTest, StaleLeaseEpochStopsStatusWritesAndStartsNoSeat) {
  ASSERT_OK(store_->ReleaseLease("controller/local", "test"));
  clock_.Advance(absl::Minutes(1));
  ASSERT_OK(
      store_->AcquireLease("controller/local", "other", absl::Seconds(15), clock_.Now()).status());
  auto r = controller_->RunPass();
  EXPECT_THAT(r, wod::testing::StatusIs(absl::StatusCode::kAborted));
  // Fencing reaches the machine too: the controller renews before starting a seat, finds the
  // lease gone, and starts none.
  ASSERT_OK_AND_ASSIGN(auto observed, accounts_.Observe());
  EXPECT_TRUE(observed.accounts.empty());
  EXPECT_EQ(accounts_.mutations(), 0);
}

ControllerOptions Options(std::string holder, int concurrency = 4) {
  ControllerOptions o;
  o.location = "local";
  o.holder = std::move(holder);
  o.concurrency = concurrency;
  return o;
}

TEST_F(ControllerTest, ALocationWithoutAHubPlansNoHubActionsAndCountsTheHubAsReady) {
  controller_ = std::make_unique<Controller>(
      store_.get(), Drivers{&accounts_, nullptr, &content_, appliances_.get()}, Options("test"),
      &clock_);
  ASSERT_OK(controller_->AcquireLease());
  ASSERT_GT(Converge(), 0);
  store::RegisterRequest req;
  req.workshop = "WKSHP-Shell101";
  req.email = "cy@example.com";
  req.name = "Cy";
  req.company = "ACME";
  req.now = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto reg, store_->Register(req));
  ASSERT_GT(Converge(), 0);
  EXPECT_EQ(Phases()[reg.seat.number], "Ready");
  ASSERT_OK_AND_ASSIGN(auto hub, hub_->Observe());
  EXPECT_TRUE(hub.users.empty());  // the hub fake exists but this controller has no hub
  ASSERT_OK_AND_ASSIGN(auto st, store_->ListSeatStatus(std::string("local")));
  for (const auto& c : st[0].conditions) {
    if (c.type == "HubReady") {
      EXPECT_EQ(c.status, model::ConditionStatus::kTrue);
      EXPECT_EQ(c.reason, "NoHub");
    }
  }
}

TEST_F(ControllerTest, DriftKeepsItsSinceAcrossARestartedController) {
  accounts_.AddForeignUser("mallory", 10000 + 500, 100);  // in the managed uid range
  auto first = controller_->RunPass();
  ASSERT_OK(first);
  ASSERT_OK_AND_ASSIGN(auto stored, store_->ListDrift(std::string("local")));
  absl::Time since = absl::InfinitePast();
  for (const auto& d : stored) {
    if (d.planned == "none (foreign)") since = d.since;
  }
  ASSERT_NE(since, absl::InfinitePast()) << "the foreign user is not in the drift report";
  controller_->ReleaseLease();

  clock_.Advance(absl::Minutes(5));
  Controller restarted(store_.get(), Drivers{&accounts_, hub_.get(), &content_, appliances_.get()},
                       Options("next"), &clock_);
  ASSERT_OK_AND_ASSIGN(auto live, restarted.RunPass(/*apply=*/false));
  (void)live;
  bool found = false;
  for (const auto& d : restarted.last_drift()) {
    if (d.planned != "none (foreign)") continue;
    found = true;
    EXPECT_EQ(d.since, since);  // not the restarted controller's first pass
    EXPECT_THAT(d.observed, ::testing::HasSubstr("mallory"));
  }
  EXPECT_TRUE(found);
}

// Stops the controller from inside the first action it executes.
class StoppingAccounts : public drivers::accounts::AccountsDriver {
 public:
  StoppingAccounts(drivers::accounts::AccountsDriver* inner, std::atomic<bool>* stop)
      : inner_(inner), stop_(stop) {}
  absl::StatusOr<model::ObservedAccounts> Observe(
      const model::DesiredPasswords& desired_passwords) override {
    return inner_->Observe(desired_passwords);
  }
  absl::Status Apply(const model::AccountAction& action) override {
    stop_->store(true);
    seats_.insert(action.seat);
    return inner_->Apply(action);
  }
  std::set<int> seats_;

 private:
  drivers::accounts::AccountsDriver* inner_;
  std::atomic<bool>* stop_;
};

TEST_F(ControllerTest, AStopFinishesTheSeatInFlightStartsNoOtherAndReleasesTheLease) {
  controller_->ReleaseLease();
  std::atomic<bool> stop{false};
  StoppingAccounts accounts(&accounts_, &stop);
  Controller ctl(store_.get(), Drivers{&accounts, hub_.get(), &content_, appliances_.get()},
                 Options("stopping", 1), &clock_);
  ASSERT_OK(ctl.Run(stop));
  ASSERT_EQ(accounts.seats_.size(), 1u) << "a seat started after the stop";
  const int seat = *accounts.seats_.begin();
  // That seat's steps all ran: its account exists and is locked (the vacant-seat state).
  ASSERT_OK_AND_ASSIGN(auto observed, accounts_.Observe());
  int ours = 0;
  for (const auto& a : observed.accounts) {
    ++ours;
    EXPECT_EQ(a.seat, seat);
    EXPECT_TRUE(a.locked);
  }
  EXPECT_EQ(ours, 1);
  // Released on the way out: another holder gets it at once, with the next epoch.
  ASSERT_OK_AND_ASSIGN(auto lease, store_->AcquireLease("controller/local", "successor",
                                                        absl::Seconds(15), clock_.Now()));
  EXPECT_EQ(lease.holder, "successor");
}

// Registers a participant from inside the first observe of a pass: after the pass has read
// the desired state, before it ends.
class RegisteringAccounts : public drivers::accounts::AccountsDriver {
 public:
  RegisteringAccounts(drivers::accounts::AccountsDriver* inner, std::function<void()> once)
      : inner_(inner), once_(std::move(once)) {}
  absl::StatusOr<model::ObservedAccounts> Observe(
      const model::DesiredPasswords& desired_passwords) override {
    if (once_) std::exchange(once_, nullptr)();
    return inner_->Observe(desired_passwords);
  }
  absl::Status Apply(const model::AccountAction& action) override { return inner_->Apply(action); }

 private:
  drivers::accounts::AccountsDriver* inner_;
  std::function<void()> once_;
};

TEST_F(ControllerTest, ARegistrationDuringTheFirstPassWakesTheNextPassAtOnce) {
  ASSERT_GT(Converge(), 0);
  controller_->ReleaseLease();
  std::optional<store::RegisterResult> registered;
  RegisteringAccounts accounts(&accounts_, [&] {
    store::RegisterRequest req;
    req.workshop = "WKSHP-Shell101";
    req.email = "early@example.com";
    req.now = clock_.Now();
    auto r = store_->Register(req);
    ASSERT_OK(r);
    registered = *r;
  });
  ControllerOptions options = Options("waker");
  options.resync = absl::Hours(1);  // and the fake clock stands still: only a change wakes it
  Controller ctl(store_.get(), Drivers{&accounts, hub_.get(), &content_, appliances_.get()},
                 options, &clock_);
  std::atomic<bool> stop{false};
  std::thread run([&] { EXPECT_OK(ctl.Run(stop)); });
  bool ready = false;
  for (int i = 0; i < 500 && !ready; ++i) {  // up to 5 s
    absl::SleepFor(absl::Milliseconds(10));
    if (!registered) continue;
    auto st = store_->GetSeatStatus("local", registered->seat.number);
    ready = st.ok() && st->phase == model::Phase::kReady &&
            st->observed_generation == registered->seat.generation;
  }
  stop = true;
  run.join();
  ASSERT_TRUE(registered) << "the pass never observed";
  EXPECT_TRUE(ready) << "the registration made during the first pass did not wake the next one";
}

// The first pass of a large backend under load can observe for longer than the lease TTL
// (7 s against 3 s was seen): the heartbeat of Run keeps the lease meanwhile, so no other
// controller takes it and the location is not counted dead while its controller works.
TEST_F(ControllerTest, TheHeartbeatKeepsTheLeaseThroughAnObserveLongerThanTheTtl) {
  controller_->ReleaseLease();
  std::atomic<bool> stop{false};
  absl::Status contender;
  RegisteringAccounts accounts(&accounts_, [&] {
    // 1.5 TTL of the store's clock pass during this observe, in steps the heartbeat (a tick
    // of TTL/6 in real time) sees.
    for (int i = 0; i < 3; ++i) {
      clock_.Advance(absl::Milliseconds(300));
      absl::SleepFor(absl::Milliseconds(300));
    }
    contender =
        store_->AcquireLease("controller/local", "contender", absl::Seconds(15), clock_.Now())
            .status();
    stop = true;
  });
  ControllerOptions options = Options("beating");
  options.lease_ttl = absl::Milliseconds(600);
  options.resync = absl::Hours(1);
  Controller ctl(store_.get(), Drivers{&accounts, hub_.get(), &content_, appliances_.get()},
                 options, &clock_);
  ASSERT_OK(ctl.Run(stop));
  EXPECT_EQ(contender.code(), absl::StatusCode::kFailedPrecondition)
      << "the lease lapsed while the pass observed: " << contender;
}

// A hub that, like JupyterHub with PAM, refuses a user whose Linux account does not exist.
class PamHub : public drivers::Hub {
 public:
  PamHub(drivers::Hub* inner, drivers::accounts::AccountsDriver* accounts)
      : inner_(inner), accounts_(accounts) {}
  absl::StatusOr<model::ObservedHub> Observe() override { return inner_->Observe(); }
  absl::Status Apply(const model::HubAction& action) override {
    if (action.kind == model::HubAction::Kind::kCreateUser) {
      auto observed = accounts_->Observe();
      if (!observed.ok()) return observed.status();
      if (observed->Find(action.seat) == nullptr) {
        return absl::FailedPreconditionError("Failed to create user: no such Linux account");
      }
    }
    return inner_->Apply(action);
  }

 private:
  drivers::Hub* inner_;
  drivers::accounts::AccountsDriver* accounts_;
};

TEST_F(ControllerTest, AFreshPoolCreatesEachAccountBeforeItsHubUser) {
  PamHub hub(hub_.get(), &accounts_);
  Controller ctl(store_.get(), Drivers{&accounts_, &hub, &content_, appliances_.get()},
                 Options("test"), &clock_);
  ASSERT_OK(ctl.AcquireLease());
  ASSERT_OK_AND_ASSIGN(auto first, ctl.RunPass());
  EXPECT_EQ(first.failures, 0);
  ASSERT_OK_AND_ASSIGN(auto observed, hub_->Observe());
  EXPECT_EQ(observed.users.size(), 12u);  // every seat of the warm pool has its hub user
  ASSERT_OK_AND_ASSIGN(auto second, ctl.RunPass());
  EXPECT_TRUE(second.converged);
}

TEST(PassSummaryTest, IsOneKeyValueLine) {
  PassResult r;
  r.seats = 12;
  r.actions = 3;
  r.failures = 1;
  r.skipped_seats = 2;
  r.drift = 4;
  r.harvests = 1;
  r.total_time = absl::Milliseconds(41);
  EXPECT_EQ(PassSummary(r),
            "seats=12 actions=3 failures=1 skipped=2 drift=4 harvests=1 converged=false time=41ms");
}

}  // namespace
}  // namespace wod::controller
