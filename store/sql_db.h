// The thin SQL layer under the store: one transaction runner and one statement executor per
// database engine (SQLite, PostgreSQL). The store's logic (store/sql_store.cc) is written once
// against this layer; the engines differ only in how they connect, lock, retry and report
// errors, and in a few SQL fragments chosen by Dialect. Internal to store/ (and its tests).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace wod::store {

enum class Dialect { kSqlite, kPostgres };

// One statement parameter: NULL, an integer, a boolean or text. Placeholders are written
// PostgreSQL style ($1, $2, ...) for both engines.
class SqlParam {
 public:
  enum class Kind { kNull, kInt, kBool, kText };
  SqlParam(std::nullptr_t) : kind_(Kind::kNull) {}           // NOLINT: implicit on purpose
  SqlParam(int v) : kind_(Kind::kInt), int_(v) {}            // NOLINT
  SqlParam(int64_t v) : kind_(Kind::kInt), int_(v) {}        // NOLINT
  SqlParam(bool v) : kind_(Kind::kBool), int_(v ? 1 : 0) {}  // NOLINT
  SqlParam(std::string v) : kind_(Kind::kText), text_(std::move(v)) {}  // NOLINT
  SqlParam(std::string_view v) : kind_(Kind::kText), text_(v) {}        // NOLINT
  SqlParam(const char* v) : kind_(Kind::kText), text_(v) {}             // NOLINT
  template <typename T>
  SqlParam(const std::optional<T>& v) : SqlParam(nullptr) {  // NOLINT
    if (v) *this = SqlParam(*v);
  }

  Kind kind() const { return kind_; }
  int64_t int_value() const { return int_; }
  const std::string& text() const { return text_; }
  // The value as PostgreSQL's text input format expects it.
  std::string ToText() const;

 private:
  Kind kind_;
  int64_t int_ = 0;
  std::string text_;
};

// One result row; values are kept as text (NULL as nullopt) and converted on access.
class SqlRow {
 public:
  explicit SqlRow(std::vector<std::optional<std::string>> values) : values_(std::move(values)) {}
  size_t size() const { return values_.size(); }
  bool IsNull(size_t i) const { return !values_.at(i).has_value(); }
  // NULL reads as "" / 0 / false; use IsNull or the Opt accessors to tell.
  const std::string& Text(size_t i) const;
  int64_t Int(size_t i) const;
  bool Bool(size_t i) const;  // accepts 1/0 (SQLite) and t/f (PostgreSQL)
  std::optional<int64_t> OptInt(size_t i) const;

 private:
  std::vector<std::optional<std::string>> values_;
};

// One open transaction. Statements that fail leave the transaction unusable: return the
// error from the Transact callback.
class SqlTx {
 public:
  virtual ~SqlTx() = default;
  virtual Dialect dialect() const = 0;
  // Runs one statement and returns its rows (statements with RETURNING included).
  virtual absl::StatusOr<std::vector<SqlRow>> Query(const std::string& sql,
                                                    const std::vector<SqlParam>& params = {}) = 0;
  // Runs one statement and returns how many rows it inserted, updated or deleted.
  virtual absl::StatusOr<int64_t> Exec(const std::string& sql,
                                       const std::vector<SqlParam>& params = {}) = 0;
  // Runs several parameterless statements separated by semicolons (migrations).
  virtual absl::Status ExecScript(const std::string& sql) = 0;
  // Records that this transaction changes desired state: once it commits, WaitForChange
  // callers (in this process at once, in others soon after) are woken.
  virtual absl::Status MarkChanged() = 0;
};

enum class TxMode {
  kRead,   // reads only
  kWrite,  // writes: SQLite takes the write lock at BEGIN (BEGIN IMMEDIATE)
};

class SqlDb {
 public:
  virtual ~SqlDb() = default;
  virtual Dialect dialect() const = 0;
  // Runs `fn` in one transaction and commits when it returns OK (rolls back otherwise).
  // When the engine reports a transient conflict (SQLite busy, PostgreSQL serialization
  // failure or deadlock) the whole transaction is rolled back and `fn` runs again, a bounded
  // number of times; `fn` must therefore only touch the database and its own outputs.
  // Errors: NotFound/AlreadyExists/... as returned by `fn`; AlreadyExists for a unique
  // violation; Unavailable when the database cannot be reached or stays busy.
  virtual absl::Status Transact(TxMode mode, const std::function<absl::Status(SqlTx&)>& fn) = 0;
  // Blocks until a transaction that called MarkChanged has committed since the previous call
  // (true), or `timeout` passes (false). Changes made in this process wake it at once, changes
  // of other processes within about 100 ms. Meant for one waiting thread per database.
  virtual bool WaitForChange(absl::Duration timeout) = 0;
};

// How often a waiter looks for changes made by other processes.
inline constexpr absl::Duration kChangePollInterval = absl::Milliseconds(100);

// `path` is a file name or ":memory:". Opens in WAL mode with a small connection pool.
absl::StatusOr<std::unique_ptr<SqlDb>> OpenSqliteDb(const std::string& path);
// `url` is a libpq connection URI. Connects once to fail early; then pools connections.
absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgresDb(const std::string& url);

// Times are stored as microseconds since the Unix epoch (BIGINT); the infinities map to the
// int64 limits so that they round-trip.
int64_t TimeToDb(absl::Time t);
absl::Time TimeFromDb(int64_t us);

// The first line of an engine's error message (drops DETAIL/HINT lines, which may quote
// row values).
std::string FirstLine(std::string_view message);

}  // namespace wod::store
