#include "common/fd_tree.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "common/errno_status.h"
#include "common/status.h"
#include "fmt/format.h"

namespace wod::common {
namespace {

// Deeper than this, a subtree is moved up before it is removed: the recursion holds one fd per
// level, and a participant can nest directories thousands deep.
constexpr int kMaxDepth = 32;
// A tree that keeps changing under the removal (a process still writing) gives up eventually.
constexpr int kMaxPasses = 10000;

// Splits a relative path into its components; InvalidArgument for "", ".", ".." or absolute.
absl::StatusOr<std::vector<std::string>> RelativeParts(std::string_view relpath) {
  std::vector<std::string> parts;
  if (relpath.empty()) return parts;
  if (relpath.front() == '/') {
    return absl::InvalidArgumentError(fmt::format("path '{}' is not relative", relpath));
  }
  while (true) {
    const size_t slash = relpath.find('/');
    std::string_view part = relpath.substr(0, slash);
    if (part.empty() || part == "." || part == "..") {
      return absl::InvalidArgumentError(
          fmt::format("path '{}' has an empty, '.' or '..' part", relpath));
    }
    parts.emplace_back(part);
    if (slash == std::string_view::npos) break;
    relpath.remove_prefix(slash + 1);
  }
  return parts;
}

struct RemoveState {
  int top_fd = -1;  // the directory being emptied: deep subtrees are moved up into it
  dev_t dev = 0;
  bool again = false;  // something was moved up or changed: another pass is needed
  int moved = 0;
};

absl::Status RemoveChildren(int dir_fd, int depth, RemoveState& state) {
  ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirAt(dir_fd));
  for (const DirEntry& entry : entries) {
    const char* name = entry.name.c_str();
    struct stat st;
    if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
      if (errno == ENOENT) continue;
      return ErrnoStatus(errno, "cannot stat", entry.name);
    }
    if (!S_ISDIR(st.st_mode)) {
      // Files, symlinks (the link itself, not its target), hard links (this name only),
      // sockets, fifos (never opened), devices.
      if (unlinkat(dir_fd, name, 0) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "cannot remove", entry.name);
      }
      continue;
    }
    if (st.st_dev != state.dev) {
      return absl::FailedPreconditionError(
          fmt::format("another filesystem is mounted at '{}'", entry.name));
    }
    if (depth + 1 >= kMaxDepth) {
      // Move the subtree up so the next pass starts on it at depth 0.
      while (true) {
        const std::string up = fmt::format(".wod-rm-{}", state.moved++);
        if (renameat2(dir_fd, name, state.top_fd, up.c_str(), RENAME_NOREPLACE) == 0) break;
        if (errno == EEXIST) continue;
        if (errno == ENOENT) break;
        return ErrnoStatus(errno, "cannot move up", entry.name);
      }
      state.again = true;
      continue;
    }
    UniqueFd child = OpenDirNoFollow(dir_fd, entry.name);
    if (!child.ok()) {
      // Replaced by a symlink or removed since the fstatat: look again next pass.
      if (errno == ENOENT || errno == ELOOP || errno == ENOTDIR) {
        state.again = true;
        continue;
      }
      return ErrnoStatus(errno, "cannot open", entry.name);
    }
    RETURN_IF_ERROR(RemoveChildren(child.get(), depth + 1, state));
    if (unlinkat(dir_fd, name, AT_REMOVEDIR) != 0) {
      if (errno == ENOENT) continue;
      if (errno == ENOTEMPTY || errno == EEXIST) {
        state.again = true;
        continue;
      }
      return ErrnoStatus(errno, "cannot remove", entry.name);
    }
  }
  return absl::OkStatus();
}

}  // namespace

UniqueFd& UniqueFd::operator=(UniqueFd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) close(fd_);
    fd_ = o.fd_;
    o.fd_ = -1;
  }
  return *this;
}

UniqueFd::~UniqueFd() {
  if (fd_ >= 0) close(fd_);
}

UniqueFd OpenDirNoFollow(int dir_fd, const std::string& name) {
  return UniqueFd(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

absl::StatusOr<std::vector<std::string>> AbsolutePathParts(std::string_view full) {
  if (full.empty() || full.front() != '/') {
    return absl::InvalidArgumentError(fmt::format("path '{}' is not absolute", full));
  }
  std::vector<std::string> parts;
  std::string_view path = full;
  while (!path.empty()) {
    const size_t slash = path.find('/');
    std::string_view part = path.substr(0, slash);
    path.remove_prefix(slash == std::string_view::npos ? path.size() : slash + 1);
    if (part.empty()) continue;
    if (part == "." || part == "..") {
      return absl::InvalidArgumentError(fmt::format("path '{}' has '.' or '..'", full));
    }
    parts.emplace_back(part);
  }
  return parts;
}

absl::StatusOr<UniqueFd> OpenDirBelow(const std::string& root, std::string_view path,
                                      bool create_missing) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, AbsolutePathParts(path));
  UniqueFd dir(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir.ok()) return ErrnoStatus(errno, "cannot open root", root);
  for (const std::string& part : parts) {
    UniqueFd next = OpenDirNoFollow(dir.get(), part);
    if (!next.ok() && errno == ENOENT && create_missing) {
      if (mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        const absl::Status s = ErrnoStatus(errno, "cannot create directory", part);
        return absl::Status(s.code(),
                            fmt::format("cannot open '{}': {}", path, std::string(s.message())));
      }
      next = OpenDirNoFollow(dir.get(), part);
    }
    if (!next.ok()) {
      const absl::Status s = ErrnoStatus(errno, "cannot open directory", part);
      return absl::Status(s.code(),
                          fmt::format("cannot open '{}': {}", path, std::string(s.message())));
    }
    dir = std::move(next);
  }
  return dir;
}

absl::StatusOr<UniqueFd> OpenDirAt(int dir_fd, std::string_view relpath) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, RelativeParts(relpath));
  if (parts.empty()) {
    UniqueFd dup(fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!dup.ok()) return ErrnoStatus(errno, "cannot dup", relpath);
    return dup;
  }
  UniqueFd dir = OpenDirNoFollow(dir_fd, parts[0]);
  if (!dir.ok()) return ErrnoStatus(errno, "cannot open directory", parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    UniqueFd next = OpenDirNoFollow(dir.get(), parts[i]);
    if (!next.ok()) return ErrnoStatus(errno, "cannot open directory", parts[i]);
    dir = std::move(next);
  }
  return dir;
}

absl::StatusOr<std::vector<DirEntry>> ListDirAt(int dir_fd) {
  // fdopendir takes ownership of its fd and shares the offset with dir_fd: open "." anew.
  const int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(errno, "cannot list", ".");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    const int err = errno;
    close(fd);
    return ErrnoStatus(err, "cannot list", ".");
  }
  std::vector<DirEntry> entries;
  errno = 0;
  while (dirent* e = readdir(dir)) {
    std::string_view name(e->d_name);
    if (name == "." || name == "..") continue;
    entries.push_back(DirEntry{std::string(name), e->d_type});
  }
  const int err = errno;
  closedir(dir);
  if (err != 0) return ErrnoStatus(err, "cannot list", ".");
  std::sort(entries.begin(), entries.end(),
            [](const DirEntry& a, const DirEntry& b) { return a.name < b.name; });
  return entries;
}

absl::Status RemoveContents(int dir_fd) {
  struct stat st;
  if (fstat(dir_fd, &st) != 0) return ErrnoStatus(errno, "cannot stat", ".");
  RemoveState state;
  state.top_fd = dir_fd;
  state.dev = st.st_dev;
  for (int pass = 0; pass < kMaxPasses; ++pass) {
    state.again = false;
    RETURN_IF_ERROR(RemoveChildren(dir_fd, 0, state));
    if (!state.again) return absl::OkStatus();
  }
  return absl::AbortedError("the directory kept changing while it was emptied");
}

absl::StatusOr<bool> RemoveAt(int dir_fd, const std::string& name) {
  struct stat st;
  if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return false;
    return ErrnoStatus(errno, "cannot stat", name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
      return ErrnoStatus(errno, "cannot remove", name);
    }
    return true;
  }
  UniqueFd top = OpenDirNoFollow(dir_fd, name);
  if (!top.ok()) {
    if (errno == ENOENT) return true;
    if (errno == ELOOP || errno == ENOTDIR) {
      // Became a symlink or file since the fstatat: it is a single entry now.
      if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "cannot remove", name);
      }
      return true;
    }
    return ErrnoStatus(errno, "cannot open directory", name);
  }
  // Checked on what was opened, not on the fstatat before: the name may have been swapped.
  struct stat parent, top_st;
  if (fstat(dir_fd, &parent) != 0) return ErrnoStatus(errno, "cannot stat parent of", name);
  if (fstat(top.get(), &top_st) != 0) return ErrnoStatus(errno, "cannot stat", name);
  if (parent.st_dev != top_st.st_dev) {
    return absl::FailedPreconditionError(
        fmt::format("another filesystem is mounted at '{}'", name));
  }
  if (absl::Status s = RemoveContents(top.get()); !s.ok()) {
    return absl::Status(s.code(),
                        fmt::format("cannot remove '{}': {}", name, std::string(s.message())));
  }
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove directory", name);
  }
  return true;
}

}  // namespace wod::common
