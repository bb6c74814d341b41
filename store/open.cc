#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "store/store.h"

namespace wod::store {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url) {
  return absl::UnimplementedError(
      absl::StrCat("store '", common::RedactUrl(url), "' is not implemented yet"));
}

}  // namespace wod::store
