// The OpenAPI 3 document served at GET /api/v1/openapi.json. Written by hand, not generated
// from the route table, so that a test comparing the two catches a route added without
// documentation (or documentation of a route that does not exist).
#pragma once

#include <nlohmann/json.hpp>

namespace wod::api {

const nlohmann::json& OpenApiDocument();

}  // namespace wod::api
