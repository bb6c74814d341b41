// Runs an external program from an argv vector through posix_spawn (execve underneath), never
// through a shell, so untrusted text in an argument stays one argument.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wod::common {

struct SubprocessResult {
  int exit_code = -1;  // -1 when killed by a signal
  int signal = 0;
  std::string stdout_text;
  std::string stderr_text;
};

struct SubprocessOptions {
  std::string stdin_text;  // written to the child's stdin, then closed
  absl::Duration timeout = absl::Seconds(60);
  // Extra environment entries "K=V"; the child gets a minimal PATH plus these.
  std::vector<std::string> env;
};

// argv[0] is an absolute path or a name looked up in /usr/sbin:/usr/bin:/sbin:/bin.
// Returns Unavailable when the program cannot be started or times out (the child is killed);
// a non-zero exit is not an error here: callers read exit_code.
absl::StatusOr<SubprocessResult> RunProcess(const std::vector<std::string>& argv,
                                            const SubprocessOptions& options = {});

}  // namespace wod::common
