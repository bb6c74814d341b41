#include "drivers/content/render.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <functional>
#include <utility>

#include "absl/strings/str_join.h"
#include "common/random.h"
#include "common/status.h"
#include "fmt/format.h"
#include "nlohmann/json.hpp"

namespace wod::drivers::content {
namespace {

// A source file larger than this is refused: workshop folders hold notebooks and pictures.
constexpr size_t kMaxSourceFileBytes = 256u << 20;

bool Skipped(std::string_view rel_dir, std::string_view name) {
  if (name == ".git" || name == ".ipynb_checkpoints") return true;
  return rel_dir.empty() && name == "wod.yml";
}

std::string Join(std::string_view dir, std::string_view name) {
  return dir.empty() ? std::string(name) : fmt::format("{}/{}", dir, name);
}

// Visits the directories and regular files under dir_fd in sorted order, parents first, never
// following a symlink. `visit(rel_path, dir_fd_of_parent, name, stat)`.
using Visitor = std::function<absl::Status(const std::string& rel, int parent_fd,
                                           const std::string& name, const struct stat& st)>;

absl::Status Walk(int dir_fd, const std::string& rel_dir, int depth, const Visitor& visit) {
  if (depth > 64) {
    return absl::InvalidArgumentError(fmt::format("folder '{}' is nested too deep", rel_dir));
  }
  ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirAt(dir_fd));
  for (const DirEntry& e : entries) {
    if (Skipped(rel_dir, e.name)) continue;
    struct stat st;
    if (fstatat(dir_fd, e.name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return ErrnoStatus(errno, "cannot stat", Join(rel_dir, e.name));
    }
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) continue;  // symlinks, fifos, ...
    const std::string rel = Join(rel_dir, e.name);
    RETURN_IF_ERROR(visit(rel, dir_fd, e.name, st));
    if (S_ISDIR(st.st_mode)) {
      ASSIGN_OR_RETURN(UniqueFd child, OpenDirAt(dir_fd, e.name));
      RETURN_IF_ERROR(Walk(child.get(), rel, depth + 1, visit));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenSourceDir(const std::string& content_dir) {
  UniqueFd fd(open(content_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.ok()) return ErrnoStatus(errno, "cannot open workshop folder", content_dir);
  return fd;
}

// Stamps of the folder itself and everything Walk visits, in order.
absl::StatusOr<std::vector<FileStamp>> StampTree(const std::string& content_dir) {
  ASSIGN_OR_RETURN(UniqueFd root, OpenSourceDir(content_dir));
  std::vector<FileStamp> stamps;
  struct stat st;
  if (fstat(root.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", content_dir);
  stamps.push_back(StampOf(st));
  RETURN_IF_ERROR(Walk(root.get(), "", 0,
                       [&](const std::string&, int, const std::string&, const struct stat& s) {
                         stamps.push_back(StampOf(s));
                         return absl::OkStatus();
                       }));
  return stamps;
}

}  // namespace

absl::StatusOr<SourceTree> ReadSourceTree(const std::string& content_dir, std::string_view folder) {
  ASSIGN_OR_RETURN(UniqueFd root, OpenSourceDir(content_dir));
  SourceTree tree;
  tree.dir = content_dir;
  struct stat root_st;
  if (fstat(root.get(), &root_st) != 0) return ErrnoStatus(errno, "cannot stat", content_dir);
  tree.stamps.push_back(StampOf(root_st));
  std::vector<std::string> errors;
  RETURN_IF_ERROR(
      Walk(root.get(), "", 0,
           [&](const std::string& rel, int parent_fd, const std::string& name,
               const struct stat& st) -> absl::Status {
             SourceEntry entry;
             entry.path = rel;
             if (S_ISDIR(st.st_mode)) {
               entry.is_dir = true;
               entry.mode = 0755;
               tree.stamps.push_back(StampOf(st));
               tree.entries.push_back(std::move(entry));
               return absl::OkStatus();
             }
             struct stat read_st;
             ASSIGN_OR_RETURN(std::string data,
                              ReadFileAt(parent_fd, name, kMaxSourceFileBytes, &read_st));
             tree.stamps.push_back(StampOf(read_st));
             entry.mode = (read_st.st_mode & 0111) != 0 ? 0755 : 0644;
             if (model::IsTemplateFile(name)) {
               const std::string file_name = fmt::format("{}/{}", folder, rel);
               auto parsed =
                   model::Template::Parse(data, file_name, model::TemplateOptionsForFile(name));
               if (!parsed.ok()) {
                 errors.emplace_back(parsed.status().message());
               } else {
                 entry.tmpl = *std::move(parsed);
               }
             } else {
               entry.sha256 = common::Sha256Hex(data);
               entry.data = std::move(data);
             }
             tree.entries.push_back(std::move(entry));
             return absl::OkStatus();
           }));
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  return tree;
}

absl::StatusOr<RenderedWorkshop> RenderWorkshop(const SourceTree& tree, std::string_view folder,
                                                const model::TemplateVariables& vars) {
  if (!model::IsSafeFolderName(folder)) {
    return absl::InvalidArgumentError(
        fmt::format("workshop folder '{}' is not a plain folder name", folder));
  }
  RenderedWorkshop out;
  out.folder = std::string(folder);
  std::vector<std::string> errors;
  for (const SourceEntry& entry : tree.entries) {
    const std::string path = fmt::format("{}/{}", folder, entry.path);
    if (entry.is_dir) {
      out.dirs.push_back(path);
      continue;
    }
    RenderedFile file;
    file.path = path;
    file.mode = entry.mode;
    std::string sha256;
    if (entry.tmpl) {
      auto rendered = entry.tmpl->Render(vars);
      if (!rendered.ok()) {
        errors.emplace_back(rendered.status().message());
        continue;
      }
      file.data = *std::move(rendered);
      sha256 = common::Sha256Hex(file.data);
    } else {
      file.data = entry.data;
      sha256 = entry.sha256;
    }
    if (path.size() > 6 && path.compare(path.size() - 6, 6, ".ipynb") == 0) {
      auto baseline = model::BaselineOf(path, file.data);
      if (!baseline.ok()) {
        errors.push_back(fmt::format("{}: not a notebook once rendered: {}", path,
                                     std::string(baseline.status().message())));
        continue;
      }
      out.notebooks.emplace(path, *std::move(baseline));
    }
    out.manifest_files.push_back(model::ManifestFile{path, std::move(sha256), file.mode});
    out.files.push_back(std::move(file));
  }
  if (!errors.empty()) return absl::InvalidArgumentError(absl::StrJoin(errors, "\n"));
  out.content_hash = model::ContentHash(out.manifest_files);
  const std::string readme = fmt::format("{}/{}", folder, model::kReadMeFirst);
  if (out.notebooks.count(readme) != 0) {
    out.open_notebook = readme;
  } else {
    // The first top-level notebook, in name order: what a participant would open first.
    for (const auto& [nb, baseline] : out.notebooks) {
      if (nb.find('/', folder.size() + 1) == std::string::npos) {
        out.open_notebook = nb;
        break;
      }
    }
  }
  out.workspace_json = JupyterWorkspaceJson(folder, out.open_notebook);
  return out;
}

model::ContentManifest MakeManifest(const RenderedWorkshop& rendered, int seat,
                                    int64_t registration_id, std::string_view workshop,
                                    int64_t reset_epoch) {
  model::ContentManifest m;
  m.registration_id = registration_id;
  m.workshop = std::string(workshop);
  m.reset_epoch = reset_epoch;
  m.seat = seat;
  m.folder = rendered.folder;
  m.content_hash = rendered.content_hash;
  m.workspace =
      fmt::format("{}/{}", model::kJupyterWorkspacesDir, model::kJupyterDefaultWorkspaceFile);
  m.files = rendered.manifest_files;
  m.notebooks = rendered.notebooks;
  return m;
}

std::string JupyterWorkspaceJson(std::string_view folder, std::string_view notebook) {
  using nlohmann::json;
  json main_area = {
      {"dock", {{"type", "tab-area"}, {"currentIndex", 0}, {"widgets", json::array()}}}};
  json data = json::object();
  if (!notebook.empty()) {
    const std::string widget = fmt::format("notebook:{}", notebook);
    main_area["dock"]["widgets"].push_back(widget);
    main_area["current"] = widget;
    data[widget] = {{"data", {{"path", std::string(notebook)}, {"factory", "Notebook"}}}};
  }
  data["layout-restorer:data"] = {
      {"main", std::move(main_area)},
      {"left",
       {{"collapsed", false},
        {"current", "filebrowser"},
        {"widgets", {"filebrowser", "running-sessions", "@jupyterlab/toc:plugin"}}}},
      {"right", {{"collapsed", true}, {"widgets", json::array()}}},
  };
  data["file-browser-filebrowser:cwd"] = {{"path", std::string(folder)}};
  return json{{"data", std::move(data)}, {"metadata", {{"id", "default"}}}}.dump(2) + "\n";
}

absl::StatusOr<std::shared_ptr<const SourceTree>> SourceCache::Get(const std::string& content_dir,
                                                                   std::string_view folder) {
  const std::string key = fmt::format("{}\n{}", content_dir, folder);
  std::shared_ptr<const SourceTree> cached;
  {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = trees_.find(key);
    if (it != trees_.end()) cached = it->second;
  }
  if (cached != nullptr) {
    auto stamps = StampTree(content_dir);
    if (stamps.ok() && *stamps == cached->stamps) return cached;
  }
  ASSIGN_OR_RETURN(SourceTree tree, ReadSourceTree(content_dir, folder));
  auto shared = std::make_shared<const SourceTree>(std::move(tree));
  std::lock_guard<std::mutex> lock(mu_);
  ++reads_;
  trees_[key] = shared;
  return shared;
}

int64_t SourceCache::reads() const {
  std::lock_guard<std::mutex> lock(mu_);
  return reads_;
}

}  // namespace wod::drivers::content
