#include "store/drift_json.h"

#include "common/clock.h"

namespace wod::store {

nlohmann::json DriftEntryToJson(const DriftEntry& d) {
  return {{"location", d.location},
          {"seat", d.seat},
          {"domain", d.domain},
          {"expected", d.expected},
          {"observed", d.observed},
          {"planned", d.planned},
          {"since", common::FormatTime(d.since)}};
}

}  // namespace wod::store
