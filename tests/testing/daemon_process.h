// A long-running `wod` subcommand (controller, up, serve) started by a test as a child
// process, with stdout and stderr in one log file the test can wait on. Killed (SIGKILL) when
// the object goes, so a failed test leaves no process behind.
#pragma once

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace wod::testing {

inline std::string ReadFile(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

class DaemonProcess {
 public:
  using Clock = std::chrono::steady_clock;

  // Runs `binary args...` with stdin from /dev/null and stdout + stderr into `log`.
  DaemonProcess(const std::string& binary, std::vector<std::string> args, std::filesystem::path log)
      : log_(std::move(log)) {
    args.insert(args.begin(), binary);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (posix_spawn(&pid_, binary.c_str(), &fa, nullptr, argv.data(), environ) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
  }
  DaemonProcess(const DaemonProcess&) = delete;
  DaemonProcess& operator=(const DaemonProcess&) = delete;
  ~DaemonProcess() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  bool started() const { return pid_ > 0; }
  std::string log() const { return ReadFile(log_); }
  // Nothing when the process was never started or is already reaped: kill(-1, sig) would
  // signal every process the test may signal (as root: all of them).
  void Signal(int sig) {
    if (pid_ > 0) kill(pid_, sig);
  }

  // Waits until the log contains `text`.
  bool WaitForLog(const std::string& text, std::chrono::milliseconds timeout) const {
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      if (log().find(text) != std::string::npos) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return log().find(text) != std::string::npos;
  }

  // Waits until the log matches `pattern`; its first capture group, or "" at timeout.
  std::string WaitForMatch(const std::string& pattern, std::chrono::milliseconds timeout) const {
    const std::regex re(pattern);
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      std::smatch m;
      const std::string text = log();
      if (std::regex_search(text, m, re) && m.size() > 1) return m[1];
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return "";
  }

  // Waits for the process to end; its exit code, or -1 (killed, or still running at timeout).
  int Wait(std::chrono::milliseconds timeout) {
    if (pid_ <= 0) return -1;  // waitpid(-1) would reap any child of the test
    auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return -1;
  }

 private:
  std::filesystem::path log_;
  pid_t pid_ = -1;
};

}  // namespace wod::testing
