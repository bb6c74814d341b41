// `wod serve` runs the lifecycle under the global `lifecycle` lease (label postgres): several
// `wod serve` processes on one PostgreSQL store, each answering the API; exactly one sends the
// mails at a time, and when it dies (SIGKILL: no release) another takes over once the lease
// expires. `--no-lifecycle` serves the API only and never takes the lease.
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <regex>
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "store/sql_db.h"
#include "store/store.h"
#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::Not;

class ServeLifecyclePgTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_SERVICE(base, "WOD_TEST_PG_URL", "PostgreSQL");
    ASSERT_OK_AND_ASSIGN(db_, store::testing::PgScratchDb::Create(base, "wod_serve_lc"));
    {
      ASSERT_OK_AND_ASSIGN(auto s, store::OpenStore(db_->url()));
      ASSERT_OK(s->UpsertCatalog({api::testing::MakeWorkshop("WKSHP-Lease", 1, 6, 6)}));
    }
    dir_ = fs::path(::testing::TempDir()) / ("wod_serve_lc_" + std::to_string(getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    config_ = (dir_ / "wod.yml").string();
    std::ofstream(config_) << "api:\n"
                              "  registration_rate_limit: {per_minute: 0}\n"
                              "mail:\n"
                              "  maildir: mail\n"
                              "lifecycle:\n"
                              "  resync: 200ms\n"
                              "  lease_ttl: 1500ms\n";
  }
  void TearDown() override {
    procs_.clear();  // SIGKILL whatever is still running
    db_.reset();
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }

  // Starts `wod serve` and returns it with its port (0 when it did not come up).
  std::pair<testing::DaemonProcess*, int> Serve(const std::string& name,
                                                std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"serve",       "--store",  db_->url(), "--listen",
                                     "127.0.0.1:0", "--config", config_};
    args.insert(args.end(), extra.begin(), extra.end());
    procs_.push_back(
        std::make_unique<testing::DaemonProcess>(WOD_BINARY, args, dir_ / (name + ".log")));
    testing::DaemonProcess* p = procs_.back().get();
    const std::string port =
        p->WaitForMatch(R"(wod serve: listening on http://127\.0\.0\.1:(\d+))", 20s);
    EXPECT_FALSE(port.empty()) << name << ": " << p->log();
    return {p, port.empty() ? 0 : std::stoi(port)};
  }

  int64_t Register(int port, const std::string& email) {
    httplib::Client c("127.0.0.1", port);
    auto res = c.Post("/api/v1/registrations", api::testing::RegistrationBody("WKSHP-Lease", email),
                      "application/json");
    EXPECT_TRUE(res);
    if (!res) return 0;
    EXPECT_EQ(res->status, 201) << res->body;
    return nlohmann::json::parse(res->body)["registration"]["id"].get<int64_t>();
  }

  // The mails delivered to the maildir: their file contents.
  std::vector<std::string> Mails() {
    std::vector<std::string> out;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(dir_ / "mail" / "new", ec)) {
      out.push_back(testing::ReadFile(e.path()));
    }
    return out;
  }
  bool WaitForMails(size_t n, std::chrono::milliseconds timeout) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < end) {
      if (Mails().size() >= n) return true;
      std::this_thread::sleep_for(50ms);
    }
    return Mails().size() >= n;
  }
  size_t MailsTo(const std::string& email) {
    size_t n = 0;
    for (const auto& m : Mails()) n += m.find("To: " + email) != std::string::npos;
    return n;
  }

  // The holder of the `lifecycle` lease as stored ("" when free or never taken).
  std::string LeaseHolder() {
    auto db = store::OpenPostgresDb(db_->url());
    EXPECT_OK(db);
    if (!db.ok()) return "?";
    std::string holder;
    EXPECT_OK((*db)->Transact(store::TxMode::kRead, [&](store::SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT holder FROM leases WHERE name = 'lifecycle'"));
      if (!rows.empty()) holder = rows[0].Text(0);
      return absl::OkStatus();
    }));
    return holder;
  }

  std::unique_ptr<store::testing::ScratchDb> db_;
  fs::path dir_;
  std::string config_;
  std::vector<std::unique_ptr<testing::DaemonProcess>> procs_;
};

TEST_F(ServeLifecyclePgTest, OneServeSendsTheMailsAndAnotherTakesOverWhenItDies) {
  // API only: registers, mails nobody, holds no lease.
  auto [api_only, api_port] = Serve("api-only", {"--no-lifecycle"});
  ASSERT_NE(api_port, 0);
  Register(api_port, "early@example.com");
  std::this_thread::sleep_for(1500ms);
  EXPECT_TRUE(Mails().empty());
  EXPECT_EQ(LeaseHolder(), "");

  auto [a, a_port] = Serve("a");
  ASSERT_NE(a_port, 0);
  // A takes the lease and mails the registration made before it started.
  ASSERT_TRUE(WaitForMails(1, 15s)) << a->log();
  const std::string holder_a = LeaseHolder();
  EXPECT_FALSE(holder_a.empty());
  auto [b, b_port] = Serve("b");
  ASSERT_NE(b_port, 0);
  ASSERT_TRUE(b->WaitForLog("waiting for lease", 10s)) << b->log();

  // Both answer the API; A alone sends, once per mail.
  Register(b_port, "ada@example.com");
  Register(a_port, "bob@example.com");
  ASSERT_TRUE(WaitForMails(3, 15s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Mails().size(), 3u);
  EXPECT_EQ(MailsTo("early@example.com"), 1u);
  EXPECT_EQ(MailsTo("ada@example.com"), 1u);
  EXPECT_EQ(MailsTo("bob@example.com"), 1u);
  EXPECT_EQ(LeaseHolder(), holder_a);

  // A dies without releasing the lease: B takes over after it expires (1.5 s) and mails the
  // next registration; nothing already sent is sent again.
  a->Signal(SIGKILL);
  EXPECT_EQ(a->Wait(10s), -1);
  Register(b_port, "cy@example.com");
  ASSERT_TRUE(WaitForMails(4, 20s)) << b->log();
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(Mails().size(), 4u);
  EXPECT_EQ(MailsTo("cy@example.com"), 1u);
  const std::string holder_b = LeaseHolder();
  EXPECT_FALSE(holder_b.empty());
  EXPECT_NE(holder_b, holder_a);

  // SIGTERM: B stops, releasing the lease at once; the API-only process never held it.
  b->Signal(SIGTERM);
  EXPECT_EQ(b->Wait(20s), 0) << b->log();
  EXPECT_EQ(LeaseHolder(), "");
  api_only->Signal(SIGTERM);
  EXPECT_EQ(api_only->Wait(20s), 0) << api_only->log();
  EXPECT_THAT(api_only->log(), Not(HasSubstr("lease")));
  // Logs never carry a page token or the store's password.
  for (const auto& name : {"a", "b", "api-only"}) {
    const std::string log = testing::ReadFile(dir_ / (std::string(name) + ".log"));
    EXPECT_THAT(log, Not(HasSubstr("/p/"))) << name;
  }
}

// The secret file is made on first start next to the config, 0600, and reused: a page link
// made by one process opens the registration through another.
TEST_F(ServeLifecyclePgTest, TheSecretFileIsMadeOnceWithMode0600AndSharedByTheProcesses) {
  auto [a, a_port] = Serve("a");
  ASSERT_NE(a_port, 0);
  const fs::path secret = dir_ / "wod.secret";
  ASSERT_TRUE(fs::exists(secret));
  EXPECT_EQ(fs::status(secret).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::string first = testing::ReadFile(secret);
  auto [b, b_port] = Serve("b", {"--no-lifecycle"});
  ASSERT_NE(b_port, 0);
  EXPECT_EQ(testing::ReadFile(secret), first);

  // Registered through B (API only), mailed by A: the mail's page link opens it through B.
  const int64_t id = Register(b_port, "ada@example.com");
  ASSERT_TRUE(WaitForMails(1, 15s)) << a->log();
  std::smatch m;
  // Quoted-printable bodies wrap long lines with soft breaks ("=" CRLF): undo them.
  const std::string mail = std::regex_replace(Mails()[0], std::regex("=\r?\n"), "");
  ASSERT_TRUE(std::regex_search(mail, m, std::regex("/p/([0-9a-f]{64})"))) << mail;
  httplib::Client c("127.0.0.1", b_port);
  auto res = c.Get("/api/v1/me", {{"Authorization", "Participant " + std::string(m[1])}});
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  EXPECT_EQ(nlohmann::json::parse(res->body)["id"].get<int64_t>(), id);

  // A secret file others can read is refused (exit 2), not used.
  a->Signal(SIGTERM);
  EXPECT_EQ(a->Wait(20s), 0);
  fs::permissions(secret, fs::perms::group_read, fs::perm_options::add);
  testing::DaemonProcess bad(
      WOD_BINARY, {"serve", "--store", db_->url(), "--listen", "127.0.0.1:0", "--config", config_},
      dir_ / "bad.log");
  EXPECT_EQ(bad.Wait(20s), 2);
  EXPECT_THAT(bad.log(), HasSubstr("readable by others"));
  EXPECT_THAT(bad.log(), Not(HasSubstr(first.substr(0, 16))));
}

}  // namespace
}  // namespace wod
