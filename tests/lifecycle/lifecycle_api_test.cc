// The lifecycle next to the API, as `wod serve` and `wod up` run them: one SQLite store, the
// API server over HTTP, the lifecycle with the fake mail sender and a fake clock.
//   - The welcome and credentials mails carry a link to the participant page whose token
//     opens the registration through GET /api/v1/me; the outbox never holds that token.
//   - Without the secret, or with another one, the mails link the portal, never a wrong page.
//   - A mail given up shows on /metrics (by kind and state, attempts, failures) and in the
//     events.
#include <regex>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "controller/lifecycle.h"
#include "drivers/mail/mail_fake.h"
#include "model/participant_token.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/status_matchers.h"

namespace wod::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

constexpr char kSecret[] = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr char kBase[] = "https://wod.example.org";

class LifecycleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_OK_AND_ASSIGN(db_, store::testing::SqliteScratchDb::Create());
    ASSERT_OK_AND_ASSIGN(store_, store::OpenStore(db_->url()));
    ASSERT_OK(store_->UpsertCatalog({api::testing::MakeWorkshop("WKSHP-Page", 1, 4, 4)}));
    ASSERT_OK_AND_ASSIGN(auto lease, store_->AcquireLease("controller/loc-a", "test-controller",
                                                          absl::Hours(100), clock_.Now()));
    controller_epoch_ = lease.epoch;
  }
  void TearDown() override {
    running_.reset();
    store_.reset();
    db_.reset();
  }

  void StartApi(const std::string& secret) {
    api::ServerConfig config;
    config.public_base_url = kBase;
    config.registration_rate_limit.per_minute = 0;
    config.participant_token_secret = secret;
    running_ = api::testing::StartServer(store_.get(), config, &clock_);
    ASSERT_NE(running_, nullptr);
  }

  std::unique_ptr<Lifecycle> NewLifecycle(const std::string& secret) {
    LifecycleOptions o;
    o.holder = "test";
    o.plan.public_base_url = kBase;
    o.max_attempts = 3;
    o.jitter = [] { return 1.0; };
    o.participant_token_secret = secret;
    return std::make_unique<Lifecycle>(store_.get(), &sender_, o, &clock_);
  }

  // POST /api/v1/registrations: the registration id and the token of its 201.
  std::pair<int64_t, std::string> Register(const std::string& email) {
    auto res = running_->client->Post("/api/v1/registrations",
                                      api::testing::RegistrationBody("WKSHP-Page", email),
                                      "application/json");
    EXPECT_TRUE(res);
    if (!res) return {0, ""};
    EXPECT_EQ(res->status, 201) << res->body;
    json j = json::parse(res->body);
    return {j["registration"]["id"].get<int64_t>(), j["token"].get<std::string>()};
  }

  void MarkReady(int seat) {
    ASSERT_OK_AND_ASSIGN(auto view, store_->GetSeat("loc-a", seat));
    store::SeatStatus st;
    st.location = "loc-a";
    st.number = seat;
    st.observed_generation = view.seat.generation;
    st.phase = model::Phase::kReady;
    st.updated = clock_.Now();
    ASSERT_OK(store_->PutSeatStatus(st, "controller/loc-a", controller_epoch_));
  }

  void Pass(Lifecycle& l) {
    ASSERT_OK(l.RunOnce(clock_.Now()));
    ASSERT_OK(l.SendDue(clock_.Now()));
  }

  std::optional<model::MailMessage> SentMail(const std::string& key) {
    for (const auto& s : sender_.sent()) {
      if (s.message.key == key) return s.message;
    }
    return std::nullopt;
  }

  // The participant page token of the link in `body`, or "" when it links no page.
  static std::string PageToken(const std::string& body) {
    std::smatch m;
    if (!std::regex_search(body, m, std::regex("https://wod\\.example\\.org/p/([0-9a-f]+)"))) {
      return "";
    }
    return m[1];
  }

  // GET /api/v1/me with the token: the registration id it opens, or -status.
  int64_t OpenPage(const std::string& token) {
    auto res = running_->client->Get("/api/v1/me", {{"Authorization", "Participant " + token}});
    if (!res) return -1;
    if (res->status != 200) return -res->status;
    return json::parse(res->body)["id"].get<int64_t>();
  }

  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  common::FakeClock clock_;
  int64_t controller_epoch_ = 0;
  drivers::FakeMailSender sender_;
  std::unique_ptr<api::testing::Running> running_;
};

TEST_F(LifecycleApiTest, WelcomeAndCredentialsMailsLinkThePageThatOpensTheRegistration) {
  StartApi(kSecret);
  auto lifecycle = NewLifecycle(kSecret);
  const auto [id, token] = Register("ada@example.com");
  ASSERT_EQ(token.size(), 64u);

  Pass(*lifecycle);
  auto welcome = SentMail(absl::StrCat(id, ":welcome"));
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(PageToken(welcome->text_body), token) << welcome->text_body;
  EXPECT_THAT(welcome->html_body, HasSubstr(absl::StrCat("href=\"", kBase, "/p/", token, "\"")));
  EXPECT_THAT(welcome->text_body, HasSubstr("Open your workshop page"));
  EXPECT_EQ(OpenPage(PageToken(welcome->text_body)), id);

  ASSERT_OK_AND_ASSIGN(auto seat, store_->GetRegistration(id));
  MarkReady(seat.seat);
  Pass(*lifecycle);
  auto credentials = SentMail(absl::StrCat(id, ":credentials"));
  ASSERT_TRUE(credentials.has_value());
  EXPECT_EQ(PageToken(credentials->text_body), token);
  EXPECT_THAT(credentials->html_body, HasSubstr(absl::StrCat(kBase, "/p/", token)));
  EXPECT_EQ(OpenPage(PageToken(credentials->text_body)), id);

  // The store holds neither the token nor a mail body with it: the outbox keeps the
  // placeholder, which only the sender (holding the secret) fills in.
  ASSERT_OK_AND_ASSIGN(auto outbox, store_->ListNotifications());
  ASSERT_EQ(outbox.size(), 2u);
  for (const auto& n : outbox) {
    EXPECT_THAT(n.text_body, Not(HasSubstr(token))) << n.key;
    EXPECT_THAT(n.html_body, Not(HasSubstr(token))) << n.key;
    EXPECT_THAT(n.text_body, HasSubstr(model::kPageTokenPlaceholder)) << n.key;
  }
  ASSERT_OK_AND_ASSIGN(auto reg, store_->GetRegistration(id));
  EXPECT_NE(reg.token_hash, token);
  EXPECT_THAT(reg.token_nonce, Not(HasSubstr(token)));
  EXPECT_EQ(model::ParticipantToken(kSecret, reg.token_nonce), token);
}

TEST_F(LifecycleApiTest, WithoutTheSecretTheMailsLinkThePortal) {
  StartApi("");
  auto lifecycle = NewLifecycle("");
  const auto [id, token] = Register("bob@example.com");
  Pass(*lifecycle);
  auto welcome = SentMail(absl::StrCat(id, ":welcome"));
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(PageToken(welcome->text_body), "");
  EXPECT_THAT(welcome->text_body, HasSubstr(absl::StrCat("Open the workshop portal: ", kBase)));
  EXPECT_THAT(welcome->text_body, Not(HasSubstr(token)));
}

// A lifecycle with another secret (a copy with its own secret file) cannot rebuild the token:
// the mail links the portal instead of a page that would not open.
TEST_F(LifecycleApiTest, ALifecycleWithAnotherSecretLinksThePortalNotAWrongPage) {
  StartApi(kSecret);
  auto lifecycle = NewLifecycle(std::string(64, 'x'));
  const auto [id, token] = Register("cy@example.com");
  Pass(*lifecycle);
  auto welcome = SentMail(absl::StrCat(id, ":welcome"));
  ASSERT_TRUE(welcome.has_value());
  EXPECT_EQ(PageToken(welcome->text_body), "");
  EXPECT_THAT(welcome->text_body, HasSubstr("Open the workshop portal"));
}

// The secret changed between planning (placeholder in the outbox) and sending: the sender
// cannot fill the token in and links the portal.
TEST_F(LifecycleApiTest, ASenderThatCannotRebuildTheTokenFallsBackToThePortal) {
  StartApi(kSecret);
  const auto [id, token] = Register("di@example.com");
  auto planner = NewLifecycle(kSecret);
  ASSERT_OK(planner->RunOnce(clock_.Now()));
  auto other = NewLifecycle(std::string(64, 'y'));
  ASSERT_OK(other->SendDue(clock_.Now()));
  auto welcome = SentMail(absl::StrCat(id, ":welcome"));
  ASSERT_TRUE(welcome.has_value());
  EXPECT_THAT(welcome->text_body, Not(HasSubstr(model::kPageTokenPlaceholder)));
  EXPECT_THAT(welcome->text_body, Not(HasSubstr("/p/")));
  EXPECT_THAT(welcome->text_body, HasSubstr(kBase));
}

TEST_F(LifecycleApiTest, AGivenUpMailShowsOnMetricsAndInTheEvents) {
  StartApi(kSecret);
  auto lifecycle = NewLifecycle(kSecret);
  Register("ok@example.com");
  const auto [bad_id, bad_token] = Register("refused@example.com");
  sender_.RejectRecipient("refused@example.com");  // a 550: given up at once
  Pass(*lifecycle);

  auto res = running_->client->Get("/metrics");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  const std::string& m = res->body;
  EXPECT_THAT(m, HasSubstr("# TYPE wod_mail_notifications gauge"));
  EXPECT_THAT(m, HasSubstr("wod_mail_notifications{kind=\"welcome\",state=\"sent\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_mail_notifications{kind=\"welcome\",state=\"failed\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_mail_notifications{kind=\"welcome\",state=\"pending\"} 0\n"));
  EXPECT_THAT(m, HasSubstr("wod_mail_send_attempts{kind=\"welcome\"} 2\n"));
  EXPECT_THAT(m, HasSubstr("wod_mail_send_failures{kind=\"welcome\"} 1\n"));
  EXPECT_THAT(m, HasSubstr("wod_store_up 1\n"));

  ASSERT_OK_AND_ASSIGN(auto events, store_->ListEvents(std::nullopt, 0));
  bool failed_event = false;
  for (const auto& e : events) {
    if (e.kind == "mail.failed") {
      failed_event = true;
      EXPECT_THAT(e.message, HasSubstr(absl::StrCat(bad_id, ":welcome")));
      EXPECT_THAT(e.message, Not(HasSubstr(bad_token)));
    }
  }
  EXPECT_TRUE(failed_event);
}

TEST_F(LifecycleApiTest, ARetriedMailCountsItsFailedAttempts) {
  StartApi("");
  auto lifecycle = NewLifecycle("");
  Register("slow@example.com");
  sender_.FailNext(absl::UnavailableError("421 try later"));
  Pass(*lifecycle);  // attempt 1 fails, retry in 30 s
  auto res = running_->client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body,
              HasSubstr("wod_mail_notifications{kind=\"welcome\",state=\"pending\"} 1\n"));
  EXPECT_THAT(res->body, HasSubstr("wod_mail_send_failures{kind=\"welcome\"} 1\n"));
  clock_.Advance(absl::Seconds(31));
  Pass(*lifecycle);  // attempt 2 succeeds
  res = running_->client->Get("/metrics");
  ASSERT_TRUE(res);
  EXPECT_THAT(res->body, HasSubstr("wod_mail_notifications{kind=\"welcome\",state=\"sent\"} 1\n"));
  EXPECT_THAT(res->body, HasSubstr("wod_mail_send_attempts{kind=\"welcome\"} 2\n"));
  EXPECT_THAT(res->body, HasSubstr("wod_mail_send_failures{kind=\"welcome\"} 1\n"));
}

}  // namespace
}  // namespace wod::controller
