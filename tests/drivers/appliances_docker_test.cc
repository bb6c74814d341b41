// The appliances driver against a real Docker engine, beyond the contract: a published port
// really serves the container's HTTP server, and what a seat's container lifecycle costs.
// Needs scripts/services/dockerd (label `docker`).
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "common/subprocess.h"
#include "drivers/appliances/appliances_real.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using Kind = model::ApplianceAction::Kind;

class DockerApplianceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_SERVICE(socket, "WOD_TEST_DOCKER_SOCKET", "a Docker engine");
    WOD_REQUIRE_SERVICE(image, "WOD_TEST_DOCKER_IMAGE", "a Docker test image");
    WOD_REQUIRE_SERVICE(netns, "WOD_TEST_DOCKER_NETNS", "the Docker engine's network namespace");
    netns_ = netns;
    image_ = image;
    location_ = absl::StrCat("dt", getpid());
    driver_ = std::make_unique<DockerApplianceDriver>(
        DockerOptions{.socket_path = socket, .location = location_});
  }
  void TearDown() override {
    if (!driver_) return;
    auto observed = driver_->Observe();
    if (!observed.ok()) return;
    for (const auto& c : observed->containers) {
      (void)driver_->Apply(Action(Kind::kRemove, c.seat, c.appliance));
    }
  }

  model::ApplianceAction Action(Kind kind, int seat, std::string appliance = "web") {
    model::ApplianceAction a;
    a.kind = kind;
    a.location = location_;
    a.seat = seat;
    a.appliance = std::move(appliance);
    return a;
  }

  model::ApplianceAction Create(int seat, int host_port) {
    auto a = Action(Kind::kCreate, seat);
    a.workshop = "WKSHP-Docker";
    a.registration_id = 9;
    a.image = image_;
    a.ports = {{8080, host_port, ""}};
    return a;
  }

  // GET http://127.0.0.1:<port>/ from inside the engine's network namespace, where the
  // published ports listen (see scripts/services/dockerd).
  absl::StatusOr<common::SubprocessResult> Fetch(int port) {
    // curl, not busybox wget: busybox-static 1.35's `wget -T` crashes (SIGSEGV) here.
    return common::RunProcess({"nsenter", absl::StrCat("--net=", netns_), "curl", "-s", "-m", "2",
                               absl::StrCat("http://127.0.0.1:", port, "/")});
  }

  std::string netns_;
  std::string image_;
  std::string location_;
  std::unique_ptr<DockerApplianceDriver> driver_;
};

TEST_F(DockerApplianceTest, PublishedPortServesTheContainersHttpServer) {
  const int port = 24000 + getpid() % 1000;
  ASSERT_OK(driver_->Apply(Create(1, port)));
  ASSERT_OK(driver_->Apply(Action(Kind::kStart, 1)));
  std::string body;
  for (int i = 0; i < 50 && body.empty(); ++i) {  // httpd needs a moment to listen
    auto r = Fetch(port);
    ASSERT_OK(r);
    if (r->exit_code == 0) body = r->stdout_text;
    if (body.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(body, "hello from wod-test\n");

  auto stop = Action(Kind::kStop, 1);
  stop.stop_timeout_seconds = 1;
  ASSERT_OK(driver_->Apply(stop));
  auto after = Fetch(port);
  ASSERT_OK(after);
  EXPECT_NE(after->exit_code, 0) << "a stopped container's port is closed";
}

TEST_F(DockerApplianceTest, SeatLifecycleTimings) {
  using Clock = std::chrono::steady_clock;
  auto ms = [](Clock::duration d) {
    return std::chrono::duration_cast<std::chrono::microseconds>(d).count() / 1000.0;
  };
  constexpr int kSeats = 5;
  auto t0 = Clock::now();
  for (int s = 1; s <= kSeats; ++s) ASSERT_OK(driver_->Apply(Create(s, 24500 + s)));
  auto t1 = Clock::now();
  for (int s = 1; s <= kSeats; ++s) ASSERT_OK(driver_->Apply(Action(Kind::kStart, s)));
  auto t2 = Clock::now();
  ASSERT_OK_AND_ASSIGN(auto observed, driver_->Observe());
  auto t3 = Clock::now();
  EXPECT_EQ(observed.containers.size(), static_cast<size_t>(kSeats));
  for (int s = 1; s <= kSeats; ++s) ASSERT_OK(driver_->Apply(Action(Kind::kRemove, s)));
  auto t4 = Clock::now();
  std::printf(
      "appliances on dockerd, per container: create %.1f ms, start %.1f ms, "
      "remove (running, force) %.1f ms; observe of %d containers %.1f ms\n",
      ms(t1 - t0) / kSeats, ms(t2 - t1) / kSeats, ms(t4 - t3) / kSeats, kSeats, ms(t3 - t2));
}

}  // namespace
}  // namespace wod::drivers
