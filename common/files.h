// Filesystem helpers: whole-file reads and atomic replacement that leaves no temp file behind,
// even when the writer is SIGKILLed.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wod::common {

absl::StatusOr<std::string> ReadFile(const std::string& path);

// A file written whole, then put at `path` atomically: a reader sees the old file or the new
// one, never a part. It is written unnamed (O_TMPFILE in path's directory) and given a name
// only when complete, so a writer killed mid-write leaves nothing. Where the filesystem has no
// O_TMPFILE it is written as "<path>.tmp-<pid>-<n>" instead, held under an flock for as long
// as the writer lives, so RemoveStaleTempFiles can tell a dead writer's file from a live one.
class AtomicFile {
 public:
  // `unnamed` false skips O_TMPFILE (for tests of the fallback).
  static absl::StatusOr<AtomicFile> Create(std::string path, mode_t mode, bool unnamed = true);
  AtomicFile(AtomicFile&& o) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;
  // Not committed: the temp name, if there is one, is removed.
  ~AtomicFile();

  int fd() const { return fd_; }
  bool unnamed() const { return temp_.empty(); }

  // Sets the mode, fsyncs (when `sync`) and puts the file at `path`, replacing what is there.
  absl::Status Commit(bool sync = true);

 private:
  AtomicFile(std::string path, mode_t mode, int fd, std::string temp)
      : path_(std::move(path)), mode_(mode), fd_(fd), temp_(std::move(temp)) {}
  absl::Status LinkUnnamed();

  std::string path_;
  mode_t mode_;
  int fd_;
  std::string temp_;  // the fallback's temp name; "" while unnamed
  bool committed_ = false;
};

// Writes `data` to `path` through an AtomicFile with `mode`, fsynced.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data, int mode = 0644);

// Removes the temp files of AtomicFile writers that died in `dir` ("<name>.tmp-<pid>-<n>",
// and the "<name>.tmp-<pid>" / "<name>.tmp.<pid>" of earlier versions): those whose flock can
// be taken, which no live writer holds. Returns how many were removed. For a directory only
// wod writes to, at start.
absl::StatusOr<int> RemoveStaleTempFiles(const std::string& dir);

}  // namespace wod::common
