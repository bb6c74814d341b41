#include "drivers/accounts/home.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/errno_status.h"
#include "common/fd_tree.h"
#include "common/status.h"

namespace wod::drivers::accounts {

using common::ErrnoStatus;
using common::UniqueFd;

absl::Status EnsureHome(const std::string& root, const std::string& path, uid_t uid, gid_t gid,
                        mode_t mode) {
  ASSIGN_OR_RETURN(std::vector<std::string> parts, common::AbsolutePathParts(path));
  if (parts.empty()) return absl::InvalidArgumentError("home cannot be '/'");
  std::string parent_path = "/";
  for (size_t i = 0; i + 1 < parts.size(); ++i) absl::StrAppend(&parent_path, parts[i], "/");
  ASSIGN_OR_RETURN(UniqueFd parent,
                   common::OpenDirBelow(root, parent_path, /*create_missing=*/true));
  const std::string& name = parts.back();
  bool created = mkdirat(parent.get(), name.c_str(), 0700) == 0;
  if (!created && errno != EEXIST) return ErrnoStatus(errno, "cannot create home", path);
  UniqueFd home = common::OpenDirNoFollow(parent.get(), name);
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
  ASSIGN_OR_RETURN(std::vector<std::string> parts, common::AbsolutePathParts(path));
  if (parts.empty()) return absl::InvalidArgumentError("refusing to wipe '/'");
  ASSIGN_OR_RETURN(UniqueFd home, common::OpenDirBelow(root, path));
  if (absl::Status s = common::RemoveContents(home.get()); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cannot wipe home '", path, "': ", s.message()));
  }
  return absl::OkStatus();
}

bool HomeExists(const std::string& root, const std::string& path) {
  return common::OpenDirBelow(root, path).ok();
}

}  // namespace wod::drivers::accounts
