#include "drivers/content/home_content.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>

#include "common/status.h"
#include "fmt/format.h"

namespace wod::drivers::content {
namespace {

using Manifest = model::ObservedSeatContent::Manifest;

constexpr size_t kMaxManifestBytes = 16u << 20;
constexpr char kStagePrefix[] = "stage-";

std::atomic<uint64_t> stage_counter{0};

std::string Dirname(std::string_view path) {
  const size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? std::string() : std::string(path.substr(0, slash));
}

std::string Basename(std::string_view path) {
  const size_t slash = path.rfind('/');
  return std::string(slash == std::string_view::npos ? path : path.substr(slash + 1));
}

// Opens ~/.wod, making it a directory of the driver's user with mode 0755. Whatever else
// carries the name (a symlink, a file, a directory the participant made) is removed first: it is
// our reserved name, and a planted one must not redirect what we write.
absl::StatusOr<UniqueFd> EnsureStateDir(int home_fd) {
  const uid_t self = geteuid();
  for (int attempt = 0; attempt < 5; ++attempt) {
    ASSIGN_OR_RETURN(UniqueFd dir, EnsureDirAt(home_fd, model::kContentStateDir, 0755, Owner{}));
    struct stat st;
    if (fstat(dir.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", ".wod");
    if (st.st_uid == self) {
      if ((st.st_mode & 07777) != 0755 && fchmod(dir.get(), 0755) != 0) {
        return ErrnoStatus(errno, "cannot chmod", ".wod");
      }
      return dir;
    }
    RETURN_IF_ERROR(RemoveAt(home_fd, model::kContentStateDir).status());
  }
  return absl::AbortedError("'.wod' keeps changing under us");
}

// Leftovers of a deploy that crashed half-way.
absl::Status RemoveStaleStages(int state_fd) {
  ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirAt(state_fd));
  for (const DirEntry& e : entries) {
    if (e.name.rfind(kStagePrefix, 0) == 0) RETURN_IF_ERROR(RemoveAt(state_fd, e.name).status());
  }
  return absl::OkStatus();
}

// Writes the rendered folder into state_fd/stage (a fresh directory).
absl::Status WriteStage(int state_fd, const std::string& stage, const RenderedWorkshop& rendered,
                        const Owner& owner, bool sync) {
  if (mkdirat(state_fd, stage.c_str(), 0700) != 0)
    return ErrnoStatus(errno, "cannot create", stage);
  ASSIGN_OR_RETURN(UniqueFd stage_fd, OpenDirAt(state_fd, stage));
  const size_t strip = rendered.folder.size() + 1;  // "WKSHP-X/"
  for (const std::string& dir : rendered.dirs) {
    const std::string rel = dir.substr(strip);
    ASSIGN_OR_RETURN(UniqueFd parent, OpenDirAt(stage_fd.get(), Dirname(rel)));
    const std::string name = Basename(rel);
    if (mkdirat(parent.get(), name.c_str(), 0755) != 0) {
      return ErrnoStatus(errno, "cannot create", dir);
    }
    ASSIGN_OR_RETURN(UniqueFd made, OpenDirAt(parent.get(), name));
    if (owner.chown && fchown(made.get(), owner.uid, owner.gid) != 0) {
      return ErrnoStatus(errno, "cannot chown", dir);
    }
    if (fchmod(made.get(), 0755) != 0) return ErrnoStatus(errno, "cannot chmod", dir);
  }
  for (const RenderedFile& file : rendered.files) {
    const std::string rel = file.path.substr(strip);
    ASSIGN_OR_RETURN(UniqueFd parent, OpenDirAt(stage_fd.get(), Dirname(rel)));
    RETURN_IF_ERROR(CreateFileAt(parent.get(), Basename(rel), file.data,
                                 static_cast<mode_t>(file.mode), owner));
  }
  if (owner.chown && fchown(stage_fd.get(), owner.uid, owner.gid) != 0) {
    return ErrnoStatus(errno, "cannot chown", rendered.folder);
  }
  if (fchmod(stage_fd.get(), 0755) != 0) return ErrnoStatus(errno, "cannot chmod", rendered.folder);
  // One syncfs instead of an fsync per file: the stage is the temp, the swap is the rename.
  if (sync && syncfs(stage_fd.get()) != 0) return ErrnoStatus(errno, "cannot sync", stage);
  return absl::OkStatus();
}

// Moves state_fd/stage to home_fd/folder, replacing whatever is there in one step when the
// filesystem can (RENAME_EXCHANGE), then removes the old content from where the stage was.
absl::Status SwapIn(int home_fd, int state_fd, const std::string& stage,
                    const std::string& folder) {
  for (int attempt = 0; attempt < 5; ++attempt) {
    if (renameat2(state_fd, stage.c_str(), home_fd, folder.c_str(), RENAME_NOREPLACE) == 0) {
      return absl::OkStatus();
    }
    if (errno == EINVAL) break;  // no renameat2 flags on this filesystem
    if (errno != EEXIST) return ErrnoStatus(errno, "cannot move into place", folder);
    if (renameat2(state_fd, stage.c_str(), home_fd, folder.c_str(), RENAME_EXCHANGE) == 0) {
      // The old folder (or the symlink or file that was there) now sits at the stage's name.
      return RemoveAt(state_fd, stage).status();
    }
    if (errno == EINVAL) break;
    if (errno != ENOENT) return ErrnoStatus(errno, "cannot swap into place", folder);
  }
  // Fallback: move the old one aside into ~/.wod, then the new one in.
  const std::string old = stage + "-old";
  if (renameat(home_fd, folder.c_str(), state_fd, old.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot move aside", folder);
  }
  if (renameat(state_fd, stage.c_str(), home_fd, folder.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot move into place", folder);
  }
  return RemoveAt(state_fd, old).status();
}

absl::Status WriteWorkspace(int home_fd, const std::string& json, const Owner& owner, bool sync) {
  // ~/.jupyter/lab/workspaces belongs to the participant (JupyterLab saves the layout there).
  ASSIGN_OR_RETURN(UniqueFd jupyter, EnsureDirAt(home_fd, ".jupyter", 0755, owner));
  ASSIGN_OR_RETURN(UniqueFd lab, EnsureDirAt(jupyter.get(), "lab", 0755, owner));
  ASSIGN_OR_RETURN(UniqueFd workspaces, EnsureDirAt(lab.get(), "workspaces", 0755, owner));
  return WriteFileAt(workspaces.get(), model::kJupyterDefaultWorkspaceFile, json, 0644, owner,
                     sync);
}

}  // namespace

std::optional<FileStamp> ManifestStamp(int home_fd) {
  auto st =
      StatAt(home_fd, fmt::format("{}/{}", model::kContentStateDir, model::kContentManifestName));
  if (!st.ok()) return std::nullopt;
  return StampOf(*st);
}

ManifestRead ReadManifest(int home_fd, const HomeOptions& options) {
  ManifestRead out;
  const std::string path =
      fmt::format("{}/{}", model::kContentStateDir, model::kContentManifestName);
  struct stat st;
  auto text = ReadFileAt(home_fd, path, kMaxManifestBytes, &st);
  if (!text.ok()) {
    if (text.status().code() == absl::StatusCode::kNotFound) return out;  // kMissing
    out.state = Manifest::kCorrupt;
    out.error = std::string(text.status().message());
    return out;
  }
  out.stamp = StampOf(st);
  if (options.manifest_owner && st.st_uid != *options.manifest_owner) {
    out.state = Manifest::kCorrupt;
    out.error =
        fmt::format("manifest is owned by uid {}, not {}", st.st_uid, *options.manifest_owner);
    return out;
  }
  auto manifest = model::ManifestFromJson(*text);
  if (!manifest.ok()) {
    out.state = Manifest::kCorrupt;
    out.error = std::string(manifest.status().message());
    return out;
  }
  out.state = Manifest::kPresent;
  out.manifest = *std::move(manifest);
  return out;
}

absl::StatusOr<model::ContentResult> DeployIntoHome(int home_fd, std::string_view home,
                                                    const RenderedWorkshop& rendered,
                                                    const model::ContentManifest& manifest,
                                                    const HomeOptions& options) {
  auto in_home = [&](const absl::Status& s) {
    return absl::Status(s.code(),
                        fmt::format("deploy into '{}': {}", home, std::string(s.message())));
  };
  const ManifestRead current = ReadManifest(home_fd, options);
  if (current.manifest && current.manifest->registration_id == manifest.registration_id &&
      current.manifest->reset_epoch == manifest.reset_epoch &&
      current.manifest->folder == manifest.folder &&
      current.manifest->content_hash == manifest.content_hash) {
    return model::ContentResult{};
  }

  struct stat home_st;
  if (fstat(home_fd, &home_st) != 0) return ErrnoStatus(errno, "cannot stat", home);
  const Owner owner{home_st.st_uid, home_st.st_gid, options.chown};

  auto state = EnsureStateDir(home_fd);
  if (!state.ok()) return in_home(state.status());
  if (auto s = RemoveStaleStages(state->get()); !s.ok()) return in_home(s);
  const std::string stage =
      fmt::format("{}{}-{}", kStagePrefix, getpid(), stage_counter.fetch_add(1));
  if (auto s = WriteStage(state->get(), stage, rendered, owner, options.sync); !s.ok()) {
    (void)RemoveAt(state->get(), stage);
    return in_home(s);
  }
  if (auto s = SwapIn(home_fd, state->get(), stage, rendered.folder); !s.ok()) {
    (void)RemoveAt(state->get(), stage);
    return in_home(s);
  }
  if (current.manifest && current.manifest->folder != rendered.folder) {
    if (auto s = RemoveAt(home_fd, current.manifest->folder); !s.ok()) {
      return in_home(s.status());
    }
  }
  if (auto s = WriteWorkspace(home_fd, rendered.workspace_json, owner, options.sync); !s.ok()) {
    return in_home(s);
  }
  const std::string text = model::ManifestToJson(manifest).dump(1) + "\n";
  if (auto s =
          WriteFileAt(state->get(), model::kContentManifestName, text, 0644, Owner{}, options.sync);
      !s.ok()) {
    return in_home(s);
  }
  if (options.sync && fsync(home_fd) != 0) return ErrnoStatus(errno, "cannot sync", home);
  model::ContentResult result;
  result.changed = true;
  result.files_written = static_cast<int>(rendered.files.size());
  return result;
}

absl::StatusOr<model::ContentResult> WipeHomeContent(int home_fd, std::string_view home,
                                                     std::string_view workshop,
                                                     const HomeOptions& options) {
  auto in_home = [&](const absl::Status& s) {
    return absl::Status(s.code(), fmt::format("wipe '{}': {}", home, std::string(s.message())));
  };
  model::ContentResult result;
  const ManifestRead current = ReadManifest(home_fd, options);
  std::vector<std::string> folders;
  if (current.manifest) folders.push_back(current.manifest->folder);
  if (model::IsSafeFolderName(workshop)) folders.emplace_back(workshop);
  for (const std::string& folder : folders) {
    auto removed = RemoveAt(home_fd, folder);
    if (!removed.ok()) return in_home(removed.status());
    result.changed |= *removed;
  }
  // The workspace: reached without following a symlink; a link in the way means none of ours.
  auto workspaces = OpenDirAt(home_fd, model::kJupyterWorkspacesDir);
  if (workspaces.ok()) {
    auto removed = RemoveAt(workspaces->get(), model::kJupyterDefaultWorkspaceFile);
    if (!removed.ok()) return in_home(removed.status());
    result.changed |= *removed;
  } else if (workspaces.status().code() != absl::StatusCode::kNotFound &&
             workspaces.status().code() != absl::StatusCode::kFailedPrecondition) {
    return in_home(workspaces.status());
  }
  auto removed = RemoveAt(home_fd, model::kContentStateDir);
  if (!removed.ok()) return in_home(removed.status());
  result.changed |= *removed;
  if (result.changed && options.sync && fsync(home_fd) != 0) {
    return ErrnoStatus(errno, "cannot sync", home);
  }
  return result;
}

model::NotebookProgress NotebookProgressAt(int home_fd, const std::string& path,
                                           const model::NotebookBaseline& baseline,
                                           const HomeOptions& options,
                                           std::optional<FileStamp>* stamp) {
  struct stat st;
  auto text = ReadFileAt(home_fd, path, options.max_notebook_bytes, &st);
  if (!text.ok()) {
    model::NotebookProgress p;
    p.file = path;
    p.readable = false;
    p.error = text.status().code() == absl::StatusCode::kNotFound
                  ? "missing"
                  : std::string(text.status().message());
    return p;
  }
  if (stamp != nullptr) *stamp = StampOf(st);
  return model::ProgressOf(path, *text, baseline);
}

std::vector<model::NotebookProgress> ManifestProgress(int home_fd,
                                                      const model::ContentManifest& manifest,
                                                      const HomeOptions& options) {
  std::vector<model::NotebookProgress> out;
  out.reserve(manifest.notebooks.size());
  for (const auto& [path, baseline] : manifest.notebooks) {
    out.push_back(NotebookProgressAt(home_fd, path, baseline, options));
  }
  return out;
}

std::vector<std::string> MissingFiles(int home_fd, const model::ContentManifest& manifest,
                                      bool all_files) {
  std::vector<std::string> missing;
  auto folder = StatAt(home_fd, manifest.folder);
  if (!folder.ok() || !S_ISDIR(folder->st_mode)) {
    missing.push_back(manifest.folder);
    return missing;
  }
  auto check = [&](const std::string& path) {
    auto st = StatAt(home_fd, path);
    if (!st.ok() || !S_ISREG(st->st_mode)) missing.push_back(path);
  };
  if (all_files) {
    for (const model::ManifestFile& f : manifest.files) check(f.path);
  } else {
    for (const auto& [path, baseline] : manifest.notebooks) check(path);
  }
  return missing;
}

}  // namespace wod::drivers::content
