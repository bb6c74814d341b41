// `wod catalog lint|load PATH...`: reads WoD wod.yml catalogs, reports findings with
// file:line and field, and loads a clean catalog into the store (all or nothing).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_join.h"
#include "catalogfs/load.h"
#include "cli/commands.h"
#include "cli/store_open.h"
#include "model/catalog.h"

namespace wod::cli {
namespace {

struct CatalogOptions {
  std::vector<std::string> paths;
  std::string location = "local";
  bool json = false;
};

int CountErrors(const model::Catalog& catalog) {
  int n = 0;
  for (const auto& f : catalog.findings) n += f.severity == model::Severity::kError;
  return n;
}

void PrintFindings(const model::Catalog& catalog) {
  for (const auto& f : catalog.findings) fmt::print(stderr, "{}\n", model::FormatFinding(f));
}

int RunLint(const CatalogOptions& opts) {
  model::Catalog catalog = catalogfs::LoadCatalog(opts.paths, opts.location);
  int errors = CountErrors(catalog);
  if (opts.json) {
    nlohmann::json out = {{"workshops", nlohmann::json::array()},
                          {"findings", model::FindingsToJson(catalog.findings)},
                          {"errors", errors},
                          {"warnings", static_cast<int>(catalog.findings.size()) - errors}};
    for (const auto& e : catalog.entries) {
      out["workshops"].push_back({{"id", e.workshop.id},
                                  {"file", e.file},
                                  {"location", e.workshop.location},
                                  {"active", e.workshop.active},
                                  {"range", {e.workshop.range.min, e.workshop.range.max}},
                                  {"capacity", e.workshop.capacity}});
    }
    fmt::print("{}\n", out.dump(2));
  } else {
    PrintFindings(catalog);
    fmt::print("{} workshop(s), {} error(s), {} warning(s)\n", catalog.entries.size(), errors,
               catalog.findings.size() - errors);
  }
  return errors > 0 ? 1 : 0;
}

int RunLoad(const GlobalOptions& global, const CatalogOptions& opts) {
  model::Catalog catalog = catalogfs::LoadCatalog(opts.paths, opts.location);
  int errors = CountErrors(catalog);
  if (!opts.json) PrintFindings(catalog);
  if (errors > 0) {
    if (opts.json) {
      fmt::print("{}\n", nlohmann::json({{"loaded", false},
                                         {"findings", model::FindingsToJson(catalog.findings)}})
                             .dump(2));
    }
    fmt::print(stderr, "wod: catalog has {} error(s); nothing was loaded\n", errors);
    return 1;
  }
  std::vector<model::Workshop> workshops;
  for (const auto& e : catalog.entries) workshops.push_back(e.workshop);
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  auto change = store->UpsertCatalog(workshops);
  if (!change.ok()) return PrintError(change.status());
  if (opts.json) {
    fmt::print("{}\n", nlohmann::json({{"loaded", true},
                                       {"inserted", change->inserted},
                                       {"updated", change->updated},
                                       {"unchanged", change->unchanged},
                                       {"seats_added", change->seats_added},
                                       {"seats_removed", change->seats_removed},
                                       {"findings", model::FindingsToJson(catalog.findings)}})
                           .dump(2));
    return 0;
  }
  fmt::print("loaded {} workshop(s): {} new, {} changed, {} unchanged; seats +{} -{}\n",
             workshops.size(), change->inserted.size(), change->updated.size(),
             change->unchanged.size(), change->seats_added, change->seats_removed);
  if (!change->inserted.empty()) fmt::print("  new: {}\n", absl::StrJoin(change->inserted, ", "));
  if (!change->updated.empty()) {
    fmt::print("  changed: {}\n", absl::StrJoin(change->updated, ", "));
  }
  return 0;
}

void AddPathOptions(CLI::App* cmd, CatalogOptions& opts) {
  cmd->add_option("PATH", opts.paths,
                  "Catalog directories (holding WKSHP-*/wod.yml or WKSHP-*.yml) or .yml files")
      ->required()
      ->check(CLI::ExistingPath);
  cmd->add_option("--location", opts.location, "Location of workshops whose wod.yml names none")
      ->capture_default_str();
  cmd->add_flag("--json", opts.json, "Print findings (and the result) as JSON");
}

}  // namespace

void AddCatalogCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  CLI::App* catalog = app.add_subcommand("catalog", "Check and load workshop catalogs");
  catalog->require_subcommand(1);

  auto lint_opts = std::make_shared<CatalogOptions>();
  CLI::App* lint = catalog->add_subcommand(
      "lint", "Check wod.yml files: errors exit 1 and name file:line and field");
  AddPathOptions(lint, *lint_opts);
  lint->callback([lint_opts, exit_code] { *exit_code = RunLint(*lint_opts); });

  auto load_opts = std::make_shared<CatalogOptions>();
  CLI::App* load = catalog->add_subcommand(
      "load",
      "Lint, then upsert the workshops and their seat pools into the store (all or "
      "nothing; loading the same catalog twice changes nothing)");
  AddPathOptions(load, *load_opts);
  load->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
      ->envname("WOD_STORE")
      ->capture_default_str();
  load->callback([&global, load_opts, exit_code] { *exit_code = RunLoad(global, *load_opts); });
}

}  // namespace wod::cli
