#include "drivers/accounts/processes.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <set>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace wod::drivers::accounts {
namespace {

struct ProcInfo {
  uid_t real_uid = 0;
  uid_t effective_uid = 0;
  bool zombie = false;
};

// Parses the "State:" and "Uid:" lines of /proc/<pid>/status. False when the process is gone
// or the file does not look as expected.
bool ReadProcInfo(int proc_fd, std::string_view pid, ProcInfo* info) {
  std::string path = std::string(pid) + "/status";
  int fd = openat(proc_fd, path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  // Uid: is within the first ~10 lines; 4 KiB holds them with room to spare.
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  close(fd);
  if (n <= 0) return false;
  std::string_view text(buf, static_cast<size_t>(n));
  bool have_uid = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    if (line.substr(0, 6) == "State:") {
      size_t state = line.find_first_not_of(" \t", 6);
      info->zombie = state != std::string_view::npos && (line[state] == 'Z' || line[state] == 'X');
    } else if (line.substr(0, 4) == "Uid:") {
      line.remove_prefix(4);
      uid_t ids[2] = {0, 0};
      for (uid_t& id : ids) {
        while (!line.empty() && (line.front() == '\t' || line.front() == ' ')) {
          line.remove_prefix(1);
        }
        auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), id);
        if (ec != std::errc()) return false;
        line.remove_prefix(static_cast<size_t>(ptr - line.data()));
      }
      info->real_uid = ids[0];
      info->effective_uid = ids[1];
      have_uid = true;
      break;  // State: comes before Uid:
    }
  }
  return have_uid;
}

bool ParsePid(const char* name, pid_t* pid) {
  std::string_view s(name);
  if (s.empty() || s.front() < '1' || s.front() > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), *pid);
  return ec == std::errc() && ptr == s.data() + s.size();
}

// Calls fn(pid, info) for every live process in proc_dir.
template <typename Fn>
absl::Status ForEachProcess(const std::string& proc_dir, Fn&& fn) {
  int proc_fd = open(proc_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (proc_fd < 0) {
    return absl::UnavailableError(
        absl::StrCat("cannot open '", proc_dir, "': ", std::strerror(errno)));
  }
  int list_fd = dup(proc_fd);
  DIR* dir = list_fd >= 0 ? fdopendir(list_fd) : nullptr;
  if (dir == nullptr) {
    if (list_fd >= 0) close(list_fd);
    close(proc_fd);
    return absl::UnavailableError(absl::StrCat("cannot list '", proc_dir, "'"));
  }
  const pid_t self = getpid();  // the controller never signals or reports itself
  while (dirent* entry = readdir(dir)) {
    pid_t pid = 0;
    if (!ParsePid(entry->d_name, &pid) || pid == self) continue;
    ProcInfo info;
    if (!ReadProcInfo(proc_fd, entry->d_name, &info) || info.zombie) continue;
    fn(pid, info);
  }
  closedir(dir);
  close(proc_fd);
  return absl::OkStatus();
}

std::vector<pid_t> PidsOf(const std::string& proc_dir, uid_t uid, absl::Status* status) {
  std::vector<pid_t> pids;
  *status = ForEachProcess(proc_dir, [&](pid_t pid, const ProcInfo& info) {
    if (info.real_uid == uid || info.effective_uid == uid) pids.push_back(pid);
  });
  return pids;
}

// Signals `pid` only if, seen through a pidfd, it still runs as `uid`.
void SignalIfOwnedBy(const std::string& proc_dir, pid_t pid, uid_t uid, int sig) {
  int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd < 0) {
    if (errno == ENOSYS) kill(pid, sig);  // pre-5.3 kernel: the small reuse race remains
    return;
  }
  // The pidfd pins the process that had `pid` when it was opened; if the pid was reused
  // before that, the status read now shows the new process's uid and we leave it alone.
  int proc_fd = open(proc_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ProcInfo info;
  bool owned = proc_fd >= 0 && ReadProcInfo(proc_fd, std::to_string(pid), &info) &&
               (info.real_uid == uid || info.effective_uid == uid);
  if (proc_fd >= 0) close(proc_fd);
  if (owned) syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0);
  close(pidfd);
}

}  // namespace

absl::StatusOr<std::unordered_map<uid_t, std::vector<pid_t>>> ScanProcesses(
    const std::string& proc_dir, uid_t uid_lo, uid_t uid_hi) {
  std::unordered_map<uid_t, std::vector<pid_t>> by_uid;
  absl::Status status = ForEachProcess(proc_dir, [&](pid_t pid, const ProcInfo& info) {
    if (info.real_uid >= uid_lo && info.real_uid <= uid_hi) {
      by_uid[info.real_uid].push_back(pid);
    } else if (info.effective_uid >= uid_lo && info.effective_uid <= uid_hi) {
      by_uid[info.effective_uid].push_back(pid);
    }
  });
  if (!status.ok()) return status;
  for (auto& [uid, pids] : by_uid) std::sort(pids.begin(), pids.end());
  return by_uid;
}

absl::Status KillProcessesOf(const std::string& proc_dir, uid_t uid, const KillOptions& options) {
  if (uid == 0) return absl::InvalidArgumentError("refusing to kill the processes of uid 0");
  absl::Status status;
  std::vector<pid_t> pids = PidsOf(proc_dir, uid, &status);
  if (!status.ok()) return status;
  if (pids.empty()) return absl::OkStatus();

  // Polite first: SIGTERM once to each process, including ones forked while we wait.
  std::set<pid_t> termed;
  absl::Time term_deadline = absl::Now() + options.grace;
  while (!pids.empty()) {
    for (pid_t pid : pids) {
      if (termed.insert(pid).second) SignalIfOwnedBy(proc_dir, pid, uid, SIGTERM);
    }
    if (absl::Now() >= term_deadline) break;
    absl::SleepFor(std::min(options.poll, term_deadline - absl::Now()));
    pids = PidsOf(proc_dir, uid, &status);
    if (!status.ok()) return status;
  }
  if (pids.empty()) return absl::OkStatus();

  absl::Time kill_deadline = absl::Now() + options.kill_timeout;
  while (true) {
    for (pid_t pid : pids) SignalIfOwnedBy(proc_dir, pid, uid, SIGKILL);
    absl::SleepFor(absl::Milliseconds(5));
    pids = PidsOf(proc_dir, uid, &status);
    if (!status.ok()) return status;
    if (pids.empty()) return absl::OkStatus();
    if (absl::Now() >= kill_deadline) break;
  }
  return absl::UnavailableError(absl::StrCat(pids.size(), " processes of uid ", uid,
                                             " survived SIGKILL, first pid ", pids.front()));
}

}  // namespace wod::drivers::accounts
