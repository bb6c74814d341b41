// Walking and removing directory trees that someone else controls, without ever following a
// symlink. A participant owns everything inside their home and may plant a symlink (~/x ->
// /etc), a fifo, a hard link or a directory thousands deep anywhere in it, and swap one for
// another between two of our steps; we run as root. So every step starts from a directory fd
// opened with O_NOFOLLOW and goes on with *at() calls relative to it (openat with
// O_NOFOLLOW|O_DIRECTORY, fstatat with AT_SYMLINK_NOFOLLOW, unlinkat, renameat2), never with a
// path string. Shared by the accounts driver (the home wipe) and the content driver (its
// folders), so this security-critical code exists once.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wod::common {

// An owned file descriptor, closed on destruction.
class UniqueFd {
 public:
  explicit UniqueFd(int fd = -1) : fd_(fd) {}
  UniqueFd(UniqueFd&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  UniqueFd& operator=(UniqueFd&& o) noexcept;
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd();
  int get() const { return fd_; }
  bool ok() const { return fd_ >= 0; }

 private:
  int fd_;
};

// openat(dir_fd, name, O_RDONLY|O_DIRECTORY|O_NOFOLLOW|O_CLOEXEC): not ok() with errno set
// (ELOOP for a symlink, ENOTDIR for anything else that is not a directory).
UniqueFd OpenDirNoFollow(int dir_fd, const std::string& name);

// The components of an absolute path; InvalidArgument when it is relative or has "." or "..".
// Empty components ("//") are skipped.
absl::StatusOr<std::vector<std::string>> AbsolutePathParts(std::string_view path);

// Opens the directory `path` (absolute). `root` itself is opened as given (the operator's
// prefix, "/" in production); every component of `path` below it with O_NOFOLLOW. With
// `create_missing`, missing components are made (mode 0755, owned by the caller). NotFound
// when a component is missing, FailedPrecondition when one is a symlink or not a directory.
absl::StatusOr<UniqueFd> OpenDirBelow(const std::string& root, std::string_view path,
                                      bool create_missing = false);

// Opens dir_fd/relpath as a directory, each component with O_NOFOLLOW ("" is dir_fd itself).
// InvalidArgument for an absolute path or an empty, "." or ".." component.
absl::StatusOr<UniqueFd> OpenDirAt(int dir_fd, std::string_view relpath);

struct DirEntry {
  std::string name;
  unsigned char type = 0;  // DT_* from readdir; DT_UNKNOWN on some filesystems
};
// The entries of a directory except "." and "..", sorted by name.
absl::StatusOr<std::vector<DirEntry>> ListDirAt(int dir_fd);

// Removes everything inside the directory dir_fd (dotfiles too), keeping the directory. Never
// follows a symlink (the link is removed, not its target), never opens what is not a
// directory (a fifo is unlinked, not read; a hard link loses this name only), refuses another
// filesystem mounted below (FailedPrecondition) instead of descending into it. Nesting of any
// depth is handled with a bounded number of open fds: subtrees deeper than a limit are first
// moved up into dir_fd and removed from there. Aborted when the tree keeps changing under the
// removal (a process still writing). Errors name the entry, relative to its directory.
absl::Status RemoveContents(int dir_fd);

// Removes dir_fd/name whatever it is: a symlink or file is unlinked, a directory emptied with
// RemoveContents and removed. Returns whether something was there; a missing name is success.
absl::StatusOr<bool> RemoveAt(int dir_fd, const std::string& name);

}  // namespace wod::common
