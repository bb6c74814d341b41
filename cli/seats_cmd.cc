// `wod seats`: the seat pool with workshop, occupant and deadline.
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "cli/store_open.h"
#include "common/clock.h"

namespace wod::cli {
namespace {

struct SeatsOptions {
  std::string location;
  bool json = false;
};

int RunSeats(const GlobalOptions& global, const SeatsOptions& opts) {
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  std::optional<std::string> location;
  if (!opts.location.empty()) location = opts.location;
  auto seats = store->ListSeats(location);
  if (!seats.ok()) return PrintError(seats.status());

  if (opts.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& v : *seats) {
      nlohmann::json j = {{"location", v.seat.location},
                          {"seat", v.seat.number},
                          {"workshop", v.seat.workshop},
                          {"generation", v.seat.generation},
                          {"reset_epoch", v.seat.reset_epoch},
                          {"occupied", v.registration.has_value()}};
      if (v.registration) {
        j["registration"] = v.registration->id;
        j["deadline"] = common::FormatTime(v.registration->deadline);
      }
      if (v.participant) j["email"] = v.participant->email;
      out.push_back(std::move(j));
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (seats->empty()) {
    fmt::print("no seats: load a catalog with `wod catalog load DIR`\n");
    return 0;
  }
  fmt::print("{:<12} {:>5}  {:<28} {:<8} {:<32} {}\n", "LOCATION", "SEAT", "WORKSHOP", "STATE",
             "OCCUPANT", "DEADLINE");
  for (const auto& v : *seats) {
    std::string occupant = v.participant ? v.participant->email : "-";
    std::string deadline = v.registration ? common::FormatTime(v.registration->deadline) : "-";
    fmt::print("{:<12} {:>5}  {:<28} {:<8} {:<32} {}\n", v.seat.location, v.seat.number,
               v.seat.workshop, v.registration ? "occupied" : "vacant", occupant, deadline);
  }
  return 0;
}

}  // namespace

void AddSeatsCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<SeatsOptions>();
  CLI::App* cmd = app.add_subcommand("seats", "List seats with workshop, occupant and deadline");
  cmd->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
      ->envname("WOD_STORE")
      ->capture_default_str();
  cmd->add_option("--location", opts->location, "Only seats of this location");
  cmd->add_flag("--json", opts->json, "Print JSON");
  cmd->callback([&global, opts, exit_code] { *exit_code = RunSeats(global, *opts); });
}

}  // namespace wod::cli
