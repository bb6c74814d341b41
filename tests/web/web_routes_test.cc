// The web routes of api::Server over HTTP: every page and asset comes from the embedded files
// (byte for byte), with the Content-Security-Policy that forbids inline and foreign scripts,
// revalidation by a strong ETag (304), no-store and no-referrer on the participant page
// (its URL holds the token), and the API's JSON 404 for anything unknown.
#include <httplib.h>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "api/config.h"
#include "api/server.h"
#include "api/web_assets.h"
#include "common/clock.h"
#include "store/store.h"
#include "tests/api/api_test_util.h"
#include "tests/testing/status_matchers.h"

namespace wod::api {
namespace {

using ::testing::HasSubstr;

class WebRoutesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "/wod_web_routes_" + std::to_string(getpid());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    auto store = store::OpenStore("sqlite:" + dir_ + "/wod.db");
    ASSERT_OK(store);
    store_ = std::move(*store);
    running_ = testing::StartServer(store_.get(), ServerConfig{}, common::RealClock::Get());
    ASSERT_NE(running_, nullptr);
  }
  void TearDown() override {
    running_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }
  httplib::Client& client() { return *running_->client; }

  std::string dir_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<testing::Running> running_;
};

TEST_F(WebRoutesTest, EveryAssetIsServedAsEmbeddedWithItsTypeAndPolicy) {
  ASSERT_FALSE(WebAssets().empty());
  for (const WebAsset& a : WebAssets()) {
    auto res = client().Get("/assets/" + std::string(a.name));
    ASSERT_TRUE(res) << a.name;
    EXPECT_EQ(res->status, 200) << a.name;
    EXPECT_EQ(res->body, a.body) << a.name;
    EXPECT_EQ(res->get_header_value("Content-Type"), a.content_type) << a.name;
    EXPECT_EQ(res->get_header_value("ETag"), a.etag) << a.name;
    EXPECT_EQ(res->get_header_value("X-Content-Type-Options"), "nosniff") << a.name;
    EXPECT_THAT(res->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"))
        << a.name;
  }
  EXPECT_EQ(FindWebAsset("app.css")->content_type, "text/css; charset=utf-8");
  EXPECT_EQ(FindWebAsset("no-such-file"), nullptr);
}

TEST_F(WebRoutesTest, PagesAreTheirHtmlFiles) {
  const struct {
    std::string path, file;
  } cases[] = {{"/", "index.html"},
               {"/workshops/WKSHP-Anything", "index.html"},
               {"/p/some-token", "participant.html"}};
  for (const auto& c : cases) {
    auto res = client().Get(c.path);
    ASSERT_TRUE(res) << c.path;
    EXPECT_EQ(res->status, 200) << c.path;
    EXPECT_EQ(res->body, FindWebAsset(c.file)->body) << c.path;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/html; charset=utf-8") << c.path;
    EXPECT_THAT(res->get_header_value("Content-Security-Policy"), HasSubstr("default-src 'self'"))
        << c.path;
  }
}

TEST_F(WebRoutesTest, AnUnchangedAssetIsAnswered304ByItsEtag) {
  auto first = client().Get("/assets/app.css");
  ASSERT_TRUE(first);
  const std::string etag = first->get_header_value("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(first->get_header_value("Cache-Control"), "no-cache");
  auto again = client().Get("/assets/app.css", {{"If-None-Match", etag}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 304);
  EXPECT_TRUE(again->body.empty());
  auto other = client().Get("/assets/app.css", {{"If-None-Match", "\"stale\""}});
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
}

TEST_F(WebRoutesTest, ParticipantPageIsNeverStoredAndSendsNoReferrer) {
  auto res = client().Get("/p/secret-token");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(res->get_header_value("Referrer-Policy"), "no-referrer");
  EXPECT_FALSE(res->has_header("ETag"));
  EXPECT_THAT(res->body, ::testing::Not(HasSubstr("secret-token")));
}

TEST_F(WebRoutesTest, UnknownAssetsAndApiPathsAnswerTheApiJson404) {
  for (const char* path :
       {"/assets/nope.js", "/assets/../server.cc", "/api/v1/nope", "/p/a/b", "/workshops/"}) {
    auto res = client().Get(path);
    ASSERT_TRUE(res) << path;
    EXPECT_EQ(res->status, 404) << path;
    EXPECT_EQ(testing::ErrorOf(res).value("code", ""), "not_found") << path << res->body;
  }
}

// api.hub_public_url: read from the config (trailing slashes dropped, a URL only) and offered
// to the participant page as the hub's login page; without it there is no hub link.
TEST(WebConfig, HubPublicUrlIsReadAndChecked) {
  auto c = ParseServerConfig("wod.yml", "api:\n  hub_public_url: https://hub.example.test/base/\n");
  ASSERT_OK(c);
  EXPECT_EQ(c->hub_public_url, "https://hub.example.test/base");
  EXPECT_EQ(ParseServerConfig("wod.yml", "api: {}\n")->hub_public_url, "");
  auto bad = ParseServerConfig("wod.yml", "api:\n  hub_public_url: hub.example.test\n");
  EXPECT_FALSE(bad.ok());
  EXPECT_THAT(std::string(bad.status().message()), HasSubstr("wod.yml:2: api.hub_public_url: "));
}

TEST_F(WebRoutesTest, ParticipantViewOffersTheHubLoginOnlyWhenConfigured) {
  model::Location loc;
  loc.name = "loc-a";
  ASSERT_OK(store_->UpsertLocation(loc));
  ASSERT_OK(store_->UpsertCatalog({testing::MakeWorkshop("WKSHP-Alpha", 1, 2, 2)}).status());
  auto token_of = [](const httplib::Result& r) {
    return nlohmann::json::parse(r->body).value("token", std::string());
  };
  auto reg =
      client().Post("/api/v1/registrations",
                    testing::RegistrationBody("WKSHP-Alpha", "a@example.com"), "application/json");
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->status, 201) << reg->body;
  auto me = client().Get("/api/v1/me", {{"Authorization", "Participant " + token_of(reg)}});
  ASSERT_TRUE(me);
  ASSERT_EQ(me->status, 200) << me->body;
  EXPECT_TRUE(nlohmann::json::parse(me->body)["hub_url"].is_null());

  ServerConfig config;
  config.hub_public_url = "http://127.0.0.1:8000";
  auto other = testing::StartServer(store_.get(), config, common::RealClock::Get());
  ASSERT_NE(other, nullptr);
  reg = other->client->Post("/api/v1/registrations",
                            testing::RegistrationBody("WKSHP-Alpha", "b@example.com"),
                            "application/json");
  ASSERT_TRUE(reg);
  ASSERT_EQ(reg->status, 201) << reg->body;
  me = other->client->Get("/api/v1/me", {{"Authorization", "Participant " + token_of(reg)}});
  ASSERT_TRUE(me);
  EXPECT_EQ(nlohmann::json::parse(me->body).value("hub_url", ""),
            "http://127.0.0.1:8000/hub/login");
}

}  // namespace
}  // namespace wod::api
