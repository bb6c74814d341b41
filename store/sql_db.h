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

// The column names of one result, shared by its rows.
using SqlColumnNames = std::vector<std::string>;

// One result row; values are kept as text (NULL as nullopt) and converted on access. Columns
// are read by the name the statement gives them (write `expr AS name` for an expression, and
// alias the columns of a join apart), or by position. Reading a name the statement does not
// select is a bug of ours, like an index out of range: it aborts and names the column. A row
// is read by one thread at a time (it remembers where the last name was found).
class SqlRow {
 public:
  SqlRow(std::shared_ptr<const SqlColumnNames> names,
         std::vector<std::optional<std::string>> values);
  size_t size() const { return values_->size(); }
  // NULL reads as "" / 0 / false; use IsNull or the Opt accessors to tell.
  bool IsNull(size_t i) const { return !values_->at(i).has_value(); }
  const std::string& Text(size_t i) const;
  int64_t Int(size_t i) const;
  bool Bool(size_t i) const;  // accepts 1/0 (SQLite) and t/f (PostgreSQL)
  std::optional<int64_t> OptInt(size_t i) const;

  bool IsNull(std::string_view name) const { return IsNull(Index(name)); }
  const std::string& Text(std::string_view name) const { return Text(Index(name)); }
  int64_t Int(std::string_view name) const { return Int(Index(name)); }
  bool Bool(std::string_view name) const { return Bool(Index(name)); }
  std::optional<int64_t> OptInt(std::string_view name) const { return OptInt(Index(name)); }

  // The same row with every name read as `prefix` + name: one table's columns out of a join
  // that selected them as `<prefix><column>`, so one parser reads a table alone or joined.
  SqlRow WithPrefix(std::string prefix) const;

 private:
  size_t Index(std::string_view name) const;

  std::shared_ptr<const SqlColumnNames> names_;
  std::shared_ptr<const std::vector<std::optional<std::string>>> values_;  // shared by WithPrefix
  std::string prefix_;
  mutable size_t next_ = 0;  // where Index starts looking
};

// A statement parameter referred to by name in the statement's text (`:workshop`), so that a
// statement can be put together from fragments without numbering its parameters.
struct SqlNamedParam {
  std::string_view name;
  SqlParam value;
};

// `sql` with each `:name` replaced by a numbered placeholder ($1, $2, ... in order of first
// use; one name is one placeholder however often it appears) and the values in that order.
// `::` (a PostgreSQL cast) and text in quotes are left alone; parameters the text does not
// use are left out. A name with no parameter is a bug of ours: Internal.
struct SqlBound {
  std::string sql;
  std::vector<SqlParam> params;
};
absl::StatusOr<SqlBound> BindNamed(std::string_view sql, const std::vector<SqlNamedParam>& params);

// Whose controllers a committed desired-state change concerns: every location (catalog loads)
// or the named ones (a registration, a verb or a move concerns the locations of its seats), so
// that a controller of one location is not woken by the registrations of twenty others.
struct ChangeScope {
  bool all = false;
  std::vector<std::string> locations;  // sorted, no duplicates; unused when `all`

  bool empty() const { return !all && locations.empty(); }
  // Adds `location`; "" stands for every location.
  void Add(std::string_view location);
  void Merge(const ChangeScope& other);
  // True when a waiter that watches `watched` ("" = every location) should wake.
  bool Concerns(std::string_view watched) const;
  // "*" for every location, else the names joined by ',' (location names never hold one).
  std::string Encode() const;
  // The inverse of Encode; text from an older wod (not ours) decodes as every location.
  static ChangeScope Decode(std::string_view text);
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
  // Query and Exec of a statement with named parameters (see BindNamed).
  absl::StatusOr<std::vector<SqlRow>> QueryNamed(std::string_view sql,
                                                 const std::vector<SqlNamedParam>& params);
  absl::StatusOr<int64_t> ExecNamed(std::string_view sql, const std::vector<SqlNamedParam>& params);
  // Records that this transaction changes desired state of `location` ("" = of every
  // location): once it commits, WaitForChange callers watching it (in this process at once,
  // in others soon after) are woken.
  absl::Status MarkChanged(std::string_view location = {});
  const ChangeScope& change_scope() const { return change_scope_; }

 protected:
  // The engine's part of the first MarkChanged of a transaction (SQLite bumps its counter).
  virtual absl::Status OnFirstChange() { return absl::OkStatus(); }

 private:
  ChangeScope change_scope_;
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
  // Blocks until a transaction that called MarkChanged for `location` ("" = any change) has
  // committed since the previous call (true), or `timeout` passes (false). Changes made in
  // this process wake it at once, changes of other processes within about 100 ms. Meant for
  // one waiting thread per database, which watches one location. PostgreSQL filters by
  // location; SQLite (one machine) wakes on any change.
  virtual bool WaitForChange(absl::Duration timeout, std::string_view location) = 0;
};

// How often a waiter looks for changes made by other processes.
inline constexpr absl::Duration kChangePollInterval = absl::Milliseconds(100);

// `path` is a file name or ":memory:". Opens in WAL mode with a small connection pool.
absl::StatusOr<std::unique_ptr<SqlDb>> OpenSqliteDb(const std::string& path);
// `url` is a libpq connection URI. Connects once to fail early; then pools connections.
// `max_connections`: the pool's bound, 0 for the default (16).
absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgresDb(const std::string& url,
                                                      int max_connections = 0);

// Sleeps before the `attempt`th rerun (1, 2, ...) of a transaction that met a transient
// conflict: `base` plus a random part of up to 2^min(attempt, max_doublings) ms, so that the
// transactions that conflicted spread out instead of meeting again.
void SleepBeforeRetry(int attempt, absl::Duration base, int max_doublings);

// Times are stored as microseconds since the Unix epoch (BIGINT); the infinities map to the
// int64 limits so that they round-trip.
int64_t TimeToDb(absl::Time t);
absl::Time TimeFromDb(int64_t us);

// The first line of an engine's error message (drops DETAIL/HINT lines, which may quote
// row values).
std::string FirstLine(std::string_view message);

}  // namespace wod::store
