// Rendering a workshop folder for one seat, in memory: read the WKSHP-<Name> source folder once
// (templates parsed, other files hashed), then render it per seat into the exact bytes, modes,
// notebook baselines and manifest that deploy writes into a home. The real driver, the fake and
// `wod content render` all go through here, so what a test or an operator previews is what a
// seat receives.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "drivers/content/home_fs.h"
#include "model/content.h"
#include "model/template.h"

namespace wod::drivers::content {

// One entry of a workshop's source folder (path relative to the folder).
struct SourceEntry {
  std::string path;
  bool is_dir = false;
  int mode = 0644;  // 0755 when the source has any exec bit, dirs 0755
  // Files: either a parsed template or the raw bytes (with their SHA-256).
  std::optional<model::Template> tmpl;
  std::string data;
  std::string sha256;
};

// A workshop's source folder as read from disk. Leaves out wod.yml at the top (catalog metadata,
// not participant content), .git and .ipynb_checkpoints folders, symlinks and special files.
struct SourceTree {
  std::string dir;
  std::vector<SourceEntry> entries;  // sorted by path; a directory before what it holds
  std::vector<FileStamp> stamps;     // of every entry read, in order: detects changes
};

// Reads and parses `content_dir`. Template syntax errors are collected, all of them, into one
// InvalidArgument whose lines are "FOLDER/FILE:LINE: what" (FOLDER = `folder`).
[[nodiscard]] absl::StatusOr<SourceTree> ReadSourceTree(const std::string& content_dir,
                                                        std::string_view folder);

struct RenderedFile {
  std::string path;  // relative to the home: "WKSHP-API101/0-ReadMeFirst.ipynb"
  std::string data;
  int mode = 0644;
};

struct RenderedWorkshop {
  std::string folder;
  std::vector<std::string> dirs;    // relative to the home, parents first (not the folder)
  std::vector<RenderedFile> files;  // sorted by path
  std::vector<model::ManifestFile> manifest_files;
  std::map<std::string, model::NotebookBaseline> notebooks;
  std::string content_hash;
  std::string open_notebook;  // what the workspace opens: FOLDER/0-ReadMeFirst.ipynb, or ""
  std::string workspace_json;
};

// Renders every template with `vars` and hashes everything. All undefined-variable errors are
// collected into one InvalidArgument ("FOLDER/FILE:LINE: undefined variable 'NAME'" lines), and
// so is a notebook that is not an nbformat-4 notebook once rendered.
[[nodiscard]] absl::StatusOr<RenderedWorkshop> RenderWorkshop(const SourceTree& tree,
                                                              std::string_view folder,
                                                              const model::TemplateVariables& vars);

// The manifest a deploy of `rendered` writes.
model::ContentManifest MakeManifest(const RenderedWorkshop& rendered, int seat,
                                    int64_t registration_id, std::string_view workshop,
                                    int64_t reset_epoch);

// A JupyterLab workspace (the "default" one) that shows the file browser in `folder` and opens
// `notebook` (a path relative to the home; none when empty):
// {"data": {"layout-restorer:data": {...}, "notebook:PATH": {...},
//           "file-browser-filebrowser:cwd": {"path": FOLDER}}, "metadata": {"id": "default"}}
std::string JupyterWorkspaceJson(std::string_view folder, std::string_view notebook);

// Source trees by folder, re-read only when a file of the folder changed (by stamp): parse each
// workshop once, render it per seat. Thread-safe.
class SourceCache {
 public:
  [[nodiscard]] absl::StatusOr<std::shared_ptr<const SourceTree>> Get(
      const std::string& content_dir, std::string_view folder);
  int64_t reads() const;  // how many times a folder was (re)read: lets tests see the cache work

 private:
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<const SourceTree>> trees_;
  int64_t reads_ = 0;
};

}  // namespace wod::drivers::content
