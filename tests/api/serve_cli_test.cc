// `wod serve` as a process: it prints the address it listens on, applies the `api:` section
// of --config, answers over HTTP, and exits 0 on SIGTERM; bad flags and config exit 2.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <thread>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/api/api_test_util.h"
#include "tests/store/scratch_db.h"

namespace wod::api {
namespace {

using ::testing::HasSubstr;
using json = nlohmann::json;

// A child process with its stdout and stderr on pipes.
class Child {
 public:
  explicit Child(const std::vector<std::string>& args) {
    int out[2], err[2];
    if (pipe(out) != 0 || pipe(err) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      dup2(err[1], 2);
      close(out[0]), close(err[0]), close(out[1]), close(err[1]);
      std::vector<char*> argv;
      for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(WOD_BINARY, argv.data());
      _exit(127);
    }
    close(out[1]), close(err[1]);
    out_ = out[0];
    err_ = err[0];
  }
  ~Child() {
    if (pid_ > 0 && !exited_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) close(out_);
    if (err_ >= 0) close(err_);
  }

  // The first line of stdout, or "" after `timeout`.
  std::string ReadLine(std::chrono::seconds timeout) {
    std::string line;
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd p{out_, POLLIN, 0};
      if (poll(&p, 1, 100) <= 0) continue;
      char c;
      if (read(out_, &c, 1) != 1) break;
      if (c == '\n') return line;
      line += c;
    }
    return "";
  }

  // Waits for the exit; returns the exit code, or -1 on timeout or a signal death.
  int Wait(std::chrono::seconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

  // What is left on stderr / stdout (call after the exit).
  std::string Stderr() { return Drain(err_); }
  std::string Stdout() { return Drain(out_); }

  pid_t pid() const { return pid_; }

 private:
  static std::string Drain(int fd) {
    std::string s;
    char buf[4096];
    fcntl(fd, F_SETFL, O_NONBLOCK);
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) > 0) s.append(buf, n);
    return s;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  int err_ = -1;
  bool exited_ = false;
};

class ServeCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto db = store::testing::SqliteScratchDb::Create();
    ASSERT_OK(db);
    db_ = std::move(db).value();
    auto store = store::OpenStore(db_->url());
    ASSERT_OK(store);
    ASSERT_OK((*store)->UpsertCatalog({testing::MakeWorkshop("WKSHP-Alpha", 1, 3, 3)}));
    dir_ = std::filesystem::path(db_->url().substr(7)).parent_path();
  }
  std::string WriteConfig(const std::string& text) {
    std::string path = (dir_ / "wod.yml").string();
    std::ofstream(path) << text;
    return path;
  }

  std::unique_ptr<store::testing::ScratchDb> db_;
  std::filesystem::path dir_;
};

TEST_F(ServeCliTest, ServesWithTheConfigAndStopsGracefullyOnSigterm) {
  const std::string config = WriteConfig(R"(
controller:
  not: ours
api:
  public_base_url: https://wod.example.com
  max_body_bytes: 2048
  email_deny_list: [mailinator.com]
  registration_rate_limit: {per_minute: 0}
)");
  Child serve({"wod", "serve", "--store", db_->url(), "--listen", "127.0.0.1:0", "--config", config,
               "--no-lifecycle"});
  const std::string line = serve.ReadLine(std::chrono::seconds(20));
  std::smatch m;
  ASSERT_TRUE(
      std::regex_match(line, m, std::regex(R"(wod serve: listening on http://127\.0\.0\.1:(\d+))")))
      << "stdout: '" << line << "' stderr: " << serve.Stderr();
  httplib::Client c("127.0.0.1", std::stoi(m[1]));

  auto res = c.Get("/healthz");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  res = c.Post("/api/v1/registrations",
               testing::RegistrationBody("WKSHP-Alpha", "a@mailinator.com"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(testing::ErrorOf(res).value("code", ""), "email_denied");
  res = c.Post("/api/v1/registrations", std::string(4096, ' ') + "{}", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  res = c.Post("/api/v1/registrations", testing::RegistrationBody("WKSHP-Alpha", "a@example.com"),
               "application/json");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 201) << res->body;
  EXPECT_THAT(json::parse(res->body)["page_url"].get<std::string>(),
              ::testing::StartsWith("https://wod.example.com/p/"));

  ASSERT_EQ(kill(serve.pid(), SIGTERM), 0);
  EXPECT_EQ(serve.Wait(std::chrono::seconds(20)), 0) << serve.Stderr();
  EXPECT_FALSE(c.Get("/healthz"));
}

TEST_F(ServeCliTest, TokensMadeByTheCliAuthorizeTheServerUntilRevokedAndAreNeverShownAgain) {
  auto make = [&](const std::string& role, const std::string& name) {
    Child token({"wod", "token", "create", "--role", role, "--name", name, "--store", db_->url()});
    std::string line = token.ReadLine(std::chrono::seconds(20));
    EXPECT_EQ(token.Wait(std::chrono::seconds(20)), 0) << token.Stderr();
    return line;
  };
  const std::string admin = make("admin", "ci");
  const std::string ops = make("operator", "dashboard");
  EXPECT_THAT(admin, ::testing::MatchesRegex("wod_[0-9a-f]{64}"));
  EXPECT_NE(admin, ops);
  {
    Child again(
        {"wod", "token", "create", "--role", "admin", "--name", "ci", "--store", db_->url()});
    EXPECT_EQ(again.Wait(std::chrono::seconds(20)), 4);
    EXPECT_THAT(again.Stderr(), HasSubstr("'ci' exists"));
  }

  Child serve({"wod", "serve", "--store", db_->url(), "--listen", "127.0.0.1:0", "--no-lifecycle"});
  const std::string line = serve.ReadLine(std::chrono::seconds(20));
  std::smatch m;
  ASSERT_TRUE(
      std::regex_match(line, m, std::regex(R"(wod serve: listening on http://127\.0\.0\.1:(\d+))")))
      << "stdout: '" << line << "' stderr: " << serve.Stderr();
  httplib::Client c("127.0.0.1", std::stoi(m[1]));
  auto get_seats = [&](const std::string& token) {
    auto res = c.Get("/api/v1/seats", {{"Authorization", "Bearer " + token}});
    return res ? res->status : -1;
  };
  EXPECT_EQ(get_seats(admin), 200);
  EXPECT_EQ(get_seats(ops), 200);
  auto res = c.Post("/api/v1/seats/loc-a/1:cleanup", {{"Authorization", "Bearer " + ops}}, "",
                    "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  res = c.Post("/api/v1/seats/loc-a/1:cleanup", {{"Authorization", "Bearer " + admin}}, "",
               "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);

  {
    Child revoke({"wod", "token", "revoke", "ci", "--store", db_->url()});
    EXPECT_EQ(revoke.Wait(std::chrono::seconds(20)), 0) << revoke.Stderr();
  }
  EXPECT_EQ(get_seats(admin), 401);
  EXPECT_EQ(get_seats(ops), 200);
  {
    Child list({"wod", "token", "list", "--store", db_->url()});
    EXPECT_EQ(list.Wait(std::chrono::seconds(20)), 0);
    const std::string out = list.Stdout();
    EXPECT_THAT(out, HasSubstr("revoked"));
    EXPECT_THAT(out, ::testing::Not(HasSubstr(admin)));
    EXPECT_THAT(out, ::testing::Not(HasSubstr(ops)));
  }
  ASSERT_EQ(kill(serve.pid(), SIGTERM), 0);
  EXPECT_EQ(serve.Wait(std::chrono::seconds(20)), 0);
  const std::string logs = serve.Stderr() + serve.Stdout();
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(admin)));
  EXPECT_THAT(logs, ::testing::Not(HasSubstr(ops)));
}

TEST_F(ServeCliTest, HelpDoesNotPrintTheStoreUrlOfTheEnvironment) {
  setenv("WOD_STORE", "postgresql://wod:hunter2@db.internal/wod", 1);
  Child serve({"wod", "serve", "--help"});
  const int code = serve.Wait(std::chrono::seconds(20));
  unsetenv("WOD_STORE");
  EXPECT_EQ(code, 0);
  const std::string out = serve.Stdout();
  EXPECT_THAT(out, HasSubstr("--listen"));
  EXPECT_THAT(out, ::testing::Not(HasSubstr("hunter2")));
}

TEST_F(ServeCliTest, BadListenOrConfigExitsTwoNamingTheProblem) {
  {
    Child serve({"wod", "serve", "--store", db_->url(), "--listen", "localhost"});
    EXPECT_EQ(serve.Wait(std::chrono::seconds(20)), 2);
    EXPECT_THAT(serve.Stderr(), HasSubstr("--listen 'localhost' is not HOST:PORT"));
  }
  {
    const std::string config = WriteConfig("api:\n  max_body: 1\n");
    Child serve({"wod", "serve", "--store", db_->url(), "--listen", "127.0.0.1:0", "--config",
                 config, "--no-lifecycle"});
    EXPECT_EQ(serve.Wait(std::chrono::seconds(20)), 2);
    EXPECT_THAT(serve.Stderr(), HasSubstr(config + ":2: api.max_body: unknown key"));
  }
}

}  // namespace
}  // namespace wod::api
