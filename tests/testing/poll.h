// Waiting helpers of the end-to-end tests: they watch real daemons, so they poll.
#pragma once

#include <chrono>
#include <functional>
#include <thread>

namespace wod::testing {

// Seconds since `since` on the steady clock, for the tests' timestamped step lines.
inline double SecondsSince(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// Calls `done` every 50 ms until it is true or `timeout` passes; its last answer.
inline bool Poll(std::chrono::milliseconds timeout, const std::function<bool()>& done) {
  const auto end = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (done()) return true;
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

}  // namespace wod::testing
