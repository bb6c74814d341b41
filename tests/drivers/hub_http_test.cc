// The real hub driver against an in-process HTTP server that answers like JupyterHub: both
// shapes of the users list and their paging, and the mapping of every HTTP answer the real
// hub 3.0 cannot be made to give on demand (429, 5xx, a pending transition) to status codes.
// Hermetic: loopback, port 0. The real hub is exercised by hub_contract_real_test.
#include <unistd.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "common/files.h"
#include "drivers/hub/hub.h"
#include "drivers/hub/hub_real.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using json = nlohmann::json;
using model::HubAction;
using model::HubServerState;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::wod::testing::StatusIs;

constexpr char kToken[] = "s3cr3t-t0ken-0123456789abcdef";

struct Recorded {
  std::string method;
  std::string path;  // with query
  std::string authorization;
  std::string accept;
};

// Answers like JupyterHub's users API. Users are json models in id order; other answers are
// scripted per "METHOD /path".
class MockHub {
 public:
  enum class ListShape { kPaginated, kPlainHonoringOffset, kPlainIgnoringOffset };

  MockHub() {
    server_.Get("/hub/api/users", [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      std::lock_guard<std::mutex> lock(mu_);
      if (Scripted("GET /hub/api/users", res)) return;
      int offset = req.has_param("offset") ? std::stoi(req.get_param_value("offset")) : 0;
      int limit = req.has_param("limit") ? std::stoi(req.get_param_value("limit")) : 200;
      limit = std::min(limit, max_limit);
      json items = json::array();
      int total = static_cast<int>(users.size());
      int begin = shape == ListShape::kPlainIgnoringOffset ? 0 : std::min(offset, total);
      int end = shape == ListShape::kPlainIgnoringOffset ? total : std::min(total, begin + limit);
      for (int i = begin; i < end; ++i) items.push_back(users[i]);
      json body = items;
      if (shape == ListShape::kPaginated) {
        json next = nullptr;
        if (end < total) {
          next = {{"offset", stuck_next ? offset : end}, {"limit", limit}, {"url", "x"}};
        }
        body = {{"items", items},
                {"_pagination",
                 {{"offset", offset}, {"limit", limit}, {"total", total}, {"next", next}}}};
      }
      res.set_content(body.dump(), "application/json");
    });
    server_.Get(R"(/hub/api/users/([^/]+))",
                [this](const httplib::Request& req, httplib::Response& res) {
                  Record(req);
                  std::lock_guard<std::mutex> lock(mu_);
                  for (const json& u : users) {
                    if (u["name"] == req.matches[1].str()) {
                      res.set_content(u.dump(), "application/json");
                      return;
                    }
                  }
                  res.status = 404;
                  res.set_content(R"({"status": 404, "message": "Not Found"})", "application/json");
                });
    auto scripted = [this](const httplib::Request& req, httplib::Response& res) {
      Record(req);
      std::lock_guard<std::mutex> lock(mu_);
      if (!Scripted(req.method + " " + req.path, res)) res.status = 599;
    };
    server_.Post(R"(/hub/api/users/.*)", scripted);
    server_.Delete(R"(/hub/api/users/.*)", scripted);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~MockHub() {
    server_.stop();
    thread_.join();
  }

  std::string url() const { return absl::StrCat("http://127.0.0.1:", port_); }
  void Answer(const std::string& key, int code, std::string body = "",
              std::chrono::milliseconds delay = std::chrono::milliseconds(0)) {
    std::lock_guard<std::mutex> lock(mu_);
    answers_[key] = Scripted_{code, std::move(body), delay};
  }
  std::vector<Recorded> requests() const {
    std::lock_guard<std::mutex> lock(mu_);
    return requests_;
  }

  // Guarded by the handlers' use of mu_; set before the driver runs.
  std::vector<json> users;
  ListShape shape = ListShape::kPaginated;
  int max_limit = 200;
  bool stuck_next = false;

 private:
  struct Scripted_ {
    int code;
    std::string body;
    std::chrono::milliseconds delay;
  };
  void Record(const httplib::Request& req) {
    std::lock_guard<std::mutex> lock(mu_);
    std::string path = req.path;
    if (!req.params.empty()) {
      path += "?";
      for (const auto& [k, v] : req.params) path += k + "=" + v + "&";
      path.pop_back();
    }
    requests_.push_back(Recorded{req.method, path, req.get_header_value("Authorization"),
                                 req.get_header_value("Accept")});
  }
  bool Scripted(const std::string& key, httplib::Response& res) {
    auto it = answers_.find(key);
    if (it == answers_.end()) return false;
    if (it->second.delay.count() > 0) std::this_thread::sleep_for(it->second.delay);
    res.status = it->second.code;
    if (!it->second.body.empty()) res.set_content(it->second.body, "application/json");
    return true;
  }

  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  mutable std::mutex mu_;
  std::map<std::string, Scripted_> answers_;
  std::vector<Recorded> requests_;
};

json UserModel(const std::string& name, HubServerState state = HubServerState::kNone,
               bool admin = false) {
  json pending = nullptr;
  json server = nullptr;
  if (state == HubServerState::kPendingStart) pending = "spawn";
  if (state == HubServerState::kPendingStop) pending = "stop";
  if (state == HubServerState::kRunning) server = "/user/" + name + "/";
  return {{"kind", "user"},
          {"name", name},
          {"admin", admin},
          {"server", server},
          {"pending", pending},
          {"last_activity", nullptr},
          {"created", "2026-11-22T02:47:39.144527Z"}};
}

std::string HubError(int code, const std::string& message) {
  return json{{"status", code}, {"message", message}}.dump();
}

class HubHttpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wod-hub-http-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    token_file_ = dir_ + "/token";
    ASSERT_OK(common::WriteFileAtomic(token_file_, std::string(kToken) + "\n", 0600));
  }
  void TearDown() override {
    unlink(token_file_.c_str());
    rmdir(dir_.c_str());
  }

  std::unique_ptr<HubReal> Driver(int page_size = 200, absl::Duration timeout = absl::Seconds(10)) {
    HubRealOptions o;
    o.url = hub_.url() + "/";
    o.token_file = token_file_;
    o.page_size = page_size;
    o.request_timeout = timeout;
    auto d = HubReal::Create(o);
    EXPECT_OK(d);
    return d.ok() ? std::move(d).value() : nullptr;
  }

  MockHub hub_;
  std::string dir_;
  std::string token_file_;
};

TEST_F(HubHttpTest, ObservePagesThroughAllUsersWithTheTokenAndPaginationAccept) {
  for (int i = 0; i < 450; ++i) hub_.users.push_back(UserModel(absl::StrCat("student", i)));
  hub_.users.push_back(UserModel("admin", HubServerState::kRunning, /*admin=*/true));
  auto driver = Driver(/*page_size=*/500);  // the hub caps it at 200

  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, driver->Observe());
  ASSERT_EQ(observed.users.size(), 450u);
  for (int i = 0; i < 450; ++i) EXPECT_EQ(observed.users[i].seat, i);
  EXPECT_THAT(observed.foreign, ElementsAre("admin"));

  // The driver keeps asking for its page size; the hub's next offset says where to go on.
  auto requests = hub_.requests();
  ASSERT_EQ(requests.size(), 3u);
  EXPECT_EQ(requests[0].path, "/hub/api/users?limit=500&offset=0");
  EXPECT_EQ(requests[1].path, "/hub/api/users?limit=500&offset=200");
  EXPECT_EQ(requests[2].path, "/hub/api/users?limit=500&offset=400");
  for (const Recorded& r : requests) {
    EXPECT_EQ(r.authorization, absl::StrCat("token ", kToken));
    EXPECT_EQ(r.accept, "application/jupyterhub-pagination+json");
  }
}

TEST_F(HubHttpTest, ObserveReadsServerStatesAdminAndLastActivity) {
  hub_.users = {UserModel("student1"), UserModel("student2", HubServerState::kPendingStart),
                UserModel("student3", HubServerState::kRunning, /*admin=*/true),
                UserModel("student4", HubServerState::kPendingStop)};
  hub_.users[2]["last_activity"] = "2026-11-22T02:47:46.456346Z";
  hub_.users[3]["last_activity"] = "2026-11-22T02:47:46";  // older hubs: no zone, UTC
  auto driver = Driver();

  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, driver->Observe());
  ASSERT_EQ(observed.users.size(), 4u);
  EXPECT_EQ(observed.users[0].server, HubServerState::kNone);
  EXPECT_EQ(observed.users[1].server, HubServerState::kPendingStart);
  EXPECT_EQ(observed.users[2].server, HubServerState::kRunning);
  EXPECT_EQ(observed.users[3].server, HubServerState::kPendingStop);
  EXPECT_FALSE(observed.users[0].admin);
  EXPECT_TRUE(observed.users[2].admin);
  EXPECT_FALSE(observed.users[0].last_activity.has_value());
  absl::Time want = absl::FromUnixMicros(1'795'315'666'456'346);  // 2026-11-22T02:47:46.456346Z
  ASSERT_TRUE(observed.users[2].last_activity.has_value());
  EXPECT_EQ(*observed.users[2].last_activity, want);
  ASSERT_TRUE(observed.users[3].last_activity.has_value());
  EXPECT_EQ(*observed.users[3].last_activity, absl::FromUnixSeconds(1'795'315'666));
}

TEST_F(HubHttpTest, ObserveReadsAPlainListPageByPage) {
  hub_.shape = MockHub::ListShape::kPlainHonoringOffset;
  for (int i = 0; i < 5; ++i) hub_.users.push_back(UserModel(absl::StrCat("student", i)));
  auto driver = Driver(/*page_size=*/2);

  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, driver->Observe());
  EXPECT_EQ(observed.users.size(), 5u);
  EXPECT_EQ(hub_.requests().size(), 4u);  // 2 + 2 + 1, then an empty page ends it
}

TEST_F(HubHttpTest, ObserveStopsWhenAPlainListIgnoresOffset) {
  hub_.shape = MockHub::ListShape::kPlainIgnoringOffset;
  for (int i = 0; i < 5; ++i) hub_.users.push_back(UserModel(absl::StrCat("student", i)));
  auto driver = Driver(/*page_size=*/2);

  ASSERT_OK_AND_ASSIGN(model::ObservedHub observed, driver->Observe());
  EXPECT_EQ(observed.users.size(), 5u);
  EXPECT_EQ(hub_.requests().size(), 2u);  // the second page brought nothing new
}

TEST_F(HubHttpTest, ObserveFailsWhenTheNextOffsetDoesNotAdvance) {
  hub_.stuck_next = true;
  for (int i = 0; i < 5; ++i) hub_.users.push_back(UserModel(absl::StrCat("student", i)));
  auto driver = Driver(/*page_size=*/2);
  EXPECT_THAT(driver->Observe(), StatusIs(absl::StatusCode::kUnavailable));
}

TEST_F(HubHttpTest, ObserveMapsHttpErrors) {
  struct Case {
    int code;
    absl::StatusCode want;
  };
  for (Case c :
       {Case{403, absl::StatusCode::kPermissionDenied},
        Case{401, absl::StatusCode::kPermissionDenied},
        Case{404, absl::StatusCode::kFailedPrecondition}, Case{429, absl::StatusCode::kUnavailable},
        Case{500, absl::StatusCode::kUnavailable}, Case{502, absl::StatusCode::kUnavailable},
        Case{302, absl::StatusCode::kFailedPrecondition}}) {
    hub_.Answer("GET /hub/api/users", c.code, HubError(c.code, "no"));
    EXPECT_THAT(Driver()->Observe(), StatusIs(c.want)) << "http " << c.code;
  }
  hub_.Answer("GET /hub/api/users", 200, "<html>proxy error</html>");
  EXPECT_THAT(Driver()->Observe(), StatusIs(absl::StatusCode::kUnavailable));
}

struct ApplyCase {
  const char* name;
  HubAction::Kind kind;
  int code;
  std::string current_state;  // GET of the user afterwards: "", "missing", or a state name
  absl::StatusCode want;
};

class HubHttpApplyTest : public HubHttpTest, public ::testing::WithParamInterface<ApplyCase> {};

TEST_P(HubHttpApplyTest, MapsTheAnswer) {
  const ApplyCase& c = GetParam();
  const char* method =
      c.kind == HubAction::Kind::kCreateUser || c.kind == HubAction::Kind::kStartServer ? "POST"
                                                                                        : "DELETE";
  const char* path =
      c.kind == HubAction::Kind::kCreateUser || c.kind == HubAction::Kind::kDeleteUser
          ? "/hub/api/users/student7"
          : "/hub/api/users/student7/server";
  hub_.Answer(absl::StrCat(method, " ", path), c.code, HubError(c.code, "answer"));
  if (c.current_state == "none") hub_.users = {UserModel("student7")};
  if (c.current_state == "running") {
    hub_.users = {UserModel("student7", HubServerState::kRunning)};
  }
  if (c.current_state == "pending-start") {
    hub_.users = {UserModel("student7", HubServerState::kPendingStart)};
  }
  if (c.current_state == "pending-stop") {
    hub_.users = {UserModel("student7", HubServerState::kPendingStop)};
  }
  auto driver = Driver();
  HubAction action{c.kind, 7, "test"};
  EXPECT_THAT(driver->Apply(action), StatusIs(c.want));
  auto requests = hub_.requests();
  ASSERT_FALSE(requests.empty());
  EXPECT_EQ(requests[0].method, method);
  EXPECT_EQ(requests[0].path, path);
}

using K = HubAction::Kind;
using C = absl::StatusCode;
INSTANTIATE_TEST_SUITE_P(
    Codes, HubHttpApplyTest,
    ::testing::Values(
        ApplyCase{"CreateCreated", K::kCreateUser, 201, "", C::kOk},
        ApplyCase{"CreateExists", K::kCreateUser, 409, "", C::kOk},
        ApplyCase{"CreateNoAccount", K::kCreateUser, 400, "", C::kFailedPrecondition},
        ApplyCase{"CreateUnauthorized", K::kCreateUser, 401, "", C::kPermissionDenied},
        ApplyCase{"CreateForbidden", K::kCreateUser, 403, "", C::kPermissionDenied},
        ApplyCase{"CreateNotFound", K::kCreateUser, 404, "", C::kNotFound},
        ApplyCase{"CreateTooMany", K::kCreateUser, 429, "", C::kUnavailable},
        ApplyCase{"CreateServerError", K::kCreateUser, 500, "", C::kUnavailable},
        ApplyCase{"CreateBadGateway", K::kCreateUser, 503, "", C::kUnavailable},
        ApplyCase{"CreateRedirect", K::kCreateUser, 302, "", C::kFailedPrecondition},
        ApplyCase{"DeleteDeleted", K::kDeleteUser, 204, "", C::kOk},
        ApplyCase{"DeleteMissing", K::kDeleteUser, 404, "", C::kOk},
        ApplyCase{"DeleteWhileStopping", K::kDeleteUser, 400, "", C::kUnavailable},
        ApplyCase{"DeleteForbidden", K::kDeleteUser, 403, "", C::kPermissionDenied},
        ApplyCase{"DeleteServerError", K::kDeleteUser, 500, "", C::kUnavailable},
        ApplyCase{"StartStarted", K::kStartServer, 201, "", C::kOk},
        ApplyCase{"StartPending", K::kStartServer, 202, "", C::kOk},
        ApplyCase{"StartNoUser", K::kStartServer, 404, "", C::kNotFound},
        ApplyCase{"StartAlreadyRunning", K::kStartServer, 400, "running", C::kOk},
        ApplyCase{"StartAlreadyStarting", K::kStartServer, 400, "pending-start", C::kOk},
        ApplyCase{"StartWhileStopping", K::kStartServer, 400, "pending-stop", C::kUnavailable},
        ApplyCase{"StartRefused", K::kStartServer, 400, "none", C::kInvalidArgument},
        ApplyCase{"StartSpawnFailed", K::kStartServer, 500, "", C::kUnavailable},
        ApplyCase{"StartTooMany", K::kStartServer, 429, "", C::kUnavailable},
        ApplyCase{"StartForbidden", K::kStartServer, 403, "", C::kPermissionDenied},
        ApplyCase{"StopStopped", K::kStopServer, 204, "", C::kOk},
        ApplyCase{"StopPending", K::kStopServer, 202, "", C::kOk},
        ApplyCase{"StopWhileStarting", K::kStopServer, 400, "pending-start", C::kUnavailable},
        ApplyCase{"StopMissingUser", K::kStopServer, 500, "missing", C::kOk},
        ApplyCase{"StopAlreadyStopped", K::kStopServer, 400, "none", C::kOk},
        ApplyCase{"StopFailedWhileRunning", K::kStopServer, 500, "running", C::kUnavailable},
        ApplyCase{"StopForbidden", K::kStopServer, 403, "", C::kPermissionDenied}),
    [](const ::testing::TestParamInfo<ApplyCase>& info) { return std::string(info.param.name); });

TEST_F(HubHttpTest, ErrorsNeverCarryTheToken) {
  std::string echo = HubError(403, absl::StrCat("token ", kToken, " is not allowed"));
  hub_.Answer("GET /hub/api/users", 403, echo);
  hub_.Answer("POST /hub/api/users/student1", 403, echo);
  auto driver = Driver();
  auto observed = driver->Observe();
  ASSERT_THAT(observed, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(observed.status().message()), Not(HasSubstr(kToken)));
  absl::Status s = driver->Apply(HubAction::CreateUser(1, "test"));
  ASSERT_THAT(s, StatusIs(absl::StatusCode::kPermissionDenied));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr(kToken)));
  EXPECT_THAT(std::string(s.message()), HasSubstr("is not allowed"));
}

TEST_F(HubHttpTest, ASlowHubTimesOutAsUnavailableWithinTheRequestTimeout) {
  hub_.Answer("POST /hub/api/users/student1/server", 201, "", std::chrono::milliseconds(3000));
  auto driver = Driver(200, absl::Milliseconds(500));
  absl::Time start = absl::Now();
  EXPECT_THAT(driver->Apply(HubAction::StartServer(1, "test")),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
}

TEST_F(HubHttpTest, OneDriverServesSeveralThreadsAtOnce) {
  // The controller applies actions of different seats concurrently through one driver.
  for (int seat = 0; seat < 4; ++seat) {
    hub_.Answer(absl::StrCat("POST /hub/api/users/student", seat), 201);
  }
  auto driver = Driver();
  std::vector<std::thread> threads;
  std::vector<int> failures(4, 0);
  for (int seat = 0; seat < 4; ++seat) {
    threads.emplace_back([&driver, &failures, seat] {
      for (int i = 0; i < 10; ++i) {
        if (!driver->Apply(HubAction::CreateUser(seat, "test")).ok()) ++failures[seat];
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_THAT(failures, ::testing::Each(0));
  EXPECT_EQ(hub_.requests().size(), 40u);
}

TEST(HubRealCreateTest, RejectsBadUrlsTokenFilesAndPrefixes) {
  char tmpl[] = "/tmp/wod-hub-create-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string good = dir + "/good", empty = dir + "/empty", two = dir + "/two";
  ASSERT_OK(common::WriteFileAtomic(good, "abc\n", 0600));
  ASSERT_OK(common::WriteFileAtomic(empty, " \n", 0600));
  ASSERT_OK(common::WriteFileAtomic(two, "abc\ndef\n", 0600));

  auto make = [](std::string url, std::string file, std::string prefix = "student") {
    HubRealOptions o;
    o.url = std::move(url);
    o.token_file = std::move(file);
    o.policy.user_prefix = std::move(prefix);
    return HubReal::Create(o).status();
  };
  EXPECT_OK(make("http://127.0.0.1:8000", good));
  EXPECT_OK(make("https://hub.example.org/jupyter/", good));
  EXPECT_THAT(make("127.0.0.1:8000", good), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("ftp://host", good), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("http://user:pw@host", good), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("http://host/?x=1", good), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("http://127.0.0.1:8000", dir + "/missing"),
              StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(make("http://127.0.0.1:8000", empty), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("http://127.0.0.1:8000", two), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("http://127.0.0.1:8000", good, "Student"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(make("http://127.0.0.1:8000", good, "stu/dent"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  for (const std::string& f : {good, empty, two}) unlink(f.c_str());
  rmdir(dir.c_str());
}

TEST(HubParseTest, ReadsTheServerFromServersWhenPendingAndServerAreHidden) {
  // A token with read:servers but not read:users sees only `servers`.
  ASSERT_OK_AND_ASSIGN(
      hub_internal::HubUserRecord r,
      hub_internal::ParseUser(R"({"name": "student1", "servers": {"": {"ready": true,
                                  "pending": null}}})"));
  EXPECT_EQ(r.server, HubServerState::kRunning);
  ASSERT_OK_AND_ASSIGN(r, hub_internal::ParseUser(
                              R"({"name": "student1", "servers": {"": {"ready": false,
                                  "pending": "spawn"}}})"));
  EXPECT_EQ(r.server, HubServerState::kPendingStart);
  ASSERT_OK_AND_ASSIGN(r, hub_internal::ParseUser(R"({"name": "student1", "servers": {}})"));
  EXPECT_EQ(r.server, HubServerState::kNone);
}

TEST(HubParseTest, RejectsBodiesThatAreNotUsers) {
  EXPECT_THAT(hub_internal::ParseUsersPage("not json"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(hub_internal::ParseUsersPage(R"({"users": []})"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(hub_internal::ParseUsersPage(R"([{"admin": false}])"),
              StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_THAT(hub_internal::ParseUsersPage(R"([42])"), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_EQ(hub_internal::HubErrorMessage(R"({"status": 400, "message": "Failed"})"), "Failed");
  EXPECT_EQ(hub_internal::HubErrorMessage("<html>"), "");
}

TEST(HubPolicyTest, NamesSeatsWithoutLeadingZerosOrOtherCharacters) {
  model::HubPolicy p;
  EXPECT_EQ(p.UserName(7), "student7");
  EXPECT_EQ(p.SeatOfName("student7"), 7);
  EXPECT_EQ(p.SeatOfName("student0"), 0);
  EXPECT_EQ(p.SeatOfName("student123456789"), 123456789);
  EXPECT_EQ(p.SeatOfName("student07"), std::nullopt);
  EXPECT_EQ(p.SeatOfName("student"), std::nullopt);
  EXPECT_EQ(p.SeatOfName("student7a"), std::nullopt);
  EXPECT_EQ(p.SeatOfName("student1234567890"), std::nullopt);
  EXPECT_EQ(p.SeatOfName("admin"), std::nullopt);
  EXPECT_EQ(p.SeatOfName("Student7"), std::nullopt);
  p.user_prefix = "wod";
  EXPECT_EQ(p.SeatOfName("wod12"), 12);
  EXPECT_EQ(p.SeatOfName("student12"), std::nullopt);
}

}  // namespace
}  // namespace wod::drivers
