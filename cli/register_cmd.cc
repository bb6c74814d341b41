// `wod register`: registers a participant from the command line (walk-ins, scripts) through
// the same store operation the API uses.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "model/validate.h"

namespace wod::cli {
namespace {

struct RegisterOptions {
  std::string workshop;
  std::string email;
  std::string name;
  std::string company;
  double hours = 0;
  bool json = false;
};

int RunRegister(const GlobalOptions& global, const RegisterOptions& opts) {
  if (auto valid = model::ValidateEmail(opts.email); !valid.ok()) return PrintError(valid);
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  store::RegisterRequest req;
  req.workshop = opts.workshop;
  req.email = opts.email;
  req.name = opts.name;
  req.company = opts.company;
  req.now = common::RealClock::Get()->Now();
  if (opts.hours > 0) req.duration = absl::Seconds(opts.hours * 3600);
  auto result = store->Register(req);
  if (!result.ok()) return PrintError(result.status());
  const auto& r = *result;
  if (opts.json) {
    nlohmann::json j = {{"registration", r.registration.id},
                        {"workshop", r.registration.workshop},
                        {"location", r.seat.location},
                        {"seat", r.seat.number},
                        {"email", r.participant.email},
                        {"start", common::FormatTime(r.registration.start)},
                        {"deadline", common::FormatTime(r.registration.deadline)},
                        {"token", r.token}};
    fmt::print("{}\n", j.dump(2));
    return 0;
  }
  fmt::print("registered '{}' for '{}': seat {} on '{}' until {}\n", r.participant.email,
             r.registration.workshop, r.seat.number, r.seat.location,
             common::FormatTime(r.registration.deadline));
  fmt::print("registration {}; participant page token (shown once): {}\n", r.registration.id,
             r.token);
  return 0;
}

}  // namespace

void AddRegisterCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<RegisterOptions>();
  CLI::App* cmd = app.add_subcommand(
      "register", "Register a participant for a workshop and occupy the lowest free seat");
  cmd->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
      ->envname("WOD_STORE")
      ->capture_default_str();
  cmd->add_option("--workshop", opts->workshop, "Workshop id, e.g. WKSHP-API101")->required();
  cmd->add_option("--email", opts->email, "Participant email")->required();
  cmd->add_option("--name", opts->name, "Participant full name")->required();
  cmd->add_option("--company", opts->company, "Participant company")->required();
  cmd->add_option("--hours", opts->hours, "Duration in hours (default: the workshop's)");
  cmd->add_flag("--json", opts->json, "Print JSON");
  cmd->footer(
      "Exit codes: 0 registered, 2 invalid input, 3 unknown workshop, 4 email already holds an "
      "active registration, 5 workshop full, 6 workshop inactive, 7 store unavailable.");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunRegister(global, *opts); });
}

}  // namespace wod::cli
