// The JSON form of a drift entry, one shape for the API (`GET /api/v1/drift`) and
// `wod drift --json`.
#pragma once

#include <nlohmann/json.hpp>

#include "store/store.h"

namespace wod::store {

// {"location", "seat", "domain", "expected", "observed", "planned", "since"}
nlohmann::json DriftEntryToJson(const DriftEntry& d);

}  // namespace wod::store
