// Hermetic tests of the mail driver: header and body encoding of the composer (exact bytes),
// header injection refused, the fake's error injection, and the SMTP sender's error mapping
// against a scripted SMTP server on a loopback port (replies a real server will not give on
// demand: 4xx, 5xx at each step, no STARTTLS).
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/clock.h"
#include "drivers/mail/compose.h"
#include "drivers/mail/mail_fake.h"
#include "drivers/mail/mail_smtp.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using ::wod::testing::StatusIs;

ComposeParams Params() {
  return {.identity = {.from_address = "noreply@wod.example.org",
                       .from_name = "WoD Team",
                       .message_id_domain = ""},
          .date = absl::FromUnixSeconds(1'800'000'000),  // Fri, 15 Jan 2027 08:00:00 UTC
          .message_id = "wod.abc123@wod.example.org"};
}

model::MailMessage Message() {
  return {.to = "ada@example.com",
          .subject = "Your workshop is ready",
          .text_body = "Hello Ada,\nyour seat is student7.\n",
          .html_body = "<p>Hello Ada,</p>\n<p>your seat is <b>student7</b>.</p>\n",
          .key = "42:credentials"};
}

std::vector<std::string> Lines(const std::string& text) { return absl::StrSplit(text, "\r\n"); }

// Decodes quoted-printable as RFC 2045 says (soft breaks removed, =XX unescaped).
std::string DecodeQp(const std::string& qp) {
  std::string out;
  for (size_t i = 0; i < qp.size(); ++i) {
    if (qp[i] != '=') {
      out.push_back(qp[i]);
    } else if (qp.compare(i, 3, "=\r\n") == 0) {
      i += 2;
    } else {
      out.push_back(static_cast<char>(std::stoi(qp.substr(i + 1, 2), nullptr, 16)));
      i += 2;
    }
  }
  return out;
}

TEST(ComposeTest, HeadersAreCompleteAndInOrder) {
  ASSERT_OK_AND_ASSIGN(std::string text, ComposeMail(Message(), Params()));
  auto lines = Lines(text);
  ASSERT_GE(lines.size(), 10u);
  EXPECT_EQ(lines[0], "Date: Fri, 15 Jan 2027 08:00:00 +0000");
  EXPECT_EQ(lines[1], "From: \"WoD Team\" <noreply@wod.example.org>");
  EXPECT_EQ(lines[2], "To: ada@example.com");
  EXPECT_EQ(lines[3], "Subject: Your workshop is ready");
  EXPECT_EQ(lines[4], "Message-ID: <wod.abc123@wod.example.org>");
  EXPECT_EQ(lines[5], "Auto-Submitted: auto-generated");
  EXPECT_EQ(lines[6], "MIME-Version: 1.0");
  EXPECT_EQ(lines[7], "Content-Type: multipart/alternative;");
  EXPECT_THAT(lines[8], StartsWith(" boundary=\"=_wod_"));
  EXPECT_EQ(lines[9], "");
}

TEST(ComposeTest, BothPartsAreUtf8QuotedPrintableTextFirst) {
  ASSERT_OK_AND_ASSIGN(std::string text, ComposeMail(Message(), Params()));
  const auto b0 = text.find("boundary=\"") + 10;
  const std::string boundary = text.substr(b0, text.find('"', b0) - b0);
  std::vector<std::string> parts = absl::StrSplit(text, "--" + boundary);
  ASSERT_EQ(parts.size(), 4u);  // headers, text, html, "--" epilogue
  EXPECT_EQ(parts[3], "--\r\n");
  EXPECT_EQ(parts[1],
            "\r\nContent-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
            "Hello Ada,\r\nyour seat is student7.\r\n\r\n");
  EXPECT_THAT(parts[2], HasSubstr("Content-Type: text/html; charset=UTF-8\r\n"));
  EXPECT_THAT(parts[2], HasSubstr("<p>your seat is <b>student7</b>.</p>"));
}

TEST(ComposeTest, TextOnlyMailHasOnePart) {
  auto m = Message();
  m.html_body.clear();
  ASSERT_OK_AND_ASSIGN(std::string text, ComposeMail(m, Params()));
  EXPECT_THAT(text, Not(HasSubstr("multipart")));
  EXPECT_THAT(text, HasSubstr("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n"
                              "Content-Transfer-Encoding: quoted-printable\r\n\r\nHello Ada,"));
}

TEST(ComposeTest, NonAsciiSubjectIsEncodedWordsOfWholeCharacters) {
  auto m = Message();
  m.subject = "Votre atelier « Découverte de l'API » est prêt — à bientôt 🎉 !";
  ASSERT_OK_AND_ASSIGN(std::string text, ComposeMail(m, Params()));
  const auto start = text.find("Subject: ");
  const auto end = text.find("\r\nMessage-ID:");
  const std::string header = text.substr(start + 9, end - start - 9);
  std::string decoded;
  for (absl::string_view w : absl::StrSplit(header, "\r\n ")) {
    const std::string word(w);
    ASSERT_THAT(word, StartsWith("=?UTF-8?B?"));
    ASSERT_LE(word.size(), 75u) << "RFC 2047 limit for one encoded word";
    std::string chunk;
    ASSERT_TRUE(absl::Base64Unescape(word.substr(10, word.size() - 12), &chunk));
    ASSERT_TRUE(IsValidUtf8(chunk)) << "a word must not cut a character: " << word;
    decoded += chunk;
  }
  EXPECT_EQ(decoded, m.subject);
  for (const auto& line : Lines(text.substr(0, text.find("\r\n\r\n")))) {
    EXPECT_LE(line.size(), 78u) << line;
  }
}

TEST(ComposeTest, LongAsciiSubjectIsFoldedAndSubjectsThatLookEncodedAreEncoded) {
  auto m = Message();
  m.subject = std::string(120, 'x');
  ASSERT_OK_AND_ASSIGN(std::string text, ComposeMail(m, Params()));
  EXPECT_THAT(text, HasSubstr("Subject: =?UTF-8?B?"));
  m.subject = "=?UTF-8?B?SGk=?=";  // would be decoded as "Hi" if sent raw
  ASSERT_OK_AND_ASSIGN(text, ComposeMail(m, Params()));
  EXPECT_THAT(text, HasSubstr("Subject: =?UTF-8?B?PT9VVEYtOD9CP1NHaz0/PQ==?="));
}

TEST(ComposeTest, NonAsciiDisplayNameIsEncoded) {
  auto p = Params();
  p.identity.from_name = "Équipe WoD";
  ASSERT_OK_AND_ASSIGN(std::string text, ComposeMail(Message(), p));
  EXPECT_THAT(text, HasSubstr("From: =?UTF-8?B?w4lxdWlwZSBXb0Q=?= <noreply@wod.example.org>\r\n"));
  p.identity.from_name = "Ops \"night\" \\ team";
  ASSERT_OK_AND_ASSIGN(text, ComposeMail(Message(), p));
  EXPECT_THAT(text, HasSubstr("From: \"Ops \\\"night\\\" \\\\ team\" <noreply@wod.example.org>"));
}

TEST(ComposeTest, HeaderInjectionIsRefused) {
  auto bad_subject = Message();
  bad_subject.subject = "Hi\r\nBcc: victim@example.com";
  EXPECT_THAT(ComposeMail(bad_subject, Params()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("line break")));
  bad_subject.subject = "Hi\nBcc: victim@example.com";
  EXPECT_THAT(ComposeMail(bad_subject, Params()), StatusIs(absl::StatusCode::kInvalidArgument));
  bad_subject.subject = std::string("Hi\0there", 8);
  EXPECT_THAT(ComposeMail(bad_subject, Params()), StatusIs(absl::StatusCode::kInvalidArgument));

  for (const std::string to : {"ada@example.com\r\nBcc: victim@example.com", "ada@example.com\n",
                               "Ada <ada@example.com>", "ada@ex ample.com", "adaexample.com",
                               "ada@", "@example.com", "a@b@c", "", "adä@example.com"}) {
    auto m = Message();
    m.to = to;
    EXPECT_THAT(ComposeMail(m, Params()), StatusIs(absl::StatusCode::kInvalidArgument)) << to;
  }
  auto p = Params();
  p.identity.from_name = "WoD\r\nBcc: victim@example.com";
  EXPECT_THAT(ComposeMail(Message(), p), StatusIs(absl::StatusCode::kInvalidArgument));
  p = Params();
  p.message_id = "x@y>\r\nBcc: v@e.com";
  EXPECT_THAT(ComposeMail(Message(), p), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ComposeTest, InvalidUtf8IsRefused) {
  auto m = Message();
  m.text_body = "caf\xe9";  // Latin-1, not UTF-8
  EXPECT_THAT(ComposeMail(m, Params()), StatusIs(absl::StatusCode::kInvalidArgument));
  m = Message();
  m.subject = "\xed\xa0\x80";  // a UTF-16 surrogate
  EXPECT_THAT(ComposeMail(m, Params()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(IsValidUtf8("déjà vu 🎉"));
  EXPECT_FALSE(IsValidUtf8("\xc0\xaf"));  // overlong '/'
}

TEST(QuotedPrintableTest, EncodesNonAsciiEqualsAndTrailingBlanks) {
  EXPECT_EQ(EncodeQuotedPrintable("café = 3 €"), "caf=C3=A9 =3D 3 =E2=82=AC");
  EXPECT_EQ(EncodeQuotedPrintable("end \nnext\t"), "end=20\r\nnext=09");
  EXPECT_EQ(EncodeQuotedPrintable("a\r\nb\n"), "a\r\nb\r\n");
  EXPECT_EQ(EncodeQuotedPrintable(""), "");
}

TEST(QuotedPrintableTest, LinesThatSmtpOrMboxWouldAlterAreEncoded) {
  EXPECT_EQ(EncodeQuotedPrintable(".\n..x\nFrom here\nFrom"),
            "=2E\r\n=2E.x\r\n=46rom here\r\nFrom");
}

TEST(QuotedPrintableTest, LongLinesAreSoftBrokenAtSeventySixAndDecodeBack) {
  std::string text;
  for (int i = 0; i < 40; ++i) absl::StrAppend(&text, "mot", i, " é ");
  text += "\n" + std::string(300, 'a') + "\n" + std::string(100, '.') + "=\n";
  const std::string qp = EncodeQuotedPrintable(text);
  for (const auto& line : Lines(qp)) {
    EXPECT_LE(line.size(), 76u) << line;
    EXPECT_NE(line.substr(0, 1), ".") << "a physical line must not start with a dot";
  }
  EXPECT_THAT(qp, HasSubstr("=\r\n"));
  std::string expected = text;
  std::string crlf;
  for (char c : expected) {
    if (c == '\n')
      crlf += "\r\n";
    else
      crlf.push_back(c);
  }
  EXPECT_EQ(DecodeQp(qp), crlf);
}

TEST(MessageIdTest, KeyGivesAStableIdUnderTheDomain) {
  EXPECT_EQ(MessageIdForKey("42:credentials", "wod.example.org"),
            MessageIdForKey("42:credentials", "wod.example.org"));
  EXPECT_NE(MessageIdForKey("42:credentials", "d"), MessageIdForKey("42:reminder", "d"));
  EXPECT_THAT(MessageIdForKey("42:credentials", "wod.example.org"),
              AllOf(StartsWith("wod."), ::testing::EndsWith("@wod.example.org")));
  EXPECT_EQ(MessageIdDomain({.from_address = "a@b.org", .from_name = "", .message_id_domain = ""}),
            "b.org");
  EXPECT_EQ(
      MessageIdDomain({.from_address = "a@b.org", .from_name = "", .message_id_domain = "c.net"}),
      "c.net");
}

TEST(MailMessageTest, DescribeNamesKeyRecipientAndSubjectButNoBody) {
  auto m = Message();
  m.text_body = "password: Xk7pQ2mN9rTw";
  EXPECT_EQ(m.Describe(), "mail '42:credentials' to 'ada@example.com': Your workshop is ready");
}

TEST(FakeMailSenderTest, RecordsFailsOnceAndRefusesChosenRecipients) {
  FakeMailSender fake(
      MailIdentity{.from_address = "wod@example.org", .from_name = "", .message_id_domain = ""});
  fake.FailNext(absl::UnavailableError("smtp down"));
  EXPECT_THAT(fake.Send(Message()), StatusIs(absl::StatusCode::kUnavailable));
  EXPECT_TRUE(fake.sent().empty());
  ASSERT_OK(fake.Send(Message()));
  ASSERT_EQ(fake.sent().size(), 1u);
  EXPECT_EQ(fake.sent()[0].message, Message());
  EXPECT_THAT(fake.sent()[0].text, HasSubstr("To: ada@example.com\r\n"));

  fake.RejectRecipient("ada@example.com");
  EXPECT_THAT(fake.Send(Message()), StatusIs(absl::StatusCode::kInvalidArgument));
  auto bad = Message();
  bad.to = "bob@example.com\r\nBcc: x@y.z";
  EXPECT_THAT(fake.Send(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_EQ(fake.sent().size(), 1u);
}

// A scripted SMTP server on 127.0.0.1: replies to each command as `reply` says.
class StubSmtp {
 public:
  // Returns the reply line(s) for a command line ("" for the greeting, "DATA-END" after the
  // message); the default script accepts everything.
  using Script = std::function<std::string(const std::string& command)>;

  explicit StubSmtp(Script script) : script_(std::move(script)) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd_, 4) != 0 ||
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
      ADD_FAILURE() << "stub smtp cannot listen";
    }
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { Serve(); });
  }
  ~StubSmtp() {
    stop_ = true;
    thread_.join();
    close(fd_);
  }
  std::string url() const { return absl::StrCat("smtp://127.0.0.1:", port_); }
  std::vector<std::string> commands() {
    std::lock_guard<std::mutex> lock(mu_);
    return commands_;
  }
  std::string data() {
    std::lock_guard<std::mutex> lock(mu_);
    return data_;
  }

  static std::string AcceptAll(const std::string& c) {
    if (c.empty()) return "220 stub ESMTP";
    if (c.rfind("EHLO", 0) == 0) return "250-stub\r\n250 8BITMIME";
    if (c == "DATA") return "354 go ahead";
    if (c == "QUIT") return "221 bye";
    return "250 ok";
  }

 private:
  void Serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      int conn = accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (conn < 0) continue;
      Session(conn);
      close(conn);
    }
  }
  bool Reply(int conn, const std::string& line) {
    const std::string out = line + "\r\n";
    return write(conn, out.data(), out.size()) == static_cast<ssize_t>(out.size());
  }
  void Session(int conn) {
    std::string greeting = script_("");
    if (!Reply(conn, greeting) || greeting.rfind("220", 0) != 0) return;
    std::string in;
    bool in_data = false;
    char buf[4096];
    while (!stop_) {
      pollfd p{conn, POLLIN, 0};
      if (poll(&p, 1, 50) <= 0) continue;
      ssize_t n = read(conn, buf, sizeof(buf));
      if (n <= 0) return;
      in.append(buf, n);
      while (true) {
        if (in_data) {
          auto end = in.find("\r\n.\r\n");
          if (end == std::string::npos) break;
          {
            std::lock_guard<std::mutex> lock(mu_);
            data_ = in.substr(0, end + 2);
          }
          in.erase(0, end + 5);
          in_data = false;
          if (!Reply(conn, script_("DATA-END"))) return;
          continue;
        }
        auto eol = in.find("\r\n");
        if (eol == std::string::npos) break;
        const std::string command = in.substr(0, eol);
        in.erase(0, eol + 2);
        {
          std::lock_guard<std::mutex> lock(mu_);
          commands_.push_back(command);
        }
        const std::string reply = script_(command);
        if (!Reply(conn, reply)) return;
        if (command == "DATA" && reply.rfind("354", 0) == 0) in_data = true;
        if (command == "QUIT") return;
      }
    }
  }

  Script script_;
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> commands_;
  std::string data_;
};

SmtpOptions OptionsFor(const StubSmtp& stub) {
  SmtpOptions o;
  o.url = stub.url();
  o.identity = {
      .from_address = "noreply@wod.example.org", .from_name = "WoD", .message_id_domain = ""};
  o.timeout = absl::Seconds(5);
  return o;
}

TEST(SmtpMailSenderTest, SendsEnvelopeAndTheComposedMessage) {
  StubSmtp stub(&StubSmtp::AcceptAll);
  common::FakeClock clock(absl::FromUnixSeconds(1'800'000'000));
  SmtpMailSender sender(OptionsFor(stub), &clock);
  auto m = Message();
  m.text_body = "line one\n.\nlast";  // a lone dot would end DATA if not encoded
  ASSERT_OK(sender.Send(m));
  auto commands = stub.commands();
  EXPECT_THAT(commands, ::testing::Contains("MAIL FROM:<noreply@wod.example.org>"));
  EXPECT_THAT(commands, ::testing::Contains("RCPT TO:<ada@example.com>"));
  ComposeParams p{.identity = OptionsFor(stub).identity,
                  .date = clock.Now(),
                  .message_id = MessageIdForKey(m.key, "wod.example.org")};
  ASSERT_OK_AND_ASSIGN(std::string expected, ComposeMail(m, p));
  EXPECT_EQ(stub.data(), expected);
}

TEST(SmtpMailSenderTest, RepliesMapToRetryOrGiveUp) {
  struct Case {
    std::string step;  // the command whose reply is replaced ("" = greeting)
    std::string reply;
    absl::StatusCode code;
  };
  const std::vector<Case> cases = {
      {"", "421 too busy", absl::StatusCode::kUnavailable},
      {"MAIL", "451 try later", absl::StatusCode::kUnavailable},
      {"RCPT", "450 mailbox busy", absl::StatusCode::kUnavailable},
      {"RCPT", "550 no such user", absl::StatusCode::kInvalidArgument},
      {"MAIL", "553 sender refused", absl::StatusCode::kFailedPrecondition},
      {"DATA-END", "554 spam", absl::StatusCode::kFailedPrecondition},
      {"DATA-END", "452 disk full", absl::StatusCode::kUnavailable},
  };
  for (const auto& c : cases) {
    StubSmtp stub([&](const std::string& command) {
      if (command.rfind(c.step, 0) == 0 && (c.step.empty() == command.empty())) return c.reply;
      return StubSmtp::AcceptAll(command);
    });
    SmtpMailSender sender(OptionsFor(stub));
    EXPECT_THAT(sender.Send(Message()), StatusIs(c.code)) << c.step << " " << c.reply;
  }
}

TEST(SmtpMailSenderTest, UnreachableServerIsUnavailable) {
  int port;
  {
    StubSmtp stub(&StubSmtp::AcceptAll);  // take a free port, then close it
    port = std::stoi(stub.url().substr(stub.url().rfind(':') + 1));
  }
  SmtpOptions o;
  o.url = absl::StrCat("smtp://127.0.0.1:", port);
  o.identity.from_address = "noreply@wod.example.org";
  SmtpMailSender sender(o);
  EXPECT_THAT(sender.Send(Message()), StatusIs(absl::StatusCode::kUnavailable));
}

TEST(SmtpMailSenderTest, RequiredTlsNotOfferedFailsAndCredentialsNeverShow) {
  StubSmtp stub(&StubSmtp::AcceptAll);  // offers neither STARTTLS nor AUTH
  auto o = OptionsFor(stub);
  o.tls = SmtpOptions::Tls::kRequired;
  o.username = "wod";
  o.password = "hunter2-very-secret";
  SmtpMailSender sender(o);
  absl::Status s = sender.Send(Message());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2")));
  for (const auto& c : stub.commands()) EXPECT_THAT(c, Not(HasSubstr("MAIL"))) << "no plaintext";

  // Without TLS and with a server that offers no AUTH, curl sends unauthenticated (a local
  // relay); the password must not travel in any command either way.
  StubSmtp plain(&StubSmtp::AcceptAll);
  o.url = plain.url();
  o.tls = SmtpOptions::Tls::kNone;
  SmtpMailSender no_auth_offered(o);
  EXPECT_OK(no_auth_offered.Send(Message()));
  for (const auto& c : plain.commands()) EXPECT_THAT(c, Not(HasSubstr("hunter2")));
  EXPECT_THAT(plain.data(), Not(HasSubstr("hunter2")));
}

// "STARTTLS if offered" must not become "the password in clear" when the offer is missing
// (a server without it, or someone in the middle who strips it from the EHLO reply).
TEST(SmtpMailSenderTest, CredentialsAreNeverSentWithoutTlsWhenTheServerOffersNone) {
  StubSmtp stub([](const std::string& c) -> std::string {
    if (c.rfind("EHLO", 0) == 0) return "250-stub\r\n250 AUTH PLAIN LOGIN";  // no STARTTLS
    return StubSmtp::AcceptAll(c);
  });
  auto o = OptionsFor(stub);
  o.tls = SmtpOptions::Tls::kStartTlsIfOffer;
  o.username = "wod";
  o.password = "hunter2-very-secret";
  SmtpMailSender sender(o);
  absl::Status s = sender.Send(Message());
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kFailedPrecondition));
  EXPECT_THAT(std::string(s.message()), Not(HasSubstr("hunter2")));
  for (const auto& c : stub.commands()) {
    EXPECT_THAT(c, Not(HasSubstr("AUTH"))) << "no credentials in clear text";
    EXPECT_THAT(c, Not(HasSubstr("MAIL")));
  }
  // Without credentials the same setting still sends in clear to a relay that offers no TLS.
  StubSmtp relay(&StubSmtp::AcceptAll);
  o = OptionsFor(relay);
  o.tls = SmtpOptions::Tls::kStartTlsIfOffer;
  SmtpMailSender anonymous(o);
  EXPECT_OK(anonymous.Send(Message()));
}

}  // namespace
}  // namespace wod::drivers
