// The HTTP server of `wod serve`: the /api/v1 routes over a store (DESIGN.md "API"), plus
// /healthz, /readyz and /metrics. Handlers are thin: a strictly checked body, one store call,
// a JSON answer. Every error answers {"error": {"code", "message", "field"?}} (api_error.h);
// docs/api.md lists the routes and codes. The server writes desired state only through the
// store and never talks to a backend.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "api/config.h"
#include "api/metrics.h"
#include "api/rate_limiter.h"
#include "api/registration_body.h"
#include "common/clock.h"
#include "store/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace wod::api {

// A route as the OpenAPI document names it: method and path template ("/api/v1/workshops/{id}").
struct RouteInfo {
  std::string method;
  std::string path;
  bool operator==(const RouteInfo&) const = default;
  bool operator<(const RouteInfo& o) const {
    return path != o.path ? path < o.path : method < o.method;
  }
};

class Server {
 public:
  // `store` and `clock` must outlive the server.
  Server(store::Store* store, ServerConfig config, const common::Clock* clock);
  ~Server();  // stops and joins
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Binds `host`:`port` (0: an ephemeral port) and returns the port bound. Unavailable when
  // the address cannot be bound.
  absl::StatusOr<int> Bind(const std::string& host, int port);
  // Serves on the bound socket in a background thread until Stop().
  absl::Status Start();
  // Stops accepting, lets requests in flight finish, joins. Safe to call twice.
  void Stop();

  // Every route the server answers, in registration order.
  std::vector<RouteInfo> Routes() const;
  const Metrics& metrics() const { return metrics_; }

 private:
  using Handler = void (Server::*)(const httplib::Request&, httplib::Response&);
  struct Route {
    RouteInfo info;
    Handler handler;
  };
  void AddRoute(const std::string& method, const std::string& path, Handler handler);
  // The web pages and their assets (api/web_routes.cc); not API routes, so not in Routes().
  void AddWebRoutes();
  void Dispatch(const Route& route, const httplib::Request& req, httplib::Response& res);
  std::string ClientAddress(const httplib::Request& req) const;

  void HandleHealthz(const httplib::Request& req, httplib::Response& res);
  void HandleReadyz(const httplib::Request& req, httplib::Response& res);
  void HandleMetrics(const httplib::Request& req, httplib::Response& res);
  void HandleOpenApi(const httplib::Request& req, httplib::Response& res);
  void HandleListWorkshops(const httplib::Request& req, httplib::Response& res);
  void HandleGetWorkshop(const httplib::Request& req, httplib::Response& res);
  void HandleRegister(const httplib::Request& req, httplib::Response& res);
  // Admin and operator routes (bearer tokens).
  void HandleListSeats(const httplib::Request& req, httplib::Response& res);
  void HandleSeatReset(const httplib::Request& req, httplib::Response& res);
  void HandleSeatCleanup(const httplib::Request& req, httplib::Response& res);
  void HandleSeatPurge(const httplib::Request& req, httplib::Response& res);
  void HandleExtend(const httplib::Request& req, httplib::Response& res);
  void HandleDrift(const httplib::Request& req, httplib::Response& res);
  void HandleListLocations(const httplib::Request& req, httplib::Response& res);
  void HandlePatchLocation(const httplib::Request& req, httplib::Response& res);
  void HandleEvents(const httplib::Request& req, httplib::Response& res);
  // The caller's role, and registrations as CSV (the dashboard; api/registrations_csv.h).
  void HandleWhoami(const httplib::Request& req, httplib::Response& res);
  void HandleRegistrationsCsv(const httplib::Request& req, httplib::Response& res);
  // The participant's own registration (Authorization: Participant <token>).
  void HandleMe(const httplib::Request& req, httplib::Response& res);
  void HandleMeEnd(const httplib::Request& req, httplib::Response& res);

  enum class Role { kOperator, kAdmin };
  // Checks the request's bearer token for `needed`; on failure writes 401 or 403 (or 503)
  // and returns false.
  // `role`, when given, receives the token's role; `name`, the token's name (for events).
  bool Authorize(const httplib::Request& req, httplib::Response& res, Role needed,
                 std::string* role = nullptr, std::string* name = nullptr);
  // Records who changed something through the API: an event of kind `kind` ("api.cleanup")
  // whose reason names the actor (an admin token by its name, never its secret, or "the
  // participant"). A failure to store it is logged; the action stands.
  void RecordAction(const std::string& kind, const std::string& location, std::optional<int> seat,
                    const std::string& actor, const std::string& message);
  void ApplySeatVerb(model::Verb verb, const httplib::Request& req, httplib::Response& res);

  store::Store* store_;
  const ServerConfig config_;
  const common::Clock* clock_;
  const EmailDenyList deny_;
  RateLimiter registration_limiter_;
  Metrics metrics_;
  std::vector<Route> routes_;
  std::unique_ptr<httplib::Server> http_;
  std::thread thread_;
  std::atomic<bool> listen_done_{false};
  bool bound_ = false;
};

}  // namespace wod::api
