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
    "description": "Workshops on demand: catalog, registration, the participant view, admin and operator routes, probes and metrics. Every error answers {\"error\": {\"code\", \"message\", \"field\"?}}; see docs/api.md for the codes."
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
        "summary": "Register for a workshop: occupies a free seat on the live location with the most free seats of the workshop",
        "description": "Strict body: an unknown field, a missing one or a wrong type is a 400 naming the field. Rate limited per client address. 409 full: no seat left. 503 no_backend (with Retry-After): the workshop has free seats only on locations whose controller is not running; nothing was stored.",
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
    },
    "/api/v1/seats": {
      "get": {
        "summary": "Every seat with its workshop, occupant, deadline, phase and conditions (operator or admin)",
        "description": "Ordered by location and number. The answer carries a weak ETag over everything but time_left_seconds (which follows the clock alone): a request whose If-None-Match names it gets 304 and no body.",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "location", "in": "query", "required": false, "schema": {"type": "string"}, "description": "only this location's seats"},
          {"name": "workshop", "in": "query", "required": false, "schema": {"type": "string"}, "description": "only this workshop's seats, on each of its locations (an unknown workshop: none)"},
          {"name": "If-None-Match", "in": "header", "required": false, "schema": {"type": "string"}}
        ],
        "responses": {
          "200": {"description": "the seats",
            "headers": {"ETag": {"schema": {"type": "string"}, "description": "W/\"<32 hex>\""}},
            "content": {"application/json": {"schema": {
            "type": "object", "required": ["seats"],
            "properties": {"seats": {"type": "array", "items": {"$ref": "#/components/schemas/AdminSeat"}}}
          }}}},
          "304": {"description": "the list the If-None-Match names is still current (only time passed)"},
          "401": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/seats/{location}/{n}:reset": {
      "post": {
        "summary": "RESET the seat: same occupant, fresh content (admin). Idempotent: changed is false when already in effect",
        "description": "Body empty or {}.",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "location", "in": "path", "required": true, "schema": {"type": "string"}},
          {"name": "n", "in": "path", "required": true, "schema": {"type": "integer"}}
        ],
        "responses": {
          "200": {"description": "applied or already in effect", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VerbResult"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/seats/{location}/{n}:cleanup": {
      "post": {
        "summary": "CLEANUP the seat: end its registration, vacate and lock it (admin). Idempotent: changed is false when already in effect",
        "description": "Body empty or {}.",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "location", "in": "path", "required": true, "schema": {"type": "string"}},
          {"name": "n", "in": "path", "required": true, "schema": {"type": "integer"}}
        ],
        "responses": {
          "200": {"description": "applied or already in effect", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VerbResult"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/seats/{location}/{n}:purge": {
      "post": {
        "summary": "PURGE the seat: vacate without harvest, registration failed (admin). Idempotent: changed is false when already in effect",
        "description": "Body empty or {}.",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "location", "in": "path", "required": true, "schema": {"type": "string"}},
          {"name": "n", "in": "path", "required": true, "schema": {"type": "integer"}}
        ],
        "responses": {
          "200": {"description": "applied or already in effect", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/VerbResult"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/registrations/{id}:extend": {
      "post": {
        "summary": "Move an active registration's deadline (admin)",
        "description": "Strict body with exactly one of: deadline (RFC 3339, in the future) or minutes (1-10080, added to the current deadline).",
        "security": [{"bearer": []}],
        "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "additionalProperties": false,
          "properties": {
            "deadline": {"type": "string", "format": "date-time"},
            "minutes": {"type": "integer", "minimum": 1, "maximum": 10080}
          }
        }}}},
        "responses": {
          "200": {"description": "extended", "content": {"application/json": {"schema": {
            "type": "object", "required": ["registration"],
            "properties": {"registration": {"$ref": "#/components/schemas/Registration"}}
          }}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"},
          "409": {"$ref": "#/components/responses/Error"},
          "415": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/locations": {
      "get": {
        "summary": "Every location (backend) with its state, hub, controller lease, last pass, liveness and seats (operator or admin)",
        "description": "live: the location's controller holds its lease and finished a pass within 60 s; registrations go only to live, active locations (a location whose controller never reported a pass counts as live).",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "the locations", "content": {"application/json": {"schema": {
            "type": "object", "required": ["locations"],
            "properties": {"locations": {"type": "array", "items": {"$ref": "#/components/schemas/Location"}}}
          }}}},
          "401": {"$ref": "#/components/responses/Error"},
          "503": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/locations/{name}": {
      "patch": {
        "summary": "Set a location's fqdn, hub URL or state (admin). draining: no new registrations, running seats live to their deadline; disabled: also not counted as capacity",
        "security": [{"bearer": []}],
        "parameters": [{"name": "name", "in": "path", "required": true, "schema": {"type": "string"}}],
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
          "type": "object", "additionalProperties": false,
          "properties": {
            "fqdn": {"type": "string", "description": "external host name (WODBEEXTFQDN); empty to clear"},
            "hub_url": {"type": "string", "description": "http(s) URL of the location's JupyterHub; empty: the API's hub_public_url"},
            "state": {"type": "string", "enum": ["active", "draining", "disabled"]}
          }
        }}}},
        "responses": {
          "200": {"description": "the location as now set", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Location"}}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"},
          "403": {"$ref": "#/components/responses/Error"},
          "404": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/drift": {
      "get": {
        "summary": "Differences between desired and observed state as the controllers last saw them (operator or admin)",
        "security": [{"bearer": []}],
        "parameters": [{"name": "location", "in": "query", "required": false, "schema": {"type": "string"}}],
        "responses": {
          "200": {"description": "the drift report", "content": {"application/json": {"schema": {
            "type": "object", "required": ["drift"],
            "properties": {"drift": {"type": "array", "items": {"type": "object", "properties": {
              "location": {"type": "string"}, "seat": {"type": "integer", "description": "0: a foreign or orphan object"},
              "domain": {"type": "string"}, "expected": {"type": "string"}, "observed": {"type": "string"},
              "planned": {"type": "string"}, "since": {"type": "string", "format": "date-time"}
            }}}}
          }}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/events": {
      "get": {
        "summary": "Events, newest first (operator or admin)",
        "security": [{"bearer": []}],
        "parameters": [
          {"name": "location", "in": "query", "required": false, "schema": {"type": "string"}},
          {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 100}}
        ],
        "responses": {
          "200": {"description": "the events", "content": {"application/json": {"schema": {
            "type": "object", "required": ["events"],
            "properties": {"events": {"type": "array", "items": {"type": "object", "properties": {
              "id": {"type": "integer"}, "time": {"type": "string", "format": "date-time"},
              "location": {"type": "string"}, "seat": {"type": "integer", "nullable": true},
              "kind": {"type": "string"}, "reason": {"type": "string"}, "message": {"type": "string"}
            }}}}
          }}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/whoami": {
      "get": {
        "summary": "The role of the caller's bearer token, so a client can offer only what it may do (operator or admin)",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "the role", "content": {"application/json": {"schema": {
            "type": "object", "required": ["role"],
            "properties": {"role": {"type": "string", "enum": ["admin", "operator"]}}
          }}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/registrations.csv": {
      "get": {
        "summary": "Every registration with its participant and completion (harvested or live), as CSV (operator or admin)",
        "description": "RFC 4180 with CRLF line ends and a header line; Content-Disposition: attachment. A cell starting with = + - @, tab or CR gets a leading apostrophe (no formula runs in a spreadsheet). Columns: registration_id, workshop, workshop_name, location, seat, state, email, name, company, start, deadline, ended, completion_percent, executed_cells, counted_cells, completion_source (harvested: the progress stored at CLEANUP; live: the controller's last observation of an active registration's home; all four empty when neither exists).",
        "security": [{"bearer": []}],
        "responses": {
          "200": {"description": "the CSV document", "content": {"text/csv": {"schema": {"type": "string"}}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/me": {
      "get": {
        "summary": "The participant's own registration: state, seat, time left, phase, credentials once Ready, progress",
        "description": "Authorization: Participant <token> (the token returned at registration). Answers carry Cache-Control: no-store.",
        "security": [{"participant": []}],
        "responses": {
          "200": {"description": "the registration", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ParticipantView"}}}},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    },
    "/api/v1/me:end": {
      "post": {
        "summary": "End the participant's own registration early (CLEANUP of its seat)",
        "description": "Body empty or {}. Idempotent: changed is false when the registration has already ended.",
        "security": [{"participant": []}],
        "responses": {
          "200": {"description": "ended (or already)", "content": {"application/json": {"schema": {
            "type": "object", "required": ["changed", "state"],
            "properties": {"changed": {"type": "boolean"}, "state": {"type": "string"}}
          }}}},
          "400": {"$ref": "#/components/responses/Error"},
          "401": {"$ref": "#/components/responses/Error"}
        }
      }
    }
  },
  "components": {
    "securitySchemes": {
      "bearer": {"type": "http", "scheme": "bearer", "description": "an admin or operator token from `wod token create`"},
      "participant": {"type": "apiKey", "in": "header", "name": "Authorization", "description": "Participant <token>"}
    },
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
            "code": {"type": "string", "enum": ["invalid_json", "invalid_body", "duplicate_field", "unknown_field", "missing_field", "wrong_type", "invalid_field", "terms_not_accepted", "email_denied", "already_registered", "full", "workshop_not_found", "workshop_inactive", "rate_limited", "unsupported_media_type", "body_too_large", "not_found", "bad_request", "store_unavailable", "unavailable", "no_backend", "location_not_found", "internal", "unauthenticated", "forbidden", "seat_not_found", "registration_not_found", "registration_not_active"]},
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
      },
      "Registration": {
        "type": "object",
        "properties": {
          "id": {"type": "integer"}, "workshop": {"type": "string"}, "location": {"type": "string"},
          "seat": {"type": "integer"}, "state": {"type": "string", "enum": ["active", "ended", "failed"]},
          "start": {"type": "string", "format": "date-time"}, "deadline": {"type": "string", "format": "date-time"},
          "ended": {"type": "string", "format": "date-time", "nullable": true},
          "progress": {"allOf": [{"$ref": "#/components/schemas/Progress"}], "nullable": true, "description": "harvested progress, null until harvested"}
        }
      },
      "Seat": {
        "type": "object",
        "properties": {
          "location": {"type": "string"}, "seat": {"type": "integer"}, "workshop": {"type": "string"},
          "generation": {"type": "integer"}, "reset_epoch": {"type": "integer"}, "occupied": {"type": "boolean"}
        }
      },
      "Location": {
        "type": "object",
        "required": ["name", "state", "fqdn", "hub_url", "generation", "live", "lease", "last_pass", "seats"],
        "properties": {
          "name": {"type": "string"},
          "state": {"type": "string", "enum": ["active", "draining", "disabled"]},
          "fqdn": {"type": "string"},
          "hub_url": {"type": "string"},
          "user_prefix": {"type": "string", "description": "user name prefix of the location's seat accounts, recorded by its controller; empty before one ran"},
          "generation": {"type": "integer"},
          "live": {"type": "boolean"},
          "lease": {"type": ["object", "null"], "properties": {
            "holder": {"type": "string"}, "epoch": {"type": "integer"}, "expires": {"type": "string", "format": "date-time"}}},
          "last_pass": {"type": ["object", "null"], "properties": {
            "time": {"type": "string", "format": "date-time"}, "duration_ms": {"type": "integer"}, "passes": {"type": "integer"}}},
          "seats": {"type": "object", "properties": {
            "total": {"type": "integer"}, "occupied": {"type": "integer"}, "free": {"type": "integer"}, "failed": {"type": "integer"}}}
        }
      },
      "AdminSeat": {
        "allOf": [{"$ref": "#/components/schemas/Seat"}, {"type": "object", "properties": {
          "phase": {"type": "string", "enum": ["Vacant", "Provisioning", "Ready", "Vacating", "Failed", "Unobserved"]},
          "status": {"type": "object", "nullable": true, "properties": {
            "phase": {"type": "string"}, "observed_generation": {"type": "integer"},
            "conditions": {"type": "array", "items": {"type": "object", "properties": {
              "type": {"type": "string"}, "status": {"type": "string"}, "reason": {"type": "string"},
              "message": {"type": "string"}, "last_transition": {"type": "string", "format": "date-time"}}}},
            "last_error": {"type": "string"}, "updated": {"type": "string", "format": "date-time"}}},
          "registration": {"allOf": [{"$ref": "#/components/schemas/Registration"}], "nullable": true},
          "occupant": {"type": "object", "nullable": true, "properties": {
            "email": {"type": "string"}, "name": {"type": "string"}, "company": {"type": "string"},
            "registration_id": {"type": "integer"}}},
          "progress": {"allOf": [{"$ref": "#/components/schemas/Progress"}], "nullable": true,
            "description": "live: what the controller last observed in the occupant's notebooks; null when vacant or not observed yet"},
          "last_activity": {"type": "string", "format": "date-time", "nullable": true,
            "description": "when the occupant last saved a notebook (its newest modification time)"},
          "time_left_seconds": {"type": "integer", "nullable": true, "description": "until the occupant's deadline; null when vacant"}
        }}]
      },
      "VerbResult": {
        "type": "object",
        "required": ["changed", "verb", "seat"],
        "properties": {
          "changed": {"type": "boolean"}, "verb": {"type": "string", "enum": ["reset", "cleanup", "purge"]},
          "seat": {"$ref": "#/components/schemas/Seat"},
          "registration": {"allOf": [{"$ref": "#/components/schemas/Registration"}], "nullable": true}
        }
      },
      "ParticipantView": {
        "type": "object",
        "properties": {
          "id": {"type": "integer"}, "state": {"type": "string", "enum": ["active", "ended", "failed"]},
          "workshop": {"type": "object", "properties": {"id": {"type": "string"}, "name": {"type": "string", "nullable": true}}},
          "location": {"type": "string"}, "seat": {"type": "integer"},
          "start": {"type": "string", "format": "date-time"}, "deadline": {"type": "string", "format": "date-time"},
          "ended": {"type": "string", "format": "date-time", "nullable": true},
          "time_left_seconds": {"type": "integer", "description": "0 once ended"},
          "phase": {"type": "string", "nullable": true, "description": "the seat's phase while active; null once ended"},
          "credentials": {"type": "object", "nullable": true, "description": "only while active and the seat is Ready",
            "properties": {"user": {"type": "string"}, "password": {"type": "string"}}},
          "progress": {"allOf": [{"$ref": "#/components/schemas/Progress"}], "nullable": true,
            "description": "while active: live, as the controller last observed the notebooks (null until then); once ended: the harvest"},
          "last_activity": {"type": "string", "format": "date-time", "nullable": true,
            "description": "while active: when a notebook was last saved; null once ended"},
          "hub_url": {"type": "string", "nullable": true,
            "description": "the login page of the seat's location's hub (its hub_url, else api.hub_public_url, + /hub/login) for the participant page's Open workshop button; null when neither is set"}
        }
      },
      "Progress": {
        "type": "object",
        "description": "executed code cells over code cells, per notebook and in total; cells shipped already executed do not count",
        "properties": {
          "notebooks": {"type": "array", "items": {"type": "object", "properties": {
            "file": {"type": "string"}, "code_cells": {"type": "integer"}, "baseline_executed": {"type": "integer"},
            "executed": {"type": "integer"}, "fraction": {"type": "number"}, "readable": {"type": "boolean"},
            "error": {"type": "string", "description": "why the notebook could not be read; only when not readable"}}}},
          "total": {"type": "object", "properties": {
            "notebooks": {"type": "integer"}, "unreadable": {"type": "integer"}, "code_cells": {"type": "integer"},
            "baseline_executed": {"type": "integer"}, "executed": {"type": "integer"}, "fraction": {"type": "number"}}}
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
