#include "cli/store_open.h"

#include <cstdio>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace wod::cli {

std::string DefaultStoreUrl() {
  if (const char* env = std::getenv("WOD_STORE"); env != nullptr && *env != '\0') return env;
  return "sqlite:/var/lib/wod/wod.db";
}

std::unique_ptr<store::Store> OpenStoreOrPrint(const std::string& url,
                                               const store::StoreOptions& options) {
  if (absl::StartsWith(url, "sqlite:")) {
    std::filesystem::path path(url.substr(7));
    std::error_code ec;
    if (path.has_parent_path() && path != ":memory:") {
      std::filesystem::create_directories(path.parent_path(), ec);
    }
  }
  auto opened = store::OpenStore(url, options);
  if (!opened.ok()) {
    PrintError(opened.status());
    return nullptr;
  }
  return std::move(opened).value();
}

absl::Status RequireLocation(store::Store& store, const std::string& location) {
  auto locations = store.ListLocations();
  if (!locations.ok()) return locations.status();
  std::string known;
  for (const auto& l : *locations) {
    if (l.name == location) return absl::OkStatus();
    known += (known.empty() ? "" : ", ") + l.name;
  }
  return absl::NotFoundError(
      absl::StrCat("location '", location, "' is not in the store (",
                   known.empty() ? "no locations: load a catalog first" : "known: " + known, ")"));
}

int PrintError(const absl::Status& status) {
  std::fprintf(stderr, "wod: %s\n", std::string(status.message()).c_str());
  switch (status.code()) {
    case absl::StatusCode::kOk:
      return 0;
    case absl::StatusCode::kInvalidArgument:
      return 2;
    case absl::StatusCode::kNotFound:
      return 3;
    case absl::StatusCode::kAlreadyExists:
      return 4;
    case absl::StatusCode::kResourceExhausted:
      return 5;
    case absl::StatusCode::kFailedPrecondition:
      return 6;
    case absl::StatusCode::kUnavailable:
      return 7;
    default:
      return 1;
  }
}

}  // namespace wod::cli
