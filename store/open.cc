#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"
#include "common/status.h"
#include "store/migrations.h"
#include "store/sql_db.h"
#include "store/sql_store.h"
#include "store/store.h"

namespace wod::store {

absl::StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& url,
                                                 const StoreOptions& options) {
  std::unique_ptr<SqlDb> db;
  if (absl::StartsWith(url, "sqlite:")) {
    std::string path = url.substr(std::string_view("sqlite:").size());
    // "sqlite://PATH" is accepted too: sqlite:///var/lib/wod.db is /var/lib/wod.db.
    if (absl::StartsWith(path, "//")) path = path.substr(2);
    ASSIGN_OR_RETURN(db, OpenSqliteDb(path));
  } else if (absl::StartsWith(url, "postgresql://") || absl::StartsWith(url, "postgres://")) {
    ASSIGN_OR_RETURN(db, OpenPostgresDb(url, options.max_connections));
  } else {
    return absl::InvalidArgumentError(absl::StrCat(
        "store url '", common::RedactUrl(url), "' is neither sqlite:PATH nor postgresql://..."));
  }
  absl::Status migrated = Migrate(*db);
  if (!migrated.ok()) {
    return absl::Status(migrated.code(),
                        absl::StrCat("store '", common::RedactUrl(url), "': ", migrated.message()));
  }
  return NewSqlStore(std::move(db));
}

}  // namespace wod::store
