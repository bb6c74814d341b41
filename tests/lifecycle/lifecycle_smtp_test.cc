// The lifecycle against a real SMTP server (label smtp; scripts/services/smtp exports
// WOD_TEST_SMTP_URL and WOD_TEST_SMTP_MAILDIR): a registration's credentials mail arrives
// exactly once, read back from the server's maildir, with the hub login, user name and password,
// even though the runner passes again and is restarted.
#include <dirent.h>
#include <unistd.h>

#include <cctype>
#include <chrono>
#include <filesystem>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "catalogfs/load.h"
#include "common/files.h"
#include "controller/lifecycle.h"
#include "drivers/mail/compose.h"
#include "drivers/mail/mail_smtp.h"
#include "model/catalog.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod::controller {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

// Every message in `maildir` (new/ and cur/) containing `needle`.
std::vector<std::string> FindInMaildir(const std::string& maildir, const std::string& needle) {
  std::vector<std::string> found;
  for (const char* sub : {"/new", "/cur"}) {
    for (const auto& e : fs::directory_iterator(maildir + sub, fs::directory_options::none)) {
      auto text = common::ReadFile(e.path().string());
      if (text.ok() && text->find(needle) != std::string::npos) found.push_back(*text);
    }
  }
  return found;
}

// Undoes quoted-printable: soft line breaks and =XX escapes.
std::string DecodeQuotedPrintable(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '=') {
      out += text[i];
    } else if (text.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;
    } else if (i + 1 < text.size() && text[i + 1] == '\n') {
      i += 1;
    } else if (i + 2 < text.size() && std::isxdigit(static_cast<unsigned char>(text[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(text[i + 2]))) {
      out += static_cast<char>(std::stoi(text.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += '=';  // not an escape (a MIME boundary, a header)
    }
  }
  return out;
}

TEST(LifecycleSmtp, CredentialsMailArrivesOnce) {
  WOD_REQUIRE_SERVICE(url, "WOD_TEST_SMTP_URL", "an SMTP server");
  WOD_REQUIRE_SERVICE(maildir, "WOD_TEST_SMTP_MAILDIR", "the SMTP server's maildir");
  const fs::path dir = fs::path(::testing::TempDir()) / absl::StrCat("wod_lc_smtp_", getpid());
  fs::remove_all(dir);
  fs::create_directories(dir);
  struct Cleanup {
    fs::path dir;
    ~Cleanup() { fs::remove_all(dir); }
  } cleanup{dir};

  ASSERT_OK_AND_ASSIGN(auto store, store::OpenStore("sqlite:" + (dir / "wod.db").string()));
  model::Catalog catalog =
      catalogfs::LoadCatalog({std::string(WOD_SOURCE_DIR) + "/examples/catalog"}, "local");
  ASSERT_FALSE(catalog.HasErrors());
  std::vector<model::Workshop> workshops;
  for (const auto& e : catalog.entries) workshops.push_back(e.workshop);
  ASSERT_OK(store->UpsertCatalog(workshops));
  common::FakeClock clock;

  // The server's maildir is shared by every run: a Message-ID domain of this run only.
  drivers::SmtpOptions smtp;
  smtp.url = url;
  smtp.identity = {.from_address = "noreply@wod.example.org",
                   .from_name = "Workshops on Demand",
                   .message_id_domain = absl::StrCat(
                       "lc", getpid(), "-",
                       std::chrono::steady_clock::now().time_since_epoch().count(), ".test")};
  smtp.timeout = absl::Seconds(10);
  drivers::SmtpMailSender sender(smtp);

  ASSERT_OK_AND_ASSIGN(auto reg, store->Register({.workshop = "WKSHP-Shell101",
                                                  .email = "ada@example.com",
                                                  .name = "Ada L",
                                                  .company = "ACME",
                                                  .now = clock.Now(),
                                                  .duration = absl::Hours(4),
                                                  .seat = std::nullopt,
                                                  .token = "",
                                                  .token_nonce = ""}));
  ASSERT_OK_AND_ASSIGN(auto lease, store->AcquireLease("controller/local", "test-controller",
                                                       absl::Hours(1), clock.Now()));
  store::SeatStatus st;
  st.location = "local";
  st.number = reg.seat.number;
  st.observed_generation = reg.seat.generation;
  st.phase = model::Phase::kReady;
  ASSERT_OK(store->PutSeatStatus(st, "controller/local", lease.epoch));

  LifecycleOptions options;
  options.holder = "test";
  options.plan.hub_login_urls["local"] = "https://hub.example.org/hub/login";
  for (int restart = 0; restart < 2; ++restart) {
    Lifecycle lifecycle(store.get(), &sender, options, &clock);
    for (int pass = 0; pass < 2; ++pass) {
      ASSERT_OK(lifecycle.RunOnce(clock.Now()));
      ASSERT_OK_AND_ASSIGN(auto sent, lifecycle.SendDue(clock.Now()));
      EXPECT_EQ(sent.retried + sent.failed, 0);
    }
  }

  const std::string id = drivers::MessageIdForKey(absl::StrCat(reg.registration.id, ":credentials"),
                                                  smtp.identity.message_id_domain);
  std::vector<std::string> arrived;
  for (int i = 0; i < 50 && arrived.empty(); ++i) {
    arrived = FindInMaildir(maildir, id);
    if (arrived.empty()) usleep(100'000);
  }
  ASSERT_EQ(arrived.size(), 1u) << "credentials mail " << id;
  const std::string text = DecodeQuotedPrintable(arrived[0]);
  EXPECT_THAT(text, HasSubstr("Password: " + reg.seat.password));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("User name: student", reg.seat.number)));
  EXPECT_THAT(text, HasSubstr("https://hub.example.org/hub/login"));
  EXPECT_THAT(text, HasSubstr("ada@example.com"));
  // And the welcome arrived once too.
  EXPECT_EQ(
      FindInMaildir(maildir, drivers::MessageIdForKey(absl::StrCat(reg.registration.id, ":welcome"),
                                                      smtp.identity.message_id_domain))
          .size(),
      1u);
}

}  // namespace
}  // namespace wod::controller
