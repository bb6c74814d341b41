#include "api/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"

namespace wod::api {
namespace {

absl::Status Bad(const YAML::Node& node, const std::string& what) {
  return absl::InvalidArgumentError(absl::StrCat("config line ", node.Mark().line + 1, ": ", what));
}

template <typename T>
absl::StatusOr<T> Scalar(const YAML::Node& node, const std::string& key, const char* expected) {
  if (!node.IsScalar()) return Bad(node, absl::StrCat("api.", key, " must be ", expected));
  try {
    return node.as<T>();
  } catch (const YAML::Exception&) {
    return Bad(node, absl::StrCat("api.", key, " must be ", expected));
  }
}

// An http(s) URL or empty, without trailing slashes.
absl::StatusOr<std::string> HttpUrl(const YAML::Node& node, const std::string& key) {
  ASSIGN_OR_RETURN(std::string url, Scalar<std::string>(node, key, "a URL"));
  if (!url.empty() && !absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
    return Bad(node, absl::StrCat("api.", key, " must start with http:// or https://"));
  }
  while (absl::EndsWith(url, "/")) url.pop_back();
  return url;
}

absl::Status ParseRateLimit(const YAML::Node& node, RateLimit* out) {
  if (!node.IsMap()) return Bad(node, "api.registration_rate_limit must be a mapping");
  for (const auto& kv : node) {
    const std::string key = kv.first.as<std::string>();
    if (key == "per_minute") {
      ASSIGN_OR_RETURN(out->per_minute, Scalar<double>(kv.second,
                                                       "registration_rate_limit."
                                                       "per_minute",
                                                       "a number (0 disables the limit)"));
    } else if (key == "burst") {
      ASSIGN_OR_RETURN(out->burst,
                       Scalar<double>(kv.second, "registration_rate_limit.burst", "a number >= 1"));
      if (out->burst < 1) return Bad(kv.second, "api.registration_rate_limit.burst must be >= 1");
    } else {
      return Bad(kv.first, absl::StrCat("unknown key 'api.registration_rate_limit.", key, "'"));
    }
  }
  return absl::OkStatus();
}

absl::Status ParseApi(const YAML::Node& api, ServerConfig* c) {
  if (!api.IsMap()) return Bad(api, "'api' must be a mapping");
  for (const auto& kv : api) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    if (key == "max_body_bytes") {
      ASSIGN_OR_RETURN(int64_t n, Scalar<int64_t>(v, key, "a positive integer"));
      if (n <= 0 || n > (int64_t{64} << 20)) {
        return Bad(v, "api.max_body_bytes must be between 1 and 67108864");
      }
      c->max_body_bytes = static_cast<size_t>(n);
    } else if (key == "threads") {
      ASSIGN_OR_RETURN(c->threads, Scalar<int>(v, key, "an integer"));
      if (c->threads < 1 || c->threads > 1024) return Bad(v, "api.threads must be 1 to 1024");
    } else if (key == "public_base_url") {
      ASSIGN_OR_RETURN(c->public_base_url, HttpUrl(v, key));
    } else if (key == "participant_user_prefix") {
      ASSIGN_OR_RETURN(c->participant_user_prefix,
                       Scalar<std::string>(v, key, "a user name prefix"));
      const std::string& p = c->participant_user_prefix;
      if (p.empty() || p.size() > 16 || !absl::ascii_islower(p[0]) ||
          p.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
        return Bad(
            v, "api.participant_user_prefix must be 1-16 of [a-z0-9_-], starting with a letter");
      }
    } else if (key == "secret_file") {
      ASSIGN_OR_RETURN(c->secret_file, Scalar<std::string>(v, key, "a file name"));
      if (c->secret_file.empty()) return Bad(v, "api.secret_file must not be empty");
    } else if (key == "hub_public_url") {
      ASSIGN_OR_RETURN(c->hub_public_url, HttpUrl(v, key));
    } else if (key == "trust_x_forwarded_for") {
      ASSIGN_OR_RETURN(c->trust_x_forwarded_for, Scalar<bool>(v, key, "true or false"));
    } else if (key == "registration_rate_limit") {
      RETURN_IF_ERROR(ParseRateLimit(v, &c->registration_rate_limit));
    } else if (key == "email_deny_list") {
      if (!v.IsSequence()) return Bad(v, "api.email_deny_list must be a list");
      c->email_deny_list.clear();
      for (const auto& item : v) {
        ASSIGN_OR_RETURN(std::string e, Scalar<std::string>(item, key, "a list of strings"));
        c->email_deny_list.push_back(std::move(e));
      }
    } else {
      return Bad(kv.first, absl::StrCat("unknown key 'api.", key, "'"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view yaml_text) {
  ServerConfig c;
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root || root.IsNull()) return c;
    if (!root.IsMap()) return Bad(root, "the config must be a mapping");
    if (YAML::Node api = root["api"]; api && !api.IsNull()) RETURN_IF_ERROR(ParseApi(api, &c));
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("config line ", e.mark.line + 1, ": not valid YAML"));
  }
  return c;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  auto c = ParseServerConfig(ss.str());
  if (!c.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("'", path, "': ", c.status().message()));
  }
  return c;
}

}  // namespace wod::api
