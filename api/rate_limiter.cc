#include "api/rate_limiter.h"

#include <algorithm>
#include <cmath>

namespace wod::api {

absl::Duration RateLimiter::Take(const std::string& key) {
  if (!limit_.enabled()) return absl::ZeroDuration();
  const absl::Time now = clock_->Now();
  const double per_second = limit_.per_minute / 60.0;
  std::lock_guard<std::mutex> lock(mu_);
  if (buckets_.size() > 10'000 || now - last_prune_ > absl::Minutes(1)) PruneLocked(now);
  auto [it, inserted] = buckets_.try_emplace(key, Bucket{limit_.burst, now});
  Bucket& b = it->second;
  if (!inserted) {
    double elapsed = std::max(0.0, absl::ToDoubleSeconds(now - b.updated));
    b.tokens = std::min(limit_.burst, b.tokens + elapsed * per_second);
    b.updated = std::max(b.updated, now);
  }
  if (b.tokens >= 1) {
    b.tokens -= 1;
    return absl::ZeroDuration();
  }
  return absl::Seconds((1 - b.tokens) / per_second);
}

void RateLimiter::PruneLocked(absl::Time now) {
  last_prune_ = now;
  const double per_second = limit_.per_minute / 60.0;
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    double refill = absl::ToDoubleSeconds(now - it->second.updated) * per_second;
    if (it->second.tokens + refill >= limit_.burst) {
      it = buckets_.erase(it);
    } else {
      ++it;
    }
  }
}

size_t RateLimiter::tracked_keys() const {
  std::lock_guard<std::mutex> lock(mu_);
  return buckets_.size();
}

}  // namespace wod::api
