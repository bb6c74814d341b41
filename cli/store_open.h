// Opens the store a subcommand names, creating the parent directory of an embedded SQLite
// file so `wod` works on a fresh machine. Prints a clear error (without secrets) on failure.
#pragma once

#include <memory>
#include <string>

#include "store/store.h"

namespace wod::cli {

std::unique_ptr<store::Store> OpenStoreOrPrint(const std::string& url,
                                               const store::StoreOptions& options = {});

// NotFound unless `location` is a location of the store (a catalog names it).
absl::Status RequireLocation(store::Store& store, const std::string& location);

// Prints "wod: <message>" on stderr and returns the exit code for `status`.
int PrintError(const absl::Status& status);

}  // namespace wod::cli
