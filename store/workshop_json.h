// The stored form of a workshop spec: the whole model::Workshop as JSON, and the canonical
// hash the store compares to decide whether a catalog load really changed a workshop.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "model/types.h"

namespace wod::store {

// Canonical JSON: object keys sorted, no whitespace. Equal workshops give equal text.
std::string WorkshopToJson(const model::Workshop& w);
absl::StatusOr<model::Workshop> WorkshopFromJson(const std::string& text);
// Hex SHA-256 of WorkshopToJson(w).
std::string WorkshopSpecHash(const model::Workshop& w);

}  // namespace wod::store
