// Filesystem steps inside a participant's home that never follow a symlink. The participant
// owns the home and may plant a symlink anywhere in it (~/WKSHP-X -> /etc, ~/.wod -> /root)
// between two of our steps, and we run as root: so every step starts from a directory fd
// opened with O_NOFOLLOW and goes on with *at() calls relative to it (openat with O_NOFOLLOW,
// fstatat/unlinkat/renameat, which never follow the last component), never with a path string.
// What is in the way of something we create (a symlink, a file) is removed — the link itself,
// never its target. The walking and removing (UniqueFd, OpenDirAt, RemoveAt, ...) is
// common/fd_tree.h, shared with the accounts driver's home wipe; this file adds the writes and
// reads the content driver makes.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "common/errno_status.h"
#include "common/fd_tree.h"

namespace wod::drivers::content {

// The shared no-follow primitives and errno mapping, named here too so the content driver
// reads as one vocabulary.
using common::DirEntry;
using common::ErrnoStatus;
using common::ListDirAt;
using common::OpenDirAt;
using common::OpenDirBelow;
using common::RemoveAt;
using common::UniqueFd;

// Who owns what we create. With chown false (not root, or `wod content render`) files keep the
// creating user.
struct Owner {
  uid_t uid = 0;
  gid_t gid = 0;
  bool chown = false;
};

// Identity of a file's current version: cheap to compare, changes whenever the file is
// replaced (ino), written (size, mtime, ctime) or touched back (ctime).
struct FileStamp {
  dev_t dev = 0;
  ino_t ino = 0;
  off_t size = 0;
  int64_t mtime_ns = 0;
  int64_t ctime_ns = 0;
  bool operator==(const FileStamp&) const = default;
};
FileStamp StampOf(const struct stat& st);

// lstat of dir_fd/relpath: intermediate components are opened with O_NOFOLLOW and the last one
// is not followed either.
absl::StatusOr<struct stat> StatAt(int dir_fd, std::string_view relpath);

// Reads the regular file dir_fd/relpath without following any symlink. FailedPrecondition when
// it is not a regular file or is larger than max_bytes. `st` receives its fstat.
absl::StatusOr<std::string> ReadFileAt(int dir_fd, std::string_view relpath, size_t max_bytes,
                                       struct stat* st = nullptr);

// Opens directory `name` in dir_fd, creating it with `mode` (and `owner`) when missing. A
// symlink or non-directory called `name` is removed first. An existing directory is kept as
// it is (owner and mode untouched).
absl::StatusOr<UniqueFd> EnsureDirAt(int dir_fd, const std::string& name, mode_t mode,
                                     const Owner& owner);

// Creates the new file dir_fd/name (O_EXCL: fails if anything is there) with `data`, `mode`
// and `owner`.
absl::Status CreateFileAt(int dir_fd, const std::string& name, std::string_view data, mode_t mode,
                          const Owner& owner);

// Replaces dir_fd/name atomically: a new temp file beside it (O_EXCL), fchmod, fchown, fsync
// (when `sync`), renameat over `name` (a symlink there is replaced, not followed).
absl::Status WriteFileAt(int dir_fd, const std::string& name, std::string_view data, mode_t mode,
                         const Owner& owner, bool sync);

}  // namespace wod::drivers::content
