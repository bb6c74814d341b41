#include "controller/backoff.h"

#include <algorithm>
#include <cmath>

#include "common/random.h"

namespace wod::controller {

bool IsTerminal(absl::StatusCode code) {
  return code == absl::StatusCode::kInvalidArgument ||
         code == absl::StatusCode::kFailedPrecondition ||
         code == absl::StatusCode::kPermissionDenied;
}

SeatBackoff::SeatBackoff(BackoffPolicy policy, std::function<double()> jitter)
    : policy_(policy), jitter_(std::move(jitter)) {
  if (!jitter_) {
    jitter_ = [] { return 0.5 + common::RandomUniform(1'000'001) / 2'000'000.0; };
  }
}

bool SeatBackoff::Ready(int seat, int64_t generation, absl::Time now) const {
  auto it = entries_.find(seat);
  if (it == entries_.end()) return true;
  if (it->second.generation != generation) return true;  // desired state changed: try again
  if (it->second.terminal) return false;
  return now >= it->second.next_attempt;
}

void SeatBackoff::Failed(int seat, int64_t generation, const absl::Status& status, absl::Time now) {
  Entry& e = entries_[seat];
  if (e.generation != generation) e = Entry{};
  e.generation = generation;
  e.failures++;
  e.terminal = IsTerminal(status.code());
  if (status.code() == absl::StatusCode::kAborted) {
    // The world moved under us: re-observe at once, no penalty.
    e.next_attempt = now;
    return;
  }
  double factor = std::ldexp(1.0, std::min(e.failures - 1, 30));
  absl::Duration delay = std::min(policy_.cap, policy_.base * factor);
  e.next_attempt = now + delay * std::clamp(jitter_(), 0.5, 1.0);
}

void SeatBackoff::Succeeded(int seat) { entries_.erase(seat); }

int SeatBackoff::Failures(int seat) const {
  auto it = entries_.find(seat);
  return it == entries_.end() ? 0 : it->second.failures;
}

bool SeatBackoff::Terminal(int seat, int64_t generation) const {
  auto it = entries_.find(seat);
  return it != entries_.end() && it->second.terminal && it->second.generation == generation;
}

absl::Time SeatBackoff::NextAttempt(int seat) const {
  auto it = entries_.find(seat);
  return it == entries_.end() ? absl::InfinitePast() : it->second.next_attempt;
}

absl::Time SeatBackoff::EarliestRetry() const {
  absl::Time t = absl::InfiniteFuture();
  for (const auto& [seat, e] : entries_) {
    if (!e.terminal) t = std::min(t, e.next_attempt);
  }
  return t;
}

}  // namespace wod::controller
