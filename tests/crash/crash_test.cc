// The crash test of the controller (issue 4) with every real driver: real Linux accounts on
// this machine (users wodcrash1..50, uids 61001..61050, group wodcrash), a real PostgreSQL
// store, a real JupyterHub, a real Docker engine (one appliance per occupied seat from
// WOD_TEST_DOCKER_IMAGE) and real content in the real homes.
//
// `wod controller` runs as a child process and is SIGKILLed at seeded random moments at least
// 10 times. While it is dead the test plays the participants and the operator: it executes
// notebook cells in the homes, CLEANUPs some registrations, registers new participants and
// RESETs some seats; then it restarts the controller (sometimes as a new lease holder, which
// must wait for the killed one's lease to expire). Finally `wod controller --once` runs until
// a pass is converged, and the test checks the machine against the store:
//   - every seat of the pool has its account, locked exactly when vacant, with the seat's
//     password; no account, home or hub user outside the pool;
//   - every seat has its hub user, nothing else of ours is in the hub;
//   - an occupied seat's home holds its registration's content at its reset epoch; a vacant
//     seat's home is empty;
//   - one running container per occupied seat, for its registration and epoch, none else;
//   - every registration made is in the store in the state the verbs left it;
//   - each registration that had content when it was cleaned up has its harvest recorded
//     once, with exactly the cells executed in its home, and exactly one harvest record and
//     one archive;
//   - every seat's status is Ready or Vacant at its current generation.
// Everything the test made (users, homes, group, hub users, containers, database, temp dirs)
// is removed at the end, and swept at the start in case an earlier run died.
//
// WOD_CRASH_SEED=N replays a run (the seed is printed); WOD_CRASH_KEEP_LOG=FILE keeps the
// controller's log.
//
// Bugs it found, now fixed: harvests reached the store only after the whole pass (a kill
// after a seat's wipe lost them); useradd ran before the home was made (a kill in between left
// an account without a home for good); a vacant seat's hub user was created before its account.
#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/accounts/password_hash.h"
#include "drivers/appliances/appliances_real.h"
#include "drivers/content/content_real.h"
#include "drivers/hub/hub_real.h"
#include "model/content.h"
#include "store/store.h"
#include "tests/store/scratch_db.h"
#include "tests/testing/seat_sweep.h"
#include "tests/testing/services.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

namespace fs = std::filesystem;

constexpr char kLocation[] = "crash";
constexpr char kWorkshop[] = "WKSHP-Crash";
constexpr char kPrefix[] = "wodcrash";
constexpr int kSeats = 50;
constexpr int kKills = 12;
constexpr uid_t kUidBase = 61000;
constexpr int kPolicySeats = 100;  // uids 61000..61099: seats outside the pool would show

model::AccountPolicy Policy() {
  return wod::testing::RealMachinePolicy(kPrefix, kUidBase, kPolicySeats);
}

void WriteText(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  chmod(path.c_str(), mode);
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string Notebook(const std::string& markdown, int code_cells) {
  nlohmann::json cells = nlohmann::json::array();
  cells.push_back({{"cell_type", "markdown"},
                   {"id", "m0"},
                   {"metadata", nlohmann::json::object()},
                   {"source", markdown}});
  for (int i = 0; i < code_cells; ++i) {
    cells.push_back({{"cell_type", "code"},
                     {"id", absl::StrCat("c", i)},
                     {"metadata", nlohmann::json::object()},
                     {"outputs", nlohmann::json::array()},
                     {"execution_count", nullptr},
                     {"source", absl::StrCat("x = ", i, "  # student{{ STDID }}")}});
  }
  return nlohmann::json{{"cells", cells},
                        {"metadata", nlohmann::json::object()},
                        {"nbformat", 4},
                        {"nbformat_minor", 5}}
      .dump(1);
}

// Executed code cells of the notebooks in a home's workshop folder; -1 when unreadable.
int ExecutedCells(const fs::path& folder) {
  int executed = 0;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(folder, ec)) {
    if (e.path().extension() != ".ipynb") continue;
    auto j = nlohmann::json::parse(ReadText(e.path()), nullptr, false);
    if (j.is_discarded()) return -1;
    for (const auto& c : j["cells"]) {
      if (c.value("cell_type", "") == "code" && c.contains("execution_count") &&
          !c["execution_count"].is_null()) {
        ++executed;
      }
    }
  }
  return executed;
}

// The participant runs the first `n` not yet executed code cells of the lab notebook, as
// JupyterLab would save it (the file keeps its owner: written in place).
void ExecuteCells(const fs::path& notebook, int n) {
  auto j = nlohmann::json::parse(ReadText(notebook), nullptr, false);
  if (j.is_discarded()) return;
  int count = 1;
  for (auto& c : j["cells"]) {
    if (n == 0) break;
    if (c.value("cell_type", "") != "code" || !c["execution_count"].is_null()) continue;
    c["execution_count"] = count++;
    --n;
  }
  std::ofstream(notebook, std::ios::binary | std::ios::trunc) << j.dump(1);
}

std::vector<std::string> Entries(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) out.push_back(e.path().filename());
  std::sort(out.begin(), out.end());
  return out;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WOD_REQUIRE_ROOT();
    WOD_REQUIRE_SERVICE(pg_url, "WOD_TEST_PG_URL", "PostgreSQL");
    WOD_REQUIRE_SERVICE(hub_url, "WOD_TEST_HUB_URL", "JupyterHub");
    WOD_REQUIRE_SERVICE(hub_token_file, "WOD_TEST_HUB_TOKEN_FILE", "JupyterHub");
    WOD_REQUIRE_SERVICE(docker_socket, "WOD_TEST_DOCKER_SOCKET", "Docker");
    WOD_REQUIRE_SERVICE(docker_image, "WOD_TEST_DOCKER_IMAGE", "Docker");
    docker_image_ = docker_image;

    // Drivers the test itself uses to look at the machine and to clean it up.
    drivers::accounts::RealAccountsOptions ao;
    ao.policy = Policy();
    ao.kill.grace = absl::Milliseconds(300);
    ASSERT_OK_AND_ASSIGN(accounts_, drivers::accounts::RealAccountsDriver::Create(ao));
    drivers::HubRealOptions ho;
    ho.url = hub_url;
    ho.token_file = hub_token_file;
    ho.policy.user_prefix = kPrefix;
    ASSERT_OK_AND_ASSIGN(hub_, drivers::HubReal::Create(ho));
    drivers::DockerOptions dopt;
    dopt.socket_path = docker_socket;
    dopt.location = kLocation;
    appliances_ = std::make_unique<drivers::DockerApplianceDriver>(dopt);
    ASSERT_NO_FATAL_FAILURE(Sweep());  // what a crashed earlier run may have left
    ASSERT_NO_FATAL_FAILURE(CheckRangeIsFree());
    made_things_ = true;

    char tmpl[] = "/tmp/wod-crash-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    chmod(dir_.c_str(), 0755);
    archive_dir_ = dir_ / "archive";
    fs::create_directories(archive_dir_);
    const fs::path content = dir_ / "workshops" / kWorkshop;
    WriteText(content / "0-ReadMeFirst.ipynb",
              Notebook("# Welcome student{{ STDID }}, password {{ PASSSTU }}", 1));
    WriteText(content / "1-Lab.ipynb", Notebook("## Lab", 3));

    ASSERT_OK_AND_ASSIGN(db_, store::testing::PgScratchDb::Create(pg_url, "wod_crash"));
    ASSERT_OK_AND_ASSIGN(store_, store::OpenStore(db_->url()));
    model::Location location;
    location.name = kLocation;
    location.fqdn = "crash.example.test";
    ASSERT_OK(store_->UpsertLocation(location));
    model::Workshop w;
    w.id = kWorkshop;
    w.name = "Crash";
    w.active = true;
    w.capacity = kSeats;
    w.range = {1, kSeats};
    w.duration_hours = 4;
    w.location = kLocation;
    model::Appliance a;
    a.name = "web";
    a.image = docker_image_;
    w.appliances = {a};
    ASSERT_OK(store_->UpsertCatalog({w}).status());

    config_ = dir_ / "controller.yml";
    WriteText(config_, absl::StrCat("accounts:\n"
                                    "  root: /\n"
                                    "  user_prefix: ",
                                    kPrefix, "\n  uid_base: ", kUidBase, "\n  seat_count: ",
                                    kPolicySeats, "\n  group: ", kPrefix, "\n  gid: ", kUidBase,
                                    "\n  home_base: /home\n"
                                    "content:\n"
                                    "  workshops: ",
                                    (dir_ / "workshops").string(),
                                    "\n  archive_dir: ", archive_dir_.string(),
                                    "\n"
                                    "hub:\n"
                                    "  url: ",
                                    hub_url, "\n  token_file: ", hub_token_file,
                                    "\n"
                                    "appliances:\n"
                                    "  docker_socket: ",
                                    docker_socket,
                                    "\n"
                                    "controller:\n"
                                    "  concurrency: 4\n"
                                    "  lease_ttl: 2s\n"
                                    "  resync: 1s\n"
                                    "  backoff_base: 200ms\n"
                                    "  backoff_cap: 1s\n"));
  }

  void TearDown() override {
    StopController();
    // WOD_CRASH_KEEP_LOG=FILE keeps the controller's log of a run for study.
    if (const char* keep = std::getenv("WOD_CRASH_KEEP_LOG"); keep != nullptr && !dir_.empty()) {
      std::error_code ec;
      fs::copy_file(dir_ / "controller.log", keep, fs::copy_options::overwrite_existing, ec);
    }
    if (made_things_) Sweep();
    store_.reset();
    db_.reset();
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
    }
  }

  // --- the controller child ---

  void StartController(const std::string& holder) {
    const std::string log = (dir_ / "controller.log").string();
    child_ = fork();
    ASSERT_GE(child_, 0);
    if (child_ == 0) {
      int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
      if (fd >= 0) {
        dup2(fd, 1);
        dup2(fd, 2);
      }
      setenv("WOD_STORE", db_->url().c_str(), 1);  // not on the argv: it holds a password
      execl(WOD_BINARY, WOD_BINARY, "controller", "--location", kLocation, "--config",
            config_.c_str(), "--holder", holder.c_str(), static_cast<char*>(nullptr));
      _exit(127);
    }
  }

  // SIGKILL; returns false when the child had already exited (it must not), with how it ended
  // in `how`.
  bool KillController(std::string* how = nullptr) {
    if (child_ <= 0) return true;
    int status = 0;
    bool was_running = waitpid(child_, &status, WNOHANG) == 0;
    if (was_running) {
      kill(child_, SIGKILL);
      waitpid(child_, &status, 0);
    } else if (how != nullptr) {
      *how = WIFSIGNALED(status) ? absl::StrCat("killed by signal ", WTERMSIG(status))
                                 : absl::StrCat("exit code ", WEXITSTATUS(status));
    }
    child_ = -1;
    return was_running;
  }

  void StopController() {
    if (child_ > 0) KillController();
  }

  std::string ControllerLogTail() {
    std::string text = ReadText(dir_ / "controller.log");
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  // `wod controller --once`: its summary line, or the error.
  absl::StatusOr<std::string> RunOnce(const std::string& holder) {
    common::SubprocessOptions o;
    o.timeout = absl::Seconds(120);
    o.env = {absl::StrCat("WOD_STORE=", db_->url())};
    ASSIGN_OR_RETURN(
        auto r, common::RunProcess({WOD_BINARY, "controller", "--location", kLocation, "--config",
                                    config_.string(), "--holder", holder, "--once"},
                                   o));
    std::ofstream(dir_ / "controller.log", std::ios::app)
        << "--- wod controller --once (exit " << r.exit_code << ")\n"
        << r.stderr_text << r.stdout_text;
    if (r.exit_code != 0) {
      return absl::InternalError(
          absl::StrCat("exit ", r.exit_code, ": ", r.stderr_text.substr(0, 2000)));
    }
    // The summary, then what failed (the warnings of the pass).
    std::string out = r.stdout_text;
    std::istringstream err(r.stderr_text);
    for (std::string line; std::getline(err, line);) {
      if (line.find(" W ") != std::string::npos || line.find(" E ") != std::string::npos) {
        absl::StrAppend(&out, line, "\n");
      }
    }
    return out;
  }

  // --- the participants and the operator, while the controller is dead ---

  void Register() {
    store::RegisterRequest req;
    req.workshop = kWorkshop;
    req.email = absl::StrCat("p", next_participant_++, "@crash.example");
    req.name = "Crash";
    req.company = "ACME";
    req.now = absl::Now();
    auto r = store_->Register(req);
    if (!r.ok() && r.status().code() == absl::StatusCode::kResourceExhausted) return;  // full
    ASSERT_OK(r);
    registrations_.insert(r->registration.id);
  }

  std::vector<store::SeatView> Occupied() {
    std::vector<store::SeatView> out;
    auto seats = store_->ListSeats(std::string(kLocation));
    EXPECT_OK(seats);
    if (!seats.ok()) return out;
    for (const auto& v : *seats) {
      if (v.seat.registration_id) out.push_back(v);
    }
    return out;
  }

  fs::path Home(int seat) const { return Policy().Home(seat); }

  // One window of participant and operator activity between a kill and the next start.
  void Mutate(std::mt19937& rng) {
    // Participants run cells of the content the controller has deployed for them so far.
    auto seen = content_->Observe();
    ASSERT_OK(seen);
    std::map<int, const model::ObservedSeatContent*> content_of;
    for (const auto& c : seen->seats) content_of[c.seat] = &c;
    auto occupied = Occupied();
    for (const auto& v : occupied) {
      auto it = content_of.find(v.seat.number);
      if (it == content_of.end() || !it->second->deployed() ||
          it->second->registration_id != *v.seat.registration_id) {
        continue;
      }
      if (rng() % 3 == 0) {
        ExecuteCells(Home(v.seat.number) / it->second->folder / "1-Lab.ipynb",
                     static_cast<int>(rng() % 3));
      }
    }
    // CLEANUP a few: what the home holds right now is what the controller must harvest.
    std::shuffle(occupied.begin(), occupied.end(), rng);
    const int cleanups = static_cast<int>(rng() % 4);
    for (int i = 0; i < cleanups && i < static_cast<int>(occupied.size()); ++i) {
      const auto& v = occupied[i];
      const int64_t reg = *v.seat.registration_id;
      auto it = content_of.find(v.seat.number);
      if (it != content_of.end() && it->second->deployed() && it->second->registration_id == reg) {
        expected_harvest_[reg] = ExecutedCells(Home(v.seat.number) / it->second->folder);
      }
      ASSERT_OK(
          store_->ApplyVerb(model::Verb::kCleanup, kLocation, v.seat.number, absl::Now()).status());
      ended_.insert(reg);
      ++cleanups_;
    }
    // New participants.
    const int registrations = static_cast<int>(rng() % 5);
    for (int i = 0; i < registrations; ++i) ASSERT_NO_FATAL_FAILURE(Register());
    // RESET one now and then.
    occupied = Occupied();
    if (!occupied.empty() && rng() % 2 == 0) {
      const auto& v = occupied[rng() % occupied.size()];
      ASSERT_OK(
          store_->ApplyVerb(model::Verb::kReset, kLocation, v.seat.number, absl::Now()).status());
      ++resets_;
    }
  }

  // --- checks ---

  void CheckRangeIsFree() {
    // No user or group of the host may sit in our range under another name.
    for (uid_t uid = kUidBase; uid < kUidBase + kPolicySeats; ++uid) {
      if (passwd* pw = getpwuid(uid)) FAIL() << "uid " << uid << " is taken by " << pw->pw_name;
    }
    if (group* gr = getgrgid(kUidBase)) {
      ASSERT_EQ(std::string(gr->gr_name), kPrefix) << "gid " << kUidBase << " is taken";
    }
  }

  // Removes every trace of wodcrash users: containers of the location, hub users, accounts
  // (with their processes and homes), stray homes, the group.
  void Sweep() {
    if (appliances_ != nullptr) {
      auto obs = appliances_->Observe();
      if (obs.ok()) {
        for (const auto& c : obs->containers) {
          model::ApplianceAction a;
          a.kind = model::ApplianceAction::Kind::kRemove;
          a.location = kLocation;
          a.seat = c.seat;
          a.appliance = c.appliance;
          EXPECT_OK(appliances_->Apply(a)) << c.name;
        }
      }
    }
    if (hub_ != nullptr) {
      auto obs = hub_->Observe();
      if (obs.ok()) {
        for (const auto& u : obs->users) {
          EXPECT_OK(hub_->Apply(model::HubAction::DeleteUser(u.seat, "crash test cleanup")));
        }
      }
    }
    if (accounts_ != nullptr) {
      auto obs = accounts_->Observe();
      if (obs.ok()) {
        for (const auto& acc : obs->accounts) {
          EXPECT_OK(accounts_->Apply(model::AccountAction::Delete(acc.seat, "crash test cleanup")));
        }
      }
    }
    for (const auto& name : Entries("/home")) {
      if (!absl::StartsWith(name, kPrefix)) continue;
      std::error_code ec;
      fs::remove_all(fs::path("/home") / name, ec);
    }
    if (group* gr = getgrnam(kPrefix); gr != nullptr && gr->gr_gid == kUidBase) {
      (void)common::RunProcess({"groupdel", kPrefix});
    }
  }

  pid_t child_ = -1;
  bool made_things_ = false;
  std::string docker_image_;
  fs::path dir_, archive_dir_, config_;
  std::unique_ptr<store::testing::ScratchDb> db_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<drivers::accounts::RealAccountsDriver> accounts_;
  std::unique_ptr<drivers::HubReal> hub_;
  std::unique_ptr<drivers::DockerApplianceDriver> appliances_;
  std::unique_ptr<drivers::content::RealContentDriver> content_;
  int next_participant_ = 0;
  std::set<int64_t> registrations_;          // every registration made
  std::set<int64_t> ended_;                  // CLEANUP'd
  std::map<int64_t, int> expected_harvest_;  // registration -> executed cells at CLEANUP
  int cleanups_ = 0, resets_ = 0;
};

TEST_F(CrashTest, SigkilledControllerConvergesWithNothingLostOrLeftBehind) {
  const absl::Time t0 = absl::Now();
  uint32_t seed = static_cast<uint32_t>(absl::ToUnixMicros(t0));
  if (const char* s = std::getenv("WOD_CRASH_SEED")) seed = static_cast<uint32_t>(std::atoll(s));
  std::printf("crash test seed %u (replay with WOD_CRASH_SEED=%u)\n", seed, seed);
  std::fflush(stdout);
  std::mt19937 rng(seed);

  drivers::content::RealContentOptions co;
  co.policy = Policy();
  co.sync = false;
  ASSERT_OK_AND_ASSIGN(content_, drivers::content::RealContentDriver::Create(co));

  for (int i = 0; i < 30; ++i) ASSERT_NO_FATAL_FAILURE(Register());

  int kills = 0;
  for (int round = 0; round < kKills; ++round) {
    // Mostly the same holder (a restarted service takes its lease back at once); every third
    // restart a new holder, which must wait for the killed one's lease to expire.
    const std::string holder = round % 3 == 2 ? absl::StrCat("crash-", round) : "crash-stable";
    ASSERT_NO_FATAL_FAILURE(StartController(holder));
    const int ms = 300 + static_cast<int>(rng() % 2700);
    absl::SleepFor(absl::Milliseconds(ms));
    std::string how;
    ASSERT_TRUE(KillController(&how)) << "the controller exited on its own (" << how << "); log:\n"
                                      << ControllerLogTail();
    ++kills;
    std::printf("kill %d after %d ms (holder %s)\n", kills, ms, holder.c_str());
    std::fflush(stdout);
    ASSERT_NO_FATAL_FAILURE(Mutate(rng));
  }

  // Converge: one more daemon run until quiet is not needed; --once passes until converged.
  // The last holder may be a fresh one whose predecessor's lease is still live: retry.
  bool converged = false;
  std::string last;
  int once_runs = 0;
  for (int i = 0; i < 20 && !converged; ++i) {
    auto r = RunOnce("crash-stable");
    ++once_runs;
    if (!r.ok()) {
      last = std::string(r.status().message());
      absl::SleepFor(absl::Milliseconds(500));
      continue;
    }
    last = *r;
    converged = absl::StrContains(*r, "converged=true");
  }
  if (!converged) {
    // What the test's own drivers and the seat status say, for the failure message.
    auto acc = accounts_->Observe();
    std::printf("accounts observe: %s, %zu accounts\n", acc.status().ToString().c_str(),
                acc.ok() ? acc->accounts.size() : 0);
    auto statuses = store_->ListSeatStatus(std::string(kLocation));
    if (statuses.ok()) {
      for (const auto& st : *statuses) {
        if (st.phase == model::Phase::kReady || st.phase == model::Phase::kVacant) continue;
        std::string conds;
        for (const auto& c : st.conditions) {
          absl::StrAppend(&conds, " ", c.type, "=", model::ConditionStatusName(c.status), "(",
                          c.reason, ": ", c.message, ")");
        }
        std::printf("seat %d %s:%s\n", st.number, model::PhaseName(st.phase), conds.c_str());
      }
    }
  }
  ASSERT_TRUE(converged) << "seed " << seed << ": not converged after " << once_runs
                         << " --once runs; last: " << last << "\ncontroller log:\n"
                         << ControllerLogTail();

  // --- the machine against the store ---
  ASSERT_OK_AND_ASSIGN(auto seats, store_->ListSeats(std::string(kLocation)));
  ASSERT_EQ(seats.size(), static_cast<size_t>(kSeats));
  std::map<int, model::Seat> desired;
  for (const auto& v : seats) desired[v.seat.number] = v.seat;
  int occupied = 0;
  for (const auto& [n, s] : desired) occupied += s.registration_id ? 1 : 0;

  // Accounts: one per pool seat, locked exactly when vacant, with the seat's password.
  ASSERT_OK_AND_ASSIGN(auto accounts, accounts_->Observe());
  EXPECT_TRUE(accounts.foreign.empty()) << accounts.foreign.size() << " foreign users in range";
  std::set<int> account_seats;
  for (const auto& a : accounts.accounts) {
    account_seats.insert(a.seat);
    auto it = desired.find(a.seat);
    if (it == desired.end()) {
      ADD_FAILURE() << "orphan account " << a.Describe();
      continue;
    }
    const bool vacant = !it->second.registration_id;
    EXPECT_EQ(a.locked, vacant) << a.Describe();
    EXPECT_TRUE(drivers::accounts::PasswordMatches(a, it->second.password))
        << "password out of sync: " << a.Describe();
    if (vacant) {
      EXPECT_TRUE(a.pids.empty()) << a.Describe();
    }
  }
  EXPECT_EQ(account_seats.size(), desired.size());
  for (const auto& name : Entries("/home")) {
    if (!absl::StartsWith(name, kPrefix)) continue;
    auto seat = Policy().SeatOfName(name);
    EXPECT_TRUE(seat && desired.count(*seat)) << "orphan home /home/" << name;
  }

  // Hub: one user per pool seat, nothing else of ours.
  ASSERT_OK_AND_ASSIGN(auto hub, hub_->Observe());
  std::set<int> hub_seats;
  for (const auto& u : hub.users) {
    hub_seats.insert(u.seat);
    EXPECT_TRUE(desired.count(u.seat)) << "orphan hub user " << u.Describe();
  }
  EXPECT_EQ(hub_seats.size(), desired.size());

  // Content: the occupant's, at the seat's epoch; vacant homes empty.
  ASSERT_OK_AND_ASSIGN(auto content, content_->Observe());
  for (const auto& [n, s] : desired) {
    const auto* c = content.Find(n);
    if (s.registration_id) {
      ASSERT_NE(c, nullptr) << "seat " << n << " has no home";
      EXPECT_TRUE(c->deployed()) << c->Describe();
      EXPECT_EQ(c->registration_id, *s.registration_id) << c->Describe();
      EXPECT_EQ(c->reset_epoch, s.reset_epoch) << c->Describe();
      EXPECT_TRUE(c->files_intact) << c->Describe();
    } else {
      if (c != nullptr) {
        EXPECT_FALSE(c->deployed()) << c->Describe();
      }
      EXPECT_THAT(Entries(Home(n)), ::testing::IsEmpty()) << "vacant home of seat " << n;
    }
  }

  // Appliances: one running container per occupied seat, for its registration and epoch.
  ASSERT_OK_AND_ASSIGN(auto appliances, appliances_->Observe());
  std::map<int, int> containers_of;
  for (const auto& c : appliances.containers) {
    containers_of[c.seat]++;
    auto it = desired.find(c.seat);
    EXPECT_FALSE(c.malformed) << c.name;
    if (it == desired.end() || !it->second.registration_id) {
      ADD_FAILURE() << "container " << c.name << " of a vacant seat " << c.seat;
      continue;
    }
    EXPECT_EQ(c.registration_id, *it->second.registration_id) << c.name;
    EXPECT_EQ(c.epoch, it->second.reset_epoch) << c.name;
    EXPECT_TRUE(c.running()) << c.name;
  }
  for (const auto& [n, s] : desired) {
    if (s.registration_id) {
      EXPECT_EQ(containers_of[n], 1) << "containers of seat " << n;
    }
  }

  // Registrations: none lost; harvests recorded once each with the home's progress.
  ASSERT_OK_AND_ASSIGN(auto regs, store_->ListRegistrations());
  std::map<int64_t, model::Registration> by_id;
  for (const auto& r : regs) by_id[r.id] = r;
  std::set<int64_t> active_seen;
  for (int64_t id : registrations_) {
    auto it = by_id.find(id);
    if (it == by_id.end()) {
      ADD_FAILURE() << "registration " << id << " lost";
      continue;
    }
    const model::Registration& r = it->second;
    if (ended_.count(id)) {
      EXPECT_EQ(r.state, model::RegistrationState::kEnded) << "registration " << id;
    } else {
      EXPECT_EQ(r.state, model::RegistrationState::kActive) << "registration " << id;
      EXPECT_EQ(desired[r.seat].registration_id, std::optional<int64_t>(id))
          << "registration " << id << " does not hold seat " << r.seat;
      EXPECT_EQ(r.progress_json, "") << "active registration " << id << " has a harvest";
    }
  }
  int harvested = 0;
  for (const auto& [id, executed] : expected_harvest_) {
    const model::Registration& r = by_id[id];
    if (r.progress_json.empty()) {
      ADD_FAILURE() << "registration " << id << " had content at CLEANUP; its harvest is lost";
      continue;
    }
    ++harvested;
    auto j = nlohmann::json::parse(r.progress_json, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.progress_json;
    EXPECT_EQ(j["total"].value("executed", -1), executed)
        << "registration " << id << " harvest: " << r.progress_json;
    const fs::path record = archive_dir_ / absl::StrCat(id, "-", kWorkshop, ".json");
    ASSERT_TRUE(fs::exists(record)) << record;
    auto rec = model::HarvestResultFromJson(nlohmann::json::parse(ReadText(record)));
    ASSERT_OK(rec);
    EXPECT_EQ(rec->ProgressJson(), r.progress_json) << "registration " << id;
  }
  for (int64_t id : ended_) {
    if (!expected_harvest_.count(id)) {
      // Cleaned up before its content was deployed: nothing to harvest, so no record either.
      EXPECT_FALSE(fs::exists(archive_dir_ / absl::StrCat(id, "-", kWorkshop, ".json")))
          << "registration " << id;
    }
  }
  // One record and one archive per harvest; nothing half-written left.
  std::map<std::string, int> files_of;
  for (const auto& name : Entries(archive_dir_)) {
    if (absl::EndsWith(name, ".json")) {
      files_of[name.substr(0, name.size() - 5)] |= 1;
    } else if (absl::EndsWith(name, ".tar.gz")) {
      files_of[name.substr(0, name.size() - 7)] |= 2;
    } else {
      ADD_FAILURE() << "stray file in the archive directory: " << name;
    }
  }
  for (const auto& [stem, mask] : files_of) {
    EXPECT_EQ(mask, 3) << stem << ": record and archive go together";
  }
  EXPECT_EQ(files_of.size(), expected_harvest_.size());

  // Status: every seat settled at its generation.
  ASSERT_OK_AND_ASSIGN(auto statuses, store_->ListSeatStatus(std::string(kLocation)));
  EXPECT_EQ(statuses.size(), desired.size());
  for (const auto& st : statuses) {
    const model::Seat& s = desired[st.number];
    EXPECT_EQ(st.phase, s.registration_id ? model::Phase::kReady : model::Phase::kVacant)
        << "seat " << st.number;
    EXPECT_EQ(st.observed_generation, s.generation) << "seat " << st.number;
  }

  std::printf(
      "crash test: seed %u, %d kills, %d seats (%d occupied at the end), %zu registrations "
      "(%d cleaned up, %d harvests checked), %d resets, %d --once runs to converge, %.1f s\n",
      seed, kills, kSeats, occupied, registrations_.size(), cleanups_, harvested, resets_,
      once_runs, absl::ToDoubleSeconds(absl::Now() - t0));
}

}  // namespace
}  // namespace wod
