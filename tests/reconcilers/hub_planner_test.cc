#include "reconcilers/hub_planner.h"

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

model::ObservedHubUser User(int seat, model::HubServerState server) {
  model::ObservedHubUser u;
  u.name = "student" + std::to_string(seat);
  u.seat = seat;
  u.server = server;
  return u;
}

TEST(HubPlanner, ConvergedPlansNothing) {
  DesiredState d = TestDesired(TestWorkshop("WKSHP-A", 1, 2));
  Occupy(d, 1, 5, "pw");
  model::ObservedHub hub;
  hub.users = {User(1, model::HubServerState::kRunning), User(2, model::HubServerState::kNone)};
  hub.foreign = {"admin"};
  EXPECT_THAT(Describe(PlanHub(d, hub)), IsEmpty());
}

TEST(HubPlanner, EverySeatGetsAUserAndVacantServersStop) {
  DesiredState d = TestDesired(TestWorkshop("WKSHP-A", 1, 4));
  model::ObservedHub hub;
  hub.users = {User(2, model::HubServerState::kRunning),
               User(3, model::HubServerState::kPendingStart),
               User(4, model::HubServerState::kPendingStop), User(8, model::HubServerState::kNone)};
  EXPECT_THAT(
      Describe(PlanHub(d, hub)),
      ElementsAre("create-user seat 1 (seat has no hub user)",
                  "stop-server seat 2 (seat is vacant)", "stop-server seat 3 (seat is vacant)",
                  "delete-user seat 8 (seat is no longer in the pool)"));
}

TEST(HubPlanner, OccupiedSeatsServerIsLeftToTheParticipant) {
  DesiredState d = TestDesired(TestWorkshop("WKSHP-A", 1, 1));
  Occupy(d, 1, 5, "pw");
  model::ObservedHub hub;
  hub.users = {User(1, model::HubServerState::kNone)};
  EXPECT_THAT(Describe(PlanHub(d, hub)), IsEmpty());
}

}  // namespace
}  // namespace wod::reconcilers
