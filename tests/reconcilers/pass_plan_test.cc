// PlanPass and SeatStatusOf: the pure plan of a whole pass and the status that follows. The
// golden files (golden_plan_test.cc) show whole plans; these tables pin the rules only the pass
// knows: unobservable domains, held seats, homes kept for a harvest, purged content, order, and
// how each outcome of a seat's steps reads as conditions and phase.
#include "reconcilers/pass_plan.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/reconcilers/planner_test_util.h"

namespace wod::reconcilers {
namespace {

using model::ConditionStatus;
using model::Domain;
using model::Phase;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::Occupy;
using testing::TestDesired;
using testing::TestWorkshop;

// Seats 1-3 of WKSHP-A (with notebooks), vacant and converged in every domain.
struct Fixture {
  model::AccountPolicy policy;
  DesiredState desired;
  PassObservation observed;

  Fixture() {
    model::Workshop w = TestWorkshop("WKSHP-A", 1, 3);
    w.content_dir = "/src/WKSHP-A";
    desired = TestDesired(w);
    model::ObservedAccounts accounts;
    accounts.group_exists = true;
    accounts.group_gid = policy.gid;
    model::ObservedContent content;
    model::ObservedHub hub;
    for (const auto& s : desired.seats) {
      model::ObservedAccount a;
      a.name = policy.UserName(s.number);
      a.seat = s.number;
      a.uid = policy.Uid(s.number);
      a.gid = policy.gid;
      a.home = policy.Home(s.number);
      a.shell = policy.shell;
      a.locked = true;
      a.password_in_sync = true;
      accounts.accounts.push_back(a);
      model::ObservedSeatContent c;
      c.seat = s.number;
      c.home = a.home;
      content.seats.push_back(c);
      model::ObservedHubUser u;
      u.name = a.name;
      u.seat = s.number;
      hub.users.push_back(u);
    }
    observed.accounts.observed = accounts;
    observed.content.observed = content;
    observed.hub.observed = hub;
    observed.appliances.observed = model::ObservedAppliances{};
  }

  model::ObservedAccount& Account(int seat) {
    for (auto& a : observed.accounts.observed->accounts) {
      if (a.seat == seat) return a;
    }
    throw std::logic_error("no account");
  }
  model::ObservedSeatContent& Content(int seat) {
    for (auto& c : observed.content.observed->seats) {
      if (c.seat == seat) return c;
    }
    throw std::logic_error("no content");
  }
  const model::Seat& Seat(int n) const { return *desired.FindSeat(n); }
};

const model::Condition& ConditionOf(const model::SeatStatus& st, Domain d) {
  for (const auto& c : st.conditions) {
    if (c.type == model::ConditionTypeOf(d)) return c;
  }
  throw std::logic_error("no condition");
}

std::vector<std::string> StepLines(const PassPlan& plan, int seat) {
  std::vector<std::string> out;
  if (const SeatSteps* s = plan.Find(seat)) {
    for (const Step& st : s->steps) {
      out.push_back(std::string(model::DomainName(st.domain)) + " " + st.KindName());
    }
  }
  return out;
}

TEST(PlanPassTest, ConvergedLocationPlansNothingAndReportsNoDrift) {
  Fixture f;
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  EXPECT_TRUE(plan.seats.empty());
  EXPECT_TRUE(plan.drift.empty());
  EXPECT_TRUE(plan.converged());
  EXPECT_EQ(PassPlanText(plan), "converged\n");
  const auto st = SeatStatusOf("local", f.Seat(1), plan, {}, nullptr, absl::UnixEpoch());
  EXPECT_EQ(st.phase, Phase::kVacant);
  for (const auto& c : st.conditions) EXPECT_EQ(c.reason, "Converged") << c.type;
}

TEST(PlanPassTest, AnUnobservableDomainIsDriftWarnedAsUnknownOnEverySeatAndNeverConverged) {
  Fixture f;
  f.observed.accounts.observed =
      absl::UnavailableError("cannot read '/typo/etc/passwd': No such file or directory");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  EXPECT_FALSE(plan.converged());
  ASSERT_EQ(plan.drift.size(), 1u);
  EXPECT_EQ(plan.drift[0].domain, "accounts");
  EXPECT_EQ(plan.drift[0].seat, 0);
  EXPECT_EQ(plan.drift[0].planned,
            "none (cannot observe: cannot read '/typo/etc/passwd': No such file or directory)");
  EXPECT_THAT(PassPlanText(plan), HasSubstr("cannot observe accounts: cannot read"));
  for (const auto& seat : f.desired.seats) {
    const auto st = SeatStatusOf("local", seat, plan, {}, nullptr, absl::UnixEpoch());
    const auto& c = ConditionOf(st, Domain::kAccounts);
    EXPECT_EQ(c.status, ConditionStatus::kUnknown);
    EXPECT_EQ(c.reason, "ObserveFailed");
    EXPECT_THAT(c.message, HasSubstr("/typo/etc/passwd"));
    EXPECT_EQ(st.phase, Phase::kVacating) << "a seat nobody can see is not called vacant";
  }
}

TEST(PlanPassTest, AnUnmanagedDomainIsNeitherPlannedNorDrift) {
  Fixture f;
  f.observed.hub.managed = false;
  f.observed.hub.observed = absl::UnavailableError("no hub");
  f.observed.appliances.managed = false;
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  EXPECT_TRUE(plan.converged());
  EXPECT_TRUE(plan.drift.empty());
  const auto st = SeatStatusOf("local", f.Seat(1), plan, {}, nullptr, absl::UnixEpoch());
  EXPECT_EQ(ConditionOf(st, Domain::kHub).reason, "NoHub");
  EXPECT_EQ(ConditionOf(st, Domain::kAppliances).reason, "NoApplianceDriver");
  EXPECT_EQ(st.phase, Phase::kVacant);
}

TEST(PlanPassTest, OccupiedSeatGoesUpAccountFirstAndVacatedSeatGoesDown) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  f.Account(2).locked = false;  // seat 2 was just vacated
  f.Account(2).occupant = 41;
  f.Content(2).manifest_state = model::ObservedSeatContent::Manifest::kPresent;
  f.Content(2).registration_id = 41;
  f.Content(2).workshop = "WKSHP-A";
  f.observed.hub.observed->users[1].server = model::HubServerState::kRunning;
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  EXPECT_THAT(StepLines(plan, 1),
              ElementsAre("accounts set-occupant", "accounts unlock", "content deploy"));
  EXPECT_TRUE(plan.Find(1)->up);
  EXPECT_THAT(StepLines(plan, 2),
              ElementsAre("hub stop-server", "content harvest", "content wipe", "accounts lock",
                          "accounts wipe-home", "accounts set-occupant"));
  EXPECT_FALSE(plan.Find(2)->up);
  // One drift row per seat and domain, naming its first step.
  std::vector<std::string> rows;
  for (const auto& d : plan.drift) rows.push_back(std::to_string(d.seat) + " " + d.domain);
  EXPECT_THAT(rows, ElementsAre("1 accounts", "1 content", "2 hub", "2 content", "2 accounts"));
  EXPECT_EQ(plan.drift[0].expected, "occupied by registration 42");
}

TEST(PlanPassTest, WithoutAccountsNothingOfTheNewOccupantGoesWhereThePreviousMayStillBe) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  Occupy(f.desired, 2, 43, "pw-43");
  // Seat 2 already holds its occupant's notebooks: it was seen handed over, it goes on.
  f.Content(2).manifest_state = model::ObservedSeatContent::Manifest::kPresent;
  f.Content(2).registration_id = 43;
  f.Content(2).workshop = "WKSHP-A";
  f.Content(2).reset_epoch = 1;  // RESET since: redeploy
  f.observed.accounts.observed = absl::UnavailableError("account files locked");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  EXPECT_EQ(plan.Find(1), nullptr) << "held: nothing of registration 42 before its handover";
  EXPECT_THAT(StepLines(plan, 2), ElementsAre("content deploy"));
}

TEST(PlanPassTest, WithoutContentAVacatedHomeIsKeptForTheHarvest) {
  Fixture f;
  f.Account(1).locked = false;
  f.Account(1).occupant = 41;
  f.observed.content.observed = absl::UnavailableError("home unreadable");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  EXPECT_THAT(StepLines(plan, 1), ElementsAre("accounts lock"))
      << "no wipe and no cleared marker until the content was harvested";
}

TEST(PlanPassTest, ContentOfAPurgedRegistrationIsWipedWithoutAHarvest) {
  Fixture f;
  f.Content(3).manifest_state = model::ObservedSeatContent::Manifest::kPresent;
  f.Content(3).registration_id = 77;
  f.Content(3).workshop = "WKSHP-A";
  EXPECT_THAT(StepLines(PlanPass(f.desired, f.observed, f.policy), 3),
              ElementsAre("content harvest", "content wipe"));
  f.desired.purged_registrations.insert(77);
  EXPECT_THAT(StepLines(PlanPass(f.desired, f.observed, f.policy), 3), ElementsAre("content wipe"));
}

TEST(PlanPassTest, HubUsersThatAreNotSeatsAreNotForeignButForeignAccountsAre) {
  Fixture f;
  f.observed.hub.observed->foreign = {"admin", "instructor"};
  f.observed.accounts.observed->foreign.push_back({"ops", 10050, 100, "not in group 'x'"});
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  ASSERT_EQ(plan.drift.size(), 1u);
  EXPECT_EQ(plan.drift[0].planned, "none (foreign)");
  EXPECT_THAT(plan.drift[0].observed, HasSubstr("user 'ops' uid 10050"));
  EXPECT_TRUE(plan.converged()) << "a foreign object is reported, not converged away";
}

TEST(PlanPassTest, PlanningIsDeterministic) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  f.Account(3).occupant = 9;
  EXPECT_EQ(PassPlanText(PlanPass(f.desired, f.observed, f.policy)),
            PassPlanText(PlanPass(f.desired, f.observed, f.policy)));
}

TEST(SeatStatusOfTest, StepsThatAllSucceededAreAppliedAndTheSeatReady) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  SeatOutcome o;
  o.run = SeatOutcome::Run::kRan;
  o.done = static_cast<int>(plan.Find(1)->steps.size());
  const auto st = SeatStatusOf("local", f.Seat(1), plan, o, nullptr, absl::UnixEpoch());
  EXPECT_EQ(st.phase, Phase::kReady);
  EXPECT_EQ(ConditionOf(st, Domain::kAccounts).reason, "Applied");
  EXPECT_EQ(ConditionOf(st, Domain::kContent).reason, "Applied");
  EXPECT_EQ(ConditionOf(st, Domain::kHub).reason, "Converged");
  EXPECT_EQ(st.observed_generation, f.Seat(1).generation);
}

TEST(SeatStatusOfTest, AFailedStepNamesItsCodeOnItsDomainAndTheRestAreConverging) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  SeatOutcome o;
  o.run = SeatOutcome::Run::kRan;
  o.done = 0;
  o.error = absl::UnavailableError("usermod: cannot lock /etc/passwd");
  const auto st = SeatStatusOf("local", f.Seat(1), plan, o, nullptr, absl::UnixEpoch());
  EXPECT_EQ(st.phase, Phase::kProvisioning);
  EXPECT_EQ(ConditionOf(st, Domain::kAccounts).status, ConditionStatus::kFalse);
  EXPECT_EQ(ConditionOf(st, Domain::kAccounts).reason, "UNAVAILABLE");
  EXPECT_EQ(ConditionOf(st, Domain::kContent).reason, "Converging");
  EXPECT_EQ(st.last_error, "usermod: cannot lock /etc/passwd");
}

TEST(SeatStatusOfTest, BackoffTerminalAndTurnoverReadAsTheySay) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  f.Account(2).occupant = 41;  // seat 2 changes hands to registration 43
  f.Account(2).locked = false;
  Occupy(f.desired, 2, 43, "pw-43");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  SeatOutcome waiting;
  waiting.run = SeatOutcome::Run::kWaiting;
  EXPECT_EQ(
      ConditionOf(SeatStatusOf("local", f.Seat(1), plan, waiting, nullptr, {}), Domain::kAccounts)
          .reason,
      "Backoff");
  SeatOutcome terminal = waiting;
  terminal.terminal = true;
  EXPECT_EQ(SeatStatusOf("local", f.Seat(1), plan, terminal, nullptr, {}).phase, Phase::kFailed);
  // The turnover's steps all succeeded, but they only vacated the seat: not Ready yet.
  SeatOutcome ran;
  ran.run = SeatOutcome::Run::kRan;
  ran.done = static_cast<int>(plan.Find(2)->steps.size());
  const auto st = SeatStatusOf("local", f.Seat(2), plan, ran, nullptr, {});
  EXPECT_EQ(st.phase, Phase::kProvisioning);
  EXPECT_EQ(ConditionOf(st, Domain::kAccounts).reason, "Converging");
}

TEST(SeatStatusOfTest, TransitionTimesAndTheLastErrorSurviveWhileNothingChanges) {
  Fixture f;
  Occupy(f.desired, 1, 42, "pw-42");
  const PassPlan plan = PlanPass(f.desired, f.observed, f.policy);
  SeatOutcome failed;
  failed.run = SeatOutcome::Run::kRan;
  failed.error = absl::UnavailableError("disk full");
  const absl::Time t0 = absl::FromUnixSeconds(1000);
  const auto first = SeatStatusOf("local", f.Seat(1), plan, failed, nullptr, t0);
  SeatOutcome waiting;
  waiting.run = SeatOutcome::Run::kWaiting;
  const auto later =
      SeatStatusOf("local", f.Seat(1), plan, waiting, &first, t0 + absl::Seconds(30));
  EXPECT_EQ(ConditionOf(later, Domain::kAccounts).last_transition, t0);
  EXPECT_EQ(later.last_error, "disk full");
}

TEST(EffectivePhaseTest, AStatusOfAnOlderGenerationNeverSpeaksForTheSeat) {
  model::Seat seat;
  seat.generation = 5;
  seat.registration_id = 7;
  model::SeatStatus st;
  st.phase = Phase::kReady;
  st.observed_generation = 4;  // the previous occupant's Ready
  EXPECT_EQ(model::EffectivePhase(seat, &st), Phase::kProvisioning);
  seat.registration_id.reset();
  EXPECT_EQ(model::EffectivePhase(seat, &st), Phase::kVacating);
  st.observed_generation = 5;
  EXPECT_EQ(model::EffectivePhase(seat, &st), Phase::kReady);
  EXPECT_EQ(model::EffectivePhase(seat, nullptr), Phase::kUnobserved);
}

}  // namespace
}  // namespace wod::reconcilers
