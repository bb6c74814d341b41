// The subcommands of the `wod` binary. Each Add*Command registers its CLI11 subcommand and
// the callback that runs it; the callback stores the process exit code in *exit_code.
// cli/ is the only folder that wires the other libraries together.
#pragma once

#include <CLI/CLI.hpp>

#include <string>

namespace wod::cli {

// Settings every subcommand shares.
struct GlobalOptions {
  std::string store_url;  // --store, or $WOD_STORE, or the embedded default
};

std::string DefaultStoreUrl();

void AddCatalogCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddRegisterCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddSeatsCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddLocationCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddVerbCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddContentCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddServeCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddControllerCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddDriftCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddMailIngestCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddTokenCommand(CLI::App& app, GlobalOptions& global, int* exit_code);
void AddUpCommand(CLI::App& app, GlobalOptions& global, int* exit_code);

}  // namespace wod::cli
