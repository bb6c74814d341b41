// The content domain's vocabulary, shared by the planner and the content driver: the variables a
// seat's templates see, the manifest wod writes into each home it deployed a workshop to, what
// the driver observes per home (manifest + notebook progress), and the actions (deploy, wipe,
// harvest). Pure values and pure functions, no I/O. docs/drivers.md (## Content) describes the
// home layout, the manifest and every variable.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "model/progress.h"
#include "model/template.h"
#include "model/types.h"
#include "nlohmann/json.hpp"

namespace wod::model {

// Where things go in a home (paths relative to the home directory).
inline constexpr char kContentStateDir[] = ".wod";               // root-owned, 0755
inline constexpr char kContentManifestName[] = "manifest.json";  // inside kContentStateDir
inline constexpr char kJupyterWorkspacesDir[] = ".jupyter/lab/workspaces";
// JupyterLab (jupyterlab_server's WorkspacesManager) stores the workspace named "default" in
// <workspaces dir>/<slug>.jupyterlab-workspace where the slug is the name plus "-" and the first
// four hex digits of its SHA-256: "default-37a8".
inline constexpr char kJupyterDefaultWorkspaceFile[] = "default-37a8.jupyterlab-workspace";
// The notebook the workspace opens first, as in every WoD workshop.
inline constexpr char kReadMeFirst[] = "0-ReadMeFirst.ipynb";

// True for the files deploy renders as templates, exactly WoD's set (its copy_folder.yml):
// *.ipynb *.yaml *.py *.sh *.src *.tf *.env and Variables.ps1, but not *-checkpoint.ipynb.
// `file_name` is a base name. Every other file (*.yml too) is copied byte for byte.
bool IsTemplateFile(std::string_view file_name);

// The template variables of one seat. Later sources win:
//   1. defaults: MODEWS=WKSHP
//   2. operator variables (BRANDING, BRANDINGWOD, BRANDINGLOGO, BRANDINGURL, SURVEYURL,
//      SURVEYCHALURL, anything else the operator configures)
//   3. the workshop's catalog `variables` (may override MODEWS, e.g. CHLG for a challenge)
//   4. the seat's facts, which nothing overrides: STDID (seat number), PASSSTU (password),
//      WODBEEXTFQDN (location fqdn), per appliance port <APPLIANCE>_PORT_<container port>
//      (appliance name uppercased, '-' as '_'; the host port of this seat), HTTPPORT (the host
//      port of the first appliance port whose container port is 80, else of the first appliance
//      port; without appliances, HTTPPORTBASE + seat - range.min when HTTPPORTBASE is set by
//      step 2 or 3), and for WoD's inventory names IP-<workshop id> (the location fqdn, when the
//      workshop has appliances) and HTTPPORT-<workshop id> (= HTTPPORT, when defined).
// `hostvars[inventory_hostname]['KEY']` in a template reads KEY from this same map.
// The result holds the password: never log it.
TemplateVariables SeatVariables(const Workshop& workshop, const Location& location, int seat,
                                std::string_view password,
                                const std::map<std::string, std::string>& operator_vars);

// One file deploy wrote, relative to the home ("WKSHP-API101/Pictures/logo.png").
struct ManifestFile {
  std::string path;
  std::string sha256;  // hex SHA-256 of the bytes written (after rendering)
  int mode = 0644;     // 0644 or 0755
  bool operator==(const ManifestFile&) const = default;
};

// ~/.wod/manifest.json: what wod deployed into a home, for whom. Its presence (owned by the
// driver's user) is the mark that says the content of this home is wod's.
struct ContentManifest {
  static constexpr int kVersion = 1;
  int64_t registration_id = 0;
  std::string workshop;  // workshop id
  int64_t reset_epoch = 0;
  int seat = 0;
  std::string folder;               // the workshop folder in the home: "WKSHP-API101"
  std::string content_hash;         // ContentHash(files)
  std::string workspace;            // the JupyterLab workspace file written, relative to the home
  std::vector<ManifestFile> files;  // sorted by path
  // The notebooks deployed (path relative to the home) and their code cells as shipped.
  std::map<std::string, NotebookBaseline> notebooks;
  bool operator==(const ContentManifest&) const = default;
};

// Digest over the rendered files: SHA-256 of "path\0mode\0sha256\n" for each file in path order.
std::string ContentHash(const std::vector<ManifestFile>& files);

nlohmann::json ManifestToJson(const ContentManifest& manifest);
// InvalidArgument "malformed manifest: ..." for anything that is not a manifest wod wrote,
// including paths that could leave the home (absolute, "..", a folder with '/').
[[nodiscard]] absl::StatusOr<ContentManifest> ManifestFromJson(std::string_view text);

// True for a single path component that deploy may create in a home: not empty, no '/', no NUL,
// not "." or "..", not starting with '.'.
bool IsSafeFolderName(std::string_view name);
// True for a relative path whose components are all plain names (no "", ".", "..").
bool IsSafeRelativePath(std::string_view path);

// What the content driver sees in one managed home.
struct ObservedSeatContent {
  enum class Manifest {
    kMissing,  // no ~/.wod/manifest.json: nothing of ours is deployed here
    kCorrupt,  // unreadable, malformed, not owned by us, or the home is not a directory
    kPresent,
  };
  int seat = 0;
  std::string home;  // the home's path as the system sees it ("/home/student7")
  Manifest manifest_state = Manifest::kMissing;
  std::string manifest_error;  // why, when kCorrupt
  // From the manifest, when kPresent.
  int64_t registration_id = 0;
  std::string workshop;
  int64_t reset_epoch = 0;
  std::string content_hash;
  std::string folder;
  // The deployed folder and every notebook of the manifest exist as a directory / regular files
  // (plus every other manifest file when the driver is set to check them all).
  bool files_intact = false;
  std::vector<std::string> missing_files;  // relative to the home, sorted
  // Progress of each manifest notebook (a missing one is unreadable), in path order.
  std::vector<NotebookProgress> notebooks;
  TotalProgress total;
  // The newest modification time of the manifest's notebooks found in the home: when the
  // participant last saved one (Jupyter autosaves). InfinitePast when none is there.
  absl::Time last_modified = absl::InfinitePast();

  bool deployed() const { return manifest_state == Manifest::kPresent; }
  std::string Describe() const;
  bool operator==(const ObservedSeatContent&) const = default;
};

const char* ManifestStateName(ObservedSeatContent::Manifest state);

// Every managed home of a location (homes whose name is a seat's user name), sorted by seat.
struct ObservedContent {
  std::vector<ObservedSeatContent> seats;
  const ObservedSeatContent* Find(int seat) const;
};

struct ContentAction {
  enum class Kind {
    // Render the workshop for this seat into ~/<folder>, the workspace and the manifest.
    // Nothing is written when the manifest already says this registration, epoch and content
    // hash; otherwise the folder is replaced pristine (this is also RESET).
    kDeploy,
    // Remove the workshop folder(s), the workspace and ~/.wod; a missing home is success.
    kWipe,
    // Snapshot the progress of `registration_id` (and archive the folder when the driver has an
    // archive directory). Harvesting one registration twice gives the same result.
    kHarvest,
  };
  Kind kind = Kind::kDeploy;
  int seat = 0;
  int64_t registration_id = 0;  // kDeploy, kHarvest
  std::string workshop;         // workshop id; kDeploy, kHarvest; kWipe: also remove ~/<id>
  int64_t reset_epoch = 0;      // kDeploy
  std::string content_dir;      // kDeploy: the WKSHP-<Name> source folder (CatalogEntry)
  TemplateVariables variables;  // kDeploy: SeatVariables(...); secret (holds PASSSTU)
  std::string reason;

  static ContentAction Deploy(int seat, int64_t registration_id, std::string workshop,
                              int64_t reset_epoch, std::string content_dir,
                              TemplateVariables variables, std::string reason);
  static ContentAction Wipe(int seat, std::string workshop, std::string reason);
  static ContentAction Harvest(int seat, int64_t registration_id, std::string workshop,
                               std::string reason);

  // "deploy seat 7 registration 12 workshop 'WKSHP-API101' epoch 1 (reset)": no variables.
  std::string Describe() const;
};

const char* ContentActionKindName(ContentAction::Kind kind);

// What a harvest produced. `progress` is what the registration stores (progress_json).
struct HarvestResult {
  int seat = 0;
  int64_t registration_id = 0;
  std::string workshop;
  std::vector<NotebookProgress> notebooks;
  TotalProgress total;
  std::string archive;               // the take-home .tar.gz, "" when not archived
  std::vector<std::string> skipped;  // files left out of the archive (too large, not regular)

  // {"notebooks": [...], "total": {...}}: model::ProgressReportToJson, for progress_json.
  std::string ProgressJson() const;
  nlohmann::json ToJson() const;
  bool operator==(const HarvestResult&) const = default;
};
[[nodiscard]] absl::StatusOr<HarvestResult> HarvestResultFromJson(const nlohmann::json& j);

// What Apply did.
struct ContentResult {
  bool changed = false;                  // something was written or removed
  int files_written = 0;                 // kDeploy: files written into the workshop folder
  std::optional<HarvestResult> harvest;  // kHarvest
};

}  // namespace wod::model
