#include "api/config.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "fmt/format.h"

namespace wod::api {
namespace {

// Every error says where, as the other config readers do (cli/config_reader.h):
// "PATH:LINE: FIELD: what", or "PATH:LINE: what" when no field is at fault.
class Reader {
 public:
  explicit Reader(std::string_view path) : path_(path) {}

  absl::Status Bad(const YAML::Node& node, std::string_view field, std::string_view what) const {
    return Bad(node.Mark().is_null() ? 0 : node.Mark().line + 1, field, what);
  }
  absl::Status Bad(int line, std::string_view field, std::string_view what) const {
    if (field.empty()) {
      return absl::InvalidArgumentError(fmt::format("{}:{}: {}", path_, line, what));
    }
    return absl::InvalidArgumentError(fmt::format("{}:{}: {}: {}", path_, line, field, what));
  }

  template <typename T>
  absl::StatusOr<T> Scalar(const YAML::Node& node, const std::string& field,
                           std::string_view expected) const {
    if (!node.IsScalar()) return Bad(node, field, fmt::format("expected {}", expected));
    try {
      return node.as<T>();
    } catch (const YAML::Exception&) {
      return Bad(node, field, fmt::format("expected {}", expected));
    }
  }

  // An http(s) URL or empty, without trailing slashes.
  absl::StatusOr<std::string> HttpUrl(const YAML::Node& node, const std::string& field) const {
    // Straight from the node, not through Scalar's StatusOr: gcc 12 -O3 then warns that the
    // moved-out string may be used uninitialized (a false positive).
    if (!node.IsScalar()) return Bad(node, field, "expected a URL");
    std::string url = node.Scalar();
    if (!url.empty() && !absl::StartsWith(url, "http://") && !absl::StartsWith(url, "https://")) {
      return Bad(node, field, "must start with http:// or https://");
    }
    while (absl::EndsWith(url, "/")) url.pop_back();
    return url;
  }

  absl::Status ParseRateLimit(const YAML::Node& node, RateLimit* out) const {
    const std::string field = "api.registration_rate_limit";
    if (!node.IsMap()) return Bad(node, field, "expected a mapping");
    for (const auto& kv : node) {
      const std::string key = kv.first.as<std::string>();
      if (key == "per_minute") {
        ASSIGN_OR_RETURN(out->per_minute, Scalar<double>(kv.second, field + ".per_minute",
                                                         "a number (0 disables the limit)"));
      } else if (key == "burst") {
        ASSIGN_OR_RETURN(out->burst, Scalar<double>(kv.second, field + ".burst", "a number >= 1"));
        if (out->burst < 1) return Bad(kv.second, field + ".burst", "must be >= 1");
      } else {
        return Bad(kv.first, field + "." + key, "unknown key");
      }
    }
    return absl::OkStatus();
  }

  absl::Status ParseApi(const YAML::Node& api, ServerConfig* c) const {
    if (!api.IsMap()) return Bad(api, "api", "expected a mapping");
    for (const auto& kv : api) {
      const std::string key = kv.first.as<std::string>();
      const std::string field = "api." + key;
      const YAML::Node& v = kv.second;
      if (key == "max_body_bytes") {
        ASSIGN_OR_RETURN(int64_t n, Scalar<int64_t>(v, field, "a positive integer"));
        if (n <= 0 || n > (int64_t{64} << 20)) {
          return Bad(v, field, "must be between 1 and 67108864");
        }
        c->max_body_bytes = static_cast<size_t>(n);
      } else if (key == "threads") {
        ASSIGN_OR_RETURN(c->threads, Scalar<int>(v, field, "an integer"));
        if (c->threads < 1 || c->threads > 1024) return Bad(v, field, "must be 1 to 1024");
      } else if (key == "public_base_url") {
        ASSIGN_OR_RETURN(c->public_base_url, HttpUrl(v, field));
      } else if (key == "participant_user_prefix") {
        ASSIGN_OR_RETURN(c->participant_user_prefix,
                         Scalar<std::string>(v, field, "a user name prefix"));
        const std::string& p = c->participant_user_prefix;
        if (p.empty() || p.size() > 16 || !absl::ascii_islower(p[0]) ||
            p.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_-") != std::string::npos) {
          return Bad(v, field, "must be 1-16 of [a-z0-9_-], starting with a letter");
        }
      } else if (key == "secret_file") {
        ASSIGN_OR_RETURN(c->secret_file, Scalar<std::string>(v, field, "a file name"));
        if (c->secret_file.empty()) return Bad(v, field, "must not be empty");
      } else if (key == "hub_public_url") {
        ASSIGN_OR_RETURN(c->hub_public_url, HttpUrl(v, field));
      } else if (key == "trust_x_forwarded_for") {
        ASSIGN_OR_RETURN(c->trust_x_forwarded_for, Scalar<bool>(v, field, "true or false"));
      } else if (key == "registration_rate_limit") {
        RETURN_IF_ERROR(ParseRateLimit(v, &c->registration_rate_limit));
      } else if (key == "email_deny_list") {
        if (!v.IsSequence()) return Bad(v, field, "expected a list");
        c->email_deny_list.clear();
        for (const auto& item : v) {
          ASSIGN_OR_RETURN(std::string e, Scalar<std::string>(item, field, "a list of strings"));
          c->email_deny_list.push_back(std::move(e));
        }
      } else {
        return Bad(kv.first, field, "unknown key");
      }
    }
    return absl::OkStatus();
  }

 private:
  std::string_view path_;
};

}  // namespace

absl::StatusOr<ServerConfig> ParseServerConfig(std::string_view path, std::string_view yaml_text) {
  const Reader r(path);
  ServerConfig c;
  try {
    YAML::Node root = YAML::Load(std::string(yaml_text));
    if (!root || root.IsNull()) return c;
    if (!root.IsMap()) return r.Bad(root, "", "expected a mapping of sections");
    if (YAML::Node api = root["api"]; api && !api.IsNull()) RETURN_IF_ERROR(r.ParseApi(api, &c));
  } catch (const YAML::Exception& e) {
    return r.Bad(e.mark.is_null() ? 0 : e.mark.line + 1, "", fmt::format("yaml: {}", e.msg));
  }
  return c;
}

absl::StatusOr<ServerConfig> LoadServerConfig(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read config file '", path, "'"));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseServerConfig(path, ss.str());
}

}  // namespace wod::api
