#include "reconcilers/appliances_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/reconcilers/planner_test_util.h"

namespace wod::reconcilers {
namespace {

using testing::Describe;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using testing::Occupy;
using testing::TestDesired;
using testing::TestWorkshop;

class AppliancesPlannerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    model::Workshop w = TestWorkshop("WKSHP-A", 1, 3);
    model::Appliance web;
    web.name = "web";
    web.image = "wod-test/busybox:latest";
    web.ports = {{80, 18000}};
    web.env = {{"USER_ID", "{{ STDID }}"}};
    w.appliances = {web};
    desired_ = TestDesired(w);
    Occupy(desired_, 2, 42, "pw");
  }

  // The container the planner wants for `seat`, as the engine would report it after creation.
  model::ObservedContainer Running(int seat, int64_t registration, int64_t epoch) {
    auto plan = PlanAppliances(desired_, {});
    for (const auto& a : plan.actions) {
      if (a.kind != model::ApplianceAction::Kind::kCreate || a.seat != seat) continue;
      model::ObservedContainer c;
      c.name = a.ContainerName();
      c.state = model::ContainerState::kRunning;
      c.seat = seat;
      c.registration_id = registration;
      c.epoch = epoch;
      c.appliance = a.appliance;
      c.workshop = a.workshop;
      c.spec_hash = model::ApplianceSpecHash(a);
      return c;
    }
    ADD_FAILURE() << "no create planned for seat " << seat;
    return {};
  }

  DesiredState desired_;
};

TEST_F(AppliancesPlannerTest, ConvergedPlansNothing) {
  model::ObservedAppliances observed;
  observed.containers = {Running(2, 42, 0)};
  EXPECT_THAT(Describe(PlanAppliances(desired_, observed).actions), IsEmpty());
}

TEST_F(AppliancesPlannerTest, OccupiedSeatGetsItsContainerWithRenderedEnvAndPort) {
  auto plan = PlanAppliances(desired_, {});
  ASSERT_EQ(plan.actions.size(), 2u);
  EXPECT_EQ(plan.actions[0].kind, model::ApplianceAction::Kind::kCreate);
  EXPECT_EQ(plan.actions[0].ContainerName(), "wod-local-2-web");
  EXPECT_EQ(plan.actions[0].env.at("USER_ID"), "2");
  ASSERT_EQ(plan.actions[0].ports.size(), 1u);
  EXPECT_EQ(plan.actions[0].ports[0].host, 18001);  // base + (2 - 1)
  EXPECT_EQ(plan.actions[1].kind, model::ApplianceAction::Kind::kStart);
}

TEST_F(AppliancesPlannerTest, ResetReplacesTheContainer) {
  model::ObservedAppliances observed;
  observed.containers = {Running(2, 42, 0)};
  desired_.seats[1].reset_epoch = 1;
  EXPECT_THAT(Describe(PlanAppliances(desired_, observed).actions),
              ElementsAre("remove container 'wod-local-2-web': seat was reset (epoch 1)",
                          HasSubstr("create container 'wod-local-2-web'"),
                          "start container 'wod-local-2-web': new container"));
}

TEST_F(AppliancesPlannerTest, StoppedContainerIsStarted) {
  model::ObservedAppliances observed;
  observed.containers = {Running(2, 42, 0)};
  observed.containers[0].state = model::ContainerState::kExited;
  EXPECT_THAT(Describe(PlanAppliances(desired_, observed).actions),
              ElementsAre("start container 'wod-local-2-web': container is exited"));
}

TEST_F(AppliancesPlannerTest, VacantAndOrphanContainersAreRemoved) {
  model::ObservedAppliances observed;
  observed.containers = {Running(2, 42, 0)};
  auto old = Running(2, 42, 0);
  old.name = "wod-local-3-web";
  old.seat = 3;
  auto gone = old;
  gone.name = "wod-local-9-web";
  gone.seat = 9;
  observed.containers.push_back(old);
  observed.containers.push_back(gone);
  EXPECT_THAT(Describe(PlanAppliances(desired_, observed).actions),
              ElementsAre("remove container 'wod-local-3-web': seat is vacant",
                          "remove container 'wod-local-9-web': seat is no longer in the pool"));
}

TEST_F(AppliancesPlannerTest, UnrenderableEnvIsAProblemAndTouchesNothing) {
  model::ObservedAppliances observed;
  observed.containers = {Running(2, 42, 0)};
  desired_.workshops["WKSHP-A"].appliances[0].env["BAD"] = "{{ NOPE }}";
  auto plan = PlanAppliances(desired_, observed);
  EXPECT_THAT(Describe(plan.actions), IsEmpty());
  ASSERT_EQ(plan.problems.size(), 1u);
  EXPECT_EQ(plan.problems[0].reason, "TemplateError");
  EXPECT_THAT(plan.problems[0].message, HasSubstr("NOPE"));
}

}  // namespace
}  // namespace wod::reconcilers
