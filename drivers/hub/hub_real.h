// The real hub driver: JupyterHub's REST API (tested against Debian's jupyterhub 3.0) with a
// service token read from a file. The token's role needs the scopes admin:users,
// admin:servers, list:users and read:users (scripts/services/jupyterhub shows one).
//
// HTTP goes through libcurl rather than cpp-httplib: libcurl bounds the whole request
// (CURLOPT_TIMEOUT_MS) where httplib 0.11 only bounds each socket read, it tells a refused
// connection from a timeout, and the mail driver uses it already. One easy handle per request,
// so the driver is safe to use from several threads at once.
//
// What each action sends (NAME = policy.UserName(seat)):
//   Observe      GET    /hub/api/users?offset=O&limit=L  (Accept: pagination), page by page
//   create-user  POST   /hub/api/users/NAME              201; 409 exists = OK
//   delete-user  DELETE /hub/api/users/NAME              204; 404 missing = OK
//   start-server POST   /hub/api/users/NAME/server       201 running, 202 pending = OK
//   stop-server  DELETE /hub/api/users/NAME/server       204 stopped, 202 pending = OK
// When start or stop answers an error, GET /hub/api/users/NAME tells whether the server is
// already where it should be (OK) or in the opposite transition (Unavailable: retry).
//
// The hub itself waits up to `slow_spawn_timeout` / `slow_stop_timeout` (10 s by default)
// before answering 202. Configure both to 0 (c.JupyterHub.tornado_settings) so start and stop
// answer at once; otherwise keep request_timeout above them.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "absl/time/time.h"
#include "drivers/hub/hub.h"

namespace wod::drivers {

struct HubRealOptions {
  // The hub's public URL (the proxy), with its base_url if any: "http://127.0.0.1:8000".
  std::string url;
  // A file holding the service token (whitespace around it is ignored). Read once by Create().
  std::string token_file;
  model::HubPolicy policy;
  absl::Duration connect_timeout = absl::Seconds(2);
  absl::Duration request_timeout = absl::Seconds(10);  // the whole request, connect included
  int page_size = 200;  // JupyterHub caps it at api_page_max_limit (200 by default)
};

class HubReal final : public Hub {
 public:
  // InvalidArgument for a malformed URL or an empty token file; the token file's read error
  // (NotFound, PermissionDenied) otherwise. Does not contact the hub.
  [[nodiscard]] static absl::StatusOr<std::unique_ptr<HubReal>> Create(HubRealOptions options);

  [[nodiscard]] absl::StatusOr<model::ObservedHub> Observe() override;
  [[nodiscard]] absl::Status Apply(const model::HubAction& action) override;

 private:
  struct Response {
    long code = 0;
    std::string body;
  };
  HubRealOptions options_;
  std::string base_;   // url without a trailing slash
  std::string token_;  // secret: only ever put in the Authorization header

  HubReal(HubRealOptions options, std::string base, std::string token);
  // Unavailable when the hub cannot be reached or does not answer in time.
  absl::StatusOr<Response> Send(const char* method, const std::string& path,
                                bool accept_pagination = false) const;
  // The status for an HTTP error answer, with the hub's message (scrubbed of the token).
  absl::Status ErrorFor(const std::string& what, const Response& response) const;
  // The user's record, or nullopt when the hub does not know the user.
  absl::StatusOr<std::optional<hub_internal::HubUserRecord>> GetUser(const std::string& name) const;

  absl::Status CreateUser(const std::string& name) const;
  absl::Status DeleteUser(const std::string& name) const;
  absl::Status StartServer(const std::string& name) const;
  absl::Status StopServer(const std::string& name) const;
};

}  // namespace wod::drivers
