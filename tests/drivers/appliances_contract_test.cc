// The appliances driver contract, held against the in-memory fake (target
// appliances_test, hermetic) and against a real Docker engine (target
// appliances_docker_test, label `docker`, compiled with WOD_APPLIANCES_REAL): idempotent
// actions applied twice, labels and settings read back, ownership (foreign containers are
// never listed or touched) and the error codes the controller acts on.
#include <unistd.h>

#include <atomic>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "drivers/appliances/appliances_fake.h"
#include "drivers/appliances/appliances_real.h"
#include "drivers/appliances/docker_client.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Pair;
using ::wod::testing::StatusIs;
using Kind = model::ApplianceAction::Kind;
using json = nlohmann::json;

// What a container was created with, read back from the engine (or the fake) directly rather
// than through the driver under test.
struct ContainerDetails {
  std::string image;
  std::string state;
  std::vector<std::string> cmd;
  std::map<std::string, std::string> env;
  std::map<std::string, std::string> labels;
  std::vector<model::PublishedPort> bindings;
  int64_t memory = 0;
  int64_t nano_cpus = 0;
  int64_t pids_limit = 0;
  bool privileged = false;
  std::string restart_policy;
  std::vector<std::string> security_opt;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual ApplianceDriver& driver() = 0;
  virtual std::string image() const = 0;
  // Creates a container directly, bypassing the driver: a stand-in for anything not ours.
  virtual absl::Status AddForeign(const std::string& name,
                                  const std::map<std::string, std::string>& labels) = 0;
  // nullopt when the engine has no container of that name.
  virtual std::optional<ContainerDetails> Inspect(const std::string& name) = 0;
};

class FakeBackend : public Backend {
 public:
  explicit FakeBackend(const std::string& location)
      : fake_(location, {"wod-test/busybox:latest"}) {}
  ApplianceDriver& driver() override { return fake_; }
  std::string image() const override { return "wod-test/busybox:latest"; }
  absl::Status AddForeign(const std::string& name,
                          const std::map<std::string, std::string>& labels) override {
    fake_.AddForeignContainer(name, image(), labels);
    return absl::OkStatus();
  }
  std::optional<ContainerDetails> Inspect(const std::string& name) override {
    auto c = fake_.Get(name);
    if (!c) return std::nullopt;
    ContainerDetails d;
    d.image = c->image;
    d.state = model::ContainerStateName(c->state);
    d.cmd = c->command;
    d.env = c->env;
    d.labels = c->labels;
    d.bindings = c->port_bindings;
    d.memory = c->memory_bytes;
    d.nano_cpus = c->nano_cpus;
    d.pids_limit = c->pids_limit;
    d.privileged = c->privileged;
    d.restart_policy = c->restart_policy;
    d.security_opt = c->security_opt;
    return d;
  }

 private:
  FakeApplianceDriver fake_;
};

class DockerBackend : public Backend {
 public:
  DockerBackend(const std::string& socket, std::string image, const std::string& location)
      : image_(std::move(image)),
        location_(location),
        client_(socket, "v1.41", absl::Seconds(30)),
        driver_(DockerOptions{.socket_path = socket, .location = location}) {}

  // Removes whatever the test left: its location's containers and the foreign ones it made.
  ~DockerBackend() override {
    const std::string filter =
        json{{"label", json::array({absl::StrCat("wod.managed-by=", location_)})}}.dump();
    auto r = client_.Send("GET", "/containers/json?all=1&filters=" + UrlEncode(filter));
    std::vector<std::string> ids = foreign_;
    if (r.ok() && r->status == 200) {
      json list = json::parse(r->body, nullptr, false);
      if (list.is_array()) {
        for (const auto& c : list) ids.push_back(c.value("Id", ""));
      }
    }
    for (const auto& id : ids) {
      (void)client_.Send("DELETE", "/containers/" + UrlEncode(id) + "?force=1&v=1");
    }
  }

  ApplianceDriver& driver() override { return driver_; }
  std::string image() const override { return image_; }

  absl::Status AddForeign(const std::string& name,
                          const std::map<std::string, std::string>& labels) override {
    json body = {{"Image", image_}, {"Labels", labels}};
    auto r = client_.Send("POST", "/containers/create?name=" + UrlEncode(name), body.dump());
    if (!r.ok()) return r.status();
    if (r->status != 201) return absl::InternalError("foreign create: " + r->body);
    foreign_.push_back(name);
    return absl::OkStatus();
  }

  std::optional<ContainerDetails> Inspect(const std::string& name) override {
    auto r = client_.Send("GET", "/containers/" + UrlEncode(name) + "/json");
    if (!r.ok() || r->status != 200) return std::nullopt;
    json j = json::parse(r->body, nullptr, false);
    if (j.is_discarded()) return std::nullopt;
    ContainerDetails d;
    const json& config = j["Config"];
    const json& host = j["HostConfig"];
    d.image = config.value("Image", "");
    d.state = j["State"].value("Status", "");
    if (config["Cmd"].is_array()) d.cmd = config["Cmd"].get<std::vector<std::string>>();
    if (config["Env"].is_array()) {
      for (const auto& e : config["Env"]) {
        std::string s = e.get<std::string>();
        auto eq = s.find('=');
        d.env[s.substr(0, eq)] = eq == std::string::npos ? "" : s.substr(eq + 1);
      }
    }
    if (config["Labels"].is_object()) {
      d.labels = config["Labels"].get<std::map<std::string, std::string>>();
    }
    if (host["PortBindings"].is_object()) {
      for (const auto& [key, list] : host["PortBindings"].items()) {
        for (const auto& b : list) {
          d.bindings.push_back(
              {std::stoi(key), std::stoi(b.value("HostPort", "0")), b.value("HostIp", "")});
        }
      }
    }
    d.memory = host.value("Memory", int64_t{0});
    d.nano_cpus = host.value("NanoCpus", int64_t{0});
    if (host["PidsLimit"].is_number_integer()) d.pids_limit = host["PidsLimit"].get<int64_t>();
    d.privileged = host.value("Privileged", false);
    d.restart_policy = host["RestartPolicy"].value("Name", "");
    if (host["SecurityOpt"].is_array()) {
      d.security_opt = host["SecurityOpt"].get<std::vector<std::string>>();
    }
    return d;
  }

 private:
  std::string image_;
  std::string location_;
  DockerClient client_;
  DockerApplianceDriver driver_;
  std::vector<std::string> foreign_;
};

// A location name no other test (or run) uses, so tests never see each other's containers.
std::string UniqueLocation() {
  static std::atomic<int> counter{0};
  return absl::StrCat("ct", getpid(), "x", counter++);
}

class ApplianceContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    location_ = UniqueLocation();
    if (GetParam() == "fake") {
      backend_ = std::make_unique<FakeBackend>(location_);
    } else {
      WOD_REQUIRE_SERVICE(socket, "WOD_TEST_DOCKER_SOCKET", "a Docker engine");
      WOD_REQUIRE_SERVICE(image, "WOD_TEST_DOCKER_IMAGE", "a Docker test image");
      backend_ = std::make_unique<DockerBackend>(socket, image, location_);
    }
  }

  ApplianceDriver& driver() { return backend_->driver(); }

  model::ApplianceAction Action(Kind kind, int seat = 3, std::string appliance = "web") {
    model::ApplianceAction a;
    a.kind = kind;
    a.location = location_;
    a.seat = seat;
    a.appliance = std::move(appliance);
    a.reason = "contract test";
    return a;
  }

  model::ApplianceAction Create(int seat = 3, int64_t registration = 41, int64_t epoch = 0) {
    model::ApplianceAction a = Action(Kind::kCreate, seat);
    a.workshop = "WKSHP-Contract";
    a.registration_id = registration;
    a.epoch = epoch;
    a.image = backend_->image();
    a.env = {{"STDID", absl::StrCat(seat)}, {"GREETING", "héllo wörld"}, {"PASSSTU", "s3cret"}};
    // Host ports in a band unlikely to be in use; the engine only binds them while running.
    a.ports = {{8080, 23000 + seat, ""}};
    a.memory_bytes = 64 << 20;
    a.cpus = 0.5;
    return a;
  }

  std::string Name(int seat = 3, const std::string& appliance = "web") {
    return model::ApplianceContainerName(location_, seat, appliance);
  }

  std::string location_;
  std::unique_ptr<Backend> backend_;
};

TEST_P(ApplianceContractTest, ANewLocationOwnsNothing) {
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  EXPECT_THAT(observed.containers, IsEmpty());
}

TEST_P(ApplianceContractTest, CreateTwiceMakesOneContainerWithItsLabels) {
  const auto create = Create();
  ASSERT_OK(driver().Apply(create));
  ASSERT_OK(driver().Apply(create));

  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  const auto& c = observed.containers[0];
  EXPECT_EQ(c.name, Name());
  EXPECT_FALSE(c.id.empty());
  EXPECT_EQ(c.image, backend_->image());
  EXPECT_EQ(c.state, model::ContainerState::kCreated);
  EXPECT_EQ(c.seat, 3);
  EXPECT_EQ(c.registration_id, 41);
  EXPECT_EQ(c.epoch, 0);
  EXPECT_EQ(c.workshop, "WKSHP-Contract");
  EXPECT_EQ(c.appliance, "web");
  EXPECT_EQ(c.spec_hash, model::ApplianceSpecHash(create));
  EXPECT_FALSE(c.malformed);
  EXPECT_THAT(c.labels, Contains(Pair("wod.managed-by", location_)));
  EXPECT_THAT(c.ports, IsEmpty()) << "a created container publishes nothing yet";
}

TEST_P(ApplianceContractTest, CreateSetsEnvPortsLimitsAndSecurity) {
  ASSERT_OK(driver().Apply(Create(5)));
  auto d = backend_->Inspect(Name(5));
  ASSERT_TRUE(d.has_value());
  EXPECT_THAT(d->env, Contains(Pair("STDID", "5")));
  EXPECT_THAT(d->env, Contains(Pair("GREETING", "héllo wörld")));
  EXPECT_THAT(d->env, Contains(Pair("PASSSTU", "s3cret")));
  EXPECT_THAT(d->bindings, ElementsAre(model::PublishedPort{8080, 23005, "127.0.0.1"}));
  EXPECT_EQ(d->memory, 64 << 20);
  EXPECT_EQ(d->nano_cpus, 500'000'000);
  EXPECT_EQ(d->pids_limit, kAppliancePidsLimit) << "no fork bomb takes the backend";
  EXPECT_FALSE(d->privileged);
  EXPECT_EQ(d->restart_policy, "unless-stopped");
  EXPECT_THAT(d->security_opt, Contains("no-new-privileges"));
  EXPECT_THAT(d->labels, Contains(Pair("wod.registration", "41")));
  EXPECT_THAT(d->labels, Contains(Pair("wod.seat", "5")));
}

TEST_P(ApplianceContractTest, PrivilegedAndCommandOnlyWhenAsked) {
  auto create = Create(6);
  create.privileged = true;
  create.command = {"/bin/sleep", "300"};
  ASSERT_OK(driver().Apply(create));
  auto d = backend_->Inspect(Name(6));
  ASSERT_TRUE(d.has_value());
  EXPECT_TRUE(d->privileged);
  EXPECT_THAT(d->cmd, ElementsAre("/bin/sleep", "300"));
}

TEST_P(ApplianceContractTest, StartTwiceRunsItAndPublishesItsPort) {
  ASSERT_OK(driver().Apply(Create()));
  ASSERT_OK(driver().Apply(Action(Kind::kStart)));
  ASSERT_OK(driver().Apply(Action(Kind::kStart)));  // already running: success
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  EXPECT_EQ(observed.containers[0].state, model::ContainerState::kRunning);
  EXPECT_TRUE(observed.containers[0].running());
  EXPECT_THAT(observed.containers[0].ports,
              ElementsAre(model::PublishedPort{8080, 23003, "127.0.0.1"}));
}

TEST_P(ApplianceContractTest, StopTwiceThenRemoveTwice) {
  // Seat 7: its own host port, so this test can run beside the one above (ctest -j).
  ASSERT_OK(driver().Apply(Create(7)));
  ASSERT_OK(driver().Apply(Action(Kind::kStart, 7)));
  auto stop = Action(Kind::kStop, 7);
  stop.stop_timeout_seconds = 1;
  ASSERT_OK(driver().Apply(stop));
  ASSERT_OK(driver().Apply(stop));
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  EXPECT_EQ(observed.containers[0].state, model::ContainerState::kExited);
  EXPECT_THAT(observed.containers[0].ports, IsEmpty());

  // A stopped container starts again: unless-stopped only matters across engine restarts.
  ASSERT_OK(driver().Apply(Action(Kind::kStart, 7)));
  ASSERT_OK_AND_ASSIGN(observed, driver().Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  EXPECT_EQ(observed.containers[0].state, model::ContainerState::kRunning);

  ASSERT_OK(driver().Apply(Action(Kind::kRemove, 7)));  // removes a running one too (force)
  ASSERT_OK(driver().Apply(Action(Kind::kRemove, 7)));
  ASSERT_OK_AND_ASSIGN(observed, driver().Observe());
  EXPECT_THAT(observed.containers, IsEmpty());
  EXPECT_FALSE(backend_->Inspect(Name(7)).has_value());
}

TEST_P(ApplianceContractTest, StopAndRemoveOfAnAbsentContainerSucceed) {
  EXPECT_OK(driver().Apply(Action(Kind::kStop)));
  EXPECT_OK(driver().Apply(Action(Kind::kRemove)));
}

TEST_P(ApplianceContractTest, StartOfAnAbsentContainerAsksToReplan) {
  EXPECT_THAT(driver().Apply(Action(Kind::kStart)), StatusIs(absl::StatusCode::kAborted));
}

TEST_P(ApplianceContractTest, CreateOverAnotherRegistrationOrEpochAsksToReplan) {
  ASSERT_OK(driver().Apply(Create(3, /*registration=*/41, /*epoch=*/0)));
  EXPECT_THAT(driver().Apply(Create(3, /*registration=*/42, /*epoch=*/0)),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("registration 41")));
  EXPECT_THAT(driver().Apply(Create(3, /*registration=*/41, /*epoch=*/1)),
              StatusIs(absl::StatusCode::kAborted, HasSubstr("epoch 0")));
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  ASSERT_EQ(observed.containers.size(), 1u);
  EXPECT_EQ(observed.containers[0].registration_id, 41) << "the existing container is kept";
}

TEST_P(ApplianceContractTest, MissingImageIsAFailedPreconditionNamingIt) {
  auto create = Create();
  create.image = "wod-test/not-there:1.0";
  EXPECT_THAT(driver().Apply(create),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("wod-test/not-there:1.0")));
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  EXPECT_THAT(observed.containers, IsEmpty());
}

TEST_P(ApplianceContractTest, ForeignContainersAreNeverListedOrTouched) {
  // One without any wod label that happens to hold our name, one of another location.
  const std::string squatter = Name(1);
  const std::string neighbour = model::ApplianceContainerName(location_ + "o", 1, "web");
  ASSERT_OK(backend_->AddForeign(squatter, {{"owner", "someone-else"}}));
  ASSERT_OK(
      backend_->AddForeign(neighbour, {{"wod.managed-by", location_ + "o"}, {"wod.seat", "1"}}));

  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  EXPECT_THAT(observed.containers, IsEmpty());

  for (Kind kind : {Kind::kStart, Kind::kStop, Kind::kRemove}) {
    EXPECT_THAT(driver().Apply(Action(kind, 1)),
                StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr(squatter)))
        << model::ApplianceActionKindName(kind);
  }
  EXPECT_THAT(driver().Apply(Create(1)), StatusIs(absl::StatusCode::kFailedPrecondition));

  auto s = backend_->Inspect(squatter);
  ASSERT_TRUE(s.has_value()) << "the foreign container must survive";
  EXPECT_EQ(s->state, "created") << "and must not have been started";
  EXPECT_THAT(s->labels, Contains(Pair("owner", "someone-else")));
  EXPECT_TRUE(backend_->Inspect(neighbour).has_value());
}

TEST_P(ApplianceContractTest, ActionsForAnotherLocationOrWithBadFieldsAreRejected) {
  auto other = Create();
  other.location = location_ + "o";
  EXPECT_THAT(driver().Apply(other), StatusIs(absl::StatusCode::kInvalidArgument));
  auto bad_env = Create();
  bad_env.env["A=B"] = "x";
  EXPECT_THAT(driver().Apply(bad_env), StatusIs(absl::StatusCode::kInvalidArgument));
  auto bad_name = Create();
  bad_name.appliance = "web/../x";
  EXPECT_THAT(driver().Apply(bad_name), StatusIs(absl::StatusCode::kInvalidArgument));
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  EXPECT_THAT(observed.containers, IsEmpty());
}

TEST_P(ApplianceContractTest, SeveralSeatsAndAppliancesAreListedSortedByName) {
  ASSERT_OK(driver().Apply(Create(4)));
  auto db = Create(4);
  db.appliance = "db";
  db.ports = {};
  ASSERT_OK(driver().Apply(db));
  ASSERT_OK(driver().Apply(Create(2)));
  ASSERT_OK_AND_ASSIGN(auto observed, driver().Observe());
  std::vector<std::string> names;
  for (const auto& c : observed.containers) names.push_back(c.name);
  EXPECT_THAT(names, ElementsAre(Name(2), Name(4, "db"), Name(4)));
  ASSERT_NE(observed.Find(Name(4, "db")), nullptr);
  EXPECT_EQ(observed.Find(Name(4, "db"))->appliance, "db");
}

#ifdef WOD_APPLIANCES_REAL
INSTANTIATE_TEST_SUITE_P(Backends, ApplianceContractTest, ::testing::Values("docker"),
                         [](const auto& info) { return info.param; });
#else
INSTANTIATE_TEST_SUITE_P(Backends, ApplianceContractTest, ::testing::Values("fake"),
                         [](const auto& info) { return info.param; });
#endif

}  // namespace
}  // namespace wod::drivers
