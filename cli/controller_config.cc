#include "cli/controller_config.h"

#include <yaml-cpp/yaml.h>

#include <filesystem>
#include <functional>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "cli/config_reader.h"
#include "common/status.h"
#include "drivers/accounts/accounts_fake.h"
#include "drivers/accounts/accounts_real.h"
#include "drivers/appliances/appliances_fake.h"
#include "drivers/appliances/appliances_real.h"
#include "drivers/content/content_fake.h"
#include "drivers/content/content_real.h"
#include "drivers/hub/hub_fake.h"
#include "drivers/hub/hub_real.h"

namespace wod::cli {
namespace {

namespace fs = std::filesystem;

bool ValidName(const std::string& s) {
  if (s.empty() || s.size() > 24) return false;
  if (!(std::islower(static_cast<unsigned char>(s[0])) || s[0] == '_')) return false;
  for (char c : s) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '_' || c == '-')) {
      return false;
    }
  }
  return true;
}

absl::Status ReadAccounts(const ConfigReader& r, const YAML::Node& n, ControllerConfig& c) {
  model::AccountPolicy& p = c.policy;
  RETURN_IF_ERROR(r.ForEachKey(
      n, "accounts",
      {"root", "user_prefix", "uid_base", "seat_count", "group", "gid", "home_base", "shell"},
      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
        const std::string f = "accounts." + key;
        if (key == "root") {
          ASSIGN_OR_RETURN(c.root, r.Path(v, f));
        } else if (key == "user_prefix") {
          ASSIGN_OR_RETURN(p.user_prefix, r.NonEmpty(v, f));
          if (!ValidName(p.user_prefix)) {
            return r.Fail(v, f, "must be a user name start: lowercase letters, digits, '_', '-'");
          }
        } else if (key == "uid_base") {
          ASSIGN_OR_RETURN(int64_t x, r.Int(v, f, 1000, 2000000000));
          p.uid_base = static_cast<uid_t>(x);
        } else if (key == "seat_count") {
          ASSIGN_OR_RETURN(int64_t x, r.Int(v, f, 1, 1000000));
          p.seat_count = static_cast<int>(x);
        } else if (key == "group") {
          ASSIGN_OR_RETURN(p.group, r.NonEmpty(v, f));
          if (!ValidName(p.group)) {
            return r.Fail(v, f, "must be a group name: lowercase letters, digits, '_', '-'");
          }
        } else if (key == "gid") {
          ASSIGN_OR_RETURN(int64_t x, r.Int(v, f, 1000, 2000000000));
          p.gid = static_cast<gid_t>(x);
        } else if (key == "home_base") {
          ASSIGN_OR_RETURN(p.home_base, r.NonEmpty(v, f));
          if (p.home_base.front() != '/') return r.Fail(v, f, "must be absolute (inside the root)");
        } else if (key == "shell") {
          ASSIGN_OR_RETURN(p.shell, r.NonEmpty(v, f));
          if (p.shell.front() != '/') return r.Fail(v, f, "must be absolute");
        }
        return absl::OkStatus();
      }));
  while (p.home_base.size() > 1 && p.home_base.back() == '/') p.home_base.pop_back();
  return absl::OkStatus();
}

absl::Status ReadContent(const ConfigReader& r, const YAML::Node& n, ControllerConfig& c) {
  return r.ForEachKey(n, "content", {"workshops", "archive_dir"},
                      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
                        const std::string f = "content." + key;
                        if (key == "workshops") {
                          ASSIGN_OR_RETURN(c.workshops_dir, r.Path(v, f));
                        } else {
                          ASSIGN_OR_RETURN(c.archive_dir, r.Path(v, f));
                        }
                        return absl::OkStatus();
                      });
}

absl::Status ReadHub(const ConfigReader& r, const YAML::Node& n, ControllerConfig& c) {
  c.has_hub = true;
  const int section_line = r.key_line();
  RETURN_IF_ERROR(r.ForEachKey(
      n, "hub", {"url", "token_file", "request_timeout"},
      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
        const std::string f = "hub." + key;
        if (key == "url") {
          ASSIGN_OR_RETURN(c.hub_url, r.NonEmpty(v, f));
          if (c.hub_url.rfind("http://", 0) != 0 && c.hub_url.rfind("https://", 0) != 0) {
            return r.Fail(v, f, "must start with http:// or https://");
          }
        } else if (key == "token_file") {
          ASSIGN_OR_RETURN(c.hub_token_file, r.Path(v, f));
        } else {
          ASSIGN_OR_RETURN(c.hub_request_timeout, r.Duration(v, f, absl::Milliseconds(100)));
        }
        return absl::OkStatus();
      }));
  if (c.hub_url.empty()) {
    return r.Fail(section_line, "hub.url", "required when there is a hub section");
  }
  if (c.hub_token_file.empty()) {
    return r.Fail(section_line, "hub.token_file", "required when there is a hub section");
  }
  return absl::OkStatus();
}

absl::Status ReadAppliances(const ConfigReader& r, const YAML::Node& n, ControllerConfig& c) {
  c.has_appliances = true;
  return r.ForEachKey(n, "appliances", {"docker_socket", "host_ip"},
                      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
                        const std::string f = "appliances." + key;
                        if (key == "docker_socket") {
                          ASSIGN_OR_RETURN(c.docker_socket, r.Path(v, f));
                        } else {
                          ASSIGN_OR_RETURN(c.docker_host_ip, r.NonEmpty(v, f));
                        }
                        return absl::OkStatus();
                      });
}

absl::Status ReadController(const ConfigReader& r, const YAML::Node& n, ControllerConfig& c) {
  const int section_line = r.key_line();
  RETURN_IF_ERROR(r.ForEachKey(
      n, "controller", {"concurrency", "lease_ttl", "resync", "backoff_base", "backoff_cap"},
      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
        const std::string f = "controller." + key;
        if (key == "concurrency") {
          ASSIGN_OR_RETURN(int64_t x, r.Int(v, f, 1, 256));
          c.concurrency = static_cast<int>(x);
        } else if (key == "lease_ttl") {
          ASSIGN_OR_RETURN(c.lease_ttl, r.Duration(v, f, absl::Milliseconds(500)));
        } else if (key == "resync") {
          ASSIGN_OR_RETURN(c.resync, r.Duration(v, f, absl::Milliseconds(100)));
        } else if (key == "backoff_base") {
          ASSIGN_OR_RETURN(c.backoff_base, r.Duration(v, f, absl::Milliseconds(10)));
        } else {
          ASSIGN_OR_RETURN(c.backoff_cap, r.Duration(v, f, absl::Milliseconds(10)));
        }
        return absl::OkStatus();
      }));
  if (c.backoff_cap < c.backoff_base) {
    return r.Fail(section_line, "controller.backoff_cap",
                  "must not be below controller.backoff_base");
  }
  return absl::OkStatus();
}

absl::Status ReadVariables(const ConfigReader& r, const YAML::Node& n, ControllerConfig& c) {
  return r.ForEachKey(n, "variables", {},
                      [&](const std::string& key, const YAML::Node& v) -> absl::Status {
                        const std::string f = "variables." + key;
                        if (v.IsNull()) {
                          c.variables[key] = "";
                          return absl::OkStatus();
                        }
                        ASSIGN_OR_RETURN(c.variables[key], r.String(v, f));
                        return absl::OkStatus();
                      });
}

}  // namespace

absl::StatusOr<ControllerConfig> LoadControllerConfig(const std::string& path,
                                                      const std::set<std::string>& other_sections) {
  ControllerConfig c;
  c.path = path;
  ConfigReader r(path);
  std::error_code ec;
  if (!fs::is_regular_file(path, ec)) {
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": cannot read the configuration file: ",
                     fs::exists(path, ec) ? "not a regular file" : "no such file"));
  }
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return r.Fail(e.mark.is_null() ? 0 : e.mark.line + 1, "", absl::StrCat("yaml: ", e.msg));
  }
  if (!root.IsNull() && !root.IsMap()) {
    return r.Fail(root, "", "expected a mapping of sections (accounts, content, hub, ...)");
  }
  std::set<std::string> sections = {"accounts",   "content",    "hub",
                                    "appliances", "controller", "variables"};
  sections.insert(other_sections.begin(), other_sections.end());
  RETURN_IF_ERROR(r.ForEachKey(root, "", sections,
                               [&](const std::string& key, const YAML::Node& v) -> absl::Status {
                                 if (other_sections.count(key) != 0) return absl::OkStatus();
                                 if (key == "accounts") return ReadAccounts(r, v, c);
                                 if (key == "content") return ReadContent(r, v, c);
                                 if (key == "hub") return ReadHub(r, v, c);
                                 if (key == "appliances") return ReadAppliances(r, v, c);
                                 if (key == "controller") return ReadController(r, v, c);
                                 return ReadVariables(r, v, c);
                               }));
  return c;
}

namespace {

controller::ControllerOptions OptionsOf(const ControllerConfig& config,
                                        const std::string& location) {
  controller::ControllerOptions o;
  o.location = location;
  o.account_policy = config.policy;
  o.operator_variables = config.variables;
  o.content_root = config.workshops_dir;
  o.concurrency = config.concurrency;
  o.lease_ttl = config.lease_ttl;
  o.resync = config.resync;
  o.backoff.base = config.backoff_base;
  o.backoff.cap = config.backoff_cap;
  return o;
}

}  // namespace

std::string PasswordMemoPath(const ControllerConfig& config) {
  std::string root = config.root;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return absl::StrCat(root, "/var/lib/wod/accounts/", config.policy.user_prefix,
                      ".password-checks");
}

absl::StatusOr<Backend> MakeBackend(const ControllerConfig& config, const std::string& location,
                                    bool read_only) {
  auto config_error = [&](const std::string& section, const absl::Status& s) {
    return absl::InvalidArgumentError(
        absl::StrCat(config.path, ": ", section, ": ", std::string(s.message())));
  };
  Backend b;
  b.options = OptionsOf(config, location);

  drivers::accounts::RealAccountsOptions ao;
  ao.root = config.root;
  ao.policy = config.policy;
  ao.password_memo = PasswordMemoPath(config);
  ao.read_only_memo = read_only;
  auto accounts = drivers::accounts::RealAccountsDriver::Create(ao);
  if (!accounts.ok()) return config_error("accounts", accounts.status());
  b.accounts = std::move(accounts).value();

  drivers::content::RealContentOptions co;
  co.root = config.root;
  co.policy = config.policy;
  if (!read_only) co.archive_dir = config.archive_dir;
  auto content = drivers::content::RealContentDriver::Create(co);
  if (!content.ok()) return config_error("content", content.status());
  b.content = std::move(content).value();

  if (config.has_hub) {
    drivers::HubRealOptions ho;
    ho.url = config.hub_url;
    ho.token_file = config.hub_token_file;
    ho.policy.user_prefix = config.policy.user_prefix;
    ho.request_timeout = config.hub_request_timeout;
    auto hub = drivers::HubReal::Create(ho);
    if (!hub.ok()) return config_error("hub", hub.status());
    b.hub = std::move(hub).value();
  }
  if (config.has_appliances) {
    drivers::DockerOptions dopt;
    dopt.socket_path = config.docker_socket;
    dopt.location = location;
    dopt.host_ip = config.docker_host_ip;
    b.appliances = std::make_unique<drivers::DockerApplianceDriver>(dopt);
  }
  return b;
}

Backend MakeFakeBackend(const ControllerConfig& config, const std::string& location,
                        const std::set<std::string>& images) {
  Backend b;
  b.options = OptionsOf(config, location);
  b.accounts = std::make_unique<drivers::accounts::FakeAccountsDriver>(config.policy);
  // The real accounts driver makes a seat's home with its account; the fake content driver
  // keeps homes of its own, so they are all there from the start.
  auto content =
      std::make_unique<drivers::content::FakeContentDriver>(config.policy, config.archive_dir);
  for (int seat = 0; seat < config.policy.seat_count; ++seat) content->AddHome(seat);
  b.content = std::move(content);
  if (config.has_hub) {
    drivers::HubFakeOptions ho;
    ho.policy.user_prefix = config.policy.user_prefix;
    // The real hub's "no such Linux user" check is met by the real accounts driver; the fake
    // hub cannot see the fake accounts.
    ho.require_account = false;
    b.hub = std::make_unique<drivers::HubFake>(ho);
  }
  if (config.has_appliances) {
    b.appliances =
        std::make_unique<drivers::FakeApplianceDriver>(location, images, config.docker_host_ip);
  }
  return b;
}

}  // namespace wod::cli
