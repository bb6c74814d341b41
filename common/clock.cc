#include "common/clock.h"

#include <string>

namespace wod::common {

RealClock* RealClock::Get() {
  static RealClock clock;
  return &clock;
}

std::string FormatTime(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

bool ParseTime(std::string_view text, absl::Time* t) {
  std::string err;
  return absl::ParseTime(absl::RFC3339_full, std::string(text), absl::UTCTimeZone(), t, &err);
}

}  // namespace wod::common
