// Throughput of Store::Register with 8 threads, on SQLite (WAL, a temp file) and on PostgreSQL
// (a fresh database on the server of WOD_TEST_PG_URL; skipped with a message when unset).
// Two shapes: every thread registering into one workshop (the worst case: all registrations
// contend for the same workshop row, capacity slots and lowest seats), and the threads spread
// over 8 workshops (a catalog's usual shape). Each run starts from an empty database with enough
// seats for all its registrations. At the end, one JSON object per result on its own line:
//   {"bench": "register_sqlite_8threads", "value": N, "unit": "registrations/s", "target": 2000}
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "bench/machine_facts.h"
#include "store/store.h"
#include "tests/store/scratch_db.h"

namespace wod::store {
namespace {

constexpr int kThreads = 8;
constexpr int kPerThread = 600;

std::string g_pg_url;
std::unique_ptr<testing::ScratchDb> g_db;
std::unique_ptr<Store> g_store;
std::atomic<int> g_errors{0};

void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "register_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

// state.range(0) = number of workshops the threads spread over.
void SetUp(const benchmark::State& state, bool postgres) {
  auto db = postgres ? testing::PgScratchDb::Create(g_pg_url, "wod_bench")
                     : testing::SqliteScratchDb::Create();
  if (!db.ok()) Fail("scratch database", db.status());
  g_db = std::move(db).value();
  auto store = OpenStore(g_db->url());
  if (!store.ok()) Fail("open", store.status());
  g_store = std::move(store).value();
  const int workshops = static_cast<int>(state.range(0));
  const int seats_each = kThreads * kPerThread / workshops;
  std::vector<model::Workshop> catalog;
  for (int i = 0; i < workshops; ++i) {
    model::Workshop w;
    w.id = absl::StrCat("WKSHP-Bench", i);
    w.active = true;
    w.capacity = seats_each;
    w.range = {1 + i * seats_each, (i + 1) * seats_each};
    w.duration_hours = 4;
    w.location = "bench";
    catalog.push_back(w);
  }
  auto change = g_store->UpsertCatalog(catalog);
  if (!change.ok()) Fail("catalog", change.status());
  g_errors = 0;
}

void SetUpSqlite(const benchmark::State& state) { SetUp(state, false); }
void SetUpPostgres(const benchmark::State& state) { SetUp(state, true); }

void TearDown(const benchmark::State&) {
  if (g_errors > 0)
    std::fprintf(stderr, "register_bench: %d registrations failed\n", g_errors.load());
  g_store.reset();
  g_db.reset();
}

void BM_Register(benchmark::State& state) {
  const int workshops = static_cast<int>(state.range(0));
  const std::string workshop = absl::StrCat("WKSHP-Bench", state.thread_index() % workshops);
  int i = 0;
  for (auto _ : state) {
    RegisterRequest req;
    req.workshop = workshop;
    req.email = absl::StrCat("t", state.thread_index(), "-", i++, "@bench.example");
    req.name = "Bench";
    req.now = absl::Now();
    auto r = g_store->Register(req);
    if (!r.ok()) {
      ++g_errors;
      state.SkipWithError(std::string(r.status().message()).c_str());
      break;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

// Keeps the console output and remembers each run's rate for the JSON lines.
class RecordingReporter : public benchmark::ConsoleReporter {
 public:
  // No colors: the JSON lines after the table must start their lines cleanly.
  RecordingReporter() : ConsoleReporter(OO_Tabular) {}
  void ReportRuns(const std::vector<Run>& runs) override {
    ConsoleReporter::ReportRuns(runs);
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      auto it = run.counters.find("items_per_second");
      if (it != run.counters.end()) rates_[run.benchmark_name()] = it->second.value;
    }
  }
  const std::map<std::string, double>& rates() const { return rates_; }

 private:
  std::map<std::string, double> rates_;
};

}  // namespace
}  // namespace wod::store

int main(int argc, char** argv) {
  using namespace wod::store;
  benchmark::Initialize(&argc, argv);
  wod::bench::PrintMachineFacts(std::filesystem::temp_directory_path().string());
  if (const char* url = std::getenv("WOD_TEST_PG_URL"); url != nullptr && *url != '\0') {
    g_pg_url = url;
  } else {
    std::fprintf(stderr,
                 "register_bench: WOD_TEST_PG_URL is not set, skipping PostgreSQL "
                 "(eval \"$(scripts/services/postgres start DIR)\" first)\n");
  }
  struct Entry {
    std::string name;  // benchmark name
    std::string json;  // name in the JSON line
    void (*setup)(const benchmark::State&);
    int workshops;
    double target;
  };
  std::vector<Entry> entries = {
      {"register_sqlite", "register_sqlite_8threads", SetUpSqlite, 1, 2000},
      {"register_sqlite_spread", "register_sqlite_8threads_8workshops", SetUpSqlite, 8, 2000},
  };
  if (!g_pg_url.empty()) {
    entries.push_back({"register_postgres", "register_postgres_8threads", SetUpPostgres, 1, 1000});
    entries.push_back({"register_postgres_spread", "register_postgres_8threads_8workshops",
                       SetUpPostgres, 8, 1000});
  }
  for (const Entry& e : entries) {
    auto* b = benchmark::RegisterBenchmark(e.name.c_str(), BM_Register);
    b->Arg(e.workshops)
        ->Threads(kThreads)
        ->Iterations(kPerThread)
        ->UseRealTime()
        ->Unit(benchmark::kMicrosecond)
        ->Setup(e.setup)
        ->Teardown(TearDown);
  }
  RecordingReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  for (const Entry& e : entries) {
    for (const auto& [run_name, rate] : reporter.rates()) {
      if (run_name.rfind(e.name + "/", 0) != 0) continue;
      std::printf(
          "{\"bench\": \"%s\", \"value\": %.0f, \"unit\": \"registrations/s\", "
          "\"target\": %.0f}\n",
          e.json.c_str(), rate, e.target);
    }
  }
  return 0;
}
