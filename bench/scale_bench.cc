// Twenty backends on one machine, simulated (issue 12, docs/operations.md "Twenty backends,
// simulated"): one PostgreSQL, 20 `wod controller --fake-drivers` processes (locations
// loc01..loc20, 1,000 seats each, in-memory drivers: no root, nothing on the machine changes,
// but leases, statuses, events and pass statistics are the store's real ones) and two
// `wod serve` (one with --no-lifecycle), all children of this program. Not in CI.
//
// The catalog (written to a temp dir and loaded with `wod catalog load`):
//   WKSHP-ScaleNN  on locNN and the next 3 locations (alternateLocation: [...]), range = block
//                  ((NN-1) mod 4) of 240 seats, so on every location the four workshops there
//                  have disjoint ranges 1-240, 241-480, 481-720, 721-960; capacity 960.
//   WKSHP-SoloNN   on locNN only, seats 961-1000: the wake isolation phase registers to one.
//
// Phases, each with its JSON lines at the end:
//   1. warm pool: every seat Vacant (the controllers made 20,000 fake accounts, hub users),
//      then settled: each controller's last two passes did nothing.
//   2. burst: 10,000 registrations POSTed over 10 s (open loop: registration k is sent at
//      start + k ms by whichever of 96 keep-alive client threads is free; the threads alternate
//      between the two serves), spread round-robin over the 20 shared workshops. Reported: 201s
//      per second (first send to last answer), registration -> Ready p50/p99 (client time from
//      just before the POST to the first poll, every 100 ms, of the store's seats and statuses
//      showing its seat occupied by it, Ready at the seat's current generation: what
//      GET /api/v1/me reports, checked for a sample), PostgreSQL connections per process
//      (pg_stat_activity by application_name, sampled every 250 ms; each child gets
//      PGAPPNAME), wake-ups per registration of each controller, and where the time went: CPU
//      seconds by process class (/proc/PID/stat; PostgreSQL = the pids of pg_stat_activity)
//      and the statements pg_stat_activity shows running, with their wait event ("cpu": none).
//   3. quiet: 15 s without changes; with 2 below, the source of each location's no-op pass p99.
//   4. wake isolation: 40 registrations to WKSHP-Solo01 (loc01 only); the other 19
//      controllers should not pass at all for them.
//   5. SIGKILL loc03, loc07, loc11, loc15, loc19 (every shared workshop keeps 3 live
//      locations), wait until `wod location list --json` shows them not live (their lease
//      expires after controller.lease_ttl, 3 s here), then 500 more registrations: each must
//      be 201 on a live location, turn Ready, and /api/v1/me must say so.
//
// Passes and wake-ups come from the controllers' own log (`--log-level debug` prints one line
// per pass: its end time, actions and duration). A controller also passes on its own at least
// every min(resync, lease_ttl / 3) (the lease renewal; resync is 60 s here): a pass that starts
// that long or longer after the previous one ended is a timer pass, any earlier pass was woken
// by a change (or followed a pass that acted). Wake-ups = passes - timer passes.
//
// Output: the machine line first, a human-readable table, then one JSON object per result:
//   {"bench": "scale_ready_p99", "value": N, "unit": "ms", "target": 2000}
// Everything it starts is stopped, its database dropped and its temp dir removed, failed or
// not (unless --keep DIR keeps the logs there). It runs a copy of the wod binary it was built
// with, taken at the start, so a relink in the shared build dir does not change it mid-run.
//
// Usage: scale_bench [--pg-url URL] (default $WOD_TEST_PG_URL: a role that may CREATE DATABASE)
//   [--locations 20] [--seats 1000] [--registrations 10000] [--seconds 10] [--clients 96]
//   [--kill 5] [--after-kill 500] [--isolation 40] [--quiet 15] [--lease-ttl 3]
//   [--concurrency 2] [--keep DIR]
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "bench/machine_facts.h"
#include "common/subprocess.h"

extern char** environ;

namespace wod::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr int kShare = 4;                 // locations per shared workshop
constexpr double kTargetReadyP99 = 2000;  // ms
constexpr double kTargetNoopP99 = 50;     // ms
constexpr double kTargetConnections = 3;  // per controller
constexpr double kTargetRate = 1000;      // registrations/s: 10,000 in 10 s

struct Options {
  std::string pg_url;
  int locations = 20;
  int seats = 1000;
  int registrations = 10000;
  double seconds = 10;
  int clients = 96;
  int kill = 5;
  int after_kill = 500;
  int isolation = 40;
  int quiet = 15;
  int lease_ttl = 3;
  int concurrency = 2;
  std::string keep;
};

// ---------------------------------------------------------------------------------------------
// Children and cleanup: one registry, so a failure on any thread stops them all.

struct Global {
  std::mutex mu;
  std::vector<pid_t> children;
  std::string admin_url, db_name;
  fs::path dir;
  std::string keep;
};
Global g;
std::once_flag g_failed;

std::string Quoted(const std::string& name) { return "\"" + name + "\""; }

void DropDatabase() {
  if (g.db_name.empty()) return;
  // WITH (FORCE) ends the sessions still open (ours, after a failure); it fails when it would
  // have to end an autovacuum worker, which our role may not, and a plain DROP makes that
  // worker exit (waiting up to 5 s for the other sessions): alternate the two.
  for (int attempt = 0; attempt < 8; ++attempt) {
    try {
      pqxx::connection c(g.admin_url);
      pqxx::nontransaction tx(c);
      tx.exec("DROP DATABASE IF EXISTS " + Quoted(g.db_name) +
              (attempt % 2 == 0 ? " WITH (FORCE)" : ""));
      g.db_name.clear();
      return;
    } catch (const std::exception& e) {
      if (attempt == 7) {
        std::fprintf(stderr, "scale_bench: dropping database '%s': %s\n", g.db_name.c_str(),
                     e.what());
      }
    }
    std::this_thread::sleep_for(milliseconds(500));
  }
  g.db_name.clear();
}

// SIGTERM to every child still running, SIGKILL after 15 s; then the database and the dir.
void Cleanup() {
  std::vector<pid_t> children;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    children.swap(g.children);
  }
  for (pid_t p : children) kill(p, SIGTERM);
  const auto end = Clock::now() + std::chrono::seconds(15);
  for (pid_t p : children) {
    while (waitpid(p, nullptr, WNOHANG) == 0) {
      if (Clock::now() > end) {
        kill(p, SIGKILL);
        waitpid(p, nullptr, 0);
        break;
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
  }
  DropDatabase();
  if (!g.dir.empty()) {
    std::error_code ec;
    if (!g.keep.empty()) {
      fs::create_directories(g.keep, ec);
      for (const auto& e : fs::directory_iterator(g.dir, ec)) {
        if (e.path().extension() == ".log") {
          fs::copy_file(e.path(), fs::path(g.keep) / e.path().filename(),
                        fs::copy_options::overwrite_existing, ec);
        }
      }
    }
    fs::remove_all(g.dir, ec);
    g.dir.clear();
  }
}

[[noreturn]] void Fail(const std::string& what) {
  std::call_once(g_failed, [&] {
    std::fprintf(stderr, "scale_bench: %s\n", what.c_str());
    Cleanup();
  });
  std::_Exit(1);
}

// `binary args...` with stdout and stderr into `log`, the environment plus `env` (K=V).
class Child {
 public:
  Child(const std::string& binary, std::vector<std::string> args, const fs::path& log,
        const std::vector<std::string>& env)
      : log_(log) {
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    for (const std::string& e : env) env_strings.push_back(e);
    std::vector<char*> envp;
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigemptyset(&none);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK);
    std::lock_guard<std::mutex> lock(g.mu);
    if (posix_spawn(&pid_, binary.c_str(), &fa, &attr, argv.data(), envp.data()) != 0) {
      pid_ = -1;
    } else {
      g.children.push_back(pid_);
    }
    posix_spawnattr_destroy(&attr);
    posix_spawn_file_actions_destroy(&fa);
  }

  pid_t pid() const { return pid_; }
  const fs::path& log_path() const { return log_; }
  std::string log() const {
    std::ifstream in(log_);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
  }

  void Kill() {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    std::lock_guard<std::mutex> lock(g.mu);
    g.children.erase(std::remove(g.children.begin(), g.children.end(), pid_), g.children.end());
  }

  // The first capture of `pattern` in the log, or "" after `timeout`.
  std::string WaitForMatch(const std::string& pattern, milliseconds timeout) const {
    const std::regex re(pattern);
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, re) && m.size() > 1) return m[1];
      std::this_thread::sleep_for(milliseconds(50));
    }
    return "";
  }

 private:
  fs::path log_;
  pid_t pid_ = -1;
};

// ---------------------------------------------------------------------------------------------
// Helpers.

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

// utime + stime of a process, in seconds; 0 when it is gone.
double CpuSecondsOf(pid_t pid) {
  std::ifstream in(absl::StrCat("/proc/", pid, "/stat"));
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const size_t paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream fields(text.substr(paren + 2));
  std::string f;
  double utime = 0, stime = 0;
  // Fields after the command: state (3) ... utime (14), stime (15).
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14) utime = std::atof(f.c_str());
    if (i == 15) stime = std::atof(f.c_str());
  }
  return (utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

double Ms(Clock::duration d) { return std::chrono::duration<double, std::milli>(d).count(); }

std::string Loc(int i) { return absl::StrFormat("loc%02d", i + 1); }
std::string Shared(int i) { return absl::StrFormat("WKSHP-Scale%02d", i + 1); }
std::string Solo(int i) { return absl::StrFormat("WKSHP-Solo%02d", i + 1); }

// `url` with its database (the path after the host) replaced by `db`.
std::string WithDatabase(const std::string& url, const std::string& db) {
  const size_t scheme = url.find("://");
  const size_t slash = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (slash == std::string::npos) return url + "/" + db;
  const size_t query = url.find('?', slash);
  return url.substr(0, slash + 1) + db + (query == std::string::npos ? "" : url.substr(query));
}

void PrintJson(const std::string& bench, double value, const std::string& unit,
               std::optional<double> target = std::nullopt) {
  if (target) {
    std::printf("{\"bench\": \"%s\", \"value\": %.6g, \"unit\": \"%s\", \"target\": %g}\n",
                bench.c_str(), value, unit.c_str(), *target);
  } else {
    std::printf("{\"bench\": \"%s\", \"value\": %.6g, \"unit\": \"%s\"}\n", bench.c_str(), value,
                unit.c_str());
  }
}

// One pass of a controller, from its log.
struct Pass {
  absl::Time end;
  double ms = 0;
  int actions = 0;
  bool timer = false;  // started at least one timer period after the previous pass ended
};

// The passes in a controller log (`--log-level debug`: every pass has a line), classified.
std::vector<Pass> ParsePasses(const std::string& log, absl::Duration timer_period) {
  static const std::regex re(
      R"(^(\S+) [DI] controller: pass location=\S+ epoch=\d+ .*actions=(\d+) .*time=(\d+)ms)");
  std::vector<Pass> out;
  std::istringstream in(log);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (!std::regex_search(line, m, re)) continue;
    Pass p;
    std::string err;
    if (!absl::ParseTime(absl::RFC3339_full, m[1].str(), &p.end, &err)) continue;
    p.actions = std::stoi(m[2].str());
    p.ms = std::stod(m[3].str());
    out.push_back(p);
  }
  // 20 ms of slack: the loop takes its `now` just after logging the pass.
  for (size_t i = 1; i < out.size(); ++i) {
    const absl::Time start = out[i].end - absl::Milliseconds(out[i].ms);
    out[i].timer = start - out[i - 1].end >= timer_period - absl::Milliseconds(20);
  }
  if (!out.empty()) out[0].timer = true;
  return out;
}

struct PassCounts {
  int passes = 0;
  int timer = 0;
  int wakeups() const { return passes - timer; }
};

PassCounts CountPasses(const std::vector<Pass>& passes, absl::Time from, absl::Time to) {
  PassCounts c;
  for (const Pass& p : passes) {
    if (p.end < from || p.end > to) continue;
    ++c.passes;
    if (p.timer) ++c.timer;
  }
  return c;
}

// ---------------------------------------------------------------------------------------------
// Samplers on their own connections: Ready registrations, and connections per process.

class ReadyWatcher {
 public:
  explicit ReadyWatcher(std::string url) : url_(std::move(url)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ReadyWatcher() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  std::optional<Clock::time_point> ReadyAt(int64_t registration) {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = ready_.find(registration);
    if (it == ready_.end()) return std::nullopt;
    return it->second;
  }

 private:
  void Loop() {
    try {
      pqxx::connection c(url_);
      while (!stop_.load()) {
        const auto tick = Clock::now();
        std::vector<int64_t> ids;
        {
          // Only the occupied seats from the oldest registration not seen Ready yet on (an
          // index range on seats.registration_id): the watcher must not load the store it
          // measures. The bench's registrations never end, so their seats stay occupied.
          pqxx::read_transaction tx(c);
          int64_t floor = std::numeric_limits<int64_t>::max();
          int64_t top = floor_ - 1;
          for (const auto& row : tx.exec_params(
                   "SELECT s.registration_id, ss.phase IS NOT NULL AND ss.phase = 'Ready' "
                   "AND ss.observed_generation >= s.generation FROM seats s "
                   "LEFT JOIN seat_status ss ON ss.location = s.location "
                   "AND ss.number = s.number WHERE s.registration_id >= $1",
                   floor_)) {
            const int64_t id = row[0].as<int64_t>();
            top = std::max(top, id);
            if (row[1].as<bool>()) {
              ids.push_back(id);
            } else {
              floor = std::min(floor, id);
            }
          }
          // Ids are taken in order but committed in any order: a registration in flight below
          // the newest one seen (at most one per client thread) must stay in the range.
          floor_ = std::max(floor_, std::min(floor, top + 1) - kInFlight);
        }
        const auto seen = Clock::now();
        {
          std::lock_guard<std::mutex> lock(mu_);
          for (int64_t id : ids) ready_.try_emplace(id, tick + (seen - tick) / 2);
        }
        std::this_thread::sleep_until(tick + milliseconds(100));
      }
    } catch (const std::exception& e) {
      Fail(absl::StrCat("ready watcher: ", e.what()));
    }
  }

  std::string url_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  static constexpr int64_t kInFlight = 500;
  int64_t floor_ = 0;  // registrations below it were all seen Ready (watcher thread only)
  std::map<int64_t, Clock::time_point> ready_;
  std::thread thread_;
};

class ConnectionSampler {
 public:
  explicit ConnectionSampler(std::string url) : url_(std::move(url)) {
    thread_ = std::thread([this] { Loop(); });
  }
  ~ConnectionSampler() { Stop(); }
  void Stop() {
    stop_.store(true);
    if (thread_.joinable()) thread_.join();
  }
  // Starts a new window: the maxima are kept per window.
  void Reset() {
    std::lock_guard<std::mutex> lock(mu_);
    open_max_.clear();
    busy_max_.clear();
    not_live_.clear();
    active_.clear();
    samples_ = 0;
  }
  std::map<std::string, int> open_max() {
    std::lock_guard<std::mutex> lock(mu_);
    return open_max_;
  }
  std::map<std::string, int> busy_max() {
    std::lock_guard<std::mutex> lock(mu_);
    return busy_max_;
  }
  // Per location, in how many samples of the window it was not live, and the samples.
  std::map<std::string, int> not_live() {
    std::lock_guard<std::mutex> lock(mu_);
    return not_live_;
  }
  int samples() {
    std::lock_guard<std::mutex> lock(mu_);
    return samples_;
  }
  // How often each (application, statement) was seen running: where PostgreSQL's time goes.
  std::map<std::pair<std::string, std::string>, int> active() {
    std::lock_guard<std::mutex> lock(mu_);
    return active_;
  }

 private:
  void Loop() {
    try {
      pqxx::connection c(url_);
      while (!stop_.load()) {
        const auto tick = Clock::now();
        {
          pqxx::nontransaction tx(c);
          auto rows = tx.exec(
              "SELECT application_name, count(*), "
              "count(*) FILTER (WHERE state IS NOT NULL AND state <> 'idle') "
              "FROM pg_stat_activity WHERE datname = current_database() "
              "AND pid <> pg_backend_pid() GROUP BY application_name");
          // Liveness as the store routes (store/sql_store.cc kLiveLocationSql): the lease
          // held and a pass within 60 s, or the lease taken over since the last pass.
          const int64_t now_us = absl::ToUnixMicros(absl::Now());
          auto live = tx.exec_params(
              "SELECT l.name, (NOT EXISTS (SELECT 1 FROM pass_stats p WHERE p.location = l.name) "
              "OR EXISTS (SELECT 1 FROM pass_stats p JOIN leases le "
              "ON le.name = 'controller/' || l.name WHERE p.location = l.name "
              "AND le.holder <> '' AND le.expires_us > $1 "
              "AND (p.last_pass_us >= $2 OR p.lease_epoch <> le.epoch))) FROM locations l",
              now_us, now_us - 60'000'000);
          auto running = tx.exec(
              "SELECT application_name, coalesce(wait_event_type || ':' || wait_event, 'cpu') "
              "|| ' ' || regexp_replace(left(query, 80), '\\s+', ' ', 'g') "
              "FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
              "AND pid <> pg_backend_pid()");
          std::lock_guard<std::mutex> lock(mu_);
          for (const auto& row : running) {
            ++active_[{row[0].is_null() ? "" : row[0].as<std::string>(),
                       row[1].is_null() ? "" : row[1].as<std::string>()}];
          }
          for (const auto& row : rows) {
            const std::string app = row[0].is_null() ? "" : row[0].as<std::string>();
            int& open = open_max_[app];
            open = std::max(open, row[1].as<int>());
            int& busy = busy_max_[app];
            busy = std::max(busy, row[2].as<int>());
          }
          ++samples_;
          for (const auto& row : live) {
            int& n = not_live_[row[0].as<std::string>()];
            if (!row[1].as<bool>()) ++n;
          }
        }
        std::this_thread::sleep_until(tick + milliseconds(250));
      }
    } catch (const std::exception& e) {
      Fail(absl::StrCat("connection sampler: ", e.what()));
    }
  }

  std::string url_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, int> open_max_, busy_max_, not_live_;
  std::map<std::pair<std::string, std::string>, int> active_;
  int samples_ = 0;
  std::thread thread_;
};

// ---------------------------------------------------------------------------------------------
// Registrations over HTTP.

struct Reg {
  std::string workshop;
  std::string email;
  Clock::time_point posted{};
  int status = 0;
  std::string error;
  int64_t id = 0;
  std::string location;
  int seat = 0;
  std::string token;
};

// POSTs `regs` from `clients` threads, registration k at `start + k * interval` or as soon as
// a thread is free after that (open loop while threads suffice). Thread t talks to
// ports[t % ports.size()] over one keep-alive connection.
void PostAll(std::vector<Reg>& regs, const std::vector<int>& ports, int clients,
             Clock::duration interval) {
  std::atomic<size_t> next{0};
  const auto start = Clock::now() + milliseconds(50);
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client cl("127.0.0.1", ports[t % ports.size()]);
      cl.set_tcp_nodelay(true);
      cl.set_keep_alive(true);
      cl.set_connection_timeout(10);
      cl.set_read_timeout(60);
      cl.set_write_timeout(60);
      while (true) {
        const size_t k = next.fetch_add(1);
        if (k >= regs.size()) return;
        Reg& r = regs[k];
        const std::string body = json{
            {"workshop", r.workshop},
            {"email", r.email},
            {"name", "Bench"},
            {"company", "ACME"},
            {"accept_terms", true}}.dump();
        std::this_thread::sleep_until(start + interval * static_cast<int64_t>(k));
        r.posted = Clock::now();
        auto res = cl.Post("/api/v1/registrations", body, "application/json");
        if (!res) {
          r.status = 0;
          r.error = httplib::to_string(res.error());
          continue;
        }
        r.status = res->status;
        if (res->status != 201) {
          r.error = res->body.substr(0, 200);
          continue;
        }
        json j = json::parse(res->body, nullptr, false);
        if (!j.is_object() || !j["registration"].is_object()) {
          r.status = -1;
          r.error = "unreadable 201 body";
          continue;
        }
        r.id = j["registration"].value("id", int64_t{0});
        r.location = j["registration"].value("location", "");
        r.seat = j["registration"].value("seat", 0);
        r.token = j.value("token", "");
      }
    });
  }
  for (auto& t : threads) t.join();
}

json Me(int port, const std::string& token) {
  httplib::Client cl("127.0.0.1", port);
  cl.set_read_timeout(30);
  auto res = cl.Get("/api/v1/me", {{"Authorization", "Participant " + token}});
  if (!res || res->status != 200) return json();
  return json::parse(res->body, nullptr, false);
}

// ---------------------------------------------------------------------------------------------

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}

  void Run() {
    SetUp();
    WarmPool();
    Burst();
    Quiet();
    Isolation();
    KillFive();
    Report();
    conn_.reset();
    Cleanup();
  }

 private:
  absl::Duration TimerPeriod() const {
    return std::min(absl::Seconds(60), absl::Seconds(o_.lease_ttl) / 3);
  }
  int Block() const { return (o_.seats - SoloSeats()) / kShare; }
  int SoloSeats() const { return o_.seats / 25; }

  common::SubprocessResult Wod(std::vector<std::string> args) {
    args.insert(args.begin(), wod_);
    common::SubprocessOptions so;
    so.timeout = absl::Seconds(300);
    auto r = common::RunProcess(args, so);
    if (!r.ok()) Fail(absl::StrCat("wod ", args[1], ": ", r.status().ToString()));
    return *r;
  }

  void SetUp() {
    if (o_.locations % kShare != 0 || o_.locations < kShare) {
      Fail(absl::StrCat("--locations must be a multiple of ", kShare));
    }
    if (o_.kill > o_.locations / kShare) {
      Fail(absl::StrCat("--kill at most ", o_.locations / kShare,
                        ": each shared workshop must keep a live location"));
    }
    char tmpl[] = "/tmp/wod-scale-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail("mkdtemp");
    g.dir = tmpl;
    g.keep = o_.keep;
    dir_ = g.dir;
    PrintMachineFacts(dir_.string());
    // A copy of the binary: the shared build dir may relink `wod` while the bench runs.
    wod_ = (dir_ / "wod").string();
    for (int attempt = 0;; ++attempt) {
      std::error_code ec;
      fs::copy_file(WOD_BINARY, wod_, fs::copy_options::overwrite_existing, ec);
      if (!ec &&
          common::RunProcess({wod_, "--help"}).value_or(common::SubprocessResult{}).exit_code ==
              0) {
        break;
      }
      if (attempt == 30) Fail(absl::StrCat("cannot copy a working ", WOD_BINARY));
      std::this_thread::sleep_for(std::chrono::seconds(10));
    }

    // A database of its own.
    g.admin_url = o_.pg_url;
    g.db_name = absl::StrFormat("wod_scale_%d_%d", getpid(), static_cast<int>(time(nullptr)));
    try {
      pqxx::connection c(o_.pg_url);
      pqxx::nontransaction tx(c);
      tx.exec("CREATE DATABASE " + Quoted(g.db_name));
      max_connections_ = tx.exec("SHOW max_connections")[0][0].as<int>();
    } catch (const std::exception& e) {
      g.db_name.clear();
      Fail(absl::StrCat("creating the bench's database: ", e.what()));
    }
    url_ = WithDatabase(o_.pg_url, g.db_name);

    // The catalog.
    const int block = Block();
    const int solo = SoloSeats();
    const fs::path catalog = dir_ / "catalog";
    const std::string notebook = json{
        {"cells",
         {{{"cell_type", "markdown"},
           {"metadata", json::object()},
           {"source", {"Welcome, student {{ STDID }}"}}},
          {{"cell_type", "code"},
           {"execution_count", nullptr},
           {"metadata", json::object()},
           {"outputs", json::array()},
           {"source", {"print(1)"}}}}},
        {"metadata", json::object()},
        {"nbformat", 4},
        {"nbformat_minor", 5}}.dump();
    for (int i = 0; i < o_.locations; ++i) {
      const fs::path shared = catalog / Shared(i);
      fs::create_directories(shared);
      const int first = (i % kShare) * block + 1;
      std::string alternates;
      for (int k = 1; k < kShare; ++k) {
        alternates += absl::StrCat(k > 1 ? ", " : "", "'", Loc((i + k) % o_.locations), "'");
      }
      std::ofstream(shared / "wod.yml")
          << "name: 'Scale " << i + 1 << "'\ndescription: 'bench/scale_bench.cc'\nactive: true\n"
          << "capacity: " << block * kShare << "\nrange: [" << first << "," << first + block - 1
          << "]\nduration: 4\nbadgeImg: WOD-Badge-Bench\nlocation: " << Loc(i)
          << "\nalternateLocation: [" << alternates << "]\n";
      std::ofstream(shared / "0-ReadMeFirst.ipynb") << notebook;
      const fs::path single = catalog / Solo(i);
      fs::create_directories(single);
      std::ofstream(single / "wod.yml")
          << "name: 'Solo " << i + 1 << "'\ndescription: 'bench/scale_bench.cc'\nactive: true\n"
          << "capacity: " << solo << "\nrange: [" << o_.seats - solo + 1 << "," << o_.seats
          << "]\nduration: 4\nbadgeImg: WOD-Badge-Bench\nlocation: " << Loc(i) << "\n";
      std::ofstream(single / "0-ReadMeFirst.ipynb") << notebook;
    }
    auto loaded = Wod({"catalog", "load", "--store", url_, catalog.string()});
    if (loaded.exit_code != 0) Fail("catalog load: " + loaded.stderr_text + loaded.stdout_text);
    std::printf("%s", loaded.stdout_text.c_str());

    // One controller config for all (the fakes keep nothing on disk, so they can share the user
    // prefix and uid range); the hub section gives each location a (fake) hub domain: its token
    // file is never read.
    std::ofstream(dir_ / "hub.token") << "not-a-token\n";
    std::ofstream(dir_ / "controller.yml")
        << "accounts:\n  root: " << dir_.string() << "\n  user_prefix: scale\n  uid_base: 70000\n"
        << "  seat_count: " << o_.seats + 1 << "\n  group: scale\n  gid: 70000\n"
        << "hub:\n  url: http://127.0.0.1:9/\n  token_file: " << (dir_ / "hub.token").string()
        << "\n"
        << "controller:\n  concurrency: " << o_.concurrency << "\n  lease_ttl: " << o_.lease_ttl
        << "s\n  resync: 60s\n";
    fs::create_directories(dir_ / "mail");
    std::ofstream(dir_ / "serve.yml") << "api:\n  registration_rate_limit:\n    per_minute: 0\n"
                                      << "mail:\n  maildir: " << (dir_ / "mail").string()
                                      << "\n  from_address: bench@localhost\n";

    const int expected = o_.locations * 4 + 2 * 18 + 8;  // rough: what the run may open
    if (max_connections_ < expected) {
      std::printf("warning: max_connections %d may be too few (about %d wanted)\n",
                  max_connections_, expected);
    }

    for (int i = 0; i < o_.locations; ++i) {
      controllers_.push_back(std::make_unique<Child>(
          wod_,
          std::vector<std::string>{"--log-level", "debug", "controller", "--fake-drivers",
                                   "--store", url_, "--location", Loc(i), "--config",
                                   (dir_ / "controller.yml").string(), "--holder",
                                   "scale-" + Loc(i)},
          dir_ / ("controller-" + Loc(i) + ".log"),
          std::vector<std::string>{"PGAPPNAME=wod-controller-" + Loc(i)}));
      if (controllers_.back()->pid() <= 0) Fail("cannot start a controller");
    }
    for (const char* name : {"a", "b"}) {
      std::vector<std::string> args = {"serve",
                                       "--store",
                                       url_,
                                       "--listen",
                                       "127.0.0.1:0",
                                       "--config",
                                       (dir_ / "serve.yml").string()};
      if (std::string(name) == "b") args.push_back("--no-lifecycle");
      serves_.push_back(std::make_unique<Child>(
          wod_, args, dir_ / absl::StrCat("serve-", name, ".log"),
          std::vector<std::string>{absl::StrCat("PGAPPNAME=wod-serve-", name)}));
      const std::string port = serves_.back()->WaitForMatch(
          R"(wod serve: listening on http://127\.0\.0\.1:(\d+))", milliseconds(30000));
      if (port.empty()) Fail("wod serve did not listen:\n" + serves_.back()->log());
      ports_.push_back(std::stoi(port));
    }
    conn_ = std::make_unique<pqxx::connection>(url_);
    sampler_ = std::make_unique<ConnectionSampler>(url_);
  }

  int64_t Count(const std::string& sql) {
    try {
      pqxx::read_transaction tx(*conn_);
      return tx.exec(sql)[0][0].as<int64_t>();
    } catch (const std::exception& e) {
      Fail(absl::StrCat("query: ", e.what()));
    }
  }

  void WarmPool() {
    const auto t = Clock::now();
    const int64_t all = static_cast<int64_t>(o_.locations) * o_.seats;
    int64_t vacant = 0;
    while (Clock::now() - t < std::chrono::seconds(900)) {
      vacant = Count(
          "SELECT count(*) FROM seats s JOIN seat_status ss ON ss.location = s.location "
          "AND ss.number = s.number WHERE s.registration_id IS NULL AND ss.phase = 'Vacant' "
          "AND ss.observed_generation >= s.generation");
      if (vacant == all) break;
      for (const auto& c : controllers_) {
        if (waitpid(c->pid(), nullptr, WNOHANG) != 0) Fail("a controller died:\n" + c->log());
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
    if (vacant != all) Fail(absl::StrCat("warm pool: only ", vacant, " of ", all, " seats Vacant"));
    warm_seconds_ = std::chrono::duration<double>(Clock::now() - t).count();
    std::printf("warm pool of %lld seats on %d locations Vacant after %.1f s\n",
                static_cast<long long>(all), o_.locations, warm_seconds_);
    std::fflush(stdout);
    // Settled: every controller's last two passes did nothing (the pass after the warm-up's
    // big one is slow: it clears the drift of the whole pool).
    const absl::Time warm = absl::Now();
    const auto settle_start = Clock::now();
    while (true) {
      int settled = 0;
      for (const auto& c : controllers_) {
        auto passes = ParsePasses(c->log(), TimerPeriod());
        const size_t n = passes.size();
        if (n >= 2 && passes[n - 1].actions == 0 && passes[n - 2].actions == 0 &&
            passes[n - 2].end > warm) {
          ++settled;
        }
      }
      if (settled == o_.locations) break;
      if (Clock::now() - settle_start > std::chrono::seconds(600)) {
        Fail(absl::StrCat("only ", settled, " controllers settled into no-op passes"));
      }
      std::this_thread::sleep_for(milliseconds(500));
    }
    std::printf("settled after %.1f s more\n",
                std::chrono::duration<double>(Clock::now() - settle_start).count());
    std::this_thread::sleep_for(std::chrono::seconds(2));
  }

  // CPU seconds used, by process class, and the machine's busy and total CPU seconds.
  struct CpuSnapshot {
    std::map<pid_t, std::pair<std::string, double>> by_pid;  // class, CPU seconds
    double busy = 0, total = 0;
  };
  std::map<pid_t, std::string> CpuClasses() {
    std::map<pid_t, std::string> classes;
    for (const auto& c : controllers_) classes[c->pid()] = "controllers";
    classes[serves_[0]->pid()] = "serve-a (lifecycle)";
    classes[serves_[1]->pid()] = "serve-b";
    classes[getpid()] = "bench (clients, samplers)";
    try {
      pqxx::read_transaction tx(*conn_);
      for (const auto& row : tx.exec("SELECT pid FROM pg_stat_activity")) {
        classes[row[0].as<pid_t>()] = "postgresql";
      }
    } catch (const std::exception& e) {
      Fail(absl::StrCat("pg_stat_activity: ", e.what()));
    }
    return classes;
  }
  CpuSnapshot Cpu() {
    CpuSnapshot snap;
    for (const auto& [pid, cls] : CpuClasses()) snap.by_pid[pid] = {cls, CpuSecondsOf(pid)};
    std::ifstream in("/proc/stat");
    std::string cpu;
    double user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    in >> cpu >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    const double tick = static_cast<double>(sysconf(_SC_CLK_TCK));
    snap.total = (user + nice + system + idle + iowait + irq + softirq + steal) / tick;
    snap.busy = snap.total - (idle + iowait) / tick;
    return snap;
  }
  // By class: CPU seconds since `before` (a PostgreSQL backend that started since counts whole).
  std::map<std::string, double> CpuSince(const CpuSnapshot& before) {
    const CpuSnapshot now = Cpu();
    std::map<std::string, double> out;
    for (const auto& [pid, now_of_pid] : now.by_pid) {
      auto it = before.by_pid.find(pid);
      out[now_of_pid.first] +=
          now_of_pid.second - (it == before.by_pid.end() ? 0 : it->second.second);
    }
    out["machine busy"] = now.busy - before.busy;
    out["machine total"] = now.total - before.total;
    return out;
  }

  std::map<std::string, int64_t> PassStats() {
    std::map<std::string, int64_t> out;
    try {
      pqxx::read_transaction tx(*conn_);
      for (const auto& row : tx.exec("SELECT location, passes FROM pass_stats")) {
        out[row[0].as<std::string>()] = row[1].as<int64_t>();
      }
    } catch (const std::exception& e) {
      Fail(absl::StrCat("pass_stats: ", e.what()));
    }
    return out;
  }

  // Waits until every 201 of `regs` is seen Ready (or `timeout`); returns the latest time one
  // turned Ready.
  Clock::time_point WaitReady(const std::vector<Reg>& regs, std::chrono::seconds timeout) {
    const auto end = Clock::now() + timeout;
    while (true) {
      Clock::time_point last{};
      size_t missing = 0;
      for (const Reg& r : regs) {
        if (r.status != 201) continue;
        auto at = watcher_->ReadyAt(r.id);
        if (!at) {
          ++missing;
        } else {
          last = std::max(last, *at);
        }
      }
      if (missing == 0) return last;
      if (Clock::now() > end) {
        std::printf("%zu registrations not Ready after %lld s\n", missing,
                    static_cast<long long>(timeout.count()));
        return Clock::now();
      }
      std::this_thread::sleep_for(milliseconds(100));
    }
  }

  void PrintLocations(const std::string& when) {
    auto r = Wod({"location", "list", "--store", url_});
    std::printf("locations %s:\n%s", when.c_str(), r.stdout_text.c_str());
    std::fflush(stdout);
  }

  std::vector<Reg> MakeRegs(int n, const std::function<std::string(int)>& workshop) {
    std::vector<Reg> regs(n);
    for (int k = 0; k < n; ++k) {
      regs[k].workshop = workshop(k);
      regs[k].email = absl::StrCat("p", next_email_++, "@bench.example");
    }
    return regs;
  }

  void Burst() {
    burst_ = MakeRegs(o_.registrations, [&](int k) { return Shared(k % o_.locations); });
    watcher_ = std::make_unique<ReadyWatcher>(url_);
    sampler_->Reset();
    PrintLocations("before the burst");
    const auto stats_before = PassStats();
    const CpuSnapshot cpu_before = Cpu();
    const auto pg_before = PgCounters();
    burst_from_ = absl::Now();
    const auto interval = std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.seconds / o_.registrations));
    const auto t0 = Clock::now();
    PostAll(burst_, ports_, o_.clients, interval);
    const auto t1 = Clock::now();
    Clock::time_point first = t1;
    for (const Reg& r : burst_) first = std::min(first, r.posted);
    for (const Reg& r : burst_) {
      if (r.status == 201) ++accepted_;
      ++codes_[r.status];
      if (r.status == 201) ++regs_at_[r.location];
    }
    post_seconds_ = std::chrono::duration<double>(t1 - first).count();
    rate_ = accepted_ / post_seconds_;
    std::printf("burst: %d of %d accepted in %.2f s (%.0f/s; schedule %.1f s)", accepted_,
                o_.registrations, post_seconds_, rate_, o_.seconds);
    for (const auto& [code, n] : codes_) std::printf(", %d x %d", n, code);
    std::printf("\n");
    for (const Reg& r : burst_) {
      if (r.status != 201) {
        std::printf("  first refusal: %d %s\n", r.status, r.error.c_str());
        break;
      }
    }
    std::fflush(stdout);
    const auto last_ready = WaitReady(burst_, std::chrono::seconds(300));
    burst_to_ = absl::Now() - absl::FromChrono(Clock::now() - last_ready) + absl::Seconds(1);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    burst_open_ = sampler_->open_max();
    burst_busy_ = sampler_->busy_max();
    burst_not_live_ = sampler_->not_live();
    burst_samples_ = sampler_->samples();
    burst_active_ = sampler_->active();
    const auto stats_after = PassStats();
    burst_cpu_ = CpuSince(cpu_before);
    for (const auto& [name, n] : PgCounters()) burst_pg_[name] = n - pg_before.at(name);
    loc01_connections_ = ConnectionsOf("wod-controller-" + Loc(0));
    PrintLocations("after the burst");
    for (const auto& [loc, n] : stats_after) {
      stats_delta_[loc] = n - (stats_before.count(loc) ? stats_before.at(loc) : 0);
    }
    for (const Reg& r : burst_) {
      if (r.status != 201) continue;
      auto at = watcher_->ReadyAt(r.id);
      if (at) ready_ms_.push_back(Ms(*at - r.posted));
    }
    std::printf("burst: %zu Ready, p50 %.0f ms, p99 %.0f ms, max %.0f ms (POSTs took %.1f s)\n",
                ready_ms_.size(), Percentile(ready_ms_, 0.5), Percentile(ready_ms_, 0.99),
                Percentile(ready_ms_, 1.0), std::chrono::duration<double>(t1 - t0).count());
    // What the participant sees agrees, for a sample.
    int checked = 0;
    for (size_t k = 0; k < burst_.size(); k += 50) {
      const Reg& r = burst_[k];
      if (r.status != 201) continue;
      json me = Me(ports_[k % ports_.size()], r.token);
      if (!me.is_object() || me.value("phase", "") != "Ready" || !me["credentials"].is_object()) {
        Fail(absl::StrCat("registration ", r.id, " seen Ready but /api/v1/me says ", me.dump()));
      }
      ++checked;
    }
    std::printf("burst: /api/v1/me of %d sampled registrations says Ready with credentials\n",
                checked);
    std::fflush(stdout);
  }

  void Quiet() {
    const CpuSnapshot before = Cpu();
    quiet_from_ = absl::Now();
    std::this_thread::sleep_for(std::chrono::seconds(o_.quiet));
    quiet_to_ = absl::Now();
    quiet_cpu_ = CpuSince(before);
  }

  // The database's commits and the cluster's WAL records, syncs and bytes (pg_stat_database,
  // pg_stat_wal; the cluster is the bench's alone under scripts/services/postgres).
  std::map<std::string, double> PgCounters() {
    std::map<std::string, double> out;
    try {
      pqxx::nontransaction tx(*conn_);
      tx.exec("SELECT pg_stat_clear_snapshot()");
      auto db =
          tx.exec("SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()");
      out["commits"] = db[0][0].as<double>();
      auto wal = tx.exec("SELECT wal_records, wal_sync, wal_bytes FROM pg_stat_wal");
      out["wal records"] = wal[0][0].as<double>();
      out["wal syncs"] = wal[0][1].as<double>();
      out["wal bytes"] = wal[0][2].as<double>();
    } catch (const std::exception& e) {
      Fail(absl::StrCat("pg_stat_database: ", e.what()));
    }
    return out;
  }

  // What each connection of one controller was last doing, to tell its connections apart.
  std::vector<std::string> ConnectionsOf(const std::string& app) {
    std::vector<std::string> out;
    try {
      pqxx::read_transaction tx(*conn_);
      for (const auto& row :
           tx.exec_params("SELECT coalesce(state, '?') || ': ' || regexp_replace(left(query, 70), "
                          "'\\s+', ' ', 'g') FROM pg_stat_activity WHERE application_name = $1 "
                          "ORDER BY backend_start",
                          app)) {
        out.push_back(row[0].as<std::string>());
      }
    } catch (const std::exception& e) {
      Fail(absl::StrCat("pg_stat_activity: ", e.what()));
    }
    return out;
  }

  void PrintCpu(const std::string& what, std::map<std::string, double> cpu, int registrations) {
    if (cpu.empty()) return;
    std::printf("CPU seconds %s (%.1f s of machine CPU, %.1f s busy):", what.c_str(),
                cpu["machine total"], cpu["machine busy"]);
    double ours = 0;
    for (const auto& [cls, sec] : cpu) {
      if (cls.rfind("machine", 0) == 0) continue;
      ours += sec;
      std::printf(" %s %.1f s", cls.c_str(), sec);
      if (registrations > 0) std::printf(" (%.2f ms per registration)", 1000 * sec / registrations);
      std::printf(";");
    }
    std::printf(" everything else on the machine %.1f s\n", cpu["machine busy"] - ours);
  }

  void Isolation() {
    const int n = std::min(o_.isolation, SoloSeats());
    iso_ = MakeRegs(n, [&](int) { return Solo(0); });
    iso_from_ = absl::Now();
    PostAll(iso_, ports_, 8, milliseconds(10));
    for (const Reg& r : iso_) {
      if (r.status != 201) Fail(absl::StrCat("isolation registration: ", r.status, " ", r.error));
      if (r.location != Loc(0)) Fail("an isolation registration went to " + r.location);
    }
    const auto last = WaitReady(iso_, std::chrono::seconds(60));
    // One timer period after the last Ready: a late wake-up of another controller shows.
    iso_to_ = absl::Now() - absl::FromChrono(Clock::now() - last) + absl::Seconds(1);
    std::this_thread::sleep_for(std::chrono::seconds(1));
    std::printf("isolation: %d registrations to %s (location %s only), all Ready\n", n,
                Solo(0).c_str(), Loc(0).c_str());
  }

  void KillFive() {
    // Every kShare-th location from the third: each shared workshop keeps kShare-1 locations.
    for (int j = 0; j < o_.kill; ++j) killed_.insert((2 + j * kShare) % o_.locations);
    for (int i : killed_) controllers_[i]->Kill();
    const auto t = Clock::now();
    std::set<std::string> dead_names;
    for (int i : killed_) dead_names.insert(Loc(i));
    // Until the store's own liveness says they are dead.
    while (true) {
      auto r = Wod({"location", "list", "--json", "--store", url_});
      json j = json::parse(r.stdout_text, nullptr, false);
      const json list = j.is_array() ? j : j.value("locations", json::array());
      int not_live = 0;
      for (const json& l : list) {
        if (dead_names.count(l.value("name", "")) && !l.value("live", true)) ++not_live;
      }
      if (not_live == static_cast<int>(dead_names.size())) break;
      if (Clock::now() - t > std::chrono::seconds(o_.lease_ttl + 90)) {
        Fail("killed locations still live:\n" + r.stdout_text);
      }
      std::this_thread::sleep_for(milliseconds(250));
    }
    dead_after_s_ = std::chrono::duration<double>(Clock::now() - t).count();
    std::printf("killed %zu controllers (", killed_.size());
    for (int i : killed_) std::printf(" %s", Loc(i).c_str());
    std::printf(" ): not live after %.1f s\n", dead_after_s_);

    after_ = MakeRegs(o_.after_kill, [&](int k) { return Shared(k % o_.locations); });
    PostAll(after_, ports_, 16, milliseconds(5));
    for (const Reg& r : after_) {
      if (r.status == 201) {
        ++after_accepted_;
        if (dead_names.count(r.location)) ++after_on_dead_;
      }
    }
    WaitReady(after_, std::chrono::seconds(120));
    for (size_t k = 0; k < after_.size(); ++k) {
      const Reg& r = after_[k];
      if (r.status != 201) continue;
      auto at = watcher_->ReadyAt(r.id);
      if (at) after_ready_ms_.push_back(Ms(*at - r.posted));
      json me = Me(ports_[k % ports_.size()], r.token);
      if (me.is_object() && me.value("phase", "") == "Ready" &&
          dead_names.count(me.value("location", "")) == 0 && !me.value("location", "").empty()) {
        ++after_me_ready_live_;
      }
    }
    std::printf(
        "after the kill: %d of %d accepted, %d on a killed location, %zu Ready (p99 %.0f ms), "
        "/api/v1/me Ready on a live location: %d\n",
        after_accepted_, o_.after_kill, after_on_dead_, after_ready_ms_.size(),
        Percentile(after_ready_ms_, 0.99), after_me_ready_live_);
    std::fflush(stdout);
  }

  void Report() {
    watcher_->Stop();
    sampler_->Stop();
    std::vector<std::vector<Pass>> passes;
    for (const auto& c : controllers_) passes.push_back(ParsePasses(c->log(), TimerPeriod()));

    std::printf("\n%-6s %6s %9s %9s %8s %8s %9s %9s %7s %7s %6s %7s\n", "loc", "regs", "passes",
                "pass_stats", "timer", "wakeups", "wake/reg", "noop_p99", "noops", "iso_wk",
                "conns", "unlive");
    std::vector<double> noop_p99, noop_burst, wake_per_reg;
    int iso_others = 0, iso_others_raw = 0, iso_own = 0;
    int conns_max = 0;
    double conns_sum = 0;
    for (int i = 0; i < o_.locations; ++i) {
      const std::string loc = Loc(i);
      const PassCounts burst = CountPasses(passes[i], burst_from_, burst_to_);
      const PassCounts iso = CountPasses(passes[i], iso_from_, iso_to_);
      std::vector<double> noops, noops_burst;
      for (const Pass& p : passes[i]) {
        if (p.actions != 0) continue;
        if (p.end >= quiet_from_ && p.end <= iso_to_) noops.push_back(p.ms);
        if (p.end >= burst_from_ && p.end <= burst_to_) noops_burst.push_back(p.ms);
      }
      const int regs = regs_at_.count(loc) ? regs_at_[loc] : 0;
      const double wpr = regs > 0 ? static_cast<double>(burst.wakeups()) / regs : 0;
      wake_per_reg.push_back(wpr);
      noop_p99.push_back(Percentile(noops, 0.99));
      if (!noops_burst.empty()) noop_burst.push_back(Percentile(noops_burst, 0.99));
      if (i == 0) {
        iso_own = iso.wakeups();
      } else {
        iso_others += iso.wakeups();
        iso_others_raw += iso.passes;
      }
      const std::string app = "wod-controller-" + loc;
      const int conns = burst_open_.count(app) ? burst_open_[app] : 0;
      conns_max = std::max(conns_max, conns);
      conns_sum += conns;
      const int unlive = burst_not_live_.count(loc) ? burst_not_live_[loc] : 0;
      std::printf("%-6s %6d %9d %9lld %8d %8d %9.3f %9.1f %7zu %7d %6d %6.0f%%\n", loc.c_str(),
                  regs, burst.passes, static_cast<long long>(stats_delta_[loc]), burst.timer,
                  burst.wakeups(), wpr, Percentile(noops, 0.99), noops.size(), iso.wakeups(), conns,
                  burst_samples_ > 0 ? 100.0 * unlive / burst_samples_ : 0.0);
    }
    std::printf(
        "(passes, timer, wakeups: over the burst until all Ready + 1 s; noop_p99: passes "
        "without actions in the quiet and isolation phases; iso_wk: wake-ups while %d "
        "registrations went to %s only; conns: max open PostgreSQL connections; unlive: share "
        "of the burst's samples in which the store did not count it live)\n",
        static_cast<int>(iso_.size()), Loc(0).c_str());
    for (const auto& [app, n] : burst_open_) {
      if (app.rfind("wod-controller-", 0) == 0) continue;
      std::printf("connections of '%s': max %d open, %d busy\n", app.c_str(), n,
                  burst_busy_.count(app) ? burst_busy_[app] : 0);
    }
    PrintCpu("over the burst", burst_cpu_, accepted_);
    if (!burst_pg_.empty()) {
      const double n = std::max(1, accepted_);
      std::printf(
          "PostgreSQL over the burst: %.0f commits (%.1f per registration), %.0f WAL syncs "
          "(%.1f per registration), %.0f WAL records, %.1f MB of WAL\n",
          burst_pg_["commits"], burst_pg_["commits"] / n, burst_pg_["wal syncs"],
          burst_pg_["wal syncs"] / n, burst_pg_["wal records"], burst_pg_["wal bytes"] / 1e6);
    }
    PrintCpu(absl::StrCat("over the quiet phase (", o_.quiet, " s)"), quiet_cpu_, 0);
    std::printf("connections of wod-controller-%s at the end of the burst:\n", Loc(0).c_str());
    for (const std::string& c : loc01_connections_) std::printf("  %s\n", c.c_str());
    // Statements seen running in PostgreSQL during the burst, most often first (class of
    // process: controllers are one class).
    std::map<std::pair<std::string, std::string>, int> by_class;
    int seen = 0;
    for (const auto& [key, n] : burst_active_) {
      std::string app = key.first;
      if (app.rfind("wod-controller-", 0) == 0) app = "wod-controller-*";
      by_class[{app, key.second}] += n;
      seen += n;
    }
    std::vector<std::pair<int, std::pair<std::string, std::string>>> top;
    for (const auto& [key, n] : by_class) top.push_back({n, key});
    std::sort(top.rbegin(), top.rend());
    std::printf("statements running in PostgreSQL over the burst (%d sightings in %d samples):\n",
                seen, burst_samples_);
    for (size_t k = 0; k < top.size() && k < 12; ++k) {
      std::printf("  %5.1f%% %-18s %s\n", 100.0 * top[k].first / std::max(1, seen),
                  top[k].second.first.c_str(), top[k].second.second.c_str());
    }
    std::printf("\n");
    std::fflush(stdout);

    PrintJson("scale_register_rate", rate_, "registrations/s", kTargetRate);
    PrintJson("scale_register_accepted", accepted_, "registrations", o_.registrations);
    PrintJson("scale_ready_p50", Percentile(ready_ms_, 0.5), "ms");
    PrintJson("scale_ready_p99", Percentile(ready_ms_, 0.99), "ms", kTargetReadyP99);
    for (int i = 0; i < o_.locations; ++i) {
      PrintJson("scale_noop_pass_p99_" + Loc(i), noop_p99[i], "ms", kTargetNoopP99);
    }
    PrintJson("scale_noop_pass_p99_max", Percentile(noop_p99, 1.0), "ms", kTargetNoopP99);
    PrintJson("scale_noop_pass_p99_during_burst_max", Percentile(noop_burst, 1.0), "ms");
    PrintJson("scale_pg_connections_per_controller_max", conns_max, "connections",
              kTargetConnections);
    PrintJson("scale_pg_connections_per_controller_mean", conns_sum / o_.locations, "connections");
    double wpr_sum = 0;
    for (double w : wake_per_reg) wpr_sum += w;
    PrintJson("scale_wakeups_per_registration_mean", wpr_sum / o_.locations, "passes");
    PrintJson("scale_wakeups_per_registration_max", Percentile(wake_per_reg, 1.0), "passes");
    PrintJson("scale_wake_isolation_own_wakeups", iso_own, "passes");
    PrintJson("scale_wake_isolation_other_wakeups", iso_others, "passes", 0);
    PrintJson("scale_wake_isolation_other_passes_raw", iso_others_raw, "passes");
    PrintJson("scale_after_kill_accepted", after_accepted_, "registrations", o_.after_kill);
    PrintJson("scale_after_kill_on_killed_locations", after_on_dead_, "registrations", 0);
    PrintJson("scale_after_kill_ready_on_live", after_me_ready_live_, "registrations",
              o_.after_kill);
    PrintJson("scale_after_kill_ready_p99", Percentile(after_ready_ms_, 0.99), "ms",
              kTargetReadyP99);
    if (!burst_cpu_.empty()) {
      const double accepted = std::max(1, accepted_);
      PrintJson("scale_burst_cpu_controllers_per_registration",
                1000 * burst_cpu_["controllers"] / accepted, "ms");
      PrintJson("scale_burst_cpu_postgresql_per_registration",
                1000 * burst_cpu_["postgresql"] / accepted, "ms");
      PrintJson("scale_burst_cpu_serves_per_registration",
                1000 * (burst_cpu_["serve-a (lifecycle)"] + burst_cpu_["serve-b"]) / accepted,
                "ms");
      PrintJson("scale_burst_pg_commits_per_registration", burst_pg_["commits"] / accepted,
                "commits");
      PrintJson("scale_burst_machine_busy",
                burst_cpu_["machine busy"] / std::max(1e-9, burst_cpu_["machine total"]) * 100,
                "%");
    }
    PrintJson("scale_killed_not_live_after", dead_after_s_ * 1000, "ms");
    std::fflush(stdout);
  }

  Options o_;
  fs::path dir_;
  std::string wod_;  // the copy of WOD_BINARY the bench runs
  std::string url_;
  int max_connections_ = 0;
  std::vector<std::unique_ptr<Child>> controllers_, serves_;
  std::vector<int> ports_;
  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<ConnectionSampler> sampler_;
  std::unique_ptr<ReadyWatcher> watcher_;
  int next_email_ = 0;
  double warm_seconds_ = 0;

  std::vector<Reg> burst_, iso_, after_;
  absl::Time burst_from_, burst_to_, quiet_from_, quiet_to_, iso_from_, iso_to_;
  int accepted_ = 0;
  std::map<int, int> codes_;
  std::map<std::string, int> regs_at_;
  std::map<std::string, int64_t> stats_delta_;
  double post_seconds_ = 0, rate_ = 0;
  std::vector<double> ready_ms_;
  std::map<std::string, int> burst_open_, burst_busy_, burst_not_live_;
  std::map<std::string, double> burst_cpu_, quiet_cpu_;
  std::map<std::string, double> burst_pg_;
  std::vector<std::string> loc01_connections_;
  std::map<std::pair<std::string, std::string>, int> burst_active_;
  int burst_samples_ = 0;

  std::set<int> killed_;
  double dead_after_s_ = 0;
  int after_accepted_ = 0, after_on_dead_ = 0, after_me_ready_live_ = 0;
  std::vector<double> after_ready_ms_;
};

int Main(int argc, char** argv) {
  Options o;
  if (const char* u = std::getenv("WOD_TEST_PG_URL")) o.pg_url = u;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (i + 1 >= argc) Fail("usage: see the top of bench/scale_bench.cc (" + flag + ")");
    const std::string v = argv[++i];
    if (flag == "--pg-url") {
      o.pg_url = v;
    } else if (flag == "--keep") {
      o.keep = v;
    } else if (flag == "--seconds") {
      o.seconds = std::atof(v.c_str());
    } else {
      const int n = std::atoi(v.c_str());
      std::map<std::string, int*> ints = {{"--locations", &o.locations},
                                          {"--seats", &o.seats},
                                          {"--registrations", &o.registrations},
                                          {"--clients", &o.clients},
                                          {"--kill", &o.kill},
                                          {"--after-kill", &o.after_kill},
                                          {"--isolation", &o.isolation},
                                          {"--quiet", &o.quiet},
                                          {"--lease-ttl", &o.lease_ttl},
                                          {"--concurrency", &o.concurrency}};
      auto it = ints.find(flag);
      if (it == ints.end() || n <= 0) Fail("unknown flag or bad value: " + flag + " " + v);
      *it->second = n;
    }
  }
  if (o.pg_url.empty()) Fail("no PostgreSQL: set WOD_TEST_PG_URL or pass --pg-url");
  std::set_terminate([] { Fail("terminated by an uncaught exception"); });
  signal(SIGPIPE, SIG_IGN);
  // SIGINT and SIGTERM are taken by one thread (blocked in all others, unblocked again in the
  // children): an interrupted run still stops its children and drops its database.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  std::thread([stop] {
    int sig = 0;
    sigwait(&stop, &sig);
    Fail(absl::StrCat("interrupted by signal ", sig));
  }).detach();
  Bench bench(o);
  bench.Run();
  return 0;
}

}  // namespace
}  // namespace wod::bench

int main(int argc, char** argv) { return wod::bench::Main(argc, argv); }
