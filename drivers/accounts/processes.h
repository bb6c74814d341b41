// Finding and ending the processes of a uid by scanning /proc. A seat's processes must be
// gone before its home is wiped or its account deleted (userdel refuses a busy user).
#pragma once

#include <sys/types.h>

#include <string>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wod::drivers::accounts {

// Live processes whose real or effective uid is in [uid_lo, uid_hi], by uid, pids sorted.
// Zombies are left out: they are dead already and only wait for their parent to reap them.
absl::StatusOr<std::unordered_map<uid_t, std::vector<pid_t>>> ScanProcesses(
    const std::string& proc_dir, uid_t uid_lo, uid_t uid_hi);

struct KillOptions {
  absl::Duration grace = absl::Seconds(2);         // between SIGTERM and SIGKILL
  absl::Duration kill_timeout = absl::Seconds(5);  // how long SIGKILL may take to show
  absl::Duration poll = absl::Milliseconds(20);
};

// Sends SIGTERM to every process of `uid`, waits up to `grace` for them to exit, then
// SIGKILLs whatever is left (again and again, so children forked meanwhile die too). OK when
// none remains; Unavailable when some survive (e.g. stuck in uninterruptible sleep).
// Signals go through pidfds, re-checked against the uid after opening, so a pid reused by
// another process between the scan and the signal is never hit. Refuses uid 0.
absl::Status KillProcessesOf(const std::string& proc_dir, uid_t uid,
                             const KillOptions& options = {});

}  // namespace wod::drivers::accounts
