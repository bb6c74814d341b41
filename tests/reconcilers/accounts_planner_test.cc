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

// An observed account whose shadow hash the cache knows to be `password`'s, its occupant
// marker naming `occupant` (0: vacant).
model::ObservedAccount Account(const model::AccountPolicy& policy, model::PasswordCheckCache& cache,
                               int seat, const std::string& password, bool locked,
                               int64_t occupant = 0) {
  model::ObservedAccount a;
  a.name = policy.UserName(seat);
  a.seat = seat;
  a.uid = policy.Uid(seat);
  a.gid = policy.gid;
  a.home = policy.Home(seat);
  a.shell = policy.shell;
  a.locked = locked;
  a.occupant = occupant;
  std::string hash = "$y$j9T$salt" + std::to_string(seat) + "$" + password;
  cache.Remember(a.name, hash, password);
  a.shadow_hash = (locked ? "!" : "") + hash;
  return a;
}

class AccountsPlannerTest : public ::testing::Test {
 protected:
  model::AccountPolicy policy_;
  model::PasswordCheckCache cache_;
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
      observed_.accounts.push_back(Account(policy_, cache_, s.number, s.password,
                                           !s.registration_id.has_value(),
                                           s.registration_id.value_or(0)));
    }
  }
  std::vector<std::string> Plan() {
    return Describe(PlanAccounts(desired_, observed_, policy_, &cache_).actions);
  }
};

TEST_F(AccountsPlannerTest, ConvergedPoolPlansNothingAndHashesNothing) {
  Occupy(desired_, 2, 42, "occupant-pw");
  ObserveConverged();
  int64_t before = cache_.computations();
  EXPECT_THAT(Plan(), IsEmpty());
  EXPECT_EQ(cache_.computations(), before);
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
  observed_.accounts[1] = Account(policy_, cache_, 2, "pw-8", true, 0);
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
  observed_.accounts.push_back(Account(policy_, cache_, 9, "x", true));
  EXPECT_THAT(Plan(), ElementsAre("delete seat 9 (seat is no longer in the pool)"));
}

TEST_F(AccountsPlannerTest, SeatOutsideThePolicyIsAProblemNotAnAction) {
  policy_.seat_count = 3;  // seats 0..2
  ObserveConverged();
  observed_.accounts.pop_back();
  auto plan = PlanAccounts(desired_, observed_, policy_, &cache_);
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
