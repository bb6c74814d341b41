// Pure parts of the API: the strict JSON checks, the registration body validator, the email
// deny list, the per-address token bucket (on a fake clock) and the config file.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>

#include "api/config.h"
#include "api/json_body.h"
#include "api/rate_limiter.h"
#include "api/registration_body.h"
#include "common/clock.h"
#include "tests/testing/status_matchers.h"

namespace wod::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using wod::testing::StatusIs;

constexpr char kValid[] =
    R"({"workshop": "WKSHP-API101", "email": " Ada@Example.COM ", "name": " Ada ",
        "company": "ACME", "accept_terms": true})";

std::optional<ApiError> Parse(std::string_view text, RegistrationBody* out = nullptr,
                              const EmailDenyList& deny = EmailDenyList()) {
  RegistrationBody ignored;
  return ParseRegistrationBody(text, deny, out ? out : &ignored);
}

// The code and field of the error `text` gives, "ok" when it is accepted.
std::string Outcome(std::string_view text, const EmailDenyList& deny = EmailDenyList()) {
  auto e = Parse(text, nullptr, deny);
  if (!e) return "ok";
  EXPECT_EQ(e->http_status, 400);
  return e->field.empty() ? e->code : e->code + ":" + e->field;
}

TEST(RegistrationBodyTest, AcceptsTheDocumentedBodyTrimmingAndLowercasingTheEmail) {
  RegistrationBody b;
  ASSERT_EQ(Parse(kValid, &b), std::nullopt);
  EXPECT_EQ(b, (RegistrationBody{"WKSHP-API101", "ada@example.com", "Ada", "ACME"}));
}

TEST(RegistrationBodyTest, NamesTheFieldOfEveryStructuralError) {
  EXPECT_EQ(Outcome(R"({"workshop": "W", "email": "a@b.co", "name": "A", "company": "",
                        "accept_terms": true, "role": "admin"})"),
            "unknown_field:role");
  EXPECT_EQ(Outcome(R"({"workshop": "W", "email": "a@b.co", "company": "", "accept_terms": true})"),
            "missing_field:name");
  EXPECT_EQ(Outcome(R"({"workshop": "W", "email": "a@b.co", "name": "A", "company": "",
                        "accept_terms": "yes"})"),
            "wrong_type:accept_terms");
  EXPECT_EQ(Outcome(R"({"workshop": "W", "email": null, "name": "A", "company": "",
                        "accept_terms": true})"),
            "wrong_type:email");
  EXPECT_EQ(Outcome(R"({"workshop": 7, "email": "a@b.co", "name": "A", "company": "",
                        "accept_terms": true})"),
            "wrong_type:workshop");
  EXPECT_EQ(Outcome(R"({"workshop": "W", "email": "a@b.co", "name": "A", "company": "",
                        "accept_terms": true, "email": "c@d.co"})"),
            "duplicate_field:email");
  EXPECT_EQ(Outcome(R"({"workshop": "W", "email": "a@b.co", "name": "A", "company": "",)"),
            "invalid_json");
  EXPECT_EQ(Outcome(R"({"workshop": "W"} {})"), "invalid_json");
  EXPECT_EQ(Outcome("\"\xff\""), "invalid_json");
  EXPECT_EQ(Outcome("[1, 2]"), "invalid_body");
  EXPECT_EQ(Outcome(""), "invalid_json");
}

// A JSON string of `s` (plain letters here). Not "\"" + s + "\"": gcc 12 -O3 misfires
// -Wrestrict on a literal + std::string.
std::string Quoted(const std::string& s) { return std::string("\"").append(s).append("\""); }

TEST(RegistrationBodyTest, ChecksValues) {
  auto with = [](const std::string& field, const std::string& json_value) {
    nlohmann::json j = nlohmann::json::parse(kValid);
    j[field] = nlohmann::json::parse(json_value);
    return Outcome(j.dump());
  };
  EXPECT_EQ(with("email", R"("not-an-email")"), "invalid_field:email");
  EXPECT_EQ(with("email", R"("a@b")"), "invalid_field:email");
  EXPECT_EQ(with("workshop", R"("")"), "invalid_field:workshop");
  EXPECT_EQ(with("workshop", R"("WKSHP/../x")"), "invalid_field:workshop");
  EXPECT_EQ(with("workshop", Quoted(std::string(129, 'W'))), "invalid_field:workshop");
  EXPECT_EQ(with("name", R"("  ")"), "invalid_field:name");
  EXPECT_EQ(with("name", R"("Ada\nBcc: x@y.z")"), "invalid_field:name");
  EXPECT_EQ(with("name", Quoted(std::string(201, 'a'))), "invalid_field:name");
  EXPECT_EQ(with("company", R"("A\u0000B")"), "invalid_field:company");
  // C1 controls, line/paragraph separators and direction overrides make text read otherwise.
  for (const char* bad :
       {R"("Ada\u0085")", R"("Ada\u009b31m")", R"("Ada\u2028Bcc")", R"("\u202Egnp.exe")",
        R"("A\u2066B\u2069")", R"("A\u200FB")", R"("A\u061CB")"}) {
    EXPECT_EQ(with("name", bad), "invalid_field:name") << bad;
  }
  EXPECT_EQ(with("name", R"("Zoë \u00C5ngstr\u00F6m \u4E2D\u6587 \u05E9\u05DC\u05D5\u05DD")"), "ok")
      << "letters of any script are fine, right-to-left ones included";
  EXPECT_EQ(with("company", R"("")"), "ok");
  EXPECT_EQ(with("accept_terms", "false"), "terms_not_accepted:accept_terms");
}

TEST(RegistrationBodyTest, NeverEchoesTheEmailItRejects) {
  auto e = Parse(R"({"workshop": "W", "email": "secret..x@example.com", "name": "A",
                     "company": "", "accept_terms": true})");
  ASSERT_TRUE(e);
  EXPECT_THAT(Dump(e->ToJson()), Not(HasSubstr("secret")));
}

TEST(RegistrationBodyTest, DenyListMatchesAddressesDomainsAndSubdomains) {
  EmailDenyList deny({"Spam@Example.com", "@mailinator.com", "tempmail.org", " "});
  EXPECT_TRUE(deny.Denies("spam@example.com"));
  EXPECT_FALSE(deny.Denies("ham@example.com"));
  EXPECT_TRUE(deny.Denies("x@mailinator.com"));
  EXPECT_TRUE(deny.Denies("x@eu.mailinator.com"));
  EXPECT_FALSE(deny.Denies("x@notmailinator.com"));
  EXPECT_TRUE(deny.Denies("x@tempmail.org"));
  EXPECT_FALSE(deny.Denies("x@tempmail.org.uk"));
  nlohmann::json j = nlohmann::json::parse(kValid);
  j["email"] = "Someone@EU.Mailinator.com";
  EXPECT_EQ(Outcome(j.dump(), deny), "email_denied:email");
}

TEST(JsonBodyTest, RejectsNestingDeeperThanTheLimit) {
  nlohmann::json out;
  EXPECT_EQ(ParseJsonBody(R"({"a": {"b": 1}})", &out, 2), std::nullopt);
  auto e = ParseJsonBody(R"({"a": {"b": [1]}})", &out, 2);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "invalid_body");
  EXPECT_TRUE(ParseJsonBody(std::string(100000, '[') + std::string(100000, ']'), &out));
}

TEST(JsonBodyTest, OptionalFieldsMayBeAbsentButNotMistyped) {
  constexpr std::array<FieldSpec, 2> kFields = {
      {{"a", JsonType::kInteger}, {"b", JsonType::kArray, /*required=*/false}}};
  EXPECT_EQ(CheckFields(nlohmann::json::parse(R"({"a": 1})"), kFields), std::nullopt);
  auto e = CheckFields(nlohmann::json::parse(R"({"a": 1.5})"), kFields);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code + ":" + e->field, "wrong_type:a");
  e = CheckFields(nlohmann::json::parse(R"({"a": 1, "b": {}})"), kFields);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code + ":" + e->field, "wrong_type:b");
}

TEST(RateLimiterTest, AllowsTheBurstThenOnePerRefillIntervalPerKey) {
  common::FakeClock clock;
  RateLimiter limiter({/*per_minute=*/6, /*burst=*/3}, &clock);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(limiter.Take("10.0.0.1"), absl::ZeroDuration()) << i;
  EXPECT_EQ(limiter.Take("10.0.0.1"), absl::Seconds(10));
  EXPECT_EQ(limiter.Take("10.0.0.2"), absl::ZeroDuration());  // another address, own bucket
  clock.Advance(absl::Seconds(4));
  EXPECT_EQ(limiter.Take("10.0.0.1"), absl::Seconds(6));
  clock.Advance(absl::Seconds(6));
  EXPECT_EQ(limiter.Take("10.0.0.1"), absl::ZeroDuration());
  EXPECT_GT(limiter.Take("10.0.0.1"), absl::ZeroDuration());
}

TEST(RateLimiterTest, ForgetsAddressesWhoseBucketRefilled) {
  common::FakeClock clock;
  RateLimiter limiter({/*per_minute=*/60, /*burst=*/2}, &clock);
  for (int i = 0; i < 100; ++i) limiter.Take("10.0.0." + std::to_string(i));
  EXPECT_EQ(limiter.tracked_keys(), 100u);
  clock.Advance(absl::Minutes(2));
  limiter.Take("10.0.1.1");
  EXPECT_EQ(limiter.tracked_keys(), 1u);
}

TEST(RateLimiterTest, ZeroRateDisablesTheLimit) {
  common::FakeClock clock;
  RateLimiter limiter({/*per_minute=*/0, /*burst=*/1}, &clock);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(limiter.Take("k"), absl::ZeroDuration());
}

TEST(ServerConfigTest, ReadsTheApiSectionAndIgnoresOtherSections) {
  ASSERT_OK_AND_ASSIGN(ServerConfig c, ParseServerConfig("wod.yml", R"(
mail:
  anything: goes
api:
  public_base_url: https://wod.example.com/
  max_body_bytes: 1024
  threads: 4
  trust_x_forwarded_for: true
  registration_rate_limit: {per_minute: 12, burst: 3}
  email_deny_list: [mailinator.com, "spam@example.com"]
  participant_user_prefix: wsuser
)"));
  EXPECT_EQ(c.participant_user_prefix, "wsuser");
  EXPECT_EQ(c.public_base_url, "https://wod.example.com");
  EXPECT_EQ(c.max_body_bytes, 1024u);
  EXPECT_EQ(c.threads, 4);
  EXPECT_TRUE(c.trust_x_forwarded_for);
  EXPECT_EQ(c.registration_rate_limit.per_minute, 12);
  EXPECT_EQ(c.registration_rate_limit.burst, 3);
  EXPECT_THAT(c.email_deny_list, ::testing::ElementsAre("mailinator.com", "spam@example.com"));

  ASSERT_OK_AND_ASSIGN(ServerConfig defaults, ParseServerConfig("wod.yml", ""));
  EXPECT_EQ(defaults.max_body_bytes, 64u * 1024);
  EXPECT_EQ(defaults.participant_user_prefix, "student");
  EXPECT_TRUE(defaults.registration_rate_limit.enabled());
}

// Errors say "PATH:LINE: FIELD: what", like the other config readers (cli/config_reader.h).
TEST(ServerConfigTest, NamesTheFileLineAndField) {
  EXPECT_THAT(ParseServerConfig("wod.yml", "api:\n  threads: 2\n  max_body: 10\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, "wod.yml:3: api.max_body: unknown key"));
  EXPECT_THAT(ParseServerConfig("wod.yml", "api:\n  registration_rate_limit: {burst: 0}\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "wod.yml:2: api.registration_rate_limit.burst: must be >= 1"));
  EXPECT_THAT(ParseServerConfig("wod.yml", "api:\n  max_body_bytes: lots\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "wod.yml:2: api.max_body_bytes: expected a positive integer"));
  EXPECT_THAT(ParseServerConfig("wod.yml", "api:\n  public_base_url: ftp://x\n"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "wod.yml:2: api.public_base_url: must start with http:// or https://"));
  EXPECT_THAT(
      ParseServerConfig("wod.yml", "- a\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, "wod.yml:1: expected a mapping of sections"));
  for (const char* prefix : {"\"\"", "Student", "1st", "stu dent", "abcdefghijklmnopq"}) {
    EXPECT_THAT(
        ParseServerConfig("wod.yml", std::string("api:\n  participant_user_prefix: ") + prefix),
        StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("participant_user_prefix")))
        << prefix;
  }
  EXPECT_THAT(ParseServerConfig("wod.yml", "api: [\n"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("wod.yml:2: yaml: ")));
  EXPECT_THAT(LoadServerConfig("/nonexistent/wod.yml"), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace wod::api
