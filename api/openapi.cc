#include "api/openapi.h"

namespace wod::api {
namespace {

// Kept in step with server.cc by tests/api (every route documented, nothing else) and with
// docs/api.md by hand.
constexpr char kDocument[] = R"json({
  "openapi": "3.0.3",
  "info": {
    "title": "wod API",
    "version": "1",
    "description": "Workshops on demand: catalog, registration, probes and metrics. Every error answers {\"error\": {\"code\", \"message\", \"field\"?}}; see docs/api.md for the codes."
  },
  "paths": {
    "/healthz": {
      "get": {
        "summary": "The process is alive",
        "responses": {"200": {"description": "alive", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}}}
      }
    },
    "/readyz": {
      "get": {
        "summary": "The store answers",
        "responses": {
          "200": {"description": "ready", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Status"}}}},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/metrics": {
      "get": {
        "summary": "Prometheus metrics (text exposition format 0.0.4)",
        "responses": {"200": {"description": "metrics", "content": {"text/plain": {"schema": {"type": "string"}}}}}
      }
    },
    "/api/v1/openapi.json": {
      "get": {
        "summary": "This document",
        "responses": {"200": {"description": "OpenAPI 3 document", "content": {"application/json": {"schema": {"type": "object"}}}}}
      }
    },
    "/api/v1/workshops": {
      "get": {
        "summary": "Active workshops with their seats left",
        "responses": {
          "200": {
            "description": "the catalog",
            "content": {"application/json": {"schema": {
              "type": "object",
              "required": ["workshops"],
              "properties": {"workshops": {"type": "array", "items": {"$ref": "#/components/schemas/Workshop"}}}
            }}}
          },
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/workshops/{id}": {
      "get": {
        "summary": "One active workshop",
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "string"}, "example": "WKSHP-API101"}],
        "responses": {
          "200": {"description": "the workshop", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Workshop"}}}},
          "404": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/registrations": {
      "post": {
        "summary": "Register for a workshop: occupies the lowest free seat",
        "description": "Strict body: an unknown field, a missing one or a wrong type is a 400 naming the field. Rate limited per client address.",
        "requestBody": {
          "required": true,
          "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistrationRequest"}}}
        },
        "responses": {
          "201": {"description": "registered", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/RegistrationCreated"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"},
          "413": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"},
          "429": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  },
  "components": {
    "responses": {
      "Error": {"description": "an error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    },
    "schemas": {
      "Status": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}},
      "Error": {
        "type": "object",
        "required": ["error"],
        "properties": {"error": {
          "type": "object",
          "required": ["code", "message"],
          "properties": {
            "code": {"type": "string", "enum": ["invalid_json", "invalid_body", "duplicate_field", "unknown_field", "missing_field", "wrong_type", "invalid_field", "terms_not_accepted", "email_denied", "already_registered", "full", "workshop_not_found", "workshop_inactive", "rate_limited", "unsupported_media_type", "body_too_large", "not_found", "bad_request", "store_unavailable", "unavailable", "internal"]},
            "message": {"type": "string"},
            "field": {"type": "string", "description": "the request field at fault"},
            "deadline": {"type": "string", "format": "date-time", "description": "already_registered: when the existing registration ends"}
          }
        }}
      },
      "Workshop": {
        "type": "object",
        "properties": {
          "id": {"type": "string"}, "name": {"type": "string"}, "description": {"type": "string"},
          "active": {"type": "boolean"}, "capacity": {"type": "integer"},
          "seats_left": {"type": "integer", "description": "min(capacity, free seats) now"},
          "duration_hours": {"type": "integer"}, "priority": {"type": "integer"},
          "location": {"type": "string"},
          "category": {"type": "array", "items": {"type": "string"}},
          "presenter": {"type": "string"}, "role": {"type": "string"}, "avatar": {"type": "string"},
          "workshop_img": {"type": "string"}, "badge_img": {"type": "string"},
          "replay_link": {"type": "string"}, "video_link": {"type": "string"}, "beta": {"type": "boolean"}
        }
      },
      "RegistrationRequest": {
        "type": "object",
        "additionalProperties": false,
        "required": ["workshop", "email", "name", "company", "accept_terms"],
        "properties": {
          "workshop": {"type": "string", "maxLength": 128, "pattern": "^[A-Za-z0-9._-]+$", "example": "WKSHP-API101"},
          "email": {"type": "string", "format": "email", "maxLength": 254},
          "name": {"type": "string", "minLength": 1, "maxLength": 200},
          "company": {"type": "string", "maxLength": 200},
          "accept_terms": {"type": "boolean", "enum": [true]}
        }
      },
      "RegistrationCreated": {
        "type": "object",
        "required": ["registration", "participant", "token", "page_url"],
        "properties": {
          "registration": {
            "type": "object",
            "properties": {
              "id": {"type": "integer"}, "workshop": {"type": "string"}, "location": {"type": "string"},
              "seat": {"type": "integer"}, "state": {"type": "string", "enum": ["active"]},
              "start": {"type": "string", "format": "date-time"},
              "deadline": {"type": "string", "format": "date-time"}
            }
          },
          "participant": {
            "type": "object",
            "properties": {"email": {"type": "string"}, "name": {"type": "string"}, "company": {"type": "string"}}
          },
          "token": {"type": "string", "description": "the participant's secret page token; shown once, stored hashed"},
          "page_url": {"type": "string", "description": "the participant page: <public_base_url>/p/<token>"}
        }
      }
    }
  }
})json";

}  // namespace

const nlohmann::json& OpenApiDocument() {
  static const nlohmann::json* doc = new nlohmann::json(nlohmann::json::parse(kDocument));
  return *doc;
}

}  // namespace wod::api
