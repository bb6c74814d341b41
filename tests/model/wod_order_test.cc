// WoD procmail-API order mails: what is accepted, what each order means, and that every
// malformed mail is refused with an error naming the header and field.
#include "model/wod_order.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

#include "tests/testing/status_matchers.h"

namespace wod::model {
namespace {

using ::testing::HasSubstr;

std::string Mail(const std::string& subject, const std::string& body,
                 const std::string& extra_headers = "") {
  return "From: WoD API <api@wod.example.com>\r\n"
         "To: wod@backend.example.com\r\n"
         "Message-ID: <order-17@wod.example.com>\r\n" +
         extra_headers + "Subject: " + subject + "\r\n\r\n" + body;
}

TEST(WodOrderTest, CreateCarriesSeatParticipantEmailAndWorkshop) {
  auto order = ParseWodOrderMail(
      Mail("CREATE 151 4242 Jane.Doe@Example.COM", "WKSHP-Python101\r\nsecond line\r\n"));
  ASSERT_OK(order);
  EXPECT_EQ(order->verb, Verb::kCreate);
  EXPECT_EQ(order->seat, 151);
  EXPECT_EQ(order->participant_id, "4242");
  EXPECT_EQ(order->email, "jane.doe@example.com");
  EXPECT_EQ(order->workshop, "WKSHP-Python101");
  EXPECT_EQ(order->sender, "api@wod.example.com");
  EXPECT_EQ(order->message_id, "order-17@wod.example.com");
}

TEST(WodOrderTest, CleanupResetPurgeTakeSeatAndParticipantOnly) {
  for (const auto& [word, verb] :
       {std::pair{"CLEANUP", Verb::kCleanup}, std::pair{"reset", Verb::kReset},
        std::pair{"Purge", Verb::kPurge}}) {
    auto order = ParseWodOrderMail(Mail(std::string(word) + " 7 p-9", "\n\n  WKSHP-Docker101  \n"));
    ASSERT_OK(order) << word;
    EXPECT_EQ(order->verb, verb);
    EXPECT_EQ(order->seat, 7);
    EXPECT_EQ(order->participant_id, "p-9");
    EXPECT_EQ(order->email, "");
    EXPECT_EQ(order->workshop, "WKSHP-Docker101") << "first non-empty line, trimmed";
  }
}

TEST(WodOrderTest, BareLfLineEndsAndFoldedSubjectAreAccepted) {
  auto order = ParseWodOrderMail(
      "From: api@wod.example.com\nSubject: CLEANUP\n 12 abc\n\nWKSHP-Ansible101\n");
  ASSERT_OK(order);
  EXPECT_EQ(order->seat, 12);
  EXPECT_EQ(order->participant_id, "abc");
}

TEST(WodOrderTest, EncodedSubjectAndQuotedPrintableBodyAreDecoded) {
  // "CREATE 3 77 a@b.example" as a UTF-8 B encoded word; body in quoted-printable.
  auto order =
      ParseWodOrderMail(Mail("=?UTF-8?B?Q1JFQVRFIDMgNzcgYUBiLmV4YW1wbGU=?=", "WKSHP-=\r\nGo101=0A",
                             "Content-Type: text/plain; charset=utf-8\r\n"
                             "Content-Transfer-Encoding: quoted-printable\r\n"));
  ASSERT_OK(order);
  EXPECT_EQ(order->verb, Verb::kCreate);
  EXPECT_EQ(order->email, "a@b.example");
  EXPECT_EQ(order->workshop, "WKSHP-Go101");
}

TEST(WodOrderTest, MultipartAlternativeUsesItsTextPart) {
  auto order = ParseWodOrderMail(
      Mail("RESET 5 x1",
           "preamble\r\n--sep\r\nContent-Type: text/html\r\n\r\n<p>WKSHP-Wrong</p>\r\n"
           "--sep\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           "V0tTSFAtUmVkZmlzaDEwMQo=\r\n--sep--\r\n",
           "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"sep\"\r\n"));
  ASSERT_OK(order);
  EXPECT_EQ(order->workshop, "WKSHP-Redfish101");
}

TEST(WodOrderTest, FromAddressFormsAreReduced) {
  EXPECT_EQ(MailboxAddress("\"Api, WoD\" <API@Wod.Example.com>"), "api@wod.example.com");
  EXPECT_EQ(MailboxAddress("api@wod.example.com (WoD API)"), "api@wod.example.com");
  EXPECT_EQ(MailboxAddress("nobody"), "");
  EXPECT_EQ(MailboxAddress("<broken"), "");
}

TEST(WodOrderTest, EnvelopeAndSenderHeadersAreKeptBesideFrom) {
  ASSERT_OK_AND_ASSIGN(
      WodOrder order,
      ParseWodOrderMail("Return-Path: <Bounce@Relay.Example>\r\nSender: x <s@b.example>\r\n" +
                        Mail("CLEANUP 1 2", "WKSHP-X", "Return-Path: <>\r\n")));
  EXPECT_EQ(order.sender, "api@wod.example.com");
  EXPECT_THAT(order.other_senders,
              ::testing::ElementsAre("bounce@relay.example", "s@b.example", ""));
}

struct BadMail {
  const char* name;
  std::string mail;
  const char* expected;  // part of the error message
};

class WodOrderRejectTest : public ::testing::TestWithParam<BadMail> {};

TEST_P(WodOrderRejectTest, IsRefusedNamingWhatIsWrong) {
  auto order = ParseWodOrderMail(GetParam().mail);
  ASSERT_FALSE(order.ok());
  EXPECT_EQ(order.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(order.status().message()), HasSubstr(GetParam().expected));
}

INSTANTIATE_TEST_SUITE_P(
    Malformed, WodOrderRejectTest,
    ::testing::Values(
        BadMail{"Empty", "", "empty input"},
        BadMail{"NoBlankLine", "Subject: CLEANUP 1 2\r\n", "no blank line"},
        BadMail{"NotAHeader", "Subject CLEANUP 1 2\r\n\r\nW\r\n", "line 1: not a header"},
        BadMail{"NoSubject", "From: a@b.example\r\n\r\nWKSHP-X\r\n", "Subject: missing"},
        BadMail{"TwoFroms", "From: a@b.example\r\n" + Mail("CLEANUP 1 2", "WKSHP-X"),
                "From: appears 2 times"},
        BadMail{"TwoSubjects", "Subject: CLEANUP 9 9\r\n" + Mail("CLEANUP 1 2", "WKSHP-X"),
                "Subject: appears 2 times"},
        BadMail{"UnknownVerb", Mail("DELETE 1 2", "WKSHP-X"), "unknown verb 'DELETE'"},
        BadMail{"CreateWithoutEmail", Mail("CREATE 1 2", "WKSHP-X"), "takes 3 fields"},
        BadMail{"CleanupWithExtra", Mail("CLEANUP 1 2 a@b.example", "WKSHP-X"), "takes 2 fields"},
        BadMail{"SeatNotNumber", Mail("CLEANUP x7 2", "WKSHP-X"), "field stdid"},
        BadMail{"SeatZero", Mail("CLEANUP 0 2", "WKSHP-X"), "field stdid"},
        BadMail{"SeatNegative", Mail("CLEANUP -3 2", "WKSHP-X"), "field stdid"},
        BadMail{"SeatHuge", Mail("CLEANUP 99999999999 2", "WKSHP-X"), "field stdid"},
        BadMail{"ShellInParticipant", Mail("CLEANUP 3 $(reboot)", "WKSHP-X"),
                "field participant-id"},
        BadMail{"BadEmail", Mail("CREATE 3 4 not-an-address", "WKSHP-X"), "field email"},
        BadMail{"EmptyBody", Mail("CLEANUP 3 4", "\r\n \r\n"), "field workshop"},
        BadMail{"PathInWorkshop", Mail("CLEANUP 3 4", "../../etc/passwd\r\n"), "field workshop"},
        BadMail{"HtmlOnly", Mail("CLEANUP 3 4", "<p>x</p>", "Content-Type: text/html\r\n"),
                "must be text/plain"},
        BadMail{"BadBase64", Mail("CLEANUP 3 4", "!!!!", "Content-Transfer-Encoding: base64\r\n"),
                "not valid base64"},
        BadMail{"TooLarge", Mail("CLEANUP 3 4", std::string(300 * 1024, 'a')), "too large"}),
    [](const ::testing::TestParamInfo<BadMail>& info) { return info.param.name; });

}  // namespace
}  // namespace wod::model
