// The one error shape of the API: {"error": {"code": "...", "message": "...", "field": "..."}}
// with an HTTP status. `code` is stable (scripts switch on it), `message` is for people, and
// `field` names the offending request field when there is one. Messages never carry a value
// the client sent (an email, a token) and never a store message that could hold a secret.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace wod::api {

struct ApiError {
  int http_status = 400;
  std::string code;
  std::string message;
  std::string field;  // empty: not about one field
  // Extra members of the error object (e.g. "deadline" of an existing registration).
  nlohmann::json details = nlohmann::json::object();

  nlohmann::json ToJson() const;
  bool operator==(const ApiError&) const = default;
};

ApiError BadRequest(std::string code, std::string field, std::string message);

// Serializes `j` compactly; invalid UTF-8 (never expected: the parser rejects it) is replaced
// rather than thrown.
std::string Dump(const nlohmann::json& j);

}  // namespace wod::api
