// The configuration file of one backend, read by `wod controller` and `wod drift --live`
// (docs/controller.md "Configuration file" is the reference). One YAML file describes what
// runs on this machine: accounts (under a root prefix), content, an optional JupyterHub, an
// optional Docker engine, the controller's settings and the operator variables of templates.
// A section left out takes its defaults, except `hub` and `appliances`: without them the
// location has no hub domain / no appliance domain at all.
//
// Errors name the file, the line and the field ("ctl.yml:7: accounts.uid_base: ..."); an
// unknown key is an error, so a misspelt setting never silently falls back to its default.
// The hub token is read from its file here, once, and never logged or printed.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/controller.h"
#include "model/accounts.h"

namespace wod::cli {

struct ControllerConfig {
  std::string path;  // the file it was read from, for messages

  // accounts:
  std::string root = "/";  // root prefix of accounts and homes; a temp dir in hermetic tests
  model::AccountPolicy policy;

  // content:
  std::string workshops_dir;  // "" = the folder each workshop was loaded from
  std::string archive_dir;    // "" = no take-home archives or harvest records

  // hub: (absent = this location has no hub domain)
  bool has_hub = false;
  std::string hub_url;
  std::string hub_token_file;
  absl::Duration hub_request_timeout = absl::Seconds(10);

  // appliances: (absent = this location runs no appliances)
  bool has_appliances = false;
  std::string docker_socket = "/var/run/docker.sock";
  std::string docker_host_ip = "127.0.0.1";

  // controller:
  int concurrency = 4;
  absl::Duration lease_ttl = absl::Seconds(15);
  absl::Duration resync = absl::Seconds(15);
  absl::Duration backoff_base = absl::Seconds(1);
  absl::Duration backoff_cap = absl::Minutes(5);

  // variables:
  std::map<std::string, std::string> variables;
};

// Reads and checks `path`. InvalidArgument "PATH:LINE: FIELD: problem" for any error in the
// file (unreadable, not YAML, unknown key, wrong type, out of range). `other_sections` are
// top-level sections another reader takes from the same file (`wod up`: api, mail,
// lifecycle): accepted and not looked at here.
absl::StatusOr<ControllerConfig> LoadControllerConfig(
    const std::string& path, const std::set<std::string>& other_sections = {});

// The real drivers a config describes, and the controller options that go with them.
struct Backend {
  std::unique_ptr<drivers::accounts::AccountsDriver> accounts;
  std::unique_ptr<drivers::content::ContentDriver> content;
  std::unique_ptr<drivers::Hub> hub;
  std::unique_ptr<drivers::ApplianceDriver> appliances;
  controller::ControllerOptions options;

  controller::Drivers drivers() const {
    return {accounts.get(), hub.get(), content.get(), appliances.get()};
  }
};

// Where the accounts driver keeps its password check memo between processes:
// ROOT/var/lib/wod/accounts/PREFIX.password-checks (docs/drivers.md "Password checks").
std::string PasswordMemoPath(const ControllerConfig& config);

// Makes the drivers for `location`. `read_only` (for `wod drift --live`) makes nothing on
// disk (no archive directory). InvalidArgument naming the config file for what the drivers
// reject, including a missing or empty hub token file. Contacts no service.
absl::StatusOr<Backend> MakeBackend(const ControllerConfig& config, const std::string& location,
                                    bool read_only);

// Test only (`wod controller --fake-drivers`, hidden from --help; bench/scale_bench runs twenty
// of them on one machine): the in-memory fakes of drivers/*/*_fake.h in place of the real
// drivers of the domains `config` describes (accounts and content always, hub and appliances
// when their sections are there), with the same controller options. Nothing on the machine is
// read or changed: no /etc files, no homes, no hub token, no Docker socket. Every seat of the
// policy has a home; the fake hub does not require a Linux account; the fake engine holds
// `images` (the appliance images of the catalog), so any appliance of the catalog can start.
Backend MakeFakeBackend(const ControllerConfig& config, const std::string& location,
                        const std::set<std::string>& images);

}  // namespace wod::cli
