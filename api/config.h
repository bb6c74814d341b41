// Settings of `wod serve`, read from the `api:` section of the config file (--config FILE).
// Other top-level sections belong to other subcommands and are ignored here; inside `api:`
// an unknown key is an error naming it and its line.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "api/rate_limiter.h"

namespace wod::api {

struct ServerConfig {
  // Larger request bodies are refused with 413 before they are read.
  size_t max_body_bytes = 64 * 1024;
  // Per client IP, on POST /api/v1/registrations only.
  RateLimit registration_rate_limit;
  // Addresses ("a@b.com") and domains ("b.com", "@b.com": subdomains too) refused at
  // registration.
  std::vector<std::string> email_deny_list;
  // Prefix of the participant page URL returned at registration ("https://wod.example.com");
  // empty: the URL is relative ("/p/<token>").
  std::string public_base_url;
  // The participant's user name is this prefix and the seat number ("student7"), as the
  // accounts policy of the location names it (the policy's default prefix is "student").
  std::string participant_user_prefix = "student";
  // The JupyterHub address participants open ("https://hub.example.com", with its base URL):
  // the participant page's "Open workshop" button goes to its login page. Empty: no button.
  std::string hub_public_url;
  // The file holding the secret participant page tokens are derived from (`api.secret_file`;
  // the CLI's default is wod.secret next to the config file, made on first start).
  std::string secret_file;
  // The secret itself, read from `secret_file` by the CLI (never from the YAML text). Set: each
  // page token is HMAC-SHA256(secret, nonce) and the lifecycle can rebuild the page link
  // (model/participant_token.h); empty: random page tokens, mails link the portal.
  std::string participant_token_secret;
  // Worker threads serving requests. httplib gives a keep-alive connection a worker until it
  // closes, so fewer workers than busy clients queue whole connections: at 64 keep-alive
  // clients, 16 workers had a p99 of 101-107 ms and 64 workers 50-51 ms (bench/api_bench).
  int threads = 64;
  // Take the client address for the rate limit from the last X-Forwarded-For entry (only
  // behind a reverse proxy that sets it; otherwise clients could pick their own bucket).
  bool trust_x_forwarded_for = false;
};

// Parses the text of the config file `path`. InvalidArgument: not YAML, an unknown key or a bad
// value in `api:`, as "PATH:LINE: FIELD: what" ("wod.yml:3: api.threads: must be 1 to 1024"),
// like every config reader. A text without `api:` gives the defaults.
absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view path, std::string_view yaml_text);
// Reads and parses FILE. NotFound/PermissionDenied when unreadable.
absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path);

}  // namespace wod::api
