// Hermetic tests of the appliances domain: the model vocabulary (names, host ports, spec
// digest, descriptions), action validation and the label codec, the fake's error injection,
// and the Docker driver's error mapping against a scripted engine on a unix socket (answers
// a real engine cannot be made to give on demand: 500, 403, garbage, ignored filters).
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "drivers/appliances/appliances_fake.h"
#include "drivers/appliances/appliances_real.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;
using ::wod::testing::StatusIs;
using Kind = model::ApplianceAction::Kind;

model::Workshop TestWorkshop() {
  model::Workshop w;
  w.id = "WKSHP-Docker101";
  w.range = {151, 170};
  model::Appliance web;
  web.name = "web";
  web.image = "nginx:1.25";
  web.ports = {{80, 14000}, {443, 15000}};
  web.env = {{"PASSWORD", "{{ PASSSTU }}"}};
  web.memory_bytes = 128 << 20;
  web.cpus = 1.5;
  w.appliances = {web};
  return w;
}

model::ApplianceAction TestCreate() {
  const auto w = TestWorkshop();
  return model::MakeApplianceCreate(w, w.appliances[0], "paris", 153, 77, 2,
                                    {{"PASSWORD", "Xk7pQ2mN9rTw"}});
}

TEST(ApplianceModelTest, ContainerNameJoinsLocationSeatAndAppliance) {
  EXPECT_EQ(model::ApplianceContainerName("paris", 153, "web"), "wod-paris-153-web");
  EXPECT_EQ(TestCreate().ContainerName(), "wod-paris-153-web");
}

TEST(ApplianceModelTest, HostPortIsBasePlusOffsetInTheRange) {
  const model::SeatRange range{151, 170};
  EXPECT_EQ(model::ApplianceHostPort({80, 14000}, 151, range), 14000);
  EXPECT_EQ(model::ApplianceHostPort({80, 14000}, 170, range), 14019);
}

TEST(ApplianceModelTest, CreateActionCarriesTheCatalogAndTheSeat) {
  const auto a = TestCreate();
  EXPECT_EQ(a.kind, Kind::kCreate);
  EXPECT_EQ(a.location, "paris");
  EXPECT_EQ(a.seat, 153);
  EXPECT_EQ(a.workshop, "WKSHP-Docker101");
  EXPECT_EQ(a.registration_id, 77);
  EXPECT_EQ(a.epoch, 2);
  EXPECT_EQ(a.image, "nginx:1.25");
  EXPECT_THAT(a.ports, ::testing::ElementsAre(model::PublishedPort{80, 14002, ""},
                                              model::PublishedPort{443, 15002, ""}));
  EXPECT_EQ(a.env.at("PASSWORD"), "Xk7pQ2mN9rTw");
  EXPECT_EQ(a.memory_bytes, 128 << 20);
  EXPECT_EQ(a.cpus, 1.5);
}

TEST(ApplianceModelTest, DescribeNamesTheContainerButNeverEnvValues) {
  auto a = TestCreate();
  a.reason = "seat occupied";
  const std::string d = a.Describe();
  EXPECT_THAT(d, HasSubstr("create container 'wod-paris-153-web'"));
  EXPECT_THAT(d, HasSubstr("registration 77"));
  EXPECT_THAT(d, HasSubstr("seat occupied"));
  EXPECT_THAT(d, Not(HasSubstr("Xk7pQ2mN9rTw")));
}

TEST(ApplianceModelTest, SpecHashChangesWithEverySettingAndOnlyThen) {
  const auto base = TestCreate();
  const std::string h = model::ApplianceSpecHash(base);
  EXPECT_EQ(h.size(), 16u);
  auto same = base;
  same.reason = "another reason";
  same.registration_id = 78;  // identity, not spec: carried by its own label
  EXPECT_EQ(model::ApplianceSpecHash(same), h);
  auto reordered = base;
  std::swap(reordered.ports[0], reordered.ports[1]);
  EXPECT_EQ(model::ApplianceSpecHash(reordered), h);

  std::vector<std::function<void(model::ApplianceAction&)>> changes = {
      [](auto& a) { a.image = "nginx:1.26"; }, [](auto& a) { a.env["PASSWORD"] = "other"; },
      [](auto& a) { a.env["EXTRA"] = ""; },    [](auto& a) { a.ports[0].host = 14003; },
      [](auto& a) { a.memory_bytes = 0; },     [](auto& a) { a.cpus = 1.0; },
      [](auto& a) { a.privileged = true; },    [](auto& a) { a.command = {"/bin/sh"}; },
  };
  for (size_t i = 0; i < changes.size(); ++i) {
    auto changed = base;
    changes[i](changed);
    EXPECT_NE(model::ApplianceSpecHash(changed), h) << "change " << i;
  }
  // Field boundaries count: moving text between two env entries is a different spec.
  auto a1 = base, a2 = base;
  a1.env = {{"A", "bc"}};
  a2.env = {{"Ab", "c"}};
  EXPECT_NE(model::ApplianceSpecHash(a1), model::ApplianceSpecHash(a2));
}

TEST(ApplianceModelTest, ContainerStatesRoundTrip) {
  for (auto s : {model::ContainerState::kCreated, model::ContainerState::kRunning,
                 model::ContainerState::kPaused, model::ContainerState::kRestarting,
                 model::ContainerState::kRemoving, model::ContainerState::kExited,
                 model::ContainerState::kDead}) {
    EXPECT_EQ(model::ParseContainerState(model::ContainerStateName(s)), s);
  }
  EXPECT_EQ(model::ParseContainerState("sleeping"), std::nullopt);
}

TEST(ApplianceLabelsTest, LabelsDecodeBackToTheAction) {
  const auto a = TestCreate();
  model::ObservedContainer c;
  c.labels = ApplianceLabels(a);
  EXPECT_EQ(c.labels.at("wod.managed-by"), "paris");
  DecodeApplianceLabels(&c);
  EXPECT_FALSE(c.malformed);
  EXPECT_EQ(c.seat, 153);
  EXPECT_EQ(c.registration_id, 77);
  EXPECT_EQ(c.epoch, 2);
  EXPECT_EQ(c.workshop, "WKSHP-Docker101");
  EXPECT_EQ(c.appliance, "web");
  EXPECT_EQ(c.spec_hash, model::ApplianceSpecHash(a));
}

TEST(ApplianceLabelsTest, MissingOrGarbledLabelsMarkTheContainerMalformed) {
  for (const char* key :
       {"wod.seat", "wod.registration", "wod.epoch", "wod.workshop", "wod.appliance", "wod.spec"}) {
    model::ObservedContainer c;
    c.labels = ApplianceLabels(TestCreate());
    c.labels.erase(key);
    DecodeApplianceLabels(&c);
    EXPECT_TRUE(c.malformed) << key;
  }
  model::ObservedContainer c;
  c.labels = ApplianceLabels(TestCreate());
  c.labels["wod.seat"] = "12abc";
  DecodeApplianceLabels(&c);
  EXPECT_TRUE(c.malformed);
}

TEST(ApplianceValidateTest, RejectsWhatDockerOrWodWouldNot) {
  EXPECT_OK(ValidateApplianceAction(TestCreate(), "paris"));
  EXPECT_THAT(ValidateApplianceAction(TestCreate(), "lyon"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'paris'")));
  std::vector<std::function<void(model::ApplianceAction&)>> bad = {
      [](auto& a) { a.appliance = ""; },    [](auto& a) { a.appliance = "we b"; },
      [](auto& a) { a.appliance = "a/b"; }, [](auto& a) { a.seat = -1; },
      [](auto& a) { a.image = ""; },        [](auto& a) { a.env[""] = "x"; },
      [](auto& a) { a.env["A=B"] = "x"; },  [](auto& a) { a.env["A"] = std::string("x\0y", 3); },
      [](auto& a) { a.ports[0].host = 0; }, [](auto& a) { a.ports[0].container = 70000; },
      [](auto& a) { a.memory_bytes = -1; }, [](auto& a) { a.cpus = -0.5; },
  };
  for (size_t i = 0; i < bad.size(); ++i) {
    auto a = TestCreate();
    bad[i](a);
    EXPECT_THAT(ValidateApplianceAction(a, "paris"), StatusIs(absl::StatusCode::kInvalidArgument))
        << "case " << i;
  }
  auto a = TestCreate();
  a.env["PASSWORD"] = std::string("Xk7p\0QQ", 7);
  auto s = ValidateApplianceAction(a, "paris");
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("Xk7p"))) << "env values are secrets";
}

TEST(FakeApplianceDriverTest, FailNextFailsExactlyTheNextCallAndChangesNothing) {
  FakeApplianceDriver fake("paris", {"nginx:1.25"});
  fake.FailNext(absl::UnavailableError("engine down"));
  EXPECT_THAT(fake.Apply(TestCreate()), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_FALSE(fake.Get("wod-paris-153-web").has_value());
  EXPECT_EQ(fake.apply_count(), 0);
  ASSERT_OK(fake.Apply(TestCreate()));
  EXPECT_EQ(fake.apply_count(), 1);

  fake.FailNext(absl::AbortedError("busy"));
  EXPECT_THAT(fake.Observe(), StatusIs(absl::StatusCode::kAborted));
  ASSERT_OK_AND_ASSIGN(auto observed, fake.Observe());
  EXPECT_EQ(observed.containers.size(), 1u);
}

TEST(DockerApplianceDriverTest, MissingSocketIsUnavailable) {
  DockerApplianceDriver driver(
      {.socket_path = "/nonexistent/wod/docker.sock", .location = "paris"});
  EXPECT_THAT(driver.Observe(),
              StatusIs(absl::StatusCode::kUnavailable, HasSubstr("/nonexistent/wod/docker.sock")));
  EXPECT_THAT(driver.Apply(TestCreate()), StatusIs(absl::StatusCode::kUnavailable));
}

// A scripted Docker engine: answers each request on a unix socket with what `handler` says.
class StubEngine {
 public:
  struct Request {
    std::string method;
    std::string target;
    std::string body;
  };
  struct Reply {
    int status = 200;
    std::string body;
  };
  using Handler = std::function<Reply(const Request&)>;

  explicit StubEngine(Handler handler) : handler_(std::move(handler)) {
    char tmpl[] = "/tmp/wod-stub-engine.XXXXXX";
    dir_ = mkdtemp(tmpl);
    path_ = dir_ + "/docker.sock";
    fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    snprintf(addr.sun_path, sizeof(addr.sun_path), "%s", path_.c_str());
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 8) != 0) {
      ADD_FAILURE() << "stub engine cannot listen on " << path_;
    }
    thread_ = std::thread([this] { Serve(); });
  }
  ~StubEngine() {
    stop_ = true;
    thread_.join();
    close(fd_);
    unlink(path_.c_str());
    rmdir(dir_.c_str());
  }
  const std::string& path() const { return path_; }
  std::vector<Request> requests() {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      Handle(conn);
      close(conn);
    }
  }
  void Handle(int conn) {
    std::string in;
    char buf[4096];
    size_t header_end = std::string::npos;
    while (header_end == std::string::npos) {
      ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) return;
      in.append(buf, n);
      header_end = in.find("\r\n\r\n");
    }
    Request req;
    const std::string head = in.substr(0, header_end);
    req.method = head.substr(0, head.find(' '));
    const size_t t0 = head.find(' ') + 1;
    req.target = head.substr(t0, head.find(' ', t0) - t0);
    size_t length = 0;
    if (auto cl = head.find("Content-Length: "); cl != std::string::npos) {
      length = std::strtoul(head.c_str() + cl + 16, nullptr, 10);
    }
    req.body = in.substr(header_end + 4);
    while (req.body.size() < length) {
      ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) break;
      req.body.append(buf, n);
    }
    {
      std::lock_guard<std::mutex> lock(mu_);
      requests_.push_back(req);
    }
    const Reply reply = handler_(req);
    const std::string out = absl::StrCat(
        "HTTP/1.1 ", reply.status, " X\r\nContent-Type: application/json\r\n",
        "Content-Length: ", reply.body.size(), "\r\nConnection: close\r\n\r\n", reply.body);
    (void)!write(conn, out.data(), out.size());
  }

  Handler handler_;
  std::string dir_;
  std::string path_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<Request> requests_;
};

DockerApplianceDriver DriverFor(const StubEngine& engine) {
  return DockerApplianceDriver({.socket_path = engine.path(), .location = "paris"});
}

std::string InspectBody(const std::map<std::string, std::string>& labels) {
  nlohmann::json j = {{"Id", "abc123"}, {"Config", {{"Labels", labels}}}};
  return j.dump();
}

TEST(DockerApplianceDriverTest, ObserveSendsOneFilteredListAndKeepsOnlyOurContainers) {
  const auto ours = ApplianceLabels(TestCreate());
  StubEngine engine([&](const StubEngine::Request&) {
    nlohmann::json list = nlohmann::json::array();
    list.push_back(
        {{"Id", "1"},
         {"Names", {"/wod-paris-153-web"}},
         {"Image", "nginx:1.25"},
         {"State", "running"},
         {"Labels", ours},
         {"Ports",
          {{{"IP", "127.0.0.1"}, {"PrivatePort", 80}, {"PublicPort", 14002}, {"Type", "tcp"}},
           {{"PrivatePort", 9000}, {"Type", "tcp"}}}}});
    // An engine that ignored the filter would also send these: they must not be listed.
    list.push_back({{"Id", "2"},
                    {"Names", {"/postgres"}},
                    {"State", "running"},
                    {"Labels", nlohmann::json::object()}});
    list.push_back({{"Id", "3"},
                    {"Names", {"/wod-lyon-1-web"}},
                    {"State", "running"},
                    {"Labels", {{"wod.managed-by", "lyon"}}}});
    return StubEngine::Reply{200, list.dump()};
  });
  auto driver = DriverFor(engine);
  ASSERT_OK_AND_ASSIGN(auto observed, driver.Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  const auto& c = observed.containers[0];
  EXPECT_EQ(c.name, "wod-paris-153-web");
  EXPECT_EQ(c.state, model::ContainerState::kRunning);
  EXPECT_EQ(c.seat, 153);
  EXPECT_THAT(c.ports, ::testing::ElementsAre(model::PublishedPort{80, 14002, "127.0.0.1"}));

  auto reqs = engine.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].method, "GET");
  EXPECT_EQ(reqs[0].target,
            "/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22wod.managed-by%3Dparis%"
            "22%5D%7D");
}

TEST(DockerApplianceDriverTest, EngineErrorsMapToWhatTheControllerDoesNext) {
  struct Case {
    int status;
    absl::StatusCode code;
  };
  for (const Case& c : std::vector<Case>{{500, absl::StatusCode::kUnavailable},
                                         {503, absl::StatusCode::kUnavailable},
                                         {400, absl::StatusCode::kInvalidArgument},
                                         {403, absl::StatusCode::kPermissionDenied},
                                         {422, absl::StatusCode::kFailedPrecondition}}) {
    StubEngine engine([&](const StubEngine::Request&) {
      return StubEngine::Reply{c.status, R"({"message":"engine says no"})"};
    });
    auto driver = DriverFor(engine);
    EXPECT_THAT(driver.Observe(), StatusIs(c.code, HasSubstr("engine says no"))) << c.status;
    EXPECT_THAT(driver.Apply(TestCreate()), StatusIs(c.code)) << c.status;
  }
}

TEST(DockerApplianceDriverTest, UnparsableListIsUnavailable) {
  StubEngine engine([](const StubEngine::Request&) { return StubEngine::Reply{200, "<html>"}; });
  auto driver = DriverFor(engine);
  EXPECT_THAT(driver.Observe(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(DockerApplianceDriverTest, CreateSendsLabelsLimitsAndSecurityInOneRequest) {
  StubEngine engine([](const StubEngine::Request&) { return StubEngine::Reply{201, "{}"}; });
  auto driver = DriverFor(engine);
  ASSERT_OK(driver.Apply(TestCreate()));
  auto reqs = engine.requests();
  ASSERT_EQ(reqs.size(), 1u);
  EXPECT_EQ(reqs[0].target, "/v1.41/containers/create?name=wod-paris-153-web");
  auto body = nlohmann::json::parse(reqs[0].body);
  EXPECT_EQ(body["Image"], "nginx:1.25");
  EXPECT_EQ(body["Labels"]["wod.managed-by"], "paris");
  EXPECT_EQ(body["Labels"]["wod.registration"], "77");
  EXPECT_EQ(body["HostConfig"]["Memory"], 128 << 20);
  EXPECT_EQ(body["HostConfig"]["NanoCpus"], 1'500'000'000);
  EXPECT_EQ(body["HostConfig"]["Privileged"], false);
  EXPECT_EQ(body["HostConfig"]["RestartPolicy"]["Name"], "unless-stopped");
  EXPECT_EQ(body["HostConfig"]["SecurityOpt"][0], "no-new-privileges");
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostIp"], "127.0.0.1");
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["80/tcp"][0]["HostPort"], "14002");
  EXPECT_EQ(body["HostConfig"]["PortBindings"]["443/tcp"][0]["HostPort"], "15002");
  EXPECT_FALSE(body.contains("Cmd")) << "no command: the image's default";
}

TEST(DockerApplianceDriverTest, ConflictOnCreateIsResolvedByInspectingTheHolder) {
  struct Case {
    std::map<std::string, std::string> holder_labels;
    absl::StatusCode code;
  };
  auto same = ApplianceLabels(TestCreate());
  auto other_epoch = same;
  other_epoch["wod.epoch"] = "1";
  std::vector<Case> cases = {
      {same, absl::StatusCode::kOk},
      {other_epoch, absl::StatusCode::kAborted},
      {{{"com.example", "x"}}, absl::StatusCode::kFailedPrecondition},
  };
  for (const auto& c : cases) {
    StubEngine engine([&](const StubEngine::Request& r) {
      if (r.method == "POST") return StubEngine::Reply{409, R"({"message":"Conflict"})"};
      return StubEngine::Reply{200, InspectBody(c.holder_labels)};
    });
    auto driver = DriverFor(engine);
    EXPECT_EQ(driver.Apply(TestCreate()).code(), c.code);
    auto reqs = engine.requests();
    ASSERT_EQ(reqs.size(), 2u);
    EXPECT_EQ(reqs[1].target, "/v1.41/containers/wod-paris-153-web/json");
  }
}

TEST(DockerApplianceDriverTest, StopAndRemoveActOnTheInspectedIdOnlyWhenOurs) {
  StubEngine engine([](const StubEngine::Request& r) {
    if (r.method == "GET")
      return StubEngine::Reply{200, InspectBody({{"wod.managed-by", "paris"}})};
    return StubEngine::Reply{204, ""};
  });
  auto driver = DriverFor(engine);
  model::ApplianceAction stop;
  stop.kind = Kind::kStop;
  stop.location = "paris";
  stop.seat = 153;
  stop.appliance = "web";
  stop.stop_timeout_seconds = 7;
  ASSERT_OK(driver.Apply(stop));
  auto remove = stop;
  remove.kind = Kind::kRemove;
  ASSERT_OK(driver.Apply(remove));
  auto reqs = engine.requests();
  ASSERT_EQ(reqs.size(), 4u);
  EXPECT_EQ(reqs[1].method, "POST");
  EXPECT_EQ(reqs[1].target, "/v1.41/containers/abc123/stop?t=7");
  EXPECT_EQ(reqs[3].method, "DELETE");
  EXPECT_EQ(reqs[3].target, "/v1.41/containers/abc123?force=1&v=1");
}

}  // namespace
}  // namespace wod::drivers
