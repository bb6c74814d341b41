// The lifecycle runner and outbox sender over a real SQLite store, the fake mail sender and a
// fake clock: each mail of a registration's life is enqueued and sent once, CLEANUP at the
// deadline, PURGE of a seat never Ready, SMTP failures retried with backoff then given up, and
// no duplicate across a restart (a new Lifecycle on the same store) or a crashed claim.
#include "controller/lifecycle.h"

#include <filesystem>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/match.h"
#include "catalogfs/load.h"
#include "drivers/mail/compose.h"
#include "drivers/mail/mail_fake.h"
#include "model/catalog.h"
#include "tests/testing/status_matchers.h"

namespace wod::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

constexpr char kHalfDone[] =
    R"({"notebooks":[{"file":"1-Lab.ipynb","code_cells":4,"baseline_executed":0,)"
    R"("executed":2,"readable":true}],"total":{}})";

// The fake sender, failing every send with `failure` while it is set.
class FlakySender : public drivers::MailSender {
 public:
  absl::Status Send(const model::MailMessage& m) override {
    calls++;
    if (!failure.ok()) return failure;
    return fake.Send(m);
  }
  drivers::FakeMailSender fake;
  absl::Status failure;
  int calls = 0;
};

class LifecycleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ =
        fs::path(::testing::TempDir()) /
        ("wod_lc_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    ASSERT_OK_AND_ASSIGN(store_, store::OpenStore("sqlite:" + (dir_ / "wod.db").string()));
    model::Catalog catalog =
        catalogfs::LoadCatalog({std::string(WOD_SOURCE_DIR) + "/examples/catalog"}, "local");
    ASSERT_FALSE(catalog.HasErrors());
    std::vector<model::Workshop> workshops;
    for (const auto& e : catalog.entries) workshops.push_back(e.workshop);
    ASSERT_OK(store_->UpsertCatalog(workshops));
    // Seat status is the controller's to write, under its lease: take one as it would.
    ASSERT_OK_AND_ASSIGN(auto lease, store_->AcquireLease("controller/local", "test-controller",
                                                          absl::Hours(100), clock_.Now()));
    controller_epoch_ = lease.epoch;
    lifecycle_ = NewLifecycle();
  }
  void TearDown() override { fs::remove_all(dir_); }

  LifecycleOptions Options() {
    LifecycleOptions o;
    o.holder = "test";
    o.plan.public_base_url = "https://wod.example.org";
    o.plan.hub_login_urls["local"] = "https://hub.example.org/hub/login";
    o.max_attempts = 3;
    o.backoff = {.base = absl::Seconds(30), .cap = absl::Hours(1)};
    o.jitter = [] { return 1.0; };
    return o;
  }
  std::unique_ptr<Lifecycle> NewLifecycle() {
    return std::make_unique<Lifecycle>(store_.get(), &sender_, Options(), &clock_);
  }

  store::RegisterResult Register(const std::string& email,
                                 absl::Duration duration = absl::Hours(4)) {
    auto r = store_->Register({.workshop = "WKSHP-Shell101",
                               .email = email,
                               .name = "Ada L",
                               .company = "ACME",
                               .now = clock_.Now(),
                               .duration = duration,
                               .seat = std::nullopt,
                               .token = "",
                               .token_nonce = ""});
    EXPECT_OK(r);
    return *r;
  }

  void MarkReady(int seat) {
    ASSERT_OK_AND_ASSIGN(auto view, store_->GetSeat("local", seat));
    store::SeatStatus st;
    st.location = "local";
    st.number = seat;
    st.observed_generation = view.seat.generation;
    st.phase = model::Phase::kReady;
    st.updated = clock_.Now();
    ASSERT_OK(store_->PutSeatStatus(st, "controller/local", controller_epoch_));
  }

  // RunOnce and SendDue at the clock's now.
  void Pass() {
    ASSERT_OK(lifecycle_->RunOnce(clock_.Now()));
    ASSERT_OK(lifecycle_->SendDue(clock_.Now()));
  }

  // The keys of the mails sent so far, in order.
  std::vector<std::string> SentKeys() {
    std::vector<std::string> out;
    for (const auto& s : sender_.fake.sent()) out.push_back(s.message.key);
    return out;
  }
  const drivers::SentMail* Sent(const std::string& key) {
    static std::vector<drivers::SentMail> keep;
    keep = sender_.fake.sent();
    for (const auto& s : keep)
      if (s.message.key == key) return &s;
    return nullptr;
  }
  model::Notification Outbox(const std::string& key) {
    auto all = store_->ListNotifications();
    EXPECT_OK(all);
    for (const auto& n : *all)
      if (n.key == key) return n;
    ADD_FAILURE() << "no notification " << key;
    return {};
  }
  std::vector<std::string> EventKinds() {
    auto events = store_->ListEvents(std::nullopt, 0);
    EXPECT_OK(events);
    std::vector<std::string> out;
    for (auto it = events->rbegin(); it != events->rend(); ++it) out.push_back(it->kind);
    return out;
  }
  static std::string K(const store::RegisterResult& r, const std::string& kind) {
    return absl::StrCat(r.registration.id, ":", kind);
  }

  fs::path dir_;
  common::FakeClock clock_;
  std::unique_ptr<store::Store> store_;
  int64_t controller_epoch_ = 0;
  FlakySender sender_;
  std::unique_ptr<Lifecycle> lifecycle_;
};

// Failover through the real lifecycle and store: a registration waiting on "local" when its
// controller stops is moved to "west" (another location of the workshop, live) once local has
// been dead for failover_after; the event says so on both; the credentials follow on west.
TEST_F(LifecycleTest, AWaitingRegistrationMovesOffADeadLocationToALiveOne) {
  ASSERT_OK_AND_ASSIGN(model::Workshop shell, store_->GetWorkshop("WKSHP-Shell101"));
  shell.alternate_locations = {"west"};
  ASSERT_OK(store_->UpsertCatalog({shell}));
  ASSERT_OK(store_->RecordPass("local", absl::Milliseconds(2), clock_.Now(), "controller/local",
                               controller_epoch_));
  store::RegisterResult ada = Register("ada@example.com");
  ASSERT_EQ(ada.seat.location, "local");
  ASSERT_OK(store_->ReleaseLease("controller/local", "test-controller"));  // local stops
  ASSERT_OK_AND_ASSIGN(auto west, store_->AcquireLease("controller/west", "west-controller",
                                                       absl::Hours(100), clock_.Now()));
  auto west_passes = [&] {
    ASSERT_OK(store_->RecordPass("west", absl::Milliseconds(2), clock_.Now(), "controller/west",
                                 west.epoch));
  };
  west_passes();
  Pass();
  ASSERT_OK_AND_ASSIGN(auto still, store_->GetRegistration(ada.registration.id));
  EXPECT_EQ(still.location, "local") << "not before failover_after";
  clock_.Advance(Options().plan.failover_after + absl::Seconds(1));
  west_passes();
  Pass();
  ASSERT_OK_AND_ASSIGN(auto moved, store_->GetRegistration(ada.registration.id));
  EXPECT_EQ(moved.location, "west");
  ASSERT_OK_AND_ASSIGN(auto old_seat, store_->GetSeat("local", ada.seat.number));
  EXPECT_FALSE(old_seat.seat.registration_id);
  ASSERT_OK_AND_ASSIGN(auto events, store_->ListEvents(std::nullopt, 0));
  int move_events = 0;
  for (const auto& e : events) move_events += e.kind == "lifecycle.move";
  EXPECT_EQ(move_events, 2) << "one on each location";
  // Ready on west: the credentials name west's seat.
  ASSERT_OK_AND_ASSIGN(auto seat, store_->GetSeat("west", moved.seat));
  store::SeatStatus st;
  st.location = "west";
  st.number = moved.seat;
  st.observed_generation = seat.seat.generation;
  st.phase = model::Phase::kReady;
  st.updated = clock_.Now();
  ASSERT_OK(store_->PutSeatStatus(st, "controller/west", west.epoch));
  Pass();
  const auto sent = sender_.fake.sent();
  bool credentials = false;
  for (const auto& m : sent) {
    if (absl::StrContains(m.message.text_body, seat.seat.password)) credentials = true;
  }
  EXPECT_TRUE(credentials) << "the credentials mail for the seat on west";
}

TEST_F(LifecycleTest, RegistrationGetsOneWelcome) {
  auto r = Register("ada@example.com");
  ASSERT_OK_AND_ASSIGN(auto run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.mails_enqueued, 1);
  ASSERT_OK_AND_ASSIGN(auto sent, lifecycle_->SendDue(clock_.Now()));
  EXPECT_EQ(sent.sent, 1);
  for (int i = 0; i < 3; ++i) Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome")));
  EXPECT_EQ(sender_.fake.sent()[0].message.to, "ada@example.com");
  EXPECT_EQ(Outbox(K(r, "welcome")).state, model::NotificationState::kSent);
}

TEST_F(LifecycleTest, SeatReadySendsCredentialsOnce) {
  auto r = Register("ada@example.com");
  Pass();
  clock_.Advance(absl::Minutes(2));
  Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome")));  // not Ready yet
  MarkReady(r.seat.number);
  Pass();
  Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome"), K(r, "credentials")));
  const drivers::SentMail* cred = Sent(K(r, "credentials"));
  ASSERT_NE(cred, nullptr);
  EXPECT_THAT(cred->message.text_body, HasSubstr("Password: " + r.seat.password));
  EXPECT_THAT(cred->message.text_body,
              HasSubstr(absl::StrCat("User name: student", r.seat.number)));
  EXPECT_THAT(cred->message.subject, ::testing::Not(HasSubstr(r.seat.password)));
  // A seat that stops being Ready later is not purged: it was Ready once.
  clock_.Advance(absl::Minutes(30));
  store::SeatStatus st;
  st.location = "local";
  st.number = r.seat.number;
  st.phase = model::Phase::kProvisioning;
  ASSERT_OK(store_->PutSeatStatus(st, "controller/local", controller_epoch_));
  ASSERT_OK_AND_ASSIGN(auto run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.purges, 0);
}

TEST_F(LifecycleTest, ReminderOneHourBeforeTheDeadline) {
  auto r = Register("ada@example.com");
  MarkReady(r.seat.number);
  Pass();
  clock_.Set(r.registration.deadline - absl::Hours(1) - absl::Seconds(1));
  Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome"), K(r, "credentials")));
  clock_.Advance(absl::Seconds(1));
  Pass();
  Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome"), K(r, "credentials"), K(r, "reminder")));
}

TEST_F(LifecycleTest, DeadlineCleansUpThenFinalMailAfterHarvest) {
  auto r = Register("ada@example.com");
  MarkReady(r.seat.number);
  Pass();
  clock_.Set(r.registration.deadline - absl::Minutes(30));
  Pass();
  clock_.Set(r.registration.deadline);
  ASSERT_OK_AND_ASSIGN(auto run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.cleanups, 1);
  ASSERT_OK_AND_ASSIGN(auto reg, store_->GetRegistration(r.registration.id));
  EXPECT_EQ(reg.state, model::RegistrationState::kEnded);
  ASSERT_OK_AND_ASSIGN(auto seat, store_->GetSeat("local", r.seat.number));
  EXPECT_FALSE(seat.seat.registration_id.has_value());
  // No final mail before the controller harvested the progress.
  clock_.Advance(absl::Minutes(1));
  Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome"), K(r, "credentials"), K(r, "reminder")));
  ASSERT_OK(store_->RecordHarvest(r.registration.id, kHalfDone));
  Pass();
  Pass();
  EXPECT_THAT(SentKeys(),
              ElementsAre(K(r, "welcome"), K(r, "credentials"), K(r, "reminder"), K(r, "final")));
  const drivers::SentMail* final_mail = Sent(K(r, "final"));
  ASSERT_NE(final_mail, nullptr);
  EXPECT_THAT(final_mail->message.text_body, HasSubstr("You completed 50%"));
  EXPECT_THAT(final_mail->message.text_body,
              HasSubstr("https://wod.example.org/badges/WOD-Badge-Shell101.png"));
  EXPECT_THAT(EventKinds(), ::testing::Contains("lifecycle.cleanup"));
}

TEST_F(LifecycleTest, SeatNeverReadyIsPurgedWithAnApology) {
  auto r = Register("ada@example.com");
  Pass();
  clock_.Advance(absl::Minutes(10) - absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(auto early, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(early.purges, 0);
  clock_.Advance(absl::Seconds(1));
  ASSERT_OK_AND_ASSIGN(auto run, lifecycle_->RunOnce(clock_.Now()));
  EXPECT_EQ(run.purges, 1);
  EXPECT_EQ(run.mails_enqueued, 1);  // the apology, in the same call
  ASSERT_OK(lifecycle_->SendDue(clock_.Now()));
  Pass();
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome"), K(r, "apology")));
  ASSERT_OK_AND_ASSIGN(auto reg, store_->GetRegistration(r.registration.id));
  EXPECT_EQ(reg.state, model::RegistrationState::kFailed);
  EXPECT_THAT(EventKinds(), ::testing::Contains("lifecycle.purge"));
}

TEST_F(LifecycleTest, SmtpFailureRetriesWithBackoffThenGivesUp) {
  auto r = Register("ada@example.com");
  ASSERT_OK(lifecycle_->RunOnce(clock_.Now()));
  sender_.failure = absl::UnavailableError("421 try again later");
  const absl::Time t0 = clock_.Now();
  ASSERT_OK_AND_ASSIGN(auto s1, lifecycle_->SendDue(t0));
  EXPECT_EQ(s1.retried, 1);
  EXPECT_EQ(Outbox(K(r, "welcome")).attempts, 1);
  EXPECT_EQ(Outbox(K(r, "welcome")).next_attempt, t0 + absl::Seconds(30));
  // Not due before the backoff: nothing is tried.
  ASSERT_OK_AND_ASSIGN(auto s2, lifecycle_->SendDue(t0 + absl::Seconds(29)));
  EXPECT_EQ(s2.retried + s2.sent + s2.failed, 0);
  EXPECT_EQ(sender_.calls, 1);
  ASSERT_OK_AND_ASSIGN(auto s3, lifecycle_->SendDue(t0 + absl::Seconds(30)));
  EXPECT_EQ(s3.retried, 1);
  EXPECT_EQ(Outbox(K(r, "welcome")).next_attempt, t0 + absl::Seconds(90));  // doubled
  ASSERT_OK_AND_ASSIGN(auto s4, lifecycle_->SendDue(t0 + absl::Seconds(90)));
  EXPECT_EQ(s4.failed, 1);  // third attempt of max_attempts 3
  model::Notification n = Outbox(K(r, "welcome"));
  EXPECT_EQ(n.state, model::NotificationState::kFailed);
  EXPECT_EQ(n.attempts, 3);
  EXPECT_THAT(n.last_error, HasSubstr("421"));
  EXPECT_THAT(EventKinds(), ::testing::Contains("mail.failed"));
  // Failed for good: never tried again, even when the server is back.
  sender_.failure = absl::OkStatus();
  ASSERT_OK_AND_ASSIGN(auto s5, lifecycle_->SendDue(t0 + absl::Hours(10)));
  EXPECT_EQ(s5.sent, 0);
  EXPECT_EQ(sender_.calls, 3);
  ASSERT_OK(lifecycle_->RunOnce(t0 + absl::Seconds(100)));  // and never enqueued again
  EXPECT_THAT(SentKeys(), IsEmpty());
}

TEST_F(LifecycleTest, RetryDelayIsCappedExponential) {
  EXPECT_EQ(lifecycle_->RetryDelay(1), absl::Seconds(30));
  EXPECT_EQ(lifecycle_->RetryDelay(2), absl::Seconds(60));
  EXPECT_EQ(lifecycle_->RetryDelay(5), absl::Seconds(480));
  EXPECT_EQ(lifecycle_->RetryDelay(9), absl::Hours(1));
  EXPECT_EQ(lifecycle_->RetryDelay(100), absl::Hours(1));
  // A zero base still waits a second: one SendDue call cannot spin on a failing mail.
  LifecycleOptions zero = Options();
  zero.backoff.base = absl::ZeroDuration();
  EXPECT_EQ(Lifecycle(store_.get(), &sender_, zero, &clock_).RetryDelay(1), absl::Seconds(1));
}

TEST_F(LifecycleTest, RefusedRecipientFailsAtOnce) {
  auto r = Register("nobody@example.com");
  sender_.fake.RejectRecipient("nobody@example.com");
  ASSERT_OK(lifecycle_->RunOnce(clock_.Now()));
  ASSERT_OK_AND_ASSIGN(auto s, lifecycle_->SendDue(clock_.Now()));
  EXPECT_EQ(s.failed, 1);
  EXPECT_EQ(Outbox(K(r, "welcome")).state, model::NotificationState::kFailed);
  EXPECT_EQ(Outbox(K(r, "welcome")).attempts, 1);
}

TEST_F(LifecycleTest, RestartedRunnerSendsNoDuplicate) {
  auto r = Register("ada@example.com");
  Pass();
  MarkReady(r.seat.number);
  ASSERT_OK(lifecycle_->RunOnce(clock_.Now()));  // credentials enqueued, not yet sent
  lifecycle_ = NewLifecycle();                   // "restart"
  Pass();
  Pass();
  clock_.Set(r.registration.deadline - absl::Minutes(30));
  Pass();
  lifecycle_ = NewLifecycle();
  Pass();
  clock_.Set(r.registration.deadline);
  ASSERT_OK(lifecycle_->RunOnce(clock_.Now()));
  ASSERT_OK(store_->RecordHarvest(r.registration.id, kHalfDone));
  lifecycle_ = NewLifecycle();
  Pass();
  Pass();
  EXPECT_THAT(SentKeys(),
              ElementsAre(K(r, "welcome"), K(r, "credentials"), K(r, "reminder"), K(r, "final")));
}

// A sender that crashed after claiming a mail (before sending it) hides it only until the claim
// expires; one that crashed after sending but before recording it sends it again with the same
// Message-ID, so the receiving side can tell the copy.
TEST_F(LifecycleTest, CrashedClaimComesBackAndResendKeepsMessageId) {
  auto r = Register("ada@example.com");
  ASSERT_OK(lifecycle_->RunOnce(clock_.Now()));
  ASSERT_OK_AND_ASSIGN(auto claimed,
                       store_->ClaimNotifications(10, clock_.Now(), Options().claim_ttl));
  ASSERT_EQ(claimed.size(), 1u);
  ASSERT_OK(sender_.Send(model::MailFromNotification(claimed[0])));  // sent, then "crash"
  lifecycle_ = NewLifecycle();
  ASSERT_OK_AND_ASSIGN(auto hidden, lifecycle_->SendDue(clock_.Now()));
  EXPECT_EQ(hidden.sent, 0);
  ASSERT_OK_AND_ASSIGN(auto back, lifecycle_->SendDue(clock_.Now() + Options().claim_ttl));
  EXPECT_EQ(back.sent, 1);
  auto sent = sender_.fake.sent();
  ASSERT_EQ(sent.size(), 2u);
  const std::string id = drivers::MessageIdForKey(K(r, "welcome"), "localhost");
  EXPECT_THAT(sent[0].text, HasSubstr("Message-ID: <" + id + ">"));
  EXPECT_THAT(sent[1].text, HasSubstr("Message-ID: <" + id + ">"));
  EXPECT_EQ(Outbox(K(r, "welcome")).state, model::NotificationState::kSent);
}

TEST_F(LifecycleTest, MilestoneAtTheThirdFinishedWorkshop) {
  for (int i = 0; i < 3; ++i) {
    auto r = Register("ada@example.com", absl::Hours(2));
    MarkReady(r.seat.number);
    Pass();
    clock_.Set(r.registration.deadline);
    Pass();
    ASSERT_OK(store_->RecordHarvest(r.registration.id, kHalfDone));
    Pass();
    clock_.Advance(absl::Minutes(1));
  }
  std::vector<std::string> milestones;
  for (const auto& k : SentKeys())
    if (k.find("milestone") != std::string::npos) milestones.push_back(k);
  ASSERT_OK_AND_ASSIGN(auto regs, store_->ListRegistrations());
  ASSERT_EQ(regs.size(), 3u);
  EXPECT_THAT(milestones, ElementsAre(absl::StrCat(regs[0].participant_id, ":milestone-3")));
  EXPECT_EQ(SentKeys().size(), 3u * 3 + 1);  // welcome, credentials, final each; one badge
}

TEST_F(LifecycleTest, RunHoldsTheGlobalLeaseAndSendsOnChange) {
  std::atomic<bool> stop{false};
  std::thread runner([&] { EXPECT_OK(lifecycle_->Run(stop)); });
  auto r = Register("ada@example.com");
  for (int i = 0; i < 100 && SentKeys().empty(); ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_THAT(SentKeys(), ElementsAre(K(r, "welcome")));
  // A second runner of the deployment cannot take the lease meanwhile.
  EXPECT_THAT(store_->AcquireLease("lifecycle", "other", absl::Seconds(15), clock_.Now()),
              wod::testing::StatusIs(absl::StatusCode::kFailedPrecondition));
  stop = true;
  runner.join();
  EXPECT_OK(store_->AcquireLease("lifecycle", "other", absl::Seconds(15), clock_.Now()));
}

}  // namespace
}  // namespace wod::controller
