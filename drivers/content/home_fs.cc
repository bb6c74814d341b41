#include "drivers/content/home_fs.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <utility>

#include "common/status.h"
#include "fmt/format.h"

namespace wod::drivers::content {
namespace {

std::atomic<uint64_t> temp_counter{0};

std::string TempName(std::string_view base) {
  return fmt::format(".{}.wod-tmp-{}-{}", base, getpid(), temp_counter.fetch_add(1));
}

// The directory that holds a relative path's last component, opened without following links
// (`at` is dir_fd itself when the path has no directory part), and that component.
// InvalidArgument for an absolute path or an empty, "." or ".." last component; OpenDirAt checks
// the directory part.
struct Parent {
  UniqueFd dir;  // empty when the parent is dir_fd
  int at = -1;
  std::string last;
};

absl::StatusOr<Parent> OpenParent(int dir_fd, std::string_view relpath) {
  if (relpath.empty()) return absl::InvalidArgumentError("empty path");
  if (relpath.front() == '/') {
    return absl::InvalidArgumentError(fmt::format("path '{}' is not relative", relpath));
  }
  const size_t slash = relpath.rfind('/');
  Parent p;
  p.last = std::string(slash == std::string_view::npos ? relpath : relpath.substr(slash + 1));
  if (p.last.empty() || p.last == "." || p.last == "..") {
    return absl::InvalidArgumentError(
        fmt::format("path '{}' has an empty, '.' or '..' part", relpath));
  }
  p.at = dir_fd;
  if (slash != std::string_view::npos) {
    ASSIGN_OR_RETURN(p.dir, OpenDirAt(dir_fd, relpath.substr(0, slash)));
    p.at = p.dir.get();
  }
  return p;
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

}  // namespace

FileStamp StampOf(const struct stat& st) {
  FileStamp s;
  s.dev = st.st_dev;
  s.ino = st.st_ino;
  s.size = st.st_size;
  s.mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
  s.ctime_ns = static_cast<int64_t>(st.st_ctim.tv_sec) * 1000000000 + st.st_ctim.tv_nsec;
  return s;
}

absl::StatusOr<struct stat> StatAt(int dir_fd, std::string_view relpath) {
  ASSIGN_OR_RETURN(const Parent parent, OpenParent(dir_fd, relpath));
  struct stat st;
  if (fstatat(parent.at, parent.last.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus(errno, "cannot stat", relpath);
  }
  return st;
}

absl::StatusOr<std::string> ReadFileAt(int dir_fd, std::string_view relpath, size_t max_bytes,
                                       struct stat* st_out) {
  ASSIGN_OR_RETURN(const Parent parent, OpenParent(dir_fd, relpath));
  // O_NONBLOCK: a fifo planted under a notebook's name must not hang the pass.
  UniqueFd fd(
      openat(parent.at, parent.last.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK));
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
    UniqueFd fd = common::OpenDirNoFollow(dir_fd, name);
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
    UniqueFd made = common::OpenDirNoFollow(dir_fd, name);
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

}  // namespace wod::drivers::content
