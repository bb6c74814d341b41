// Versioned schema migrations of the store, one SQL script per engine for each version.
// Applied at open in one write transaction (PostgreSQL: under an advisory lock), recorded in
// schema_migrations; applying them again is a no-op. Append new versions; never edit old ones.
#pragma once

#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "store/sql_db.h"

namespace wod::store {

struct Migration {
  int version = 0;
  std::string name;
  std::string sqlite;
  std::string postgres;
};

// All migrations, ascending by version.
const std::vector<Migration>& Migrations();

// Applies the migrations `db` lacks, up to `up_to_version` (tests build older schemas with
// it). FailedPrecondition when the database was migrated by a newer wod (it holds a version
// this binary does not know).
absl::Status Migrate(SqlDb& db, int up_to_version = std::numeric_limits<int>::max());

// The versions recorded in schema_migrations, ascending.
absl::StatusOr<std::vector<int>> AppliedMigrations(SqlDb& db);

}  // namespace wod::store
