#include "api/json_body.h"

#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"

namespace wod::api {
namespace {

using json = nlohmann::json;

// A key the client sent, bounded for the error (Dump replaces a cut UTF-8 sequence).
std::string FieldName(std::string_view key) {
  constexpr size_t kMax = 64;
  return std::string(key.substr(0, kMax));
}

bool HasType(const json& v, JsonType t) {
  switch (t) {
    case JsonType::kString:
      return v.is_string();
    case JsonType::kBool:
      return v.is_boolean();
    case JsonType::kInteger:
      return v.is_number_integer();
    case JsonType::kNumber:
      return v.is_number();
    case JsonType::kObject:
      return v.is_object();
    case JsonType::kArray:
      return v.is_array();
  }
  return false;
}

}  // namespace

const char* JsonTypeName(JsonType t) {
  switch (t) {
    case JsonType::kString:
      return "a string";
    case JsonType::kBool:
      return "a boolean";
    case JsonType::kInteger:
      return "an integer";
    case JsonType::kNumber:
      return "a number";
    case JsonType::kObject:
      return "an object";
    case JsonType::kArray:
      return "an array";
  }
  return "?";
}

std::optional<ApiError> ParseJsonBody(std::string_view text, json* out, int max_depth) {
  // nlohmann keeps the last of duplicate keys silently; the callback sees every key, so it
  // tracks the keys of each open object and remembers the first duplicate.
  std::vector<std::set<std::string>> open;
  std::optional<std::string> duplicate;
  bool too_deep = false;
  auto callback = [&](int depth, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        open.emplace_back();
        if (depth >= max_depth) too_deep = true;
        break;
      case json::parse_event_t::array_start:
        if (depth >= max_depth) too_deep = true;
        break;
      case json::parse_event_t::object_end:
        if (!open.empty()) open.pop_back();
        break;
      case json::parse_event_t::key:
        if (!open.empty() && parsed.is_string() &&
            !open.back().insert(parsed.get<std::string>()).second && !duplicate) {
          duplicate = parsed.get<std::string>();
        }
        break;
      default:
        break;
    }
    return true;
  };
  json parsed = json::parse(text.begin(), text.end(), callback, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    return BadRequest("invalid_json", "", "the request body is not valid JSON");
  }
  if (duplicate) {
    return BadRequest("duplicate_field", FieldName(*duplicate),
                      absl::StrCat("field '", FieldName(*duplicate), "' is given more than once"));
  }
  if (too_deep) {
    return BadRequest("invalid_body", "",
                      absl::StrCat("the request body is nested deeper than ", max_depth));
  }
  if (!parsed.is_object()) {
    return BadRequest("invalid_body", "", "the request body must be a JSON object");
  }
  *out = std::move(parsed);
  return std::nullopt;
}

std::optional<ApiError> CheckFields(const json& body, std::span<const FieldSpec> fields) {
  if (!body.is_object()) {
    return BadRequest("invalid_body", "", "the request body must be a JSON object");
  }
  for (const auto& [key, value] : body.items()) {
    bool known = false;
    for (const FieldSpec& f : fields) known = known || key == f.name;
    if (!known) {
      return BadRequest("unknown_field", FieldName(key),
                        absl::StrCat("unknown field '", FieldName(key), "'"));
    }
  }
  for (const FieldSpec& f : fields) {
    if (f.required && !body.contains(f.name)) {
      return BadRequest("missing_field", f.name, absl::StrCat("field '", f.name, "' is required"));
    }
  }
  for (const FieldSpec& f : fields) {
    auto it = body.find(f.name);
    if (it != body.end() && !HasType(*it, f.type)) {
      return BadRequest("wrong_type", f.name,
                        absl::StrCat("field '", f.name, "' must be ", JsonTypeName(f.type)));
    }
  }
  return std::nullopt;
}

}  // namespace wod::api
