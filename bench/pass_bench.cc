// Cost of one reconcile pass (Controller::RunPass) over a location of 2,000 seats, all
// occupied, on a SQLite store (WAL, a temp file):
//   pass_noop_2000_fakes      every domain already converged, in-memory fakes: the pass loads
//                             desired state, observes, plans nothing, writes nothing.
//   pass_occupy100_2000_fakes 1,900 seats converged and 100 fresh registrations to bring up
//                             (account, content, hub user, appliance) with the fakes.
//   pass_noop_2000_real       the real accounts driver (etc files of a temp root prefix) and the
//                             real content driver (2,000 homes with deployed notebooks in that
//                             root), fakes for the hub and the appliances: observe + plan.
//   pass_fresh_2000_real      the first pass of a fresh controller and fresh real drivers over
//                             those converged seats (a restart, `wod controller --once`), with
//                             the password check memo the first drivers saved: target 1 s.
// Each prints p50/p99 of total, observe and plan time, then one JSON object per result on its
// own line: {"bench": "pass_noop_2000_fakes", "value": N, "unit": "ms", "target": 25}. The
// machine line first (cores, load, fsync and fstatat cost) explains the numbers: the real
// no-op pass is mostly fstatat calls (about five per home).
//
// Usage: pass_bench [--reps N] (default 200 no-op passes per case).
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "bench/machine_facts.h"
#include "common/log.h"
#include "controller/controller.h"
#include "drivers/accounts/accounts_fake.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/accounts/password_hash.h"
#include "drivers/appliances/appliances_fake.h"
#include "drivers/content/content_fake.h"
#include "drivers/content/content_real.h"
#include "drivers/hub/hub_fake.h"
#include "store/store.h"

namespace wod::bench {
namespace {

namespace fs = std::filesystem;

constexpr int kSeats = 2000;
constexpr int kFresh = 100;  // seats the "occupy" case brings up per pass
constexpr char kWorkshop[] = "WKSHP-Bench";
constexpr char kImage[] = "wod-bench/busybox:latest";
constexpr char kLocation[] = "bench";

[[noreturn]] void Fail(const std::string& what, const absl::Status& status) {
  std::fprintf(stderr, "pass_bench: %s: %s\n", what.c_str(), status.ToString().c_str());
  std::exit(1);
}

template <typename T>
T Check(const std::string& what, absl::StatusOr<T> v) {
  if (!v.ok()) Fail(what, v.status());
  return *std::move(v);
}

void WriteText(const fs::path& path, const std::string& text, mode_t mode = 0644) {
  fs::create_directories(path.parent_path());
  std::ofstream(path, std::ios::binary) << text;
  chmod(path.c_str(), mode);
}

// A small workshop folder: a readme using the seat variables and a lab notebook, as a typical
// WoD workshop's first two notebooks.
void WriteWorkshopContent(const fs::path& dir) {
  auto notebook = [](const std::string& markdown, const std::string& code) {
    return absl::StrCat(
        R"({"cells": [{"cell_type": "markdown", "id": "m0", "metadata": {}, "source": )", markdown,
        R"(}, {"cell_type": "code", "id": "c0", "metadata": {}, "outputs": [], )",
        R"("execution_count": null, "source": )", code,
        R"(}], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})");
  };
  WriteText(dir / "0-ReadMeFirst.ipynb",
            notebook("\"# Welcome student{{ STDID }}, password {{ PASSSTU }}\"",
                     "\"print('http://{{ WODBEEXTFQDN }}:{{ HTTPPORT }}')\""));
  WriteText(dir / "1-Lab.ipynb", notebook("\"## Lab\"", "\"x = {{ STDID }}\""));
}

struct Sample {
  std::vector<double> total, observe, plan;  // ms, wall clock
  std::vector<double> cpu;                   // ms of CPU, every thread of the process
};

// CPU time of the whole process so far (user + system, every thread), in ms: unlike the wall
// clock, it does not grow when other processes compete for the cores.
double ProcessCpuMs() {
  rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(ru.ru_utime) + ms(ru.ru_stime);
}

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double Ms(absl::Duration d) { return absl::ToDoubleMilliseconds(d); }

struct JsonLine {
  std::string bench;
  double value;
  std::string unit;
  double target;  // < 0: none
};
std::vector<JsonLine> g_lines;

void Report1(const std::string& name, double value, const std::string& unit, double target) {
  g_lines.push_back({name, value, unit, target});
}

void Report(const std::string& name, const Sample& s, double target) {
  std::printf(
      "%-28s n=%zu  total p50 %.2f ms p99 %.2f ms | observe p50 %.2f ms | plan p50 %.2f "
      "ms p99 %.2f ms\n",
      name.c_str(), s.total.size(), Percentile(s.total, 0.5), Percentile(s.total, 0.99),
      Percentile(s.observe, 0.5), Percentile(s.plan, 0.5), Percentile(s.plan, 0.99));
  std::fflush(stdout);
  g_lines.push_back({name, Percentile(s.total, 0.5), "ms", target});
  g_lines.push_back({name + "_p99", Percentile(s.total, 0.99), "ms", target});
  g_lines.push_back({name + "_plan", Percentile(s.plan, 0.5), "ms", -1});
  g_lines.push_back({name + "_observe", Percentile(s.observe, 0.5), "ms", -1});
  if (!s.cpu.empty()) {
    std::printf("%-28s cpu per pass p50 %.2f ms p99 %.2f ms\n", name.c_str(),
                Percentile(s.cpu, 0.5), Percentile(s.cpu, 0.99));
    g_lines.push_back({name + "_cpu", Percentile(s.cpu, 0.5), "ms", -1});
  }
}

// One location of kSeats seats on a SQLite store in `dir`, with the drivers the case gives.
class Bench {
 public:
  Bench(const fs::path& dir, bool with_appliances) : dir_(dir) {
    content_root_ = dir / "content";
    WriteWorkshopContent(content_root_ / kWorkshop);
    store_ = Check("open store", store::OpenStore("sqlite:" + (dir / "wod.db").string()));
    model::Location location;
    location.name = kLocation;
    location.fqdn = "bench.example.test";
    if (auto s = store_->UpsertLocation(location); !s.ok()) Fail("location", s);
    model::Workshop w;
    w.id = kWorkshop;
    w.name = "Bench";
    w.active = true;
    w.capacity = kSeats;
    w.range = {1, kSeats};
    w.duration_hours = 4;
    w.location = kLocation;
    if (with_appliances) {
      model::Appliance a;
      a.name = "web";
      a.image = kImage;
      a.ports = {{80, 20000}};
      w.appliances = {a};
    }
    Check("catalog", store_->UpsertCatalog({w}));
  }

  void Start(controller::Drivers drivers, model::AccountPolicy policy) {
    controller::ControllerOptions options;
    options.location = kLocation;
    options.holder = "bench";
    options.account_policy = std::move(policy);
    options.content_root = content_root_.string();
    options.jitter = [] { return 1.0; };
    controller_ = std::make_unique<controller::Controller>(store_.get(), drivers, options);
    if (auto s = controller_->AcquireLease(); !s.ok()) Fail("lease", s);
  }

  // Registers `n` participants (lowest free seats first).
  std::vector<int> Register(int n) {
    std::vector<int> seats;
    for (int i = 0; i < n; ++i) {
      store::RegisterRequest req;
      req.workshop = kWorkshop;
      req.email = absl::StrCat("p", next_email_++, "@bench.example");
      req.name = "Bench";
      req.now = absl::Now();
      seats.push_back(Check("register", store_->Register(req)).seat.number);
    }
    return seats;
  }

  void Vacate(const std::vector<int>& seats) {
    for (int seat : seats) {
      Check("cleanup", store_->ApplyVerb(model::Verb::kCleanup, kLocation, seat, absl::Now()));
    }
  }

  // Passes until one plans nothing; fails after `max` passes.
  int Converge(int max = 10) {
    for (int i = 1; i <= max; ++i) {
      auto r = Check("pass", controller_->RunPass());
      if (r.converged) return i;
      if (r.failures > 0 && i == max) break;
    }
    auto drift = controller_->last_drift();
    std::fprintf(stderr, "pass_bench: not converged after %d passes; %zu drift entries\n", max,
                 drift.size());
    for (size_t i = 0; i < drift.size() && i < 5; ++i) {
      std::fprintf(stderr, "  seat %d %s: %s [%s]\n", drift[i].seat, drift[i].domain.c_str(),
                   drift[i].planned.c_str(), drift[i].observed.c_str());
    }
    std::exit(1);
  }

  controller::PassResult Pass() { return Check("pass", controller_->RunPass()); }

  // `reps` passes over converged seats; each must plan nothing.
  Sample NoOpPasses(int reps) {
    Sample s;
    for (int i = 0; i < reps; ++i) {
      const double cpu0 = ProcessCpuMs();
      auto r = Pass();
      s.cpu.push_back(ProcessCpuMs() - cpu0);
      if (!r.converged || r.actions != 0) {
        std::fprintf(stderr, "pass_bench: a no-op pass acted (%d actions)\n", r.actions);
        std::exit(1);
      }
      s.total.push_back(Ms(r.total_time));
      s.observe.push_back(Ms(r.observe_time));
      s.plan.push_back(Ms(r.plan_time));
    }
    return s;
  }

  store::Store* store() { return store_.get(); }
  int64_t epoch() const { return controller_->lease_epoch(); }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
  fs::path content_root_;
  std::unique_ptr<store::Store> store_;
  std::unique_ptr<controller::Controller> controller_;
  int next_email_ = 0;
};

// Where a no-op pass's time goes: each driver's bulk Observe and the store reads of the pass,
// timed alone (p50 over `reps`), printed for the report.
void Breakdown(const std::string& name, store::Store* store, controller::Drivers d, int reps,
               int64_t epoch) {
  std::map<std::string, std::vector<double>> t;
  auto time = [&](const std::string& what, auto&& f) {
    absl::Time s = absl::Now();
    f();
    t[what].push_back(Ms(absl::Now() - s));
  };
  // The accounts observe of a pass checks every seat's desired password (through its cache).
  model::DesiredPasswords passwords;
  for (const auto& seat : Check("seats", store->ListLocationSeats(kLocation))) {
    passwords.emplace(seat.number, seat.password);
  }
  for (int i = 0; i < reps; ++i) {
    time("store.ListLocationSeats", [&] { (void)store->ListLocationSeats(kLocation); });
    time("store.ListWorkshops", [&] { (void)store->ListWorkshops(); });
    // The pass statistics write each applying pass ends with (one fenced upsert).
    time("store.RecordPass", [&] {
      (void)store->RecordPass(kLocation, absl::Milliseconds(1), absl::Now(),
                              absl::StrCat("controller/", kLocation), epoch);
    });
    time("accounts.Observe", [&] { (void)d.accounts->Observe(passwords); });
    time("content.Observe", [&] { (void)d.content->Observe(); });
    time("hub.Observe", [&] { (void)d.hub->Observe(); });
    time("appliances.Observe", [&] { (void)d.appliances->Observe(); });
  }
  std::printf("%s breakdown (p50):", name.c_str());
  for (const auto& [what, v] : t) std::printf(" %s %.2f ms;", what.c_str(), Percentile(v, 0.5));
  std::printf("\n");
}

fs::path MakeTempDir() {
  std::string tmpl = (fs::temp_directory_path() / "wod-pass-bench-XXXXXX").string();
  if (mkdtemp(tmpl.data()) == nullptr) Fail("mkdtemp", absl::InternalError("mkdtemp failed"));
  return tmpl;
}

// (a) and (b): fakes for every driver.
void RunFakes(int reps) {
  const fs::path dir = MakeTempDir();
  PrintMachineFacts(dir.string());
  {
    Bench bench(dir, /*with_appliances=*/true);
    model::AccountPolicy policy;
    drivers::accounts::FakeAccountsDriver accounts(policy);
    drivers::content::FakeContentDriver content(policy);
    for (int seat = 1; seat <= kSeats; ++seat) content.AddHome(seat);
    drivers::HubFakeOptions hub_options;
    hub_options.require_account = false;
    drivers::HubFake hub(hub_options);
    drivers::FakeApplianceDriver appliances(kLocation, {kImage});
    bench.Start({&accounts, &hub, &content, &appliances}, policy);

    absl::Time t0 = absl::Now();
    bench.Register(kSeats - kFresh);
    std::printf("setup: %d registrations in %.1f s\n", kSeats - kFresh,
                absl::ToDoubleSeconds(absl::Now() - t0));
    t0 = absl::Now();
    int passes = bench.Converge();
    std::printf("setup: converged %d seats in %d passes, %.1f s\n", kSeats - kFresh, passes,
                absl::ToDoubleSeconds(absl::Now() - t0));

    // (b) 100 of 2,000 to occupy: register, time the pass that brings them up, vacate them
    // again and converge (untimed) for the next round.
    Sample occupy;
    const int rounds = std::max(3, reps / 40);
    for (int round = 0; round < rounds; ++round) {
      std::vector<int> seats = bench.Register(kFresh);
      auto r = bench.Pass();
      if (r.actions < kFresh) {
        std::fprintf(stderr, "pass_bench: the occupy pass acted only %d times\n", r.actions);
        std::exit(1);
      }
      occupy.total.push_back(Ms(r.total_time));
      occupy.observe.push_back(Ms(r.observe_time));
      occupy.plan.push_back(Ms(r.plan_time));
      if (round == 0) {
        std::printf("occupy pass: %d actions, %d failures, execute %.1f ms\n", r.actions,
                    r.failures, Ms(r.execute_time));
      }
      bench.Converge();
      if (round + 1 < rounds) {
        bench.Vacate(seats);
        bench.Converge();
      }
    }
    // (a) now 2,000 occupied, converged seats.
    Sample noop = bench.NoOpPasses(reps);
    Report("pass_noop_2000_fakes", noop, 25);
    Breakdown("pass_noop_2000_fakes", bench.store(), {&accounts, &hub, &content, &appliances},
              std::max(5, reps / 10), bench.epoch());
    Report("pass_occupy100_2000_fakes", occupy, -1);
  }
  fs::remove_all(dir);
}

// (c): the real accounts and content drivers in a temp root prefix.
void RunReal(int reps) {
  const fs::path dir = MakeTempDir();
  PrintMachineFacts(dir.string());
  {
    Bench bench(dir, /*with_appliances=*/true);
    const fs::path root = dir / "root";
    model::AccountPolicy policy;
    policy.user_prefix = "student";
    policy.uid_base = 60000;
    policy.seat_count = kSeats + 1;
    policy.group = "wod-bench";
    policy.gid = 60000;
    policy.home_base = "/home";

    absl::Time t0 = absl::Now();
    bench.Register(kSeats);
    // The accounts as the driver would have made them: written straight into the prefix's etc
    // files (2,000 useradd runs would only slow the setup down), unlocked with each seat's
    // password (yescrypt at cost 1 so that the warm-up pass hashes quickly), homes 0700.
    auto seats = Check("seats", bench.store()->ListSeats(std::string(kLocation)));
    std::string passwd = "root:x:0:0:root:/root:/bin/bash\n";
    std::string shadow = "root:*:19000:0:99999:7:::\n";
    for (const auto& v : seats) {
      const int n = v.seat.number;
      const std::string name = policy.UserName(n);
      absl::StrAppend(&passwd, name, ":x:", policy.Uid(n), ":", policy.gid, "::", policy.Home(n),
                      ":", policy.shell, "\n");
      std::string hash = Check("hash", drivers::accounts::HashPassword(v.seat.password, 1));
      absl::StrAppend(&shadow, name, ":", hash, ":19000:0:99999:7:::\n");
      fs::create_directories(root / ("home/" + name));
      chmod((root / ("home/" + name)).c_str(), 0700);
    }
    WriteText(root / "etc/passwd", passwd);
    WriteText(root / "etc/shadow", shadow, 0640);
    WriteText(root / "etc/group",
              absl::StrCat("root:x:0:\n", policy.group, ":x:", policy.gid, ":\n"));
    WriteText(root / "etc/gshadow", absl::StrCat("root:*::\n", policy.group, ":!::\n"), 0640);
    fs::copy_file("/etc/login.defs", root / "etc/login.defs");

    drivers::accounts::RealAccountsOptions aopt;
    aopt.root = root.string();
    aopt.policy = policy;
    aopt.proc_dir = "";
    aopt.hash_cost = 1;
    aopt.password_memo = (dir / "password-checks").string();
    auto accounts = Check("accounts driver", drivers::accounts::RealAccountsDriver::Create(aopt));
    drivers::content::RealContentOptions copt;
    copt.root = root.string();
    copt.policy = policy;
    copt.chown = false;  // homes are owned by whoever runs the bench; no such users exist
    copt.sync = false;
    auto content = Check("content driver", drivers::content::RealContentDriver::Create(copt));
    drivers::HubFakeOptions hub_options;
    hub_options.require_account = false;
    drivers::HubFake hub(hub_options);
    drivers::FakeApplianceDriver appliances(kLocation, {kImage});
    bench.Start({accounts.get(), &hub, content.get(), &appliances}, policy);
    std::printf("setup: %d registrations, accounts and homes in %.1f s\n", kSeats,
                absl::ToDoubleSeconds(absl::Now() - t0));
    t0 = absl::Now();
    int passes = bench.Converge();
    std::printf("setup: deployed content into %d real homes in %d passes, %.1f s\n", kSeats, passes,
                absl::ToDoubleSeconds(absl::Now() - t0));
    // The first no-op pass of a process hashes each password once (cache cold) and parses each
    // manifest and notebook once; report it, then time warm passes.
    auto first = bench.Pass();
    std::printf("first no-op pass after convergence: %.1f ms (observe %.1f ms, plan %.1f ms)\n",
                Ms(first.total_time), Ms(first.observe_time), Ms(first.plan_time));
    Sample noop = bench.NoOpPasses(reps);
    Report("pass_noop_2000_real", noop, 50);
    Breakdown("pass_noop_2000_real", bench.store(),
              {accounts.get(), &hub, content.get(), &appliances}, std::max(5, reps / 10),
              bench.epoch());

    // (d) A fresh process (a restarted controller, `wod controller --once`): new drivers and a
    // new controller over the converged seats, its first pass timed. With the password check
    // memo the drivers above saved it hashes nothing; without it, one hash per seat (here at
    // yescrypt cost 1, ~2 ms; Debian's default cost takes ~30 ms each, 2,000 of them a minute).
    for (bool memo : {true, false}) {
      drivers::accounts::RealAccountsOptions fresh_opt = aopt;
      if (!memo) fresh_opt.password_memo.clear();
      auto fresh_accounts =
          Check("accounts driver", drivers::accounts::RealAccountsDriver::Create(fresh_opt));
      auto fresh_content =
          Check("content driver", drivers::content::RealContentDriver::Create(copt));
      bench.Start({fresh_accounts.get(), &hub, fresh_content.get(), &appliances}, policy);
      auto r = bench.Pass();
      const int64_t hashes = fresh_accounts->password_cache().computations();
      std::printf(
          "fresh process, first pass %s the memo: %.1f ms (observe %.1f ms), %lld "
          "password hashes\n",
          memo ? "with" : "without", Ms(r.total_time), Ms(r.observe_time),
          static_cast<long long>(hashes));
      if (!r.converged || r.actions != 0) Fail("fresh pass", absl::InternalError("not a no-op"));
      if (memo) {
        Report1("pass_fresh_2000_real_ms", Ms(r.total_time), "ms", 1000);
        Report1("pass_fresh_2000_real_hashes", static_cast<double>(hashes), "hashes", 0);
      } else {
        Report1("pass_fresh_2000_real_nomemo_hashes", static_cast<double>(hashes), "hashes", -1);
      }
    }
  }
  fs::remove_all(dir);
}

}  // namespace
}  // namespace wod::bench

int main(int argc, char** argv) {
  int reps = 200;
  bool fakes = true, real = true;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else if (a == "--only-fakes") {
      real = false;
    } else if (a == "--only-real") {
      fakes = false;
    } else {
      std::fprintf(stderr, "usage: pass_bench [--reps N] [--only-fakes | --only-real]\n");
      return 2;
    }
  }
  wod::common::SetLogLevel(wod::common::LogLevel::kWarning);  // not one line per action
  if (fakes) wod::bench::RunFakes(reps);
  if (real) wod::bench::RunReal(reps);
  for (const auto& l : wod::bench::g_lines) {
    if (l.target >= 0) {
      std::printf("{\"bench\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"target\": %g}\n",
                  l.bench.c_str(), l.value, l.unit.c_str(), l.target);
    } else {
      std::printf("{\"bench\": \"%s\", \"value\": %.3f, \"unit\": \"%s\"}\n", l.bench.c_str(),
                  l.value, l.unit.c_str());
    }
  }
  return 0;
}
