#include "reconcilers/accounts_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/reconcilers/planner_test_util.h"

namespace wod::reconcilers {
namespace {

using testing::Describe;
using ::testing::ElementsAre;
using ::testing::IsEmpty;
using testing::Occupy;
using testing::TestDesired;
using testing::TestWorkshop;

// An observed account, its occupant marker naming `occupant` (0: vacant). `in_sync` is what
// the accounts driver reports: its shadow hash is of the seat's desired password.
model::ObservedAccount Account(const model::AccountPolicy& policy, int seat, bool in_sync,
                               bool locked, int64_t occupant = 0) {
  model::ObservedAccount a;
  a.name = policy.UserName(seat);
  a.seat = seat;
  a.uid = policy.Uid(seat);
  a.gid = policy.gid;
  a.home = policy.Home(seat);
  a.shell = policy.shell;
  a.locked = locked;
  a.occupant = occupant;
  a.password_in_sync = in_sync;
  // Not a hash of anything: the planner never looks at it.
  a.shadow_hash = locked ? "!$y$j9T$salt$hash" : "$y$j9T$salt$hash";
  return a;
}

class AccountsPlannerTest : public ::testing::Test {
 protected:
  model::AccountPolicy policy_;
  DesiredState desired_ = TestDesired(TestWorkshop("WKSHP-A", 1, 3));
  model::ObservedAccounts observed_;

  void SetUp() override {
    observed_.group_exists = true;
    observed_.group_gid = policy_.gid;
  }
  // Every seat of desired_ present and converged.
  void ObserveConverged() {
    observed_.accounts.clear();
    for (const auto& s : desired_.seats) {
      observed_.accounts.push_back(Account(policy_, s.number, /*in_sync=*/true,
                                           !s.registration_id.has_value(),
                                           s.registration_id.value_or(0)));
    }
  }
  std::vector<std::string> Plan() {
    return Describe(PlanAccounts(desired_, observed_, policy_).actions);
  }
};

TEST_F(AccountsPlannerTest, ConvergedPoolPlansNothing) {
  Occupy(desired_, 2, 42, "occupant-pw");
  ObserveConverged();
  EXPECT_THAT(Plan(), IsEmpty());
}

// Whether a password is set is the driver's observation; the planner trusts it either way.
TEST_F(AccountsPlannerTest, APasswordObservedOutOfSyncIsSetAgain) {
  Occupy(desired_, 2, 42, "occupant-pw");
  ObserveConverged();
  observed_.accounts[0].password_in_sync = false;
  observed_.accounts[1].password_in_sync = false;
  EXPECT_THAT(Plan(), ElementsAre("set-password seat 1 (vacant seat's password rotated)",
                                  "set-password seat 2 (occupant's password not set)"));
}

TEST_F(AccountsPlannerTest, MissingAccountsAreCreatedWithPasswordAndOccupiedOnesUnlocked) {
  Occupy(desired_, 2, 42, "occupant-pw");
  EXPECT_THAT(
      Plan(),
      ElementsAre("create seat 1 (seat has no account)", "set-password seat 1 (new account)",
                  "create seat 2 (seat has no account)", "set-password seat 2 (new account)",
                  "set-occupant seat 2 registration 42 (seat is occupied)",
                  "unlock seat 2 (seat is occupied)", "create seat 3 (seat has no account)",
                  "set-password seat 3 (new account)"));
}

TEST_F(AccountsPlannerTest, OccupyingAVacantSeatSetsPasswordAndMarkerBeforeUnlocking) {
  ObserveConverged();  // all vacant and locked
  Occupy(desired_, 3, 7, "new-pw");
  observed_.accounts[2].password_in_sync = false;  // still the vacant seat's password
  EXPECT_THAT(Plan(), ElementsAre("set-password seat 3 (occupant's password not set)",
                                  "set-occupant seat 3 registration 7 (seat is occupied)",
                                  "unlock seat 3 (seat is occupied)"));
}

TEST_F(AccountsPlannerTest, VacatingLocksRotatesKillsWipesAndClearsTheMarkerLast) {
  Occupy(desired_, 1, 7, "occupant-pw");
  ObserveConverged();
  observed_.accounts[0].pids = {1234, 1240};
  // CLEANUP: the seat is vacant again with a rotated password.
  desired_.seats[0].registration_id.reset();
  desired_.seats[0].password = "rotated";
  observed_.accounts[0].password_in_sync = false;  // still the occupant's password
  EXPECT_THAT(
      Plan(),
      ElementsAre("lock seat 1 (seat is vacant)",
                  "set-password seat 1 (vacant seat's password rotated)",
                  "kill-processes seat 1 (seat is vacant but 2 process(es) run)",
                  "wipe-home seat 1 (seat vacated by registration 7)",
                  "set-occupant seat 1 vacant (seat vacated by registration 7: home wiped)"));
}

// A vacate stopped after the lock (a crash, a failed wipe): the account is locked, but the
// marker still names registration 7, so the home is wiped and only then the marker cleared.
TEST_F(AccountsPlannerTest, LockedVacantSeatWhoseMarkerNamesARegistrationIsStillWiped) {
  ObserveConverged();
  observed_.accounts[0].occupant = 7;
  EXPECT_THAT(
      Plan(),
      ElementsAre("wipe-home seat 1 (seat vacated by registration 7)",
                  "set-occupant seat 1 vacant (seat vacated by registration 7: home wiped)"));
}

// Registration 7 left and 8 took the seat between two passes; the content side of 7's vacate
// already ran, so only the marker still shows the handover. The account is vacated for this
// pass (never unlocked with 7's files in it); the next pass sets it up for 8.
TEST_F(AccountsPlannerTest, MarkerOfAnotherRegistrationVacatesTheOccupiedSeatFirst) {
  Occupy(desired_, 2, 7, "pw-7");
  ObserveConverged();
  observed_.accounts[1].pids = {500};
  Occupy(desired_, 2, 8, "pw-8");
  observed_.accounts[1].password_in_sync = false;  // still 7's password
  EXPECT_THAT(
      Plan(),
      ElementsAre(
          "lock seat 2 (seat changes hands: registration 7 left)",
          "set-password seat 2 (occupant's password not set)",
          "kill-processes seat 2 (seat changes hands: registration 7 left but 1 process(es) "
          "run)",
          "wipe-home seat 2 (seat changes hands: registration 7 left)",
          "set-occupant seat 2 vacant (seat changes hands: registration 7 left: home wiped)"));
  // Once the marker is cleared, the same desired state brings the seat up for 8.
  observed_.accounts[1] = Account(policy_, 2, /*in_sync=*/true, /*locked=*/true, 0);
  EXPECT_THAT(Plan(), ElementsAre("set-occupant seat 2 registration 8 (seat is occupied)",
                                  "unlock seat 2 (seat is occupied)"));
}

TEST_F(AccountsPlannerTest, ProcessesOnALockedVacantSeatAreKilledWithoutWipe) {
  ObserveConverged();
  observed_.accounts[1].pids = {99};
  EXPECT_THAT(Plan(), ElementsAre("kill-processes seat 2 (seat is vacant but 1 process(es) run)"));
}

TEST_F(AccountsPlannerTest, AccountsOfSeatsOutsideThePoolAreDeleted) {
  ObserveConverged();
  observed_.accounts.push_back(Account(policy_, 9, /*in_sync=*/false, /*locked=*/true));
  EXPECT_THAT(Plan(), ElementsAre("delete seat 9 (seat is no longer in the pool)"));
}

TEST_F(AccountsPlannerTest, SeatOutsideThePolicyIsAProblemNotAnAction) {
  policy_.seat_count = 3;  // seats 0..2
  ObserveConverged();
  observed_.accounts.pop_back();
  auto plan = PlanAccounts(desired_, observed_, policy_);
  EXPECT_THAT(Describe(plan.actions), IsEmpty());
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_EQ(plan.problems[0].seat, 3);
  EXPECT_EQ(plan.problems[0].reason, "SeatOutOfRange");
}

TEST_F(AccountsPlannerTest, PlanIsDeterministic) {
  Occupy(desired_, 2, 42, "occupant-pw");
  auto first = Plan();
  for (int i = 0; i < 5; ++i) EXPECT_EQ(Plan(), first);
}

}  // namespace
}  // namespace wod::reconcilers
