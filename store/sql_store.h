// The Store implementation over the SQL layer: all of the store's logic (catalog, seat
// assignment, verbs, leases, outbox) written once, run on SQLite or PostgreSQL.
#pragma once

#include <memory>

#include "store/sql_db.h"
#include "store/store.h"

namespace wod::store {

// Takes an opened, migrated database.
std::unique_ptr<Store> NewSqlStore(std::unique_ptr<SqlDb> db);

}  // namespace wod::store
