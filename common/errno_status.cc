#include "common/errno_status.h"

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace wod::common {

absl::StatusCode ErrnoCode(int err) {
  switch (err) {
    // The thing is not there. A create makes its parents, a delete calls this success; anyone
    // else reports it.
    case ENOENT:
      return absl::StatusCode::kNotFound;
    // The thing is already there: an idempotent create calls this success.
    case EEXIST:
      return absl::StatusCode::kAlreadyExists;

    // Resources that come back on their own: a full disk or quota is freed by the next
    // cleanup or an operator, a flaky device or an interrupted or busy call answers on the
    // next attempt, fds and memory are released. Retry with backoff.
    case ENOSPC:
    case EDQUOT:
    case EIO:
    case EINTR:
    case EAGAIN:
    case EBUSY:
    case EMFILE:
    case ENFILE:
    case ENOMEM:
      return absl::StatusCode::kUnavailable;

    // We lack the right (not root, a file made immutable, a security module said no):
    // retrying the same call gets the same answer until an operator changes the machine.
    case EACCES:
    case EPERM:
      return absl::StatusCode::kPermissionDenied;

    // The file system is not in a state where the step can work: a symlink planted where we
    // go without following links (ELOOP), a file where a directory belongs or the reverse, a
    // directory that is not empty, a rename across file systems, a read-only mount. The same
    // call fails the same way until the desired state (a wipe, another folder) or an operator
    // changes it: stop, report, do not spin.
    case ELOOP:
    case ENOTDIR:
    case EISDIR:
    case ENOTEMPTY:
    case EXDEV:
    case EROFS:
      return absl::StatusCode::kFailedPrecondition;

    // A name longer than the file system takes comes from desired state (a workshop folder,
    // a home): it needs a different name, not a retry.
    case ENAMETOOLONG:
      return absl::StatusCode::kInvalidArgument;

    // EBADF, EINVAL, EFAULT and anything not foreseen: a bug of ours or a case to add here.
    // Internal is retried with backoff and shows in the seat's last error.
    default:
      return absl::StatusCode::kInternal;
  }
}

absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path) {
  return absl::Status(ErrnoCode(err), fmt::format("{} '{}': {}", what, path, std::strerror(err)));
}

}  // namespace wod::common
