// What the fake hub offers beyond the shared contract (hub_contract_test.cc): paging through
// the same code as the real driver, error injection, pending transitions counted in
// Observe() calls, foreign users, and the record of applied actions that loop tests read.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "drivers/hub/hub_fake.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using model::HubAction;
using model::HubServerState;
using ::testing::ElementsAre;
using ::wod::testing::StatusIs;

TEST(HubFakeTest, ObservePagesThroughUsersLikeTheRealHub) {
  HubFakeOptions o;
  o.page_size = 2;
  o.require_account = false;
  HubFake hub(o);
  for (int seat : {4, 0, 3, 1, 2}) ASSERT_OK(hub.Apply(HubAction::CreateUser(seat, "test")));

  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, hub.Observe());
  ASSERT_EQ(observed.users.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(observed.users[i].seat, i);  // sorted by seat
  EXPECT_EQ(hub.pages_served(), 3);
}

TEST(HubFakeTest, FailNextFailsOneCallAndChangesNothing) {
  HubFakeOptions o;
  o.require_account = false;
  HubFake hub(o);
  hub.FailNext(absl::AbortedError("injected"));
  EXPECT_THAT(hub.Apply(HubAction::CreateUser(1, "test")), StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, hub.Observe());
  EXPECT_TRUE(observed.users.empty());

  hub.FailNext(absl::UnavailableError("injected"));
  EXPECT_THAT(hub.Observe(), StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK(hub.Apply(HubAction::CreateUser(1, "test")));
  EXPECT_THAT(hub.applied(), ElementsAre(HubAction::CreateUser(1, "test")));
}

TEST(HubFakeTest, ForeignUsersAreReportedByNameOnly) {
  HubFake hub;
  hub.PutUser("admin", /*admin=*/true, HubServerState::kRunning);
  hub.PutUser("student07");  // not the canonical name of any seat
  hub.PutUser("student7", /*admin=*/false, HubServerState::kRunning);
  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, hub.Observe());
  EXPECT_THAT(observed.foreign, ElementsAre("admin", "student07"));
  ASSERT_EQ(observed.users.size(), 1u);
  EXPECT_EQ(observed.users[0].name, "student7");
  EXPECT_EQ(observed.Find(7), &observed.users[0]);
  EXPECT_EQ(observed.Find(8), nullptr);
}

TEST(HubFakeTest, PendingTransitionsLastTheConfiguredNumberOfObserves) {
  common::FakeClock clock;
  HubFakeOptions o;
  o.start_observes = 2;
  o.stop_observes = 1;
  o.clock = &clock;
  HubFake hub(o);
  hub.AddAccount("student3");
  ASSERT_OK(hub.Apply(HubAction::CreateUser(3, "test")));
  ASSERT_OK(hub.Apply(HubAction::StartServer(3, "test")));

  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, hub.Observe());
  EXPECT_EQ(observed.users[0].server, HubServerState::kPendingStart);
  EXPECT_EQ(observed.users[0].last_activity, clock.Now());
  // The hub refuses to stop a server that is still starting: retry later.
  EXPECT_THAT(hub.Apply(HubAction::StopServer(3, "test")),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(observed, hub.Observe());
  EXPECT_EQ(observed.users[0].server, HubServerState::kRunning);

  ASSERT_OK(hub.Apply(HubAction::StopServer(3, "test")));
  // ... and to start one that is still stopping.
  EXPECT_THAT(hub.Apply(HubAction::StartServer(3, "test")),
              StatusIs(absl::StatusCode::kUnavailable));
  ASSERT_OK_AND_ASSIGN(observed, hub.Observe());
  EXPECT_EQ(observed.users[0].server, HubServerState::kNone);
}

TEST(HubFakeTest, AServerThatDiesIsSeenAsNone) {
  HubFakeOptions o;
  o.require_account = false;
  HubFake hub(o);
  ASSERT_OK(hub.Apply(HubAction::CreateUser(2, "test")));
  ASSERT_OK(hub.Apply(HubAction::StartServer(2, "test")));
  hub.KillServer("student2");
  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, hub.Observe());
  EXPECT_EQ(observed.users[0].server, HubServerState::kNone);
}

TEST(HubFakeTest, StartingAServerWithoutALinuxAccountFailsLikeTheSpawner) {
  HubFake hub;
  hub.AddAccount("student5");
  ASSERT_OK(hub.Apply(HubAction::CreateUser(5, "test")));
  hub.RemoveAccount("student5");
  EXPECT_THAT(hub.Apply(HubAction::StartServer(5, "test")),
              StatusIs(absl::StatusCode::kUnavailable));
}

}  // namespace
}  // namespace wod::drivers
