// Creating and wiping home directories without ever following a symlink: a student owns
// everything inside the home and may plant symlinks to /etc or to other homes there, so every
// step is fd-relative (openat/unlinkat with O_NOFOLLOW / AT_SYMLINK_NOFOLLOW) from a
// directory already opened without following links. The walk itself is common/fd_tree.h,
// shared with the content driver.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/status.h"

namespace wod::drivers::accounts {

// Makes `path` (absolute, inside `root`) a directory if it is missing: missing parents get
// mode 0755 and root's ownership, the home itself `mode` and uid:gid. An existing home gets
// that owner and mode too (its contents are left as they are). FailedPrecondition when a
// component is a symlink or not a directory.
absl::Status EnsureHome(const std::string& root, const std::string& path, uid_t uid, gid_t gid,
                        mode_t mode = 0700);

// Removes everything inside the home (dotfiles too), keeping the home directory itself with
// its owner and mode. Symlinks are removed, never followed; other filesystems mounted below
// the home are refused (FailedPrecondition) rather than descended into. Nesting of any depth
// is handled with a bounded number of open fds: subtrees deeper than a limit are first moved
// up to the home and removed from there. NotFound when the home does not exist.
absl::Status WipeHome(const std::string& root, const std::string& path);

// True when `path` inside `root` is a directory reached without symlinks.
bool HomeExists(const std::string& root, const std::string& path);

}  // namespace wod::drivers::accounts
