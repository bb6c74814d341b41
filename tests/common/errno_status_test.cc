// The errno table: each row is a code the drivers meet and what the controller does with it.
// A change here changes retries; the row's reason is in common/errno_status.cc.
#include "common/errno_status.h"

#include <cerrno>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace wod::common {
namespace {

using ::testing::HasSubstr;
using ::wod::testing::StatusIs;

// What the controller's backoff does with a code (controller/backoff.cc, DESIGN.md).
enum class Next {
  kRetry,          // Unavailable: the same call again, after a backoff
  kStop,           // InvalidArgument / FailedPrecondition / PermissionDenied: until desired
                   // state or an operator changes something
  kCallerDecides,  // NotFound / AlreadyExists: success for an idempotent delete / create
  kBug,            // Internal: retried with backoff and reported
};

Next NextFor(absl::StatusCode code) {
  switch (code) {
    case absl::StatusCode::kUnavailable:
      return Next::kRetry;
    case absl::StatusCode::kInvalidArgument:
    case absl::StatusCode::kFailedPrecondition:
    case absl::StatusCode::kPermissionDenied:
      return Next::kStop;
    case absl::StatusCode::kNotFound:
    case absl::StatusCode::kAlreadyExists:
      return Next::kCallerDecides;
    default:
      return Next::kBug;
  }
}

struct Row {
  int err;
  const char* name;
  absl::StatusCode code;
  Next next;
};

constexpr Row kTable[] = {
    // A full disk or quota is freed by the next cleanup or an operator: retry.
    {ENOSPC, "ENOSPC", absl::StatusCode::kUnavailable, Next::kRetry},
    {EDQUOT, "EDQUOT", absl::StatusCode::kUnavailable, Next::kRetry},
    // A device error may pass; if it does not, the backoff caps and the error shows.
    {EIO, "EIO", absl::StatusCode::kUnavailable, Next::kRetry},
    // Interrupted or would block: the next attempt goes through.
    {EINTR, "EINTR", absl::StatusCode::kUnavailable, Next::kRetry},
    {EAGAIN, "EAGAIN", absl::StatusCode::kUnavailable, Next::kRetry},
    {EMFILE, "EMFILE", absl::StatusCode::kUnavailable, Next::kRetry},
    // No right to do it: the same answer until an operator changes the machine.
    {EACCES, "EACCES", absl::StatusCode::kPermissionDenied, Next::kStop},
    {EPERM, "EPERM", absl::StatusCode::kPermissionDenied, Next::kStop},
    // A read-only mount is a state of the machine, not a missing right: stop until remounted.
    {EROFS, "EROFS", absl::StatusCode::kFailedPrecondition, Next::kStop},
    // Missing / already there: the caller knows whether that is success (delete / create).
    {ENOENT, "ENOENT", absl::StatusCode::kNotFound, Next::kCallerDecides},
    {EEXIST, "EEXIST", absl::StatusCode::kAlreadyExists, Next::kCallerDecides},
    // A symlink planted where we never follow one, or a file where a directory belongs:
    // retrying does the same; the wipe at turnover (desired state) clears it.
    {ELOOP, "ELOOP", absl::StatusCode::kFailedPrecondition, Next::kStop},
    {ENOTDIR, "ENOTDIR", absl::StatusCode::kFailedPrecondition, Next::kStop},
    {ENOTEMPTY, "ENOTEMPTY", absl::StatusCode::kFailedPrecondition, Next::kStop},
    // A name the file system cannot hold came from desired state.
    {ENAMETOOLONG, "ENAMETOOLONG", absl::StatusCode::kInvalidArgument, Next::kStop},
    // Our bug (a bad fd or argument) or an errno nobody planned for.
    {EBADF, "EBADF", absl::StatusCode::kInternal, Next::kBug},
    {EINVAL, "EINVAL", absl::StatusCode::kInternal, Next::kBug},
    {12345, "unknown", absl::StatusCode::kInternal, Next::kBug},
};

TEST(ErrnoStatus, EachCodeCarriesItsRetryMeaning) {
  for (const Row& row : kTable) {
    SCOPED_TRACE(row.name);
    EXPECT_EQ(ErrnoCode(row.err), row.code);
    EXPECT_EQ(NextFor(ErrnoCode(row.err)), row.next);
    EXPECT_THAT(ErrnoStatus(row.err, "cannot write", "/x"), StatusIs(row.code));
  }
}

TEST(ErrnoStatus, MessageNamesWhatAndPathAndTheSystemsWords) {
  const absl::Status s = ErrnoStatus(ENOSPC, "cannot write", "/var/lib/wod/a.tar.gz");
  EXPECT_EQ(s.message(), "cannot write '/var/lib/wod/a.tar.gz': No space left on device");
}

}  // namespace
}  // namespace wod::common
