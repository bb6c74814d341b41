// `wod verb VERB WORKSHOP SEAT`: the WoD verbs applied to one seat as desired-state
// transitions (the equivalent of WoD's wod-test-action.sh). CREATE occupies the seat with a
// synthetic participant; CLEANUP, RESET and PURGE act on whoever holds it.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/store_open.h"
#include "common/clock.h"

namespace wod::cli {
namespace {

struct VerbOptions {
  std::string verb;
  std::string workshop;
  int seat = 0;
  double hours = 0;
  bool json = false;
};

int RunVerb(const GlobalOptions& global, const VerbOptions& opts) {
  auto verb = model::ParseVerb(opts.verb);
  if (!verb) {
    return PrintError(absl::InvalidArgumentError(absl::StrCat(
        "unknown verb '", opts.verb, "': expected CREATE, CLEANUP, RESET or PURGE")));
  }
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  auto workshop = store->GetWorkshop(opts.workshop);
  if (!workshop.ok()) return PrintError(workshop.status());
  absl::Time now = common::RealClock::Get()->Now();

  nlohmann::json out = {{"verb", model::VerbName(*verb)},
                        {"workshop", workshop->id},
                        {"location", workshop->location},
                        {"seat", opts.seat}};
  if (*verb == model::Verb::kCreate) {
    store::RegisterRequest req;
    req.workshop = workshop->id;
    req.email = absl::StrCat("test-", workshop->location, "-", opts.seat, "@wod.invalid");
    req.name = absl::StrCat("Test participant ", opts.seat);
    req.company = "wod verb";
    req.now = now;
    req.seat = opts.seat;
    if (opts.hours > 0) req.duration = absl::Seconds(opts.hours * 3600);
    auto r = store->Register(req);
    if (!r.ok()) return PrintError(r.status());
    out["changed"] = true;
    out["registration"] = r->registration.id;
    out["deadline"] = common::FormatTime(r->registration.deadline);
    if (!opts.json) {
      fmt::print("CREATE: seat {} on '{}' occupied by registration {} ('{}') until {}\n",
                 opts.seat, workshop->location, r->registration.id, r->participant.email,
                 common::FormatTime(r->registration.deadline));
    }
  } else {
    auto r = store->ApplyVerb(*verb, workshop->location, opts.seat, now);
    if (!r.ok()) return PrintError(r.status());
    if (r->seat.workshop != workshop->id) {
      // The seat exists but belongs to another workshop's range: report, the store acted
      // on the seat the operator named by number.
      out["seat_workshop"] = r->seat.workshop;
    }
    out["changed"] = r->changed;
    if (r->registration) out["registration"] = r->registration->id;
    if (!opts.json) {
      if (r->changed) {
        fmt::print("{}: seat {} on '{}' done{}\n", model::VerbName(*verb), opts.seat,
                   workshop->location,
                   r->registration ? absl::StrCat(" (registration ", r->registration->id, ")")
                                   : std::string());
      } else {
        fmt::print("{}: seat {} on '{}' already in that state; nothing changed\n",
                   model::VerbName(*verb), opts.seat, workshop->location);
      }
    }
  }
  if (opts.json) fmt::print("{}\n", out.dump(2));
  return 0;
}

}  // namespace

void AddVerbCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<VerbOptions>();
  CLI::App* cmd = app.add_subcommand(
      "verb", "Apply a WoD verb (CREATE, CLEANUP, RESET, PURGE) to one seat of a workshop");
  cmd->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
      ->envname("WOD_STORE")
      ->capture_default_str();
  cmd->add_option("VERB", opts->verb, "CREATE, CLEANUP, RESET or PURGE")->required();
  cmd->add_option("WORKSHOP", opts->workshop, "Workshop id, e.g. WKSHP-API101")->required();
  cmd->add_option("SEAT", opts->seat, "Seat number in the workshop's range")->required();
  cmd->add_option("--hours", opts->hours, "CREATE: duration in hours (default: the workshop's)");
  cmd->add_flag("--json", opts->json, "Print JSON");
  cmd->footer(
      "Verbs change desired state only; the location's controller converges the machine. "
      "CLEANUP, RESET and PURGE of a seat already in that state change nothing and exit 0.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunVerb(global, *opts); });
}

}  // namespace wod::cli
