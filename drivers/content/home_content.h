// What the content driver does inside one home, given the home's directory fd: read the
// manifest, deploy a rendered workshop, wipe it, compute notebook progress. Used by the real
// driver (one home per seat under a root prefix) and by `wod content render|progress` (any
// directory standing in for a home). Every step is fd-relative and never follows a symlink
// (home_fs.h).
//
// Layout of a home after a deploy (docs/drivers.md, ## Content):
//   ~/WKSHP-<Name>/...                          the rendered workshop, owned by the participant
//   ~/.jupyter/lab/workspaces/default-37a8.jupyterlab-workspace   opens 0-ReadMeFirst.ipynb
//   ~/.wod/manifest.json                        owned by the driver's user (root), 0644
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "drivers/content/home_fs.h"
#include "drivers/content/render.h"
#include "model/content.h"

namespace wod::drivers::content {

struct HomeOptions {
  // chown what we write in the participant's space to the home's owner (needs root).
  bool chown = false;
  // fsync/syncfs before each rename, so a crash leaves the old or the new content.
  bool sync = true;
  // A manifest counts only when its owner is this uid (the driver's euid): a participant
  // cannot plant one of their own. nullopt: any owner (the CLI reading someone's folder).
  std::optional<uid_t> manifest_owner;
  // Notebooks larger than this are reported unreadable instead of parsed.
  size_t max_notebook_bytes = 64u << 20;
};

struct ManifestRead {
  model::ObservedSeatContent::Manifest state = model::ObservedSeatContent::Manifest::kMissing;
  std::string error;  // kCorrupt: why
  std::optional<model::ContentManifest> manifest;
  std::optional<FileStamp> stamp;  // of the manifest file, when one was found
};

// Reads ~/.wod/manifest.json. Never fails: missing is kMissing, anything wrong is kCorrupt.
ManifestRead ReadManifest(int home_fd, const HomeOptions& options);
// The stamp of ~/.wod/manifest.json, or nullopt when there is none (cheap: for caches).
std::optional<FileStamp> ManifestStamp(int home_fd);

// Deploys `rendered` with `manifest` into the home: does nothing (changed = false) when the
// home's manifest already has the same registration, epoch, folder and content hash.
// Otherwise builds the folder in ~/.wod/stage-*, syncs it, swaps it in with one rename
// (RENAME_EXCHANGE when an old folder is there) and removes the old one, writes the
// workspace, then the manifest (last: a crash before it leaves the old manifest, so the next
// pass deploys again). A folder of a previous manifest with another name is removed too.
[[nodiscard]] absl::StatusOr<model::ContentResult> DeployIntoHome(
    int home_fd, std::string_view home, const RenderedWorkshop& rendered,
    const model::ContentManifest& manifest, const HomeOptions& options);

// Removes the manifest's folder, ~/<workshop> when `workshop` is a plain folder name, the
// default JupyterLab workspace and ~/.wod. Symlinks met on the way are removed, never followed.
[[nodiscard]] absl::StatusOr<model::ContentResult> WipeHomeContent(int home_fd,
                                                                   std::string_view home,
                                                                   std::string_view workshop,
                                                                   const HomeOptions& options);

// Progress of the notebook at `path` (relative to the home) against `baseline`. A missing,
// non-regular, too large or invalid notebook is unreadable with the reason. `stamp` receives
// the file's stamp when it was read.
model::NotebookProgress NotebookProgressAt(int home_fd, const std::string& path,
                                           const model::NotebookBaseline& baseline,
                                           const HomeOptions& options,
                                           std::optional<FileStamp>* stamp = nullptr);

// Progress of every notebook the manifest lists, in path order.
std::vector<model::NotebookProgress> ManifestProgress(int home_fd,
                                                      const model::ContentManifest& manifest,
                                                      const HomeOptions& options);

// The manifest files that are missing (only notebooks and the folder unless `all_files`).
std::vector<std::string> MissingFiles(int home_fd, const model::ContentManifest& manifest,
                                      bool all_files);

}  // namespace wod::drivers::content
