// The mail sender contract, held against every MailSender: what arrives is one well-formed
// message with the right headers and both parts, whatever the transport. The arrived bytes are
// parsed by Python's `email` package (an independent MIME implementation), not by our code.
// Target mail_test runs the fake and the maildir sender (hermetic); target mail_smtp_test,
// compiled with WOD_MAIL_SMTP, runs SmtpMailSender against aiosmtpd (label `smtp`, started by
// scripts/services/smtp), reading what it received from its maildir.
#include <dirent.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "common/clock.h"
#include "common/files.h"
#include "common/subprocess.h"
#include "drivers/mail/compose.h"
#include "drivers/mail/mail_fake.h"
#include "drivers/mail/mail_maildir.h"
#include "drivers/mail/mail_smtp.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers {
namespace {

using ::testing::HasSubstr;
using ::wod::testing::StatusIs;
using json = nlohmann::json;

constexpr int64_t kNow = 1'800'000'000;  // Fri, 15 Jan 2027 08:00:00 UTC

const MailIdentity kIdentity{.from_address = "noreply@wod.example.org",
                             .from_name = "Équipe WoD",
                             .message_id_domain = "wod.example.org"};

// Every file under `maildir`'s new/ and cur/ whose text contains `needle`.
std::vector<std::string> FindInMaildir(const std::string& maildir, const std::string& needle) {
  std::vector<std::string> found;
  for (const char* sub : {"/new", "/cur"}) {
    const std::string dir = maildir + sub;
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) continue;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      auto text = common::ReadFile(dir + "/" + e->d_name);
      if (text.ok() && text->find(needle) != std::string::npos) found.push_back(*text);
    }
    closedir(d);
  }
  return found;
}

class Backend {
 public:
  virtual ~Backend() = default;
  virtual MailSender& sender() = 0;
  // The raw message that arrived for `key` (nullopt: nothing arrived), and how many did.
  virtual std::vector<std::string> Arrived(const std::string& key) = 0;
};

class FakeBackend : public Backend {
 public:
  FakeBackend() : fake_(kIdentity) {}
  MailSender& sender() override { return fake_; }
  std::vector<std::string> Arrived(const std::string& key) override {
    std::vector<std::string> out;
    for (const auto& s : fake_.sent()) {
      if (s.message.key == key) out.push_back(s.text);
    }
    return out;
  }

 private:
  FakeMailSender fake_;
};

class MaildirBackend : public Backend {
 public:
  MaildirBackend() : clock_(absl::FromUnixSeconds(kNow)) {
    char tmpl[] = "/tmp/wod-maildir-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
    sender_ = std::make_unique<MaildirMailSender>(
        MaildirOptions{.dir = dir_ + "/outbox", .identity = kIdentity}, &clock_);
  }
  ~MaildirBackend() override { (void)common::RunProcess({"rm", "-rf", dir_}); }
  MailSender& sender() override { return *sender_; }
  std::vector<std::string> Arrived(const std::string& key) override {
    return FindInMaildir(dir_ + "/outbox", MessageIdForKey(key, "wod.example.org"));
  }

 private:
  common::FakeClock clock_;
  std::string dir_;
  std::unique_ptr<MaildirMailSender> sender_;
};

class SmtpBackend : public Backend {
 public:
  SmtpBackend(const std::string& url, std::string maildir)
      : clock_(absl::FromUnixSeconds(kNow)), maildir_(std::move(maildir)) {
    SmtpOptions o;
    o.url = url;
    o.identity = kIdentity;
    o.timeout = absl::Seconds(10);
    sender_ = std::make_unique<SmtpMailSender>(o, &clock_);
  }
  MailSender& sender() override { return *sender_; }
  std::vector<std::string> Arrived(const std::string& key) override {
    // aiosmtpd has written the file before it answers 250 to the final dot.
    return FindInMaildir(maildir_, MessageIdForKey(key, "wod.example.org"));
  }

 private:
  common::FakeClock clock_;
  std::string maildir_;
  std::unique_ptr<SmtpMailSender> sender_;
};

// Parses a raw message with Python's email package and returns what it found, as JSON.
absl::StatusOr<json> ParseWithPython(const std::string& raw) {
  static constexpr char kScript[] = R"(
import email, json, sys
from email import policy
msg = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
parts = []
for part in msg.walk():
    if part.get_content_maintype() == "multipart":
        continue
    parts.append({"type": part.get_content_type(), "charset": part.get_content_charset(),
                  "cte": str(part["content-transfer-encoding"]), "content": part.get_content()})
print(json.dumps({
    "subject": str(msg["subject"]), "from": str(msg["from"]), "to": str(msg["to"]),
    "from_name": msg["from"].addresses[0].display_name,
    "date": msg["date"].datetime.timestamp(), "message_id": str(msg["message-id"]),
    "mime_version": str(msg["mime-version"]), "type": msg.get_content_type(),
    "defects": [type(d).__name__ for p in msg.walk() for d in p.defects],
    "bcc": str(msg["bcc"]), "parts": parts}))
)";
  common::SubprocessOptions options;
  // Python's parser wants the local line ending, as a mail store keeps messages.
  options.stdin_text = absl::StrReplaceAll(raw, {{"\r\n", "\n"}});
  ASSIGN_OR_RETURN(auto r, common::RunProcess({"/usr/bin/python3", "-c", kScript}, options));
  if (r.exit_code != 0) return absl::InternalError("python email parser: " + r.stderr_text);
  json j = json::parse(r.stdout_text, nullptr, false);
  if (j.is_discarded()) return absl::InternalError("python printed no JSON");
  return j;
}

class MailContractTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (GetParam() == "fake") {
      backend_ = std::make_unique<FakeBackend>();
    } else if (GetParam() == "maildir") {
      backend_ = std::make_unique<MaildirBackend>();
    } else {
      WOD_REQUIRE_SERVICE(url, "WOD_TEST_SMTP_URL", "an SMTP server");
      WOD_REQUIRE_SERVICE(maildir, "WOD_TEST_SMTP_MAILDIR", "the SMTP server's maildir");
      backend_ = std::make_unique<SmtpBackend>(url, maildir);
    }
  }

  // A key no other test or run uses: the SMTP server's maildir is shared.
  std::string Key(const std::string& kind) {
    return absl::StrCat(getpid(), "-", ::testing::UnitTest::GetInstance()->random_seed(), "-",
                        std::chrono::steady_clock::now().time_since_epoch().count(), ":", kind);
  }

  model::MailMessage Mail(const std::string& kind) {
    return {.to = "ada.lovelace@example.com",
            .subject = "Votre atelier « Découverte » est prêt 🎉",
            .text_body =
                "Bonjour Ada,\n\nVotre poste : student7, mot de passe : Xk7pQ2mN9rTw.\n"
                "Ligne très longue : " +
                std::string(200, 'x') + " fin.\n.\nFrom the team\n",
            .html_body =
                "<p>Bonjour Ada,</p>\n<p>Votre poste : <b>student7</b> — à "
                "bientôt !</p>\n",
            .key = Key(kind)};
  }

  std::unique_ptr<Backend> backend_;
};

TEST_P(MailContractTest, ArrivesWithItsHeadersAndBothPartsDecoded) {
  const auto m = Mail("credentials");
  ASSERT_OK(backend_->sender().Send(m));
  auto arrived = backend_->Arrived(m.key);
  ASSERT_EQ(arrived.size(), 1u);
  ASSERT_OK_AND_ASSIGN(json parsed, ParseWithPython(arrived[0]));
  EXPECT_EQ(parsed["defects"], json::array()) << arrived[0];
  EXPECT_EQ(parsed["subject"], m.subject);
  EXPECT_EQ(parsed["from"], "Équipe WoD <noreply@wod.example.org>");
  EXPECT_EQ(parsed["from_name"], "Équipe WoD");
  EXPECT_EQ(parsed["to"], m.to);
  EXPECT_EQ(parsed["date"], static_cast<double>(kNow));
  EXPECT_EQ(parsed["message_id"],
            absl::StrCat("<", MessageIdForKey(m.key, "wod.example.org"), ">"));
  EXPECT_EQ(parsed["mime_version"], "1.0");
  EXPECT_EQ(parsed["type"], "multipart/alternative");
  ASSERT_EQ(parsed["parts"].size(), 2u);
  EXPECT_EQ(parsed["parts"][0]["type"], "text/plain");
  EXPECT_EQ(parsed["parts"][0]["charset"], "utf-8");
  EXPECT_EQ(parsed["parts"][0]["cte"], "quoted-printable");
  EXPECT_EQ(parsed["parts"][0]["content"], m.text_body);
  EXPECT_EQ(parsed["parts"][1]["type"], "text/html");
  EXPECT_EQ(parsed["parts"][1]["content"], m.html_body);
}

TEST_P(MailContractTest, EveryLineOfTheArrivedMessageIsShort) {
  const auto m = Mail("reminder");
  ASSERT_OK(backend_->sender().Send(m));
  auto arrived = backend_->Arrived(m.key);
  ASSERT_EQ(arrived.size(), 1u);
  size_t start = 0;
  while (start < arrived[0].size()) {
    size_t end = arrived[0].find('\n', start);
    if (end == std::string::npos) end = arrived[0].size();
    EXPECT_LE(end - start, 78u) << arrived[0].substr(start, end - start);
    for (size_t i = start; i < end; ++i) {
      EXPECT_LT(static_cast<unsigned char>(arrived[0][i]), 128) << "8-bit byte on the wire";
    }
    start = end + 1;
  }
}

TEST_P(MailContractTest, HeaderInjectionIsRefusedAndNothingIsSent) {
  auto m = Mail("apology");
  m.subject = "Sorry\r\nBcc: everyone@example.com";
  EXPECT_THAT(backend_->sender().Send(m), StatusIs(absl::StatusCode::kInvalidArgument));
  m = Mail("apology");
  m.to = "ada@example.com\nBcc: everyone@example.com";
  EXPECT_THAT(backend_->sender().Send(m), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_TRUE(backend_->Arrived(m.key).empty());
}

TEST_P(MailContractTest, TextOnlyMailArrivesAsOnePart) {
  auto m = Mail("final");
  m.html_body.clear();
  ASSERT_OK(backend_->sender().Send(m));
  auto arrived = backend_->Arrived(m.key);
  ASSERT_EQ(arrived.size(), 1u);
  ASSERT_OK_AND_ASSIGN(json parsed, ParseWithPython(arrived[0]));
  EXPECT_EQ(parsed["type"], "text/plain");
  ASSERT_EQ(parsed["parts"].size(), 1u);
  EXPECT_EQ(parsed["parts"][0]["content"], m.text_body);
}

#ifdef WOD_MAIL_SMTP
INSTANTIATE_TEST_SUITE_P(Senders, MailContractTest, ::testing::Values("smtp"),
                         [](const auto& info) { return info.param; });
#else
INSTANTIATE_TEST_SUITE_P(Senders, MailContractTest, ::testing::Values("fake", "maildir"),
                         [](const auto& info) { return info.param; });

// Maildir specifics (hermetic).
class MaildirSenderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/wod-maildir-test.XXXXXX";
    dir_ = mkdtemp(tmpl);
  }
  void TearDown() override { (void)common::RunProcess({"rm", "-rf", dir_}); }
  std::vector<std::string> List(const std::string& sub) {
    std::vector<std::string> names;
    DIR* d = opendir((dir_ + "/outbox/" + sub).c_str());
    if (d == nullptr) return names;
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] != '.') names.push_back(e->d_name);
    }
    closedir(d);
    return names;
  }
  model::MailMessage Mail(std::string key) {
    return {.to = "ada@example.com",
            .subject = "Hi",
            .text_body = "x\n",
            .html_body = "",
            .key = std::move(key)};
  }
  std::string dir_;
  common::FakeClock clock_{absl::FromUnixSeconds(kNow)};
};

TEST_F(MaildirSenderTest, DeliversIntoNewThroughTmpWithLocalLineEndings) {
  MaildirMailSender sender({.dir = dir_ + "/outbox", .identity = kIdentity}, &clock_);
  ASSERT_OK(sender.Send(Mail("")));
  EXPECT_TRUE(List("tmp").empty());
  EXPECT_TRUE(List("cur").empty());
  auto names = List("new");
  ASSERT_EQ(names.size(), 1u);
  EXPECT_THAT(names[0], ::testing::StartsWith(absl::StrCat(kNow, ".M")));
  ASSERT_OK_AND_ASSIGN(std::string text, common::ReadFile(dir_ + "/outbox/new/" + names[0]));
  EXPECT_THAT(text, HasSubstr("To: ada@example.com\nSubject: Hi\n"));
  EXPECT_EQ(text.find('\r'), std::string::npos);
}

TEST_F(MaildirSenderTest, AKeyIsDeliveredOnceEvenAfterItWasRead) {
  MaildirMailSender sender({.dir = dir_ + "/outbox", .identity = kIdentity}, &clock_);
  ASSERT_OK(sender.Send(Mail("7:credentials")));
  ASSERT_OK(sender.Send(Mail("7:credentials")));
  auto names = List("new");
  ASSERT_EQ(names.size(), 1u);
  // A mail client moves it to cur/ with flags once read; a retry must still see it.
  ASSERT_EQ(rename((dir_ + "/outbox/new/" + names[0]).c_str(),
                   (dir_ + "/outbox/cur/" + names[0] + ":2,S").c_str()),
            0);
  ASSERT_OK(sender.Send(Mail("7:credentials")));
  EXPECT_TRUE(List("new").empty());
  ASSERT_OK(sender.Send(Mail("7:reminder")));
  EXPECT_EQ(List("new").size(), 1u);
  ASSERT_OK(sender.Send(Mail("")));
  ASSERT_OK(sender.Send(Mail("")));
  EXPECT_EQ(List("new").size(), 3u) << "messages without a key are all delivered";
}

TEST_F(MaildirSenderTest, UnusableDirectoryIsAnError) {
  ASSERT_OK(common::WriteFileAtomic(dir_ + "/file", "not a directory"));
  MaildirMailSender sender({.dir = dir_ + "/file/outbox", .identity = kIdentity}, &clock_);
  EXPECT_THAT(sender.Send(Mail("")),
              StatusIs(absl::StatusCode::kFailedPrecondition, HasSubstr("file/outbox")));
}
#endif

}  // namespace
}  // namespace wod::drivers
