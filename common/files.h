// Filesystem helpers: whole-file reads and atomic replacement (temp file, fsync, rename).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace wod::common {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// Writes `data` to a temp file beside `path`, fsyncs it, sets `mode`, and renames it over
// `path`, so a reader sees the old or the new content, never a mix.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644);

}  // namespace wod::common
