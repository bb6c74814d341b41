// `wod token create|list|revoke`: the bearer tokens of the admin and operator API routes.
// A token is printed once, at creation; the store keeps only its SHA-256 (docs/api.md).
#include <fmt/format.h>

#include <nlohmann/json.hpp>

#include "absl/strings/str_cat.h"
#include "cli/commands.h"
#include "cli/store_open.h"
#include "common/clock.h"
#include "common/random.h"

namespace wod::cli {
namespace {

struct TokenOptions {
  std::string role;
  std::string name;
  bool json = false;
};

int RunCreate(const GlobalOptions& global, const TokenOptions& opts) {
  if (opts.role != "admin" && opts.role != "operator") {
    return PrintError(absl::InvalidArgumentError("--role must be admin or operator"));
  }
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  // 32 bytes of entropy; prefixed so a leaked token is recognizable in a secret scanner.
  const std::string token = absl::StrCat("wod_", common::RandomToken(32));
  auto made = store->CreateApiToken(opts.name, opts.role, common::Sha256Hex(token),
                                    common::RealClock::Get()->Now());
  if (!made.ok()) return PrintError(made.status());
  if (opts.json) {
    fmt::print(
        "{}\n",
        nlohmann::json{{"name", made->name}, {"role", made->role}, {"token", token}}.dump(2));
  } else {
    fmt::print("{}\n", token);
    std::fprintf(stderr,
                 "wod: %s token '%s' created; it is shown only this once (the store keeps its "
                 "SHA-256). Send it as: Authorization: Bearer <token>\n",
                 made->role.c_str(), made->name.c_str());
  }
  return 0;
}

int RunList(const GlobalOptions& global, const TokenOptions& opts) {
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  auto tokens = store->ListApiTokens();
  if (!tokens.ok()) return PrintError(tokens.status());
  if (opts.json) {
    nlohmann::json out = nlohmann::json::array();
    for (const store::ApiToken& t : *tokens) {
      out.push_back({{"name", t.name},
                     {"role", t.role},
                     {"created", common::FormatTime(t.created)},
                     {"last_used", t.last_used ? nlohmann::json(common::FormatTime(*t.last_used))
                                               : nlohmann::json(nullptr)},
                     {"revoked", t.revoked}});
    }
    fmt::print("{}\n", out.dump(2));
    return 0;
  }
  if (tokens->empty()) {
    fmt::print("no tokens: make one with `wod token create --role admin --name NAME`\n");
    return 0;
  }
  fmt::print("{:<24} {:<9} {:<8} {:<25} {}\n", "NAME", "ROLE", "STATE", "CREATED", "LAST USED");
  for (const store::ApiToken& t : *tokens) {
    fmt::print("{:<24} {:<9} {:<8} {:<25} {}\n", t.name, t.role, t.revoked ? "revoked" : "active",
               common::FormatTime(t.created), t.last_used ? common::FormatTime(*t.last_used) : "-");
  }
  return 0;
}

int RunRevoke(const GlobalOptions& global, const TokenOptions& opts) {
  auto store = OpenStoreOrPrint(global.store_url);
  if (!store) return 1;
  auto changed = store->RevokeApiToken(opts.name);
  if (!changed.ok()) return PrintError(changed.status());
  fmt::print("token '{}' {}\n", opts.name, *changed ? "revoked" : "was already revoked");
  return 0;
}

}  // namespace

void AddTokenCommand(CLI::App& app, GlobalOptions& global, int* exit_code) {
  auto opts = std::make_shared<TokenOptions>();
  CLI::App* cmd = app.add_subcommand("token", "Manage admin and operator API tokens");
  cmd->require_subcommand(1);
  auto add_store = [&global](CLI::App* sub) {
    sub->add_option("--store", global.store_url, "Store URL: sqlite:PATH or postgresql://...")
        ->envname("WOD_STORE")
        ->capture_default_str();
  };

  CLI::App* create = cmd->add_subcommand(
      "create", "Make a token and print it once (admin: read and act; operator: read only)");
  add_store(create);
  create->add_option("--role", opts->role, "admin or operator")
      ->required()
      ->check(CLI::IsMember({"admin", "operator"}));
  create->add_option("--name", opts->name, "A unique name for the token")->required();
  create->add_flag("--json", opts->json, "Print JSON");
  create->callback([&global, opts, exit_code] { *exit_code = RunCreate(global, *opts); });

  CLI::App* list = cmd->add_subcommand("list", "List tokens (never the tokens themselves)");
  add_store(list);
  list->add_flag("--json", opts->json, "Print JSON");
  list->callback([&global, opts, exit_code] { *exit_code = RunList(global, *opts); });

  CLI::App* revoke = cmd->add_subcommand("revoke", "Revoke a token by name");
  add_store(revoke);
  revoke->add_option("name", opts->name, "The token's name")->required();
  revoke->callback([&global, opts, exit_code] { *exit_code = RunRevoke(global, *opts); });
}

}  // namespace wod::cli
