#include "drivers/content/home_fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>

#include "common/status.h"
#include "fmt/format.h"

namespace wod::drivers::content {
namespace {

// Deeper than this, RemoveAt moves a subtree up before removing it: the recursion holds one fd
// per level and a participant can nest directories thousands deep.
constexpr int kMaxDepth = 32;
// A tree that keeps changing under the removal (a process still writing) gives up eventually.
constexpr int kMaxPasses = 10000;

std::atomic<uint64_t> temp_counter{0};

std::string TempName(std::string_view base) {
  return fmt::format(".{}.wod-tmp-{}-{}", base, getpid(), temp_counter.fetch_add(1));
}

// Splits a relative path into its components; InvalidArgument for "", ".", ".." or absolute.
absl::StatusOr<std::vector<std::string>> Components(std::string_view relpath) {
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

int OpenDirNoFollow(int dir_fd, const char* name) {
  return openat(dir_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

absl::Status WriteAll(int fd, std::string_view data, std::string_view path) {
  while (!data.empty()) {
    const ssize_t n = write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return absl::OkStatus();
}

absl::Status SetOwnerAndMode(int fd, mode_t mode, const Owner& owner, std::string_view path) {
  // chown first: it clears set-id bits, and fchmod then sets exactly `mode`.
  if (owner.chown && fchown(fd, owner.uid, owner.gid) != 0) {
    return ErrnoStatus(errno, "cannot chown", path);
  }
  if (fchmod(fd, mode) != 0) return ErrnoStatus(errno, "cannot chmod", path);
  return absl::OkStatus();
}

struct RemoveState {
  int top_fd = -1;  // the directory being removed: deep subtrees are moved up into it
  dev_t dev = 0;
  bool again = false;
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
    UniqueFd child(OpenDirNoFollow(dir_fd, name));
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

FileStamp StampOf(const struct stat& st) {
  FileStamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

absl::StatusOr<UniqueFd> OpenDirBelow(const std::string& root, std::string_view path) {
  if (path.empty() || path.front() != '/') {
    return absl::InvalidArgumentError(fmt::format("path '{}' is not absolute", path));
  }
  UniqueFd root_fd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root_fd.ok()) return ErrnoStatus(errno, "cannot open root", root);
  std::string_view rel = path;
  while (!rel.empty() && rel.front() == '/') rel.remove_prefix(1);
  while (!rel.empty() && rel.back() == '/') rel.remove_suffix(1);
  auto dir = OpenDirAt(root_fd.get(), rel);
  if (!dir.ok()) {
    return absl::Status(dir.status().code(), fmt::format("cannot open '{}': {}", path,
                                                         std::string(dir.status().message())));
  }
  return dir;
}

absl::StatusOr<UniqueFd> OpenDirAt(int dir_fd, std::string_view relpath) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, Components(relpath));
  if (parts.empty()) {
    UniqueFd dup(fcntl(dir_fd, F_DUPFD_CLOEXEC, 0));
    if (!dup.ok()) return ErrnoStatus(errno, "cannot dup", relpath);
    return dup;
  }
  UniqueFd dir(OpenDirNoFollow(dir_fd, parts[0].c_str()));
  if (!dir.ok()) return ErrnoStatus(errno, "cannot open directory", parts[0]);
  for (size_t i = 1; i < parts.size(); ++i) {
    UniqueFd next(OpenDirNoFollow(dir.get(), parts[i].c_str()));
    if (!next.ok()) return ErrnoStatus(errno, "cannot open directory", parts[i]);
    dir = std::move(next);
  }
  return dir;
}

absl::StatusOr<struct stat> StatAt(int dir_fd, std::string_view relpath) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, Components(relpath));
  if (parts.empty()) return absl::InvalidArgumentError("empty path");
  const std::string last = parts.back();
  parts.pop_back();
  int at = dir_fd;
  UniqueFd dir;
  if (!parts.empty()) {
    UniqueFd cur(OpenDirNoFollow(dir_fd, parts[0].c_str()));
    if (!cur.ok()) return ErrnoStatus(errno, "cannot open directory", parts[0]);
    for (size_t i = 1; i < parts.size(); ++i) {
      UniqueFd next(OpenDirNoFollow(cur.get(), parts[i].c_str()));
      if (!next.ok()) return ErrnoStatus(errno, "cannot open directory", parts[i]);
      cur = std::move(next);
    }
    dir = std::move(cur);
    at = dir.get();
  }
  struct stat st;
  if (fstatat(at, last.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "cannot stat", relpath);
  }
  return st;
}

absl::StatusOr<std::string> ReadFileAt(int dir_fd, std::string_view relpath, size_t max_bytes,
                                       struct stat* st_out) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, Components(relpath));
  if (parts.empty()) return absl::InvalidArgumentError("empty path");
  const std::string last = parts.back();
  parts.pop_back();
  UniqueFd dir;
  int at = dir_fd;
  if (!parts.empty()) {
    std::string_view dir_path = relpath.substr(0, relpath.size() - last.size() - 1);
    ASSIGN_OR_RETURN(dir, OpenDirAt(dir_fd, dir_path));
    at = dir.get();
  }
  // O_NONBLOCK: a fifo planted under a notebook's name must not hang the pass.
  UniqueFd fd(openat(at, last.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
  if (!fd.ok()) return ErrnoStatus(errno, "cannot open", relpath);
  struct stat st;
  if (fstat(fd.get(), &st) != 0) return ErrnoStatus(errno, "cannot stat", relpath);
  if (!S_ISREG(st.st_mode)) {
    return absl::FailedPreconditionError(fmt::format("'{}' is not a regular file", relpath));
  }
  if (static_cast<uint64_t>(st.st_size) > max_bytes) {
    return absl::FailedPreconditionError(
        fmt::format("'{}' is larger than {} bytes", relpath, max_bytes));
  }
  std::string data;
  data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (true) {
    if (got == data.size()) data.resize(std::max<size_t>(data.size() * 2, 4096));
    const ssize_t n = read(fd.get(), data.data() + got, data.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read", relpath);
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
    if (got > max_bytes) {
      return absl::FailedPreconditionError(
          fmt::format("'{}' is larger than {} bytes", relpath, max_bytes));
    }
  }
  data.resize(got);
  if (st_out != nullptr) *st_out = st;
  return data;
}

absl::StatusOr<UniqueFd> EnsureDirAt(int dir_fd, const std::string& name, mode_t mode,
                                     const Owner& owner) {
  for (int attempt = 0; attempt < 10; ++attempt) {
    UniqueFd fd(OpenDirNoFollow(dir_fd, name.c_str()));
    if (fd.ok()) return fd;
    if (errno == ELOOP || errno == ENOTDIR) {
      // A symlink or a file where our directory goes: remove the link or file itself.
      if (unlinkat(dir_fd, name.c_str(), 0) != 0 && errno != ENOENT) {
        return ErrnoStatus(errno, "cannot remove", name);
      }
      continue;
    }
    if (errno != ENOENT) return ErrnoStatus(errno, "cannot open directory", name);
    if (mkdirat(dir_fd, name.c_str(), mode) != 0) {
      if (errno == EEXIST) continue;
      return ErrnoStatus(errno, "cannot create directory", name);
    }
    UniqueFd made(OpenDirNoFollow(dir_fd, name.c_str()));
    if (!made.ok()) continue;  // replaced between mkdirat and openat: look again
    RETURN_IF_ERROR(SetOwnerAndMode(made.get(), mode, owner, name));
    return made;
  }
  return absl::AbortedError(fmt::format("directory '{}' keeps changing", name));
}

absl::Status CreateFileAt(int dir_fd, const std::string& name, std::string_view data, mode_t mode,
                          const Owner& owner) {
  UniqueFd fd(
      openat(dir_fd, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.ok()) return ErrnoStatus(errno, "cannot create", name);
  RETURN_IF_ERROR(WriteAll(fd.get(), data, name));
  return SetOwnerAndMode(fd.get(), mode, owner, name);
}

absl::Status WriteFileAt(int dir_fd, const std::string& name, std::string_view data, mode_t mode,
                         const Owner& owner, bool sync) {
  const std::string temp = TempName(name);
  UniqueFd fd(
      openat(dir_fd, temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!fd.ok()) return ErrnoStatus(errno, "cannot create", temp);
  absl::Status status = WriteAll(fd.get(), data, name);
  if (status.ok()) status = SetOwnerAndMode(fd.get(), mode, owner, name);
  if (status.ok() && sync && fsync(fd.get()) != 0) status = ErrnoStatus(errno, "cannot sync", name);
  if (status.ok() && renameat(dir_fd, temp.c_str(), dir_fd, name.c_str()) != 0) {
    status = ErrnoStatus(errno, "cannot rename into", name);
  }
  if (!status.ok()) unlinkat(dir_fd, temp.c_str(), 0);
  return status;
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
  struct stat parent;
  if (fstat(dir_fd, &parent) != 0) return ErrnoStatus(errno, "cannot stat parent of", name);
  if (parent.st_dev != st.st_dev) {
    return absl::FailedPreconditionError(
        fmt::format("another filesystem is mounted at '{}'", name));
  }
  UniqueFd top(OpenDirNoFollow(dir_fd, name.c_str()));
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
  RemoveState state;
  state.top_fd = top.get();
  state.dev = st.st_dev;
  for (int pass = 0;; ++pass) {
    if (pass >= kMaxPasses) {
      return absl::AbortedError(fmt::format("'{}' keeps changing while it is removed", name));
    }
    state.again = false;
    absl::Status status = RemoveChildren(top.get(), 0, state);
    if (!status.ok()) {
      return absl::Status(status.code(), fmt::format("cannot remove '{}': {}", name,
                                                     std::string(status.message())));
    }
    if (!state.again) break;
  }
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus(errno, "cannot remove directory", name);
  }
  return true;
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

}  // namespace wod::drivers::content
