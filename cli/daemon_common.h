// Helpers shared by the long-running subcommands (`wod serve`, `wod up`).
#pragma once

#include <string>

#include "absl/status/status.h"

namespace wod::cli {

// Parses "HOST:PORT" or "[V6]:PORT" (PORT 0: any free port). InvalidArgument naming the text.
absl::Status ParseListen(const std::string& text, std::string* host, int* port);

// HOST as it appears in a URL: a v6 address in brackets.
std::string UrlHost(const std::string& host);

}  // namespace wod::cli
