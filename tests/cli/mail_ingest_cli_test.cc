// `wod mail-ingest` as procmail would run it: one WoD order mail on stdin, applied to a real
// embedded store, with the sender allow-list, idempotent redelivery, and malformed or refused
// mails changing nothing.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/subprocess.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr char kSender[] = "api@wod.example.com";

class MailIngest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("wod_mail_ingest_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "catalog" / "WKSHP-Mail101");
    std::ofstream(dir_ / "catalog" / "WKSHP-Mail101" / "wod.yml")
        << "name: 'Mail 101'\ndescription: 'Orders by mail'\nactive: true\ncapacity: 3\n"
           "range: [11-13]\nduration: 2\nbadgeImg: badge\n";
    store_ = "sqlite:" + (dir_ / "wod.db").string();
    auto load = Wod({"catalog", "load", (dir_ / "catalog").string(), "--store", store_});
    ASSERT_EQ(load.exit_code, 0) << load.stderr_text;
  }
  void TearDown() override { fs::remove_all(dir_); }

  common::SubprocessResult Wod(std::vector<std::string> args, const std::string& stdin_text = "") {
    args.insert(args.begin(), WOD_BINARY);
    common::SubprocessOptions options;
    options.stdin_text = stdin_text;
    auto r = common::RunProcess(args, options);
    EXPECT_OK(r);
    return r.ok() ? *r : common::SubprocessResult{};
  }

  common::SubprocessResult Ingest(const std::string& mail,
                                  std::vector<std::string> extra = {"--allow-sender", kSender}) {
    std::vector<std::string> args = {"mail-ingest", "--store", store_, "--json"};
    args.insert(args.end(), extra.begin(), extra.end());
    return Wod(args, mail);
  }

  static std::string Order(const std::string& subject, const std::string& workshop,
                           const std::string& from = kSender) {
    return "From: WoD API <" + from + ">\r\nSubject: " + subject + "\r\n\r\n" + workshop + "\r\n";
  }

  // seat number -> occupant email ("" when vacant)
  std::map<int, std::string> Seats() {
    auto r = Wod({"seats", "--store", store_, "--json"});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    std::map<int, std::string> out;
    for (const auto& s : nlohmann::json::parse(r.stdout_text)) {
      out[s["seat"].get<int>()] = s.contains("email") && s["email"].is_string()
                                      ? s["email"].get<std::string>()
                                      : std::string();
    }
    return out;
  }

  fs::path dir_;
  std::string store_;
};

TEST_F(MailIngest, CreateOccupiesTheNamedSeatAndRedeliveryChangesNothing) {
  auto r = Ingest(Order("CREATE 12 4242 Jane@Example.com", "WKSHP-Mail101"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  auto j = nlohmann::json::parse(r.stdout_text);
  EXPECT_EQ(j["verb"], "CREATE");
  EXPECT_EQ(j["seat"], 12);
  EXPECT_EQ(j["changed"], true);
  EXPECT_EQ(Seats()[12], "jane@example.com");
  EXPECT_EQ(Seats()[11], "") << "the named seat, not the lowest free one";

  auto again = Ingest(Order("CREATE 12 4242 jane@example.com", "WKSHP-Mail101"));
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(nlohmann::json::parse(again.stdout_text)["changed"], false);
}

TEST_F(MailIngest, CleanupVacatesAndIsIdempotent) {
  ASSERT_EQ(Ingest(Order("CREATE 11 7 a@example.com", "WKSHP-Mail101")).exit_code, 0);
  auto r = Ingest(Order("CLEANUP 11 7", "WKSHP-Mail101"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(nlohmann::json::parse(r.stdout_text)["changed"], true);
  EXPECT_EQ(Seats()[11], "");
  auto again = Ingest(Order("CLEANUP 11 7", "WKSHP-Mail101"));
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(nlohmann::json::parse(again.stdout_text)["changed"], false);
}

TEST_F(MailIngest, UnknownSenderIsRefusedAndNothingChanges) {
  auto r = Ingest(Order("CREATE 11 7 a@example.com", "WKSHP-Mail101", "mallory@evil.example"));
  EXPECT_EQ(r.exit_code, 8);
  EXPECT_THAT(r.stderr_text, HasSubstr("sender 'mallory@evil.example' is not allowed"));
  EXPECT_EQ(Seats()[11], "");
  // No allow-list at all refuses too: the secure default.
  auto none = Ingest(Order("CREATE 11 7 a@example.com", "WKSHP-Mail101"), {});
  EXPECT_EQ(none.exit_code, 8);
  EXPECT_EQ(Seats()[11], "");
}

// From: is what the author wrote: a mail whose envelope sender (Return-Path:) or Sender: is
// someone else is not an order of the allowed sender, and two From: headers are no sender.
TEST_F(MailIngest, AForgedFromWithAnotherEnvelopeSenderOrTwoFromsIsRefused) {
  ASSERT_EQ(Ingest(Order("CREATE 11 7 a@example.com", "WKSHP-Mail101")).exit_code, 0);
  const std::string purge = Order("PURGE 11 7", "WKSHP-Mail101");
  auto r = Ingest("Return-Path: <mallory@evil.example>\r\n" + purge);
  EXPECT_EQ(r.exit_code, 8);
  EXPECT_THAT(r.stderr_text, HasSubstr("'mallory@evil.example' is not an allowed sender"));
  r = Ingest("Sender: Mallory <mallory@evil.example>\r\n" + purge);
  EXPECT_EQ(r.exit_code, 8);
  r = Ingest("Return-Path: <>\r\n" + purge);
  EXPECT_EQ(r.exit_code, 8) << "a null envelope sender is no allowed sender";
  r = Ingest("From: <mallory@evil.example>\r\n" + purge);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("From: appears 2 times"));
  EXPECT_EQ(Seats()[11], "a@example.com") << "no order ran";
  // The envelope sender of the allowed address itself is fine.
  r = Ingest(std::string("Return-Path: <") + kSender + ">\r\n" + purge);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(Seats()[11], "");
}

// A CLEANUP redelivered after the seat was given to someone else names the earlier
// participant: it must not end the new occupant's registration.
TEST_F(MailIngest, AStaleOrderDoesNotEndTheNextOccupantsRegistration) {
  ASSERT_EQ(Ingest(Order("CREATE 11 825 a@example.com", "WKSHP-Mail101")).exit_code, 0);
  ASSERT_EQ(Ingest(Order("CLEANUP 11 825", "WKSHP-Mail101")).exit_code, 0);
  ASSERT_EQ(Ingest(Order("CREATE 11 900 b@example.com", "WKSHP-Mail101")).exit_code, 0);
  for (const char* verb : {"CLEANUP", "RESET", "PURGE"}) {
    auto r = Ingest(Order(std::string(verb) + " 11 825", "WKSHP-Mail101"));
    EXPECT_EQ(r.exit_code, 6) << verb;
    EXPECT_THAT(r.stderr_text, HasSubstr("not WoD participant 825")) << verb;
  }
  EXPECT_EQ(Seats()[11], "b@example.com");
  auto r = Ingest(Order("CLEANUP 11 900", "WKSHP-Mail101"));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(nlohmann::json::parse(r.stdout_text)["changed"], true);
  EXPECT_EQ(Seats()[11], "");
}

TEST_F(MailIngest, MalformedMailExitsTwoNamingTheFieldAndChangesNothing) {
  auto r = Ingest(Order("CREATE eleven 7 a@example.com", "WKSHP-Mail101"));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("malformed order mail"));
  EXPECT_THAT(r.stderr_text, HasSubstr("field stdid"));
  auto shell = Ingest(Order("CREATE 11 7 a@example.com", "WKSHP-Mail101; rm -rf /"));
  EXPECT_EQ(shell.exit_code, 2);
  EXPECT_THAT(shell.stderr_text, HasSubstr("field workshop"));
  for (const auto& [seat, email] : Seats()) EXPECT_EQ(email, "") << seat;
}

TEST_F(MailIngest, UnknownWorkshopAndForeignSeatAreRefused) {
  auto unknown = Ingest(Order("CREATE 11 7 a@example.com", "WKSHP-Nope"));
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("WKSHP-Nope"));
  auto outside = Ingest(Order("CREATE 99 7 a@example.com", "WKSHP-Mail101"));
  EXPECT_NE(outside.exit_code, 0);
  EXPECT_THAT(outside.stderr_text, HasSubstr("99"));
  for (const auto& [seat, email] : Seats()) EXPECT_EQ(email, "") << seat;
}

}  // namespace
}  // namespace wod
