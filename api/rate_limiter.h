// A token bucket per key (the client's IP address): `burst` requests at once, then `per_minute`
// a minute. Time comes from the injected clock so tests never sleep.
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "absl/time/time.h"
#include "common/clock.h"

namespace wod::api {

struct RateLimit {
  double per_minute = 30;  // refill rate; <= 0 disables the limit
  double burst = 10;       // bucket size
  bool enabled() const { return per_minute > 0 && burst >= 1; }
};

class RateLimiter {
 public:
  RateLimiter(RateLimit limit, const common::Clock* clock) : limit_(limit), clock_(clock) {}

  // Takes one token for `key`. Returns zero when allowed, otherwise how long until a token
  // is available (> 0).
  absl::Duration Take(const std::string& key);

  size_t tracked_keys() const;

 private:
  struct Bucket {
    double tokens = 0;
    absl::Time updated;
  };
  // Forgets buckets that have refilled completely (equivalent to a fresh one).
  void PruneLocked(absl::Time now);

  const RateLimit limit_;
  const common::Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, Bucket> buckets_;
  absl::Time last_prune_ = absl::InfinitePast();
};

}  // namespace wod::api
