// Table tests of the lifecycle planner: which mails and verbs each situation of a registration
// calls for, that planning again after the plan is applied plans nothing, and what the mails
// say (and do not say: no secret outside the credentials mail's bodies).
#include "reconcilers/lifecycle_planner.h"

#include <functional>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "model/mail_templates.h"

namespace wod::reconcilers {
namespace {

using ::testing::ElementsAreArray;
using ::testing::HasSubstr;
using ::testing::Not;

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);
constexpr char kPassword[] = "s3cret-Pw_42";

model::Registration Reg(int64_t id, int64_t participant, int seat,
                        absl::Duration duration = absl::Hours(4)) {
  model::Registration r;
  r.id = id;
  r.participant_id = participant;
  r.workshop = "WKSHP-A";
  r.location = "local";
  r.seat = seat;
  r.start = kT0;
  r.deadline = kT0 + duration;
  return r;
}

// One active registration (id 1, participant 10, seat 1) at kT0 + `at`.
LifecycleInput Base(absl::Duration at) {
  LifecycleInput in;
  in.now = kT0 + at;
  in.registrations = {Reg(1, 10, 1)};
  in.participants[10] = {.id = 10, .email = "ada@example.com", .name = "Ada", .company = "ACME"};
  in.seats[{"local", 1}] = {.occupant = 1, .password = kPassword, .ready = false};
  model::Workshop w;
  w.id = "WKSHP-A";
  w.name = "Shell <101>";
  w.duration_hours = 4;
  w.badge_img = "WOD-Badge-A";
  in.workshops[w.id] = w;
  return in;
}

void Ready(LifecycleInput& in) { in.seats[{"local", 1}].ready = true; }
void End(LifecycleInput& in, model::RegistrationState state, absl::Duration ended_at,
         std::string progress = "") {
  in.registrations[0].state = state;
  in.registrations[0].ended = kT0 + ended_at;
  in.registrations[0].progress_json = std::move(progress);
  in.seats[{"local", 1}] = {};
}

constexpr char kHalfDone[] =
    R"({"notebooks":[{"file":"1-Lab.ipynb","code_cells":4,"baseline_executed":0,)"
    R"("executed":2,"readable":true}],"total":{}})";

struct Case {
  std::string name;
  std::function<LifecycleInput()> input;
  std::vector<std::string> plan;
};

std::vector<Case> Cases() {
  return {
      {"nothing to do: empty plan",
       [] {
         LifecycleInput in;
         in.now = kT0;
         return in;
       },
       {}},
      {"converged active registration plans nothing",
       [] {
         auto in = Base(absl::Hours(1));
         Ready(in);
         in.enqueued = {"1:welcome", "1:credentials"};
         return in;
       },
       {}},
      {"new registration gets a welcome",
       [] { return Base(absl::Seconds(1)); },
       {"enqueue mail '1:welcome' (new registration)"}},
      {"seat Ready gets the credentials once",
       [] {
         auto in = Base(absl::Minutes(1));
         Ready(in);
         in.enqueued = {"1:welcome"};
         return in;
       },
       {"enqueue mail '1:credentials' (seat is Ready)"}},
      {"Ready status of another occupant is not this registration's",
       [] {
         auto in = Base(absl::Minutes(1));
         in.seats[{"local", 1}] = {.occupant = 7, .password = "x", .ready = true};
         in.enqueued = {"1:welcome"};
         return in;
       },
       {}},
      {"not Ready 9 minutes after registration: wait",
       [] {
         auto in = Base(absl::Minutes(9));
         in.enqueued = {"1:welcome"};
         return in;
       },
       {}},
      {"not Ready 10 minutes after registration: PURGE",
       [] {
         auto in = Base(absl::Minutes(10));
         in.enqueued = {"1:welcome"};
         return in;
       },
       {"PURGE seat local/1 of registration 1 (seat not Ready 10m after registration)"}},
      {"a seat that was Ready once is not purged when it stops being Ready",
       [] {
         auto in = Base(absl::Minutes(30));
         in.enqueued = {"1:welcome", "1:credentials"};
         return in;
       },
       {}},
      {"one hour before the deadline: reminder",
       [] {
         auto in = Base(absl::Hours(3));
         Ready(in);
         in.enqueued = {"1:welcome", "1:credentials"};
         return in;
       },
       {"enqueue mail '1:reminder' (deadline 2027-01-15T12:00:00.000Z within 1h)"}},
      {"just before the reminder time: nothing",
       [] {
         auto in = Base(absl::Hours(3) - absl::Seconds(1));
         Ready(in);
         in.enqueued = {"1:welcome", "1:credentials"};
         return in;
       },
       {}},
      {"a one-hour registration gets no reminder",
       [] {
         auto in = Base(absl::Minutes(5));
         in.registrations[0] = Reg(1, 10, 1, absl::Hours(1));
         Ready(in);
         in.enqueued = {"1:welcome", "1:credentials"};
         return in;
       },
       {}},
      {"deadline: CLEANUP and nothing else",
       [] {
         auto in = Base(absl::Hours(4));
         Ready(in);
         in.enqueued = {"1:welcome", "1:credentials"};
         return in;
       },
       {"CLEANUP seat local/1 of registration 1 (deadline 2027-01-15T12:00:00.000Z passed)"}},
      {"deadline passed before the lifecycle saw it: CLEANUP, no welcome",
       [] { return Base(absl::Hours(5)); },
       {"CLEANUP seat local/1 of registration 1 (deadline 2027-01-15T12:00:00.000Z passed)"}},
      {"ended, harvest not yet recorded: wait",
       [] {
         auto in = Base(absl::Hours(4) + absl::Minutes(1));
         End(in, model::RegistrationState::kEnded, absl::Hours(4));
         in.enqueued = {"1:welcome", "1:credentials", "1:reminder"};
         return in;
       },
       {}},
      {"ended and harvested: final mail",
       [] {
         auto in = Base(absl::Hours(4) + absl::Minutes(1));
         End(in, model::RegistrationState::kEnded, absl::Hours(4), kHalfDone);
         in.enqueued = {"1:welcome", "1:credentials", "1:reminder"};
         return in;
       },
       {"enqueue mail '1:final' (registration ended and was harvested)"}},
      {"ended, no harvest after the wait: final mail without completion",
       [] {
         auto in = Base(absl::Hours(4) + absl::Minutes(10));
         End(in, model::RegistrationState::kEnded, absl::Hours(4));
         in.enqueued = {"1:welcome", "1:credentials", "1:reminder"};
         return in;
       },
       {"enqueue mail '1:final' (registration ended, no harvest after 10m)"}},
      {"purged: apology",
       [] {
         auto in = Base(absl::Minutes(11));
         End(in, model::RegistrationState::kFailed, absl::Minutes(10));
         in.enqueued = {"1:welcome"};
         return in;
       },
       {"enqueue mail '1:apology' (registration was purged)"}},
      {"ended beyond the window: no mail",
       [] {
         auto in = Base(absl::Hours(30));
         End(in, model::RegistrationState::kEnded, absl::Hours(4), kHalfDone);
         return in;
       },
       {}},
      {"third finished workshop: final mail then milestone 3",
       [] {
         auto in = Base(absl::Hours(4) + absl::Minutes(1));
         End(in, model::RegistrationState::kEnded, absl::Hours(4), kHalfDone);
         in.finished[10] = 3;
         return in;
       },
       {"enqueue mail '1:final' (registration ended and was harvested)",
        "enqueue mail '10:milestone-3' (participant finished 3 workshops)"}},
      {"fifth finished workshop with milestone 3 sent: milestone 5 only",
       [] {
         auto in = Base(absl::Hours(4) + absl::Minutes(1));
         End(in, model::RegistrationState::kEnded, absl::Hours(4), kHalfDone);
         in.finished[10] = 5;
         in.enqueued = {"1:final", "10:milestone-3"};
         return in;
       },
       {"enqueue mail '10:milestone-5' (participant finished 5 workshops)"}},
      {"unknown participant address: verbs still, no mail",
       [] {
         auto in = Base(absl::Minutes(10));
         in.participants.clear();
         return in;
       },
       {"PURGE seat local/1 of registration 1 (seat not Ready 10m after registration)"}},
      {"registrations are planned in id order",
       [] {
         auto in = Base(absl::Seconds(5));
         in.registrations.insert(in.registrations.begin(), Reg(2, 10, 2));
         in.seats[{"local", 2}] = {.occupant = 2, .password = "p2", .ready = true};
         return in;
       },
       {"enqueue mail '1:welcome' (new registration)",
        "enqueue mail '2:welcome' (new registration)",
        "enqueue mail '2:credentials' (seat is Ready)"}},
  };
}

std::vector<std::string> Describe(const std::vector<LifecycleAction>& plan) {
  std::vector<std::string> out;
  for (const auto& a : plan) out.push_back(a.Describe());
  return out;
}

TEST(LifecyclePlanner, Table) {
  const LifecycleConfig config;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    EXPECT_THAT(Describe(PlanLifecycle(c.input(), config)), ElementsAreArray(c.plan));
  }
}

// Applying a plan (its mails become enqueued keys) and planning again plans nothing: the keys
// are the planner's memory. Verbs change the registrations, so those cases are left out.
TEST(LifecyclePlanner, PlanningAgainAfterEnqueueingPlansNothing) {
  const LifecycleConfig config;
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.name);
    LifecycleInput in = c.input();
    auto plan = PlanLifecycle(in, config);
    bool verbs = false;
    for (const auto& a : plan) {
      if (a.kind == LifecycleAction::Kind::kEnqueueMail) {
        in.enqueued.insert(a.mail.key);
      } else {
        verbs = true;
      }
    }
    if (verbs) continue;
    EXPECT_THAT(Describe(PlanLifecycle(in, config)), ::testing::IsEmpty());
  }
}

TEST(LifecyclePlanner, MailsCarryKeyKindRecipientAndRegistration) {
  auto in = Base(absl::Minutes(1));
  Ready(in);
  auto plan = PlanLifecycle(in, LifecycleConfig{});
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_EQ(plan[1].mail.key, "1:credentials");
  EXPECT_EQ(plan[1].mail.kind, "credentials");
  EXPECT_EQ(plan[1].mail.recipient, "ada@example.com");
  EXPECT_EQ(plan[1].mail.registration_id, 1);
}

// A registration still waiting for its seat on a location that stopped being live is moved once
// the location has been dead for failover_after; a Ready one (credentials sent) is not, nor one
// on a live location, and the PURGE after ready_timeout comes first.
TEST(LifecyclePlanner, AWaitingRegistrationOnADeadLocationMovesAfterFailoverAfter) {
  LifecycleConfig config;
  auto in = Base(absl::Minutes(4));
  in.enqueued = {"1:welcome"};
  in.dead_since["local"] = in.now - config.failover_after + absl::Seconds(1);
  EXPECT_TRUE(PlanLifecycle(in, config).empty()) << "dead for less than failover_after";
  in.dead_since["local"] = in.now - config.failover_after;
  auto plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].kind, LifecycleAction::Kind::kMove);
  EXPECT_EQ(plan[0].registration_id, 1);
  EXPECT_THAT(plan[0].Describe(), HasSubstr("MOVE registration 1 off seat local/"));
  EXPECT_THAT(plan[0].Describe(), HasSubstr("not live since"));
  in.dead_since.erase("local");
  in.dead_since["elsewhere"] = in.now - absl::Hours(1);
  EXPECT_TRUE(PlanLifecycle(in, config).empty()) << "another location's death moves nothing";

  auto ready = Base(absl::Minutes(4));
  ready.enqueued = {"1:welcome", "1:credentials"};
  ready.dead_since["local"] = ready.now - absl::Hours(1);
  for (const auto& a : PlanLifecycle(ready, config)) {
    EXPECT_NE(a.kind, LifecycleAction::Kind::kMove) << a.Describe();
  }
  auto late = Base(config.ready_timeout + absl::Minutes(1));
  late.enqueued = {"1:welcome"};
  late.dead_since["local"] = late.now - absl::Hours(1);
  plan = PlanLifecycle(late, config);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_EQ(plan[0].kind, LifecycleAction::Kind::kPurge);
}

// The credentials mail links the hub of the seat's location when the location names one
// (`wod location set --hub-url`), before the configured hub_login_urls.
TEST(LifecyclePlanner, TheLoginLinkIsTheLocationsHubThenTheConfiguredOne) {
  LifecycleConfig config;
  config.public_base_url = "https://wod.example.org";
  config.hub_login_urls["local"] = "https://hub.example.org/hub/login";
  auto in = Base(absl::Minutes(1));
  Ready(in);
  auto plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_THAT(plan[1].mail.text_body, HasSubstr("https://hub.example.org/hub/login"));
  in.hub_urls["local"] = "https://east.example.org/";
  plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_THAT(plan[1].mail.text_body, HasSubstr("https://east.example.org/hub/login"));
  EXPECT_THAT(plan[1].mail.text_body, Not(HasSubstr("hub.example.org")));
}

// Backends name their accounts differently (wodeast1, wodwest1): the credentials mail gives
// the user name with the prefix the seat's controller recorded, else the configured one.
TEST(LifecyclePlanner, TheUserNameIsThePrefixOfTheSeatsLocation) {
  LifecycleConfig config;
  config.user_prefix = "student";
  auto in = Base(absl::Minutes(1));
  Ready(in);
  auto plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_THAT(plan[1].mail.text_body, HasSubstr("student"));
  in.user_prefixes["local"] = "wodwest";
  plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 2u);
  EXPECT_THAT(plan[1].mail.text_body, HasSubstr("wodwest"));
  EXPECT_THAT(plan[1].mail.text_body, Not(HasSubstr("student")));
}

TEST(LifecyclePlanner, PasswordOnlyInTheCredentialsMailBodies) {
  LifecycleConfig config;
  config.public_base_url = "https://wod.example.org";
  config.hub_login_urls["local"] = "https://hub.example.org/hub/login";
  auto in = Base(absl::Minutes(1));
  Ready(in);
  in.page_urls[1] = "https://wod.example.org/p/tok";
  auto plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 2u);
  const model::Notification& cred = plan[1].mail;
  EXPECT_THAT(cred.subject, Not(HasSubstr(kPassword)));
  EXPECT_THAT(cred.text_body, HasSubstr(std::string("Password: ") + kPassword));
  EXPECT_THAT(cred.text_body, HasSubstr("User name: student1"));
  EXPECT_THAT(cred.text_body, HasSubstr("https://hub.example.org/hub/login"));
  EXPECT_THAT(cred.html_body, HasSubstr(kPassword));
  EXPECT_THAT(cred.html_body, HasSubstr("href=\"https://wod.example.org/p/tok\""));
  // Every other mail of the registration's life, none with the password anywhere.
  std::vector<model::Notification> others = {plan[0].mail};
  auto later = Base(absl::Hours(3));
  Ready(later);
  later.enqueued = {"1:welcome", "1:credentials"};
  for (auto& a : PlanLifecycle(later, config)) others.push_back(a.mail);
  auto ended = Base(absl::Hours(4) + absl::Minutes(1));
  End(ended, model::RegistrationState::kEnded, absl::Hours(4), kHalfDone);
  ended.finished[10] = 3;
  for (auto& a : PlanLifecycle(ended, config)) others.push_back(a.mail);
  auto purged = Base(absl::Minutes(11));
  End(purged, model::RegistrationState::kFailed, absl::Minutes(10));
  for (auto& a : PlanLifecycle(purged, config)) others.push_back(a.mail);
  ASSERT_EQ(others.size(), 5u);  // welcome, reminder, final, milestone, apology
  for (const auto& m : others) {
    SCOPED_TRACE(m.key);
    EXPECT_THAT(m.subject + m.text_body + m.html_body, Not(HasSubstr(kPassword)));
  }
}

TEST(LifecyclePlanner, FinalMailHasBadgeAndCompletion) {
  LifecycleConfig config;
  config.public_base_url = "https://wod.example.org";
  auto in = Base(absl::Hours(4) + absl::Minutes(1));
  End(in, model::RegistrationState::kEnded, absl::Hours(4), kHalfDone);
  auto plan = PlanLifecycle(in, config);
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_THAT(plan[0].mail.text_body, HasSubstr("You completed 50% of the workshop"));
  EXPECT_THAT(plan[0].mail.text_body, HasSubstr("https://wod.example.org/badges/WOD-Badge-A.png"));
  EXPECT_THAT(plan[0].mail.html_body,
              HasSubstr("<img src=\"https://wod.example.org/badges/WOD-Badge-A.png\""));
}

TEST(LifecyclePlanner, HtmlEscapesNamesAndTitles) {
  auto in = Base(absl::Seconds(1));
  in.participants[10].name = "<script>alert(1)</script>";
  auto plan = PlanLifecycle(in, LifecycleConfig{});
  ASSERT_EQ(plan.size(), 1u);
  EXPECT_THAT(plan[0].mail.html_body, Not(HasSubstr("<script>")));
  EXPECT_THAT(plan[0].mail.html_body, HasSubstr("&lt;script&gt;"));
  EXPECT_THAT(plan[0].mail.html_body, HasSubstr("Shell &lt;101&gt;"));
}

TEST(MailTemplates, CompletionPercentReadsTheHarvest) {
  EXPECT_EQ(model::CompletionPercent(kHalfDone), 50);
  EXPECT_EQ(model::CompletionPercent(""), std::nullopt);
  EXPECT_EQ(model::CompletionPercent("{not json"), std::nullopt);
  EXPECT_EQ(model::CompletionPercent(R"({"notebooks":[]})"), 0);
}

}  // namespace
}  // namespace wod::reconcilers
