#include "api/api_error.h"

#include <utility>

namespace wod::api {

nlohmann::json ApiError::ToJson() const {
  nlohmann::json e = details.is_object() ? details : nlohmann::json::object();
  e["code"] = code;
  e["message"] = message;
  if (!field.empty()) e["field"] = field;
  return nlohmann::json{{"error", std::move(e)}};
}

ApiError BadRequest(std::string code, std::string field, std::string message) {
  ApiError e;
  e.http_status = 400;
  e.code = std::move(code);
  e.field = std::move(field);
  e.message = std::move(message);
  return e;
}

std::string Dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wod::api
