// Load on POST /api/v1/registrations: 64 client threads, each with its own keep-alive
// httplib::Client (TCP_NODELAY, as docs/api.md says a client must), POST registrations with
// distinct emails for a fixed time after a warm-up, against api::Server over a SQLite store
// in a temp file. The server runs in a forked child process, so its peak RSS (VmHWM of
// /proc/<child>/status) excludes the client threads. 16 workshops of 10,000 seats each (the
// store's per-workshop maximum), requests spread round-robin, so no registration is refused
// for capacity; every answer must be 201 (the program exits 1 otherwise).
// Prints one JSON object per result on its own line:
//   {"bench": "api_register_64clients", "value": N, "unit": "registrations/s", "target": 1000}
//
// Usage: api_bench [--clients N] [--threads N (server workers)] [--warmup S] [--seconds S]
#include <httplib.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "api/server.h"
#include "common/clock.h"
#include "store/store.h"

namespace wod::bench {
namespace {

using Steady = std::chrono::steady_clock;

constexpr int kWorkshops = 16;
constexpr int kSeatsPerWorkshop = 10'000;

std::string WorkshopId(int i) { return absl::StrCat("WKSHP-Bench", i); }

// The server child: opens the store, loads the catalog, binds, writes the port to `port_fd`,
// serves until `stop_fd` is readable (EOF when the parent closes it or dies).
[[noreturn]] void RunServer(const std::string& url, int threads, int port_fd, int stop_fd) {
  auto fail = [](const std::string& what, const absl::Status& s) {
    std::fprintf(stderr, "api_bench server: %s: %s\n", what.c_str(), s.ToString().c_str());
    _exit(1);
  };
  auto store = store::OpenStore(url);
  if (!store.ok()) fail("open store", store.status());
  std::vector<model::Workshop> catalog;
  for (int i = 0; i < kWorkshops; ++i) {
    model::Workshop w;
    w.id = WorkshopId(i);
    w.name = w.id;
    w.description = "bench";
    w.active = true;
    w.capacity = kSeatsPerWorkshop;
    w.range = {1 + i * kSeatsPerWorkshop, (i + 1) * kSeatsPerWorkshop};
    w.duration_hours = 4;
    w.location = "bench";
    w.category = {"Bench"};
    catalog.push_back(std::move(w));
  }
  auto change = (*store)->UpsertCatalog(catalog);
  if (!change.ok()) fail("catalog", change.status());
  api::ServerConfig config;
  config.registration_rate_limit.per_minute = 0;  // one client address sends everything
  if (threads > 0) config.threads = threads;
  api::Server server(store->get(), config, common::RealClock::Get());
  auto port = server.Bind("127.0.0.1", 0);
  if (!port.ok()) fail("bind", port.status());
  if (absl::Status s = server.Start(); !s.ok()) fail("start", s);
  int p = *port;
  if (write(port_fd, &p, sizeof p) != sizeof p) _exit(1);
  close(port_fd);
  char c;
  while (read(stop_fd, &c, 1) < 0 && errno == EINTR) {
  }
  server.Stop();
  _exit(0);
}

// VmHWM and VmRSS of `pid` in MB (-1 when unreadable).
void ReadRss(pid_t pid, double* hwm_mb, double* rss_mb) {
  *hwm_mb = *rss_mb = -1;
  std::ifstream in(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(in, line)) {
    long kb = 0;
    if (std::sscanf(line.c_str(), "VmHWM: %ld kB", &kb) == 1) *hwm_mb = kb / 1024.0;
    if (std::sscanf(line.c_str(), "VmRSS: %ld kB", &kb) == 1) *rss_mb = kb / 1024.0;
  }
}

double Percentile(std::vector<double>& v, double q) {
  if (v.empty()) return 0;
  size_t k = std::min(v.size() - 1, static_cast<size_t>(q * (v.size() - 1) + 0.5));
  std::nth_element(v.begin(), v.begin() + k, v.end());
  return v[k];
}

int Main(int argc, char** argv) {
  int clients = 64;
  int server_threads = 0;  // the server's default
  double warmup_s = 1;
  double seconds = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string flag = argv[i];
    double v = std::atof(argv[i + 1]);
    if (flag == "--clients") {
      clients = static_cast<int>(v);
    } else if (flag == "--threads") {
      server_threads = static_cast<int>(v);
    } else if (flag == "--warmup") {
      warmup_s = v;
    } else if (flag == "--seconds") {
      seconds = v;
    } else {
      std::fprintf(stderr,
                   "usage: api_bench [--clients N] [--threads N] [--warmup S] "
                   "[--seconds S]\n");
      return 2;
    }
  }

  std::string dir = (std::filesystem::temp_directory_path() / "wod-apibench-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) {
    std::perror("mkdtemp");
    return 1;
  }
  const std::string url = "sqlite:" + dir + "/wod.db";

  int port_pipe[2], stop_pipe[2];
  if (pipe(port_pipe) != 0 || pipe(stop_pipe) != 0) {
    std::perror("pipe");
    return 1;
  }
  std::fflush(nullptr);
  pid_t child = fork();
  if (child < 0) {
    std::perror("fork");
    return 1;
  }
  if (child == 0) {
    close(port_pipe[0]);
    close(stop_pipe[1]);
    RunServer(url, server_threads, port_pipe[1], stop_pipe[0]);
  }
  close(port_pipe[1]);
  close(stop_pipe[0]);
  int port = 0;
  if (read(port_pipe[0], &port, sizeof port) != sizeof port) {
    std::fprintf(stderr, "api_bench: the server child did not start\n");
    waitpid(child, nullptr, 0);
    std::filesystem::remove_all(dir);
    return 1;
  }
  close(port_pipe[0]);
  double hwm_before = 0, rss_before = 0;
  ReadRss(child, &hwm_before, &rss_before);

  const auto t0 = Steady::now();
  const auto measure_from =
      t0 + std::chrono::duration_cast<Steady::duration>(std::chrono::duration<double>(warmup_s));
  const auto measure_to = measure_from + std::chrono::duration_cast<Steady::duration>(
                                             std::chrono::duration<double>(seconds));
  std::atomic<long> failures{0};
  std::mutex mu;
  std::vector<double> latencies_ms;
  std::string first_failure;
  std::vector<std::thread> threads;
  for (int t = 0; t < clients; ++t) {
    threads.emplace_back([&, t] {
      httplib::Client c("127.0.0.1", port);
      c.set_keep_alive(true);
      c.set_tcp_nodelay(true);
      c.set_read_timeout(60, 0);
      c.set_connection_timeout(30, 0);
      std::vector<double> mine;
      for (long n = 0;; ++n) {
        auto start = Steady::now();
        if (start >= measure_to) break;
        std::string email = absl::StrCat("c", t, "-", n, "@example.com");
        std::string body = nlohmann::json{
            {"workshop", WorkshopId((t + n) % kWorkshops)},
            {"email", email},
            {"name", "Bench " + email},
            {"company", "ACME"},
            {"accept_terms",
             true}}.dump();
        auto res = c.Post("/api/v1/registrations", body, "application/json");
        auto end = Steady::now();
        if (!res || res->status != 201) {
          ++failures;
          std::lock_guard<std::mutex> lock(mu);
          if (first_failure.empty()) {
            first_failure = res ? absl::StrCat(res->status, " ", res->body)
                                : absl::StrCat("transport error ", httplib::to_string(res.error()));
          }
          continue;
        }
        if (start >= measure_from && end <= measure_to) {
          mine.push_back(std::chrono::duration<double, std::milli>(end - start).count());
        }
      }
      std::lock_guard<std::mutex> lock(mu);
      latencies_ms.insert(latencies_ms.end(), mine.begin(), mine.end());
    });
  }
  // Sample the server child's RSS during the load.
  double rss_peak = rss_before;
  while (Steady::now() < measure_to) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    double hwm, rss;
    ReadRss(child, &hwm, &rss);
    rss_peak = std::max(rss_peak, rss);
  }
  for (auto& th : threads) th.join();
  double hwm_after = 0, rss_after = 0;
  ReadRss(child, &hwm_after, &rss_after);
  close(stop_pipe[1]);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);

  const double throughput = latencies_ms.size() / seconds;
  const double p50 = Percentile(latencies_ms, 0.50);
  const double p99 = Percentile(latencies_ms, 0.99);
  std::printf("clients %d, server worker threads %s, warm-up %.1f s, measured %.1f s\n", clients,
              server_threads > 0 ? std::to_string(server_threads).c_str() : "default", warmup_s,
              seconds);
  std::printf("registrations in window %zu (%.0f/s), p50 %.2f ms, p99 %.2f ms, failures %ld\n",
              latencies_ms.size(), throughput, p50, p99, failures.load());
  std::printf(
      "server child RSS: before load %.1f MB (VmHWM %.1f), peak sampled during load "
      "%.1f MB, VmHWM after load %.1f MB\n",
      rss_before, hwm_before, rss_peak, hwm_after);
  if (failures > 0) std::printf("first failure: %s\n", first_failure.c_str());
  std::printf(
      "{\"bench\": \"api_register_64clients\", \"value\": %.0f, \"unit\": "
      "\"registrations/s\", \"target\": 1000}\n",
      throughput);
  std::printf(
      "{\"bench\": \"api_register_64clients_p99\", \"value\": %.2f, \"unit\": \"ms\", "
      "\"target\": 100}\n",
      p99);
  std::printf("{\"bench\": \"api_register_64clients_p50\", \"value\": %.2f, \"unit\": \"ms\"}\n",
              p50);
  std::printf("{\"bench\": \"api_rss_peak\", \"value\": %.1f, \"unit\": \"MB\", \"target\": 64}\n",
              hwm_after);
  if (failures > 0 || !WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) return 1;
  return 0;
}

}  // namespace
}  // namespace wod::bench

int main(int argc, char** argv) { return wod::bench::Main(argc, argv); }
