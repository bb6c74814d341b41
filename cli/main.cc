// `wod`: one binary, CLI11 subcommands. Only subcommands that work are registered.
#include <CLI/CLI.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "common/log.h"

int main(int argc, char** argv) {
  CLI::App app{
      "wod runs hands-on technical workshops on demand: desired state in a store, one "
      "controller per backend converging accounts, JupyterHub, content and appliances."};
  app.set_version_flag("--version", "wod 0.1.0");
  app.require_subcommand(1);
  app.fallthrough();

  wod::cli::GlobalOptions global;
  global.store_url = wod::cli::DefaultStoreUrl();
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "debug, info, warning, error or off")
      ->capture_default_str();

  int exit_code = 0;
  wod::cli::AddCatalogCommand(app, global, &exit_code);
  wod::cli::AddRegisterCommand(app, global, &exit_code);
  wod::cli::AddSeatsCommand(app, global, &exit_code);
  wod::cli::AddLocationCommand(app, global, &exit_code);
  wod::cli::AddVerbCommand(app, global, &exit_code);
  wod::cli::AddContentCommand(app, global, &exit_code);
  wod::cli::AddServeCommand(app, global, &exit_code);
  wod::cli::AddControllerCommand(app, global, &exit_code);
  wod::cli::AddDriftCommand(app, global, &exit_code);
  wod::cli::AddMailIngestCommand(app, global, &exit_code);
  wod::cli::AddTokenCommand(app, global, &exit_code);
  wod::cli::AddUpCommand(app, global, &exit_code);

  app.parse_complete_callback([&] {
    wod::common::LogLevel level;
    if (!wod::common::ParseLogLevel(log_level, &level)) {
      throw CLI::ValidationError("--log-level", "must be debug, info, warning, error or off");
    }
    wod::common::SetLogLevel(level);
  });

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
