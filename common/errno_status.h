// One translation of an errno into an absl::Status, for every folder that makes system calls.
// The code is what the controller does next (DESIGN.md, "Drivers"): Unavailable = retry with
// backoff, Aborted = re-observe, InvalidArgument / FailedPrecondition / PermissionDenied = stop
// until the desired state (or an operator) changes something, Internal = a bug or an errno
// nobody planned for. Written once because these codes decide retries: ENOSPC was Unavailable
// in one driver and Internal in another.
#pragma once

#include <string_view>

#include "absl/status/status.h"

namespace wod::common {

// The code for `err`; each case's reason is in errno_status.cc, the table test in
// tests/common/errno_status_test.cc.
absl::StatusCode ErrnoCode(int err);

// "<what> '<path>': <strerror(err)>" with ErrnoCode(err), e.g. ErrnoStatus(errno, "cannot
// create", tmp). The message names the path, never file contents.
absl::Status ErrnoStatus(int err, std::string_view what, std::string_view path);

}  // namespace wod::common
