// Per-seat retry bookkeeping: capped, jittered exponential backoff after a failed action, and
// "stop until the desired state changes" after a failure whose code says retrying is useless.
// Time comes from the caller and jitter from an injected source, so tests never sleep.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace wod::controller {

struct BackoffPolicy {
  absl::Duration base = absl::Seconds(1);
  absl::Duration cap = absl::Minutes(5);
};

// True for codes that retrying cannot fix: the desired state must change first.
bool IsTerminal(absl::StatusCode code);

class SeatBackoff {
 public:
  // `jitter` returns a factor in [0.5, 1.0]; the default is random.
  explicit SeatBackoff(BackoffPolicy policy, std::function<double()> jitter = nullptr);

  // Whether the seat may act at `now` given its current desired generation. A terminal
  // failure blocks until the generation differs from the one that failed.
  bool Ready(int seat, int64_t generation, absl::Time now) const;
  // Records a failure of the seat at generation `generation`.
  void Failed(int seat, int64_t generation, const absl::Status& status, absl::Time now);
  // Clears the seat's record after a pass in which all its actions succeeded.
  void Succeeded(int seat);

  int Failures(int seat) const;
  bool Terminal(int seat, int64_t generation) const;
  // When the seat may retry; InfinitePast when it may act now.
  absl::Time NextAttempt(int seat) const;
  // The earliest pending retry, to schedule the next pass; InfiniteFuture when none.
  absl::Time EarliestRetry() const;

 private:
  struct Entry {
    int failures = 0;
    int64_t generation = 0;
    bool terminal = false;
    absl::Time next_attempt = absl::InfinitePast();
  };
  BackoffPolicy policy_;
  std::function<double()> jitter_;
  std::map<int, Entry> entries_;
};

}  // namespace wod::controller
