// `wod content render|progress`: what a seat receives and how far a participant got, without a
// store or a controller. `render` goes through the content driver's own deploy code (render,
// stage, swap, workspace, manifest) into any directory standing in for a home, without chown;
// template errors exit 1 with one "FILE:LINE: ..." line each. `progress` reads a deployed home
// or workshop folder (docs/drivers.md, ## Content).
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "absl/strings/numbers.h"
#include "catalogfs/load.h"
#include "cli/commands.h"
#include "drivers/content/home_content.h"
#include "drivers/content/home_fs.h"
#include "drivers/content/render.h"
#include "model/catalog.h"
#include "model/content.h"
#include "model/progress.h"

namespace wod::cli {
namespace {

namespace fs = std::filesystem;
using drivers::content::UniqueFd;

struct RenderOptions {
  std::string workshop_dir;
  int seat = 0;
  std::vector<std::string> vars;  // K=V
  std::string out;
  std::string password = "PASSWORD";
  std::string fqdn = "localhost";
  bool json = false;
};

struct ProgressOptions {
  std::string dir;
  bool json = false;
};

// The seat facts a flag sets (model::SeatVariables): they replace an operator variable of the
// same name, so a --var naming one would be silently ignored.
constexpr std::pair<std::string_view, std::string_view> kSeatFactFlags[] = {
    {"STDID", "--seat"}, {"PASSSTU", "--password"}, {"WODBEEXTFQDN", "--fqdn"}};

int Fail(std::string_view message) {
  fmt::print(stderr, "wod: {}\n", message);
  return 1;
}

// Template and notebook errors hold one "FILE:LINE: what" per line: print them as they are,
// the way a compiler does.
int FailLines(const absl::Status& status) {
  std::string_view text(status.message().data(), status.message().size());
  while (!text.empty()) {
    const size_t nl = text.find('\n');
    fmt::print(stderr, "{}\n", text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return 1;
}

// The workshop from DIR/wod.yml; a folder without one renders as a workshop without appliances
// whose id is the folder's name.
std::optional<model::Workshop> LoadWorkshop(const fs::path& dir, int seat, int* exit_code) {
  if (!fs::exists(dir / "wod.yml")) {
    model::Workshop w;
    w.id = dir.filename().string();
    w.range = {seat, seat};
    return w;
  }
  model::Catalog catalog = catalogfs::LoadCatalog({dir.string()}, "local");
  for (const auto& f : catalog.findings) {
    if (f.severity == model::Severity::kError) {
      fmt::print(stderr, "{}\n", model::FormatFinding(f));
    }
  }
  if (catalog.HasErrors() || catalog.entries.size() != 1) {
    *exit_code = Fail(fmt::format("workshop '{}' has errors; nothing was rendered", dir.string()));
    return std::nullopt;
  }
  return catalog.entries[0].workshop;
}

int RunRender(const RenderOptions& opts) {
  fs::path dir = fs::path(opts.workshop_dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();  // "WKSHP-X/" names WKSHP-X
  int exit_code = 0;
  std::optional<model::Workshop> workshop = LoadWorkshop(dir, opts.seat, &exit_code);
  if (!workshop) return exit_code;
  if (!workshop->range.Contains(opts.seat)) {
    return Fail(fmt::format("seat {} is outside the range [{},{}] of workshop '{}'", opts.seat,
                            workshop->range.min, workshop->range.max, workshop->id));
  }
  std::map<std::string, std::string> operator_vars;
  for (const std::string& kv : opts.vars) {
    const size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Fail(fmt::format("--var '{}' is not KEY=VALUE", kv));
    }
    const std::string key = kv.substr(0, eq);
    for (const auto& [name, flag] : kSeatFactFlags) {
      if (key == name) {
        return Fail(fmt::format("--var '{}' is reserved: set it with {}", key, flag));
      }
    }
    operator_vars[key] = kv.substr(eq + 1);
  }
  model::Location location;
  location.name = "local";
  location.fqdn = opts.fqdn;
  const model::TemplateVariables vars =
      model::SeatVariables(*workshop, location, opts.seat, opts.password, operator_vars);
  // The other seat facts (appliance ports, HTTPPORT, IP-<id>) also replace an operator variable:
  // refuse one that would be dropped rather than render something else than was asked.
  for (const auto& [key, value] : operator_vars) {
    if (workshop->variables.count(key) == 0 && vars.at(key) != value) {
      return Fail(fmt::format(
          "--var '{}' is reserved: the seat's value comes from the workshop's appliances and range",
          key));
    }
  }

  auto tree = drivers::content::ReadSourceTree(dir.string(), workshop->id);
  if (!tree.ok()) {
    return tree.status().code() == absl::StatusCode::kInvalidArgument
               ? FailLines(tree.status())
               : Fail(std::string(tree.status().message()));
  }
  auto rendered = drivers::content::RenderWorkshop(*tree, workshop->id, vars);
  if (!rendered.ok()) return FailLines(rendered.status());
  const model::ContentManifest manifest =
      drivers::content::MakeManifest(*rendered, opts.seat, 0, workshop->id, 0);

  std::error_code ec;
  fs::create_directories(opts.out, ec);
  if (ec) return Fail(fmt::format("cannot create '{}': {}", opts.out, ec.message()));
  UniqueFd out(open(opts.out.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!out.ok()) return Fail(fmt::format("cannot open '{}': {}", opts.out, std::strerror(errno)));
  drivers::content::HomeOptions home_options;
  home_options.chown = false;
  home_options.sync = false;
  auto result =
      drivers::content::DeployIntoHome(out.get(), opts.out, *rendered, manifest, home_options);
  if (!result.ok()) return Fail(std::string(result.status().message()));

  if (opts.json) {
    nlohmann::json files = nlohmann::json::array();
    for (const auto& f : rendered->manifest_files) files.push_back(f.path);
    fmt::print("{}\n", nlohmann::json({{"out", opts.out},
                                       {"folder", rendered->folder},
                                       {"seat", opts.seat},
                                       {"content_hash", rendered->content_hash},
                                       {"changed", result->changed},
                                       {"files", files}})
                           .dump(2));
  } else {
    fmt::print("{} {} file(s) of '{}' for seat {} into {}/{} (content {})\n",
               result->changed ? "rendered" : "unchanged:", rendered->files.size(), workshop->id,
               opts.seat, opts.out, rendered->folder, rendered->content_hash.substr(0, 12));
  }
  return 0;
}

// The notebooks under `dir` (relative paths, sorted), skipping hidden folders and
// .ipynb_checkpoints. Symlinks are not followed.
std::vector<std::string> FindNotebooks(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (it->is_directory(ec) && !it->is_symlink(ec) && (name.front() == '.')) {
      it.disable_recursion_pending();
      continue;
    }
    if (it->is_symlink(ec) || !it->is_regular_file(ec)) continue;
    if (it->path().extension() == ".ipynb") {
      out.push_back(fs::relative(it->path(), dir, ec).string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

int RunProgress(const ProgressOptions& opts) {
  fs::path dir = fs::path(opts.dir).lexically_normal();
  if (dir.filename().empty()) dir = dir.parent_path();
  UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.ok()) {
    return Fail(fmt::format("cannot open '{}': {}", dir.string(), std::strerror(errno)));
  }
  drivers::content::HomeOptions home_options;  // any manifest owner: read-only inspection

  // DIR is a home with a manifest, or the workshop folder of one.
  std::optional<model::ContentManifest> manifest;
  std::vector<model::NotebookProgress> notebooks;
  drivers::content::ManifestRead read = drivers::content::ReadManifest(dir_fd.get(), home_options);
  UniqueFd parent_fd;
  int home_fd = dir_fd.get();
  if (read.state == model::ObservedSeatContent::Manifest::kMissing) {
    parent_fd = UniqueFd(open((dir / "..").c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (parent_fd.ok()) {
      drivers::content::ManifestRead up =
          drivers::content::ReadManifest(parent_fd.get(), home_options);
      if (up.manifest && up.manifest->folder == dir.filename().string()) {
        read = std::move(up);
        home_fd = parent_fd.get();
      }
    }
  }
  if (read.state == model::ObservedSeatContent::Manifest::kCorrupt) {
    fmt::print(stderr, "wod: warning: ignoring the manifest: {}\n", read.error);
  }
  if (read.manifest) {
    manifest = read.manifest;
    notebooks = drivers::content::ManifestProgress(home_fd, *manifest, home_options);
  } else {
    // No manifest: nothing says which cells were shipped executed, so every executed cell
    // counts (an upper bound for notebooks shipped with outputs).
    for (const std::string& path : FindNotebooks(dir)) {
      notebooks.push_back(drivers::content::NotebookProgressAt(
          dir_fd.get(), path, model::NotebookBaseline{}, home_options));
    }
  }
  const model::TotalProgress total = model::Total(notebooks);
  if (opts.json) {
    nlohmann::json out = model::ProgressReportToJson(notebooks);
    out["baseline"] = manifest ? "manifest" : "none";
    if (manifest) {
      out["manifest"] = {{"registration_id", manifest->registration_id},
                         {"workshop", manifest->workshop},
                         {"reset_epoch", manifest->reset_epoch},
                         {"seat", manifest->seat},
                         {"content_hash", manifest->content_hash}};
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (manifest) {
    fmt::print("workshop '{}' seat {} registration {} epoch {}\n", manifest->workshop,
               manifest->seat, manifest->registration_id, manifest->reset_epoch);
  } else {
    fmt::print("no manifest: counting every executed cell\n");
  }
  for (const model::NotebookProgress& p : notebooks) {
    if (!p.readable) {
      fmt::print("  unreadable  {}: {}\n", p.file, p.error);
      continue;
    }
    fmt::print("  {:>4}/{:<4} {:>3.0f}%  {}\n", p.executed, p.Counted(), p.Fraction() * 100,
               p.file);
  }
  fmt::print("total {}/{} {:.0f}% over {} notebook(s){}\n", total.executed, total.Counted(),
             total.Fraction() * 100, total.notebooks,
             total.unreadable ? fmt::format(", {} unreadable", total.unreadable) : "");
  return 0;
}

}  // namespace

void AddContentCommand(CLI::App& app, GlobalOptions& /*global*/, int* exit_code) {
  CLI::App* content =
      app.add_subcommand("content", "Render workshop content and read notebook progress");
  content->require_subcommand(1);

  auto render_opts = std::make_shared<RenderOptions>();
  CLI::App* render = content->add_subcommand(
      "render",
      "Render a workshop folder exactly as seat N receives it (same code as the controller's "
      "deploy, without chown) into DIR; template errors exit 1 naming FILE:LINE");
  render->add_option("WKSHP_DIR", render_opts->workshop_dir, "The WKSHP-<Name> folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  render->add_option("--seat", render_opts->seat, "Seat number (STDID)")->required();
  render->add_option("--out", render_opts->out, "Directory standing in for the seat's home")
      ->required();
  render->add_option("--var", render_opts->vars,
                     "Operator variable KEY=VALUE (BRANDING, SURVEYURL, ...); repeatable");
  render->add_option("--password", render_opts->password, "The seat's password (PASSSTU)")
      ->capture_default_str();
  render->add_option("--fqdn", render_opts->fqdn, "The location's external name (WODBEEXTFQDN)")
      ->capture_default_str();
  render->add_flag("--json", render_opts->json, "Print the result as JSON");
  render->callback([render_opts, exit_code] { *exit_code = RunRender(*render_opts); });

  auto progress_opts = std::make_shared<ProgressOptions>();
  CLI::App* progress = content->add_subcommand(
      "progress",
      "Per-notebook progress of a deployed home or workshop folder, against its manifest's "
      "baselines (without a manifest, every executed cell counts)");
  progress->add_option("DIR", progress_opts->dir, "A home (with .wod/manifest.json) or folder")
      ->required()
      ->check(CLI::ExistingDirectory);
  progress->add_flag("--json", progress_opts->json, "Print the report as JSON");
  progress->callback([progress_opts, exit_code] { *exit_code = RunProgress(*progress_opts); });
}

}  // namespace wod::cli
