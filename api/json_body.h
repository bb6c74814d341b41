// Strict JSON request bodies. A body is one JSON object, valid UTF-8, without duplicate keys,
// checked against a declared list of fields: an unknown field, a missing required one or a
// value of the wrong type is an error naming the field. Nothing of a body is ever stored
// without passing through such a declaration (WoD copies bodies into its rows as they come).
#pragma once

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>

#include <nlohmann/json.hpp>

#include "api/api_error.h"

namespace wod::api {

enum class JsonType { kString, kBool, kInteger, kNumber, kObject, kArray };
const char* JsonTypeName(JsonType t);

struct FieldSpec {
  const char* name;
  JsonType type;
  bool required = true;
};

// Parses `text` into `*out`. Errors (400): `invalid_json` (not JSON, bad UTF-8, trailing
// bytes), `duplicate_field` (a key given twice in one object, named), `invalid_body` (not an
// object, or nested deeper than `max_depth`).
std::optional<ApiError> ParseJsonBody(std::string_view text, nlohmann::json* out,
                                      int max_depth = 8);

// Checks the members of `body` (an object) against `fields`, in this order: every member is
// declared (`unknown_field`), every required field is present (`missing_field`), every
// present field has its type (`wrong_type`; null is a wrong type). The first problem found
// is returned; unknown fields are reported in key order.
std::optional<ApiError> CheckFields(const nlohmann::json& body, std::span<const FieldSpec> fields);

}  // namespace wod::api
