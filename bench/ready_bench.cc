// Registration -> Ready latency through the whole product: a `wod up` child process (API,
// controller of location `bench`, lifecycle) on a temp SQLite store with the real accounts
// driver (users wodbench1..110, uids 63001..63110, group wodbench), the real hub driver against
// a JupyterHub (WOD_TEST_HUB_URL, or one started here with scripts/services/jupyterhub and
// stopped after), and the real content driver rendering examples/catalog/WKSHP-Shell101's
// notebooks into the homes. Mail goes to a maildir. Needs root.
//
// For each concurrency c in {1, 10, 100}, rounds of c registrations are POSTed at once
// (c client threads released together); the latency of one registration is from just before
// its POST /api/v1/registrations to the first moment the API shows its seat Ready for it.
// Rounds: 10 of c=1, 3 of c=10, 1 of c=100 (10, 30 and 100 samples). Between rounds every
// registration ends (POST /api/v1/me:end) and the bench waits until every seat is Vacant
// again, so each round starts on the warm pool a fresh machine serves from.
//
// How Ready is seen: one watcher thread reads GET /api/v1/seats?location=bench every 20 ms
// and records, per registration, the first listing in which its seat is occupied by it with
// status phase Ready at the seat's current generation. That is what GET /api/v1/me reports
// (the same seat and status rows), at a cost that does not grow with c: 100 clients each
// polling /api/v1/me every 20 ms would be 5,000 requests/s on the 2 cores the controller
// needs. After each round every registration's /api/v1/me is read once and must show Ready
// with credentials. Resolution: the 20 ms poll period (plus one request, ~1-3 ms).
// The store's own timestamps (registration start, the status row's update time) are printed
// too: the server-side part of the same latency, without the poll's granularity.
//
// At the end, one JSON object per result on its own line:
//   {"bench": "ready_latency_p50_c10", "value": N, "unit": "ms", "target": 1000}
//
// Usage: ready_bench [--rounds1 N] [--rounds10 N] [--rounds100 N] [--concurrency N]
// (controller.concurrency, default 4 as in examples/wod.yml); WOD_READY_BENCH_LOG=FILE keeps
// the `wod up` log (one line per controller action, with its time) for study.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>

#include <nlohmann/json.hpp>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "bench/machine_facts.h"
#include "common/clock.h"
#include "common/subprocess.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/hub/hub_real.h"
#include "tests/testing/daemon_process.h"
#include "tests/testing/seat_sweep.h"

namespace wod::bench {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr char kLocation[] = "bench";
constexpr char kWorkshop[] = "WKSHP-ReadyBench";
constexpr char kPrefix[] = "wodbench";
constexpr uid_t kUidBase = 63000;
constexpr int kSeats = 110;          // seats 1..110 in the workshop
constexpr int kPolicySeats = 200;    // managed uids 63000..63199
constexpr double kTargetP50 = 1000;  // ms
constexpr double kTargetP99 = 3000;  // ms

// Run once by Fail() from whichever thread fails first: stops `wod up`, removes the accounts
// and hub users and stops a hub started here, so a failed run leaves nothing behind.
std::function<void()> g_cleanup;
std::once_flag g_failed;

[[noreturn]] void Fail(const std::string& what) {
  std::call_once(g_failed, [&] {
    std::fprintf(stderr, "ready_bench: %s\n", what.c_str());
    if (g_cleanup) g_cleanup();
  });
  std::_Exit(1);
}

model::AccountPolicy Policy() {
  return wod::testing::RealMachinePolicy(kPrefix, kUidBase, kPolicySeats);
}

double Percentile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  // Nearest rank: the smallest value with at least q of the samples at or below it.
  size_t rank = static_cast<size_t>(std::ceil(q * static_cast<double>(v.size())));
  return v[std::clamp<size_t>(rank, 1, v.size()) - 1];
}

common::SubprocessResult Run(const std::vector<std::string>& argv) {
  common::SubprocessOptions o;
  o.timeout = absl::Seconds(120);
  auto r = common::RunProcess(argv, o);
  if (!r.ok()) Fail(absl::StrCat(argv[0], ": ", r.status().ToString()));
  return *r;
}

// A JupyterHub started for the bench when the environment names none.
struct OwnHub {
  fs::path dir;
  std::string url, token_file;
  ~OwnHub() { Stop(); }
  void Stop() {
    if (dir.empty()) return;
    common::SubprocessOptions o;
    o.timeout = absl::Seconds(60);
    (void)common::RunProcess(
        {std::string(WOD_SOURCE_DIR) + "/scripts/services/jupyterhub", "stop", dir.string()}, o);
    dir.clear();
  }
};

class Bench {
 public:
  Bench(std::string hub_url, std::string hub_token_file, int concurrency)
      : hub_url_(std::move(hub_url)),
        hub_token_file_(std::move(hub_token_file)),
        concurrency_(concurrency) {}
  ~Bench() { Cleanup(); }

  void SetUp() {
    drivers::accounts::RealAccountsOptions ao;
    ao.policy = Policy();
    ao.kill.grace = absl::Milliseconds(300);
    auto accounts = drivers::accounts::RealAccountsDriver::Create(ao);
    if (!accounts.ok()) Fail(accounts.status().ToString());
    accounts_ = std::move(accounts).value();
    drivers::HubRealOptions ho;
    ho.url = hub_url_;
    ho.token_file = hub_token_file_;
    ho.policy.user_prefix = kPrefix;
    auto hub = drivers::HubReal::Create(ho);
    if (!hub.ok()) Fail(hub.status().ToString());
    hub_ = std::move(hub).value();
    if (absl::Status s = Sweep(); !s.ok()) Fail("sweep before: " + s.ToString());
    swept_ = true;
    if (auto squatters = testing::RangeSquatters(Policy()); !squatters.empty()) {
      Fail("the bench's uid range is taken: " + squatters.front());
    }

    char tmpl[] = "/tmp/wod-ready-bench-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail("mkdtemp");
    dir_ = tmpl;
    fs::permissions(dir_, fs::perms(0755));
    PrintMachineFacts(dir_.string());
    store_url_ = "sqlite:" + (dir_ / "wod.db").string();

    // The workshop: Shell101's notebooks (real content to render), on seats 1..kSeats.
    const fs::path workshop = dir_ / "catalog" / kWorkshop;
    fs::create_directories(workshop);
    const fs::path shell101 = fs::path(WOD_SOURCE_DIR) / "examples/catalog/WKSHP-Shell101";
    for (const auto& e : fs::directory_iterator(shell101)) {
      if (e.path().extension() == ".ipynb") fs::copy_file(e.path(), workshop / e.path().filename());
    }
    std::ofstream(workshop / "wod.yml")
        << "name: 'Ready bench'\ndescription: 'bench/ready_bench.cc'\nactive: true\n"
        << "capacity: " << kSeats << "\nrange: [1," << kSeats << "]\nduration: 1\n"
        << "badgeImg: WOD-Badge-Bench\n";
    auto loaded = Run({WOD_BINARY, "catalog", "load", "--store", store_url_, "--location",
                       kLocation, (dir_ / "catalog").string()});
    if (loaded.exit_code != 0) Fail("catalog load: " + loaded.stderr_text);
    auto token = Run({WOD_BINARY, "token", "create", "--role", "admin", "--name", "bench",
                      "--store", store_url_});
    if (token.exit_code != 0) Fail("token create: " + token.stderr_text);
    admin_token_ = std::string(absl::StripAsciiWhitespace(token.stdout_text));

    // The defaults of examples/wod.yml for the controller (concurrency 4, resync 15 s), with
    // the rate limit off (every client is 127.0.0.1).
    config_ = dir_ / "wod.yml";
    std::ofstream(config_) << "accounts:\n  root: /\n  user_prefix: " << kPrefix
                           << "\n  uid_base: " << kUidBase << "\n  seat_count: " << kPolicySeats
                           << "\n  group: " << kPrefix << "\n  gid: " << kUidBase
                           << "\n  home_base: /home\n"
                           << "content:\n  archive_dir: archive\n"
                           << "hub:\n  url: " << hub_url_ << "\n  token_file: " << hub_token_file_
                           << "\n"
                           << "controller:\n  concurrency: " << concurrency_
                           << "\n  lease_ttl: 15s\n  resync: 15s\n"
                           << "variables:\n  BRANDING: Bench\n  WODBEEXTFQDN: 127.0.0.1\n"
                           << "  SURVEYURL: https://example.com/survey\n"
                           << "api:\n  registration_rate_limit:\n    per_minute: 0\n"
                           << "mail:\n  maildir: mail\n  from_address: bench@localhost\n";

    up_ = std::make_unique<testing::DaemonProcess>(
        WOD_BINARY,
        std::vector<std::string>{"up", "--store", store_url_, "--config", config_.string(),
                                 "--listen", "127.0.0.1:0", "--location", kLocation},
        dir_ / "up.log");
    if (!up_->started()) Fail("wod up did not start");
    const std::string port =
        up_->WaitForMatch(R"(wod up: listening on http://127\.0\.0\.1:(\d+))", milliseconds(20000));
    if (port.empty()) Fail("wod up is not listening:\n" + up_->log());
    port_ = std::stoi(port);
    const auto t = Clock::now();
    if (!WaitAllVacant(milliseconds(600000))) Fail("the pool never became Vacant:\n" + LogTail());
    std::printf("warm pool of %d seats Vacant after %.1f s\n", kSeats,
                std::chrono::duration<double>(Clock::now() - t).count());
  }

  // One round: `c` registrations at once; appends each one's latency (ms) to `client_ms`
  // (POST to first Ready seen) and `store_ms` (registration start to the Ready status write).
  void Round(int c, std::vector<double>* client_ms, std::vector<double>* store_ms) {
    struct Reg {
      Clock::time_point posted;
      int64_t id = 0;
      std::string token;
      int seat = 0;
      absl::Time start;
      std::optional<Clock::time_point> ready;
      absl::Time status_updated;
    };
    std::vector<Reg> regs(c);
    std::mutex mu;
    std::atomic<int> registered{0};
    std::atomic<bool> stop{false};
    std::atomic<bool> go{false};
    std::vector<std::thread> clients;
    for (int i = 0; i < c; ++i) {
      clients.emplace_back([&, i] {
        httplib::Client cl("127.0.0.1", port_);
        cl.set_tcp_nodelay(true);
        cl.set_read_timeout(30);
        const std::string body = json{
            {"workshop", kWorkshop},
            {"email", absl::StrCat("p", ++emails_, "@bench.example")},
            {"name", "Bench"},
            {"company", "ACME"},
            {"accept_terms", true}}.dump();
        while (!go.load()) std::this_thread::yield();
        const auto posted = Clock::now();
        auto res = cl.Post("/api/v1/registrations", body, "application/json");
        if (!res || res->status != 201) {
          Fail(absl::StrCat("registration answered ", res ? res->status : 0, ": ",
                            res ? res->body : std::string("no answer")));
        }
        json j = json::parse(res->body, nullptr, false);
        std::lock_guard<std::mutex> lock(mu);
        regs[i].posted = posted;
        regs[i].id = j["registration"]["id"].get<int64_t>();
        regs[i].seat = j["registration"]["seat"].get<int>();
        regs[i].token = j["token"].get<std::string>();
        common::ParseTime(j["registration"]["start"].get<std::string>(), &regs[i].start);
        ++registered;
      });
    }
    // The watcher: one listing of the seats every 20 ms.
    std::thread watcher([&] {
      httplib::Client cl("127.0.0.1", port_);
      cl.set_tcp_nodelay(true);
      while (!stop.load()) {
        const auto tick = Clock::now();
        json seats = Seats(cl);
        const auto seen = Clock::now();
        std::lock_guard<std::mutex> lock(mu);
        const json list = seats.value("seats", json::array());
        std::map<int64_t, const json*> ready_by_registration;
        for (const json& s : list) {
          if (!s.value("occupied", false) || !s["registration"].is_object()) continue;
          const json& st = s["status"];
          if (!st.is_object() || st.value("phase", "") != "Ready" ||
              st.value("observed_generation", int64_t{-1}) < s.value("generation", int64_t{0})) {
            continue;
          }
          ready_by_registration[s["registration"].value("id", int64_t{0})] = &s;
        }
        for (Reg& r : regs) {
          if (r.id == 0 || r.ready) continue;
          auto it = ready_by_registration.find(r.id);
          if (it == ready_by_registration.end()) continue;
          // The listing was read somewhere between `tick` and `seen`: the midpoint.
          r.ready = tick + (seen - tick) / 2;
          common::ParseTime((*it->second)["status"].value("updated", ""), &r.status_updated);
        }
        std::this_thread::sleep_until(tick + milliseconds(20));
      }
    });
    go.store(true);
    for (auto& t : clients) t.join();
    const auto deadline = Clock::now() + std::chrono::seconds(120);
    while (true) {
      {
        std::lock_guard<std::mutex> lock(mu);
        if (std::all_of(regs.begin(), regs.end(), [](const Reg& r) { return r.ready; })) break;
      }
      if (Clock::now() > deadline) {
        stop.store(true);
        watcher.join();
        Fail(absl::StrCat("not every seat of a round of ", c, " became Ready in 120 s\n",
                          LogTail()));
      }
      std::this_thread::sleep_for(milliseconds(20));
    }
    stop.store(true);
    watcher.join();
    // What the participant sees agrees: /api/v1/me is Ready with credentials.
    httplib::Client cl("127.0.0.1", port_);
    for (const Reg& r : regs) {
      auto res = cl.Get("/api/v1/me", {{"Authorization", "Participant " + r.token}});
      json me = res ? json::parse(res->body, nullptr, false) : json();
      if (!me.is_object() || me.value("phase", "") != "Ready" || !me["credentials"].is_object()) {
        Fail(absl::StrCat("registration ", r.id, " seen Ready but /api/v1/me says ",
                          res ? res->body : "nothing"));
      }
      client_ms->push_back(std::chrono::duration<double, std::milli>(*r.ready - r.posted).count());
      store_ms->push_back(absl::ToDoubleMilliseconds(r.status_updated - r.start));
    }
    // End them all and wait for the pool to be Vacant again.
    for (const Reg& r : regs) {
      auto res = cl.Post("/api/v1/me:end", {{"Authorization", "Participant " + r.token}}, "",
                         "application/json");
      if (!res || res->status != 200) Fail("me:end failed");
    }
    if (!WaitAllVacant(milliseconds(180000))) Fail("seats did not become Vacant:\n" + LogTail());
  }

  void Stop() {
    if (up_ == nullptr) return;
    up_->Signal(SIGTERM);
    const int code = up_->Wait(milliseconds(60000));
    if (code != 0) std::fprintf(stderr, "ready_bench: wod up exited %d\n", code);
    if (const char* keep = std::getenv("WOD_READY_BENCH_LOG")) {
      std::error_code ec;
      fs::copy_file(dir_ / "up.log", keep, fs::copy_options::overwrite_existing, ec);
    }
    up_.reset();
  }

  void Cleanup() {
    Stop();
    if (swept_) {
      if (absl::Status s = Sweep(); !s.ok()) {
        std::fprintf(stderr, "ready_bench: sweep after: %s\n", s.ToString().c_str());
      }
      swept_ = false;
    }
    if (!dir_.empty()) {
      std::error_code ec;
      fs::remove_all(dir_, ec);
      dir_.clear();
    }
  }

 private:
  absl::Status Sweep() {
    testing::SweepTargets t;
    t.policy = Policy();
    t.accounts = accounts_.get();
    t.hub = hub_.get();
    t.location = kLocation;
    return testing::SweepSeats(t);
  }

  json Seats(httplib::Client& cl) {
    auto res = cl.Get(absl::StrCat("/api/v1/seats?location=", kLocation).c_str(),
                      {{"Authorization", "Bearer " + admin_token_}});
    if (!res || res->status != 200) return json::object();
    return json::parse(res->body, nullptr, false);
  }

  bool WaitAllVacant(milliseconds timeout) {
    httplib::Client cl("127.0.0.1", port_);
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      json seats = Seats(cl);
      int vacant = 0;
      for (const json& s : seats.value("seats", json::array())) {
        if (!s.value("occupied", true) && s.value("phase", "") == "Vacant" &&
            s["status"].is_object() &&
            s["status"].value("observed_generation", int64_t{-1}) >=
                s.value("generation", int64_t{0})) {
          ++vacant;
        }
      }
      if (vacant == kSeats) return true;
      std::this_thread::sleep_for(milliseconds(100));
    }
    return false;
  }

  std::string LogTail() {
    if (up_ == nullptr) return "";
    const std::string log = up_->log();
    return log.substr(log.size() > 4000 ? log.size() - 4000 : 0);
  }

  std::string hub_url_, hub_token_file_;
  fs::path dir_, config_;
  std::string store_url_, admin_token_;
  int concurrency_ = 4;
  int port_ = 0;
  bool swept_ = false;
  std::atomic<int> emails_{0};
  std::unique_ptr<drivers::accounts::RealAccountsDriver> accounts_;
  std::unique_ptr<drivers::HubReal> hub_;
  std::unique_ptr<testing::DaemonProcess> up_;
};

int Main(int argc, char** argv) {
  std::map<int, int> rounds = {{1, 10}, {10, 3}, {100, 1}};
  int concurrency = 4;  // controller.concurrency: examples/wod.yml's (and the built-in) default
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const int value = std::atoi(argv[i + 1]);
    if (flag == "--rounds1") {
      rounds[1] = value;
    } else if (flag == "--rounds10") {
      rounds[10] = value;
    } else if (flag == "--rounds100") {
      rounds[100] = value;
    } else if (flag == "--concurrency") {
      concurrency = value;
    } else {
      Fail("usage: ready_bench [--rounds1 N] [--rounds10 N] [--rounds100 N] [--concurrency N]");
    }
  }
  if (geteuid() != 0) Fail("needs root (it manages real Linux accounts)");
  // An exception escaping anywhere (a JSON surprise in a client thread) still cleans up.
  std::set_terminate([] { Fail("terminated by an uncaught exception"); });

  OwnHub own;
  std::string hub_url, token_file;
  if (const char* u = std::getenv("WOD_TEST_HUB_URL"); u != nullptr && *u != '\0') {
    hub_url = u;
    const char* t = std::getenv("WOD_TEST_HUB_TOKEN_FILE");
    if (t == nullptr) Fail("WOD_TEST_HUB_URL without WOD_TEST_HUB_TOKEN_FILE");
    token_file = t;
  } else {
    char tmpl[] = "/tmp/wod-ready-bench-hub-XXXXXX";
    if (mkdtemp(tmpl) == nullptr) Fail("mkdtemp");
    own.dir = tmpl;
    g_cleanup = [&] { own.Stop(); };
    auto r = Run(
        {std::string(WOD_SOURCE_DIR) + "/scripts/services/jupyterhub", "start", own.dir.string()});
    if (r.exit_code != 0) Fail("starting a JupyterHub: " + r.stderr_text);
    for (absl::string_view line : absl::StrSplit(r.stdout_text, '\n')) {
      if (absl::ConsumePrefix(&line, "export WOD_TEST_HUB_URL=")) hub_url = std::string(line);
      if (absl::ConsumePrefix(&line, "export WOD_TEST_HUB_TOKEN_FILE=")) {
        token_file = std::string(line);
      }
    }
    if (hub_url.empty() || token_file.empty()) Fail("no hub address from scripts/services");
    std::printf("started a JupyterHub at %s for the bench\n", hub_url.c_str());
  }

  std::map<int, std::vector<double>> client_ms, store_ms;
  {
    Bench bench(hub_url, token_file, concurrency);
    g_cleanup = [&] {
      bench.Cleanup();
      own.Stop();
    };
    bench.SetUp();
    for (const auto& [c, n] : rounds) {
      for (int i = 0; i < n; ++i) {
        const size_t before = client_ms[c].size();
        bench.Round(c, &client_ms[c], &store_ms[c]);
        std::printf("round c=%d #%d: max %.0f ms\n", c, i + 1,
                    *std::max_element(client_ms[c].begin() + before, client_ms[c].end()));
        std::fflush(stdout);
      }
    }
    bench.Cleanup();
    g_cleanup = [&] { own.Stop(); };
  }
  own.Stop();
  g_cleanup = nullptr;

  std::printf("\n%-6s %8s %10s %10s %10s %14s %14s\n", "c", "samples", "p50 ms", "p99 ms", "max ms",
              "store p50 ms", "store p99 ms");
  for (const auto& [c, v] : client_ms) {
    std::printf("%-6d %8zu %10.0f %10.0f %10.0f %14.0f %14.0f\n", c, v.size(), Percentile(v, 0.5),
                Percentile(v, 0.99), Percentile(v, 1.0), Percentile(store_ms[c], 0.5),
                Percentile(store_ms[c], 0.99));
  }
  std::printf("\n");
  for (const auto& [c, v] : client_ms) {
    std::printf(
        "{\"bench\": \"ready_latency_p50_c%d\", \"value\": %.0f, \"unit\": \"ms\", "
        "\"target\": %.0f}\n",
        c, Percentile(v, 0.5), kTargetP50);
    std::printf(
        "{\"bench\": \"ready_latency_p99_c%d\", \"value\": %.0f, \"unit\": \"ms\", "
        "\"target\": %.0f}\n",
        c, Percentile(v, 0.99), kTargetP99);
  }
  return 0;
}

}  // namespace
}  // namespace wod::bench

int main(int argc, char** argv) { return wod::bench::Main(argc, argv); }
