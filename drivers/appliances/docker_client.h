// HTTP/1.1 over the Docker engine's unix socket (libcurl with CURLOPT_UNIX_SOCKET_PATH): the
// transport of the appliances driver, also used by its tests to look at the engine directly.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wod::drivers {

struct HttpResponse {
  long status = 0;
  std::string body;
};

class DockerClient {
 public:
  // `api_version` prefixes every path ("v1.41" -> "/v1.41/containers/json").
  DockerClient(std::string socket_path, std::string api_version, absl::Duration timeout);

  // Sends one request to http://localhost/<api_version><path> (the engine ignores the host
  // but HTTP/1.1 needs one). `json_body`, when given, is sent as application/json;
  // `timeout` overrides the client's for calls the engine may hold open (stop). Any HTTP
  // status is a response; only a transport failure (no socket, refused, timed out) is an
  // error, and it is Unavailable.
  [[nodiscard]] absl::StatusOr<HttpResponse> Send(
      std::string_view method, std::string_view path,
      const std::optional<std::string>& json_body = std::nullopt,
      std::optional<absl::Duration> timeout = std::nullopt) const;

  const std::string& socket_path() const { return socket_path_; }

 private:
  std::string socket_path_;
  std::string api_version_;
  absl::Duration timeout_;
};

// Percent-encodes `s` for a URL query value or path segment.
std::string UrlEncode(std::string_view s);

}  // namespace wod::drivers
