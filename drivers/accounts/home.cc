#include "drivers/accounts/home.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/status.h"

namespace wod::drivers::accounts {
namespace {

using common::ErrnoStatus;

// Deeper than this, a subtree is moved up to the home before it is removed: the recursion
// holds one fd per level, and a student can nest directories thousands deep.
constexpr int kMaxDepth = 32;
// A home whose content keeps changing under the wipe (a process still running) gives up.
constexpr int kMaxPasses = 10000;

class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept {
    if (this != &o) {
      Reset();
      fd_ = o.fd_;
      o.fd_ = -1;
    }
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { Reset(); }
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  void Reset() {
    if (fd_ >= 0) close(fd_);
    fd_ = -1;
  }
  int fd_;
};

absl::StatusOr<std::vector<std::string_view>> Components(std::string_view full) {
  if (full.empty() || full.front() != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("path '", std::string(full), "' is not absolute"));
  }
  std::vector<std::string_view> parts;
  std::string_view path = full;
  while (!path.empty()) {
    size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("path '", std::string(full), "' has '.' or '..'"));
    }
    parts.push_back(part);
  }
  return parts;
}

UniqueFd OpenDir(int dir_fd, const char* name) {
  return UniqueFd(openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

// Opens root + path one component at a time, refusing symlinks. With `create_missing`,
// missing components are made with `mode` 0755 (root-owned: we run as root).
absl::StatusOr<UniqueFd> OpenNoFollow(const std::string& root, std::string_view path,
                                      bool create_missing) {
  ASSIGN_OR_RETURN(std::vector<std::string_view> parts, Components(path));
  UniqueFd dir(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) return ErrnoStatus(errno, "cannot open root", root);
  for (std::string_view part : parts) {
    std::string name(part);
    UniqueFd next = OpenDir(dir.get(), name.c_str());
    if (!next.ok() && errno == ENOENT && create_missing) {
      if (mkdirat(dir.get(), name.c_str(), 0755) != 0 && errno != EEXIST) {
        return ErrnoStatus(errno, "cannot create", path);
      }
      next = OpenDir(dir.get(), name.c_str());
    }
    if (!next.ok()) return ErrnoStatus(errno, "cannot open", path);
    dir = std::move(next);
  }
  return dir;
}

// Names in `dir_fd` except "." and "..".
absl::StatusOr<std::vector<std::string>> ListDir(int dir_fd) {
  int fd = dup(dir_fd);
  DIR* dir = fd >= 0 ? fdopendir(fd) : nullptr;
  if (dir == nullptr) {
    if (fd >= 0) close(fd);
    return absl::InternalError(absl::StrCat("cannot list directory: ", std::strerror(errno)));
  }
  rewinddir(dir);  // the dup shares the offset with dir_fd
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string_view name(entry->d_name);
    if (name == "." || name == "..") continue;
    names.emplace_back(name);
  }
  closedir(dir);
  return names;
}

struct WipeState {
  int home_fd = -1;
  dev_t home_dev = 0;
  const std::string* home_path = nullptr;
  bool again = false;  // something was moved up or changed: another pass is needed
  int moved = 0;
};

absl::Status RemoveChildren(int dir_fd, int depth, WipeState& state) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, ListDir(dir_fd));
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus(errno, "cannot stat in", *state.home_path);
    }
    if (!S_ISDIR(st.st_mode)) {
      // Files, symlinks (the link itself, not its target), sockets, fifos, devices.
      if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "cannot remove in", *state.home_path);
      }
      continue;
    }
    if (st.st_dev != state.home_dev) {
      return absl::FailedPreconditionError(absl::StrCat(
          "home '", *state.home_path, "' has another filesystem mounted at '", name, "'"));
    }
    if (depth + 1 >= kMaxDepth) {
      // Move the subtree up so the next pass starts on it at depth 0.
      while (true) {
        std::string up = absl::StrCat(".wod-wipe-", state.moved++);
        if (renameat2(dir_fd, name.c_str(), state.home_fd, up.c_str(), RENAME_NOREPLACE) == 0) {
          break;
        }
        if (errno == EEXIST) continue;
        if (errno == ENOENT) break;
        return ErrnoStatus(errno, "cannot move up in", *state.home_path);
      }
      state.again = true;
      continue;
    }
    UniqueFd child = OpenDir(dir_fd, name.c_str());
    if (!child.ok()) {
      // Replaced by a symlink or removed since the fstatat: look again next pass.
      if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
        state.again = true;
        continue;
      }
      return ErrnoStatus(errno, "cannot open in", *state.home_path);
    }
    RETURN_IF_ERROR(RemoveChildren(child.get(), depth + 1, state));
    if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0) {
      if (errno == ENOENT) continue;
      if (errno == ENOTEMPTY || errno == EEXIST) {
        state.again = true;
        continue;
      }
      return ErrnoStatus(errno, "cannot remove in", *state.home_path);
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EnsureHome(const std::string& root, const std::string& path, uid_t uid, gid_t gid,
                        mode_t mode) {
  ASSIGN_OR_RETURN(std::vector<std::string_view> parts, Components(path));
  if (parts.empty()) return absl::InvalidArgumentError("home cannot be '/'");
  std::string parent_path = "/";
  for (size_t i = 0; i + 1 < parts.size(); ++i)
    absl::StrAppend(&parent_path, std::string(parts[i]), "/");
  ASSIGN_OR_RETURN(UniqueFd parent, OpenNoFollow(root, parent_path, /*create_missing=*/true));
  std::string name(parts.back());
  bool created = mkdirat(parent.get(), name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return ErrnoStatus(errno, "cannot create home", path);
  UniqueFd home = OpenDir(parent.get(), name.c_str());
  if (!home.ok()) return ErrnoStatus(errno, "cannot open home", path);
  // Owner and mode are set through the fd (the name could have been swapped for a symlink
  // since mkdirat), and also when the home already existed: a crash between mkdirat and
  // fchown leaves a root-owned home that only this repairs.
  struct stat st;
  if (fstat(home.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", path);
  if (created || st.st_uid != uid || st.st_gid != gid) {
    if (fchown(home.get(), uid, gid) != 0) return ErrnoStatus(errno, "cannot chown", path);
  }
  if (created || (st.st_mode & 07777) != mode) {
    if (fchmod(home.get(), mode) != 0) return ErrnoStatus(errno, "cannot chmod", path);
  }
  return absl::OkStatus();
}

absl::Status WipeHome(const std::string& root, const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<std::string_view> parts, Components(path));
  if (parts.empty()) return absl::InvalidArgumentError("refusing to wipe '/'");
  ASSIGN_OR_RETURN(UniqueFd home, OpenNoFollow(root, path, /*create_missing=*/false));
  struct stat st;
  if (fstat(home.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", path);
  WipeState state;
  state.home_fd = home.get();
  state.home_dev = st.st_dev;
  state.home_path = &path;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    state.again = false;
    RETURN_IF_ERROR(RemoveChildren(home.get(), 0, state));
    if (!state.again) return absl::OkStatus();
  }
  return absl::AbortedError(absl::StrCat("home '", path, "' kept changing during the wipe"));
}

bool HomeExists(const std::string& root, const std::string& path) {
  return OpenNoFollow(root, path, /*create_missing=*/false).ok();
}

}  // namespace wod::drivers::accounts
