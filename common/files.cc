#include "common/files.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <utility>

#include "common/errno_status.h"
#include "common/fd_tree.h"
#include "common/status.h"
#include "fmt/format.h"

namespace wod::common {
namespace {

std::atomic<uint64_t> temp_counter{0};

std::string TempName(const std::string& path) {
  return fmt::format("{}.tmp-{}-{}", path, getpid(), temp_counter.fetch_add(1));
}

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

// "<name>.tmp-<digits>[-<digits>]" or "<name>.tmp.<digits>": the temp names AtomicFile and its
// predecessors used.
bool IsTempName(std::string_view name) {
  const size_t at = name.rfind(".tmp");
  if (at == std::string_view::npos || at == 0) return false;
  std::string_view rest = name.substr(at + 4);
  if (rest.size() < 2 || (rest[0] != '-' && rest[0] != '.')) return false;
  const bool dotted = rest[0] == '.';
  rest.remove_prefix(1);
  int groups = 1;
  bool digit_before = false;
  for (char c : rest) {
    if (c >= '0' && c <= '9') {
      digit_before = true;
    } else if (c == '-' && !dotted && digit_before && groups == 1) {
      ++groups;
      digit_before = false;
    } else {
      return false;
    }
  }
  return digit_before;
}

}  // namespace

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  // open/read rather than an ifstream: the errno of a failed stream is not reliable, and the
  // errno decides the code.
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.ok()) return ErrnoStatus(errno, "cannot read", path);
  std::string data;
  char buffer[65536];
  while (true) {
    const ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot read", path);
    }
    if (n == 0) break;
    data.append(buffer, static_cast<size_t>(n));
  }
  return data;
}

absl::StatusOr<AtomicFile> AtomicFile::Create(std::string path, mode_t mode, bool unnamed) {
  if (unnamed) {
    const int fd = open(DirOf(path).c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
    if (fd >= 0) {
      // Locked before it can have a name: the window between linking a temp name and the
      // rename in Commit is covered too.
      flock(fd, LOCK_EX);
      return AtomicFile(std::move(path), mode, fd, "");
    }
    // EOPNOTSUPP: a filesystem without O_TMPFILE (EISDIR from kernels that predate it). Any
    // other error the named create below meets again and reports.
  }
  std::string temp = TempName(path);
  const int fd = open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus(errno, "cannot create", temp);
  flock(fd, LOCK_EX);
  return AtomicFile(std::move(path), mode, fd, std::move(temp));
}

AtomicFile::AtomicFile(AtomicFile&& o) noexcept
    : path_(std::move(o.path_)),
      mode_(o.mode_),
      fd_(std::exchange(o.fd_, -1)),
      temp_(std::move(o.temp_)),
      committed_(std::exchange(o.committed_, true)) {}

AtomicFile::~AtomicFile() {
  if (!committed_ && !temp_.empty()) unlink(temp_.c_str());
  if (fd_ >= 0) close(fd_);
}

absl::Status AtomicFile::LinkUnnamed() {
  const std::string proc = fmt::format("/proc/self/fd/{}", fd_);
  auto link = [&](const std::string& name) -> int {
    if (linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, name.c_str(), AT_SYMLINK_FOLLOW) == 0) return 0;
    const int err = errno;
    // Without /proc, AT_EMPTY_PATH does the same (it needs CAP_DAC_READ_SEARCH: root).
    if (err == ENOENT && access("/proc/self/fd", X_OK) != 0) {
      return linkat(fd_, "", AT_FDCWD, name.c_str(), AT_EMPTY_PATH) == 0 ? 0 : errno;
    }
    return err;
  };
  // Nothing at `path` yet (a first harvest): the link is the atomic step, no name in between.
  int err = link(path_);
  if (err == 0) return absl::OkStatus();
  if (err != EEXIST) return ErrnoStatus(err, "cannot link into place", path_);
  // Something to replace: link under a temp name, rename over.
  temp_ = TempName(path_);
  if ((err = link(temp_)) != 0) {
    temp_.clear();
    return ErrnoStatus(err, "cannot link", path_);
  }
  if (rename(temp_.c_str(), path_.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot rename onto", path_);  // the destructor removes temp_
  }
  temp_.clear();
  return absl::OkStatus();
}

absl::Status AtomicFile::Commit(bool sync) {
  if (committed_) {
    return absl::FailedPreconditionError(fmt::format("'{}' is already committed", path_));
  }
  if (fchmod(fd_, mode_) != 0) return ErrnoStatus(errno, "cannot chmod", path_);
  if (sync && fsync(fd_) != 0) return ErrnoStatus(errno, "cannot sync", path_);
  if (temp_.empty()) {
    RETURN_IF_ERROR(LinkUnnamed());
  } else if (rename(temp_.c_str(), path_.c_str()) != 0) {
    return ErrnoStatus(errno, "cannot rename onto", path_);
  }
  committed_ = true;
  close(fd_);
  fd_ = -1;
  return absl::OkStatus();
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode) {
  ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::Create(path, static_cast<mode_t>(mode)));
  while (!data.empty()) {
    const ssize_t n = write(file.fd(), data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus(errno, "cannot write", path);
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return file.Commit();
}

absl::StatusOr<int> RemoveStaleTempFiles(const std::string& dir) {
  UniqueFd dir_fd(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir_fd.ok()) return ErrnoStatus(errno, "cannot open", dir);
  ASSIGN_OR_RETURN(std::vector<DirEntry> entries, ListDirAt(dir_fd.get()));
  int removed = 0;
  for (const DirEntry& e : entries) {
    if (!IsTempName(e.name)) continue;
    UniqueFd fd(
        openat(dir_fd.get(), e.name.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC));
    struct stat st;
    if (!fd.ok() || fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    // A live writer holds the lock; the kernel dropped a dead one's with its fds.
    if (flock(fd.get(), LOCK_EX | LOCK_NB) != 0) continue;
    if (unlinkat(dir_fd.get(), e.name.c_str(), 0) == 0) {
      ++removed;
    } else if (errno != ENOENT) {
      return ErrnoStatus(errno, "cannot remove", fmt::format("{}/{}", dir, e.name));
    }
  }
  return removed;
}

}  // namespace wod::common
