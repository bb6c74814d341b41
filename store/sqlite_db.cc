// The SQLite engine of the SQL layer: WAL mode, synchronous=NORMAL, a busy timeout, a small
// pool of connections (each used by one thread at a time), BEGIN IMMEDIATE for writes so a
// write transaction never has to upgrade its lock halfway (which SQLite answers with BUSY).
// Desired-state changes bump a counter row in the same transaction: waiters in this process
// are woken at commit, waiters in other processes see the counter move when they poll it.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "common/status.h"
#include "store/connection_pool.h"
#include "store/sql_db.h"

namespace wod::store {
namespace {

constexpr int kBusyTimeoutMs = 10'000;
constexpr int kMaxAttempts = 10;
constexpr absl::Duration kRetryBase = absl::Microseconds(500);
constexpr int kRetryMaxDoublings = 7;
constexpr int kPoolSize = 8;

// SQLite numbers parameters ?NNN; the store writes them $NNN like PostgreSQL.
std::string ToSqlitePlaceholders(const std::string& sql) {
  std::string out = sql;
  for (size_t i = 0; i + 1 < out.size(); ++i) {
    if (out[i] == '$' && absl::ascii_isdigit(static_cast<unsigned char>(out[i + 1]))) out[i] = '?';
  }
  return out;
}

bool IsBusy(int rc) {
  int primary = rc & 0xff;
  return primary == SQLITE_BUSY || primary == SQLITE_LOCKED;
}

// Maps an SQLite result code to the status codes of store.h. SQLite's messages name the
// table and column of a failed constraint but never the values.
absl::Status SqliteStatus(sqlite3* db, int rc, absl::string_view context) {
  std::string message = absl::StrCat("sqlite: ", context, ": ",
                                     db != nullptr ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
  switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      return absl::UnavailableError(message);
    case SQLITE_CONSTRAINT:
      if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY) {
        return absl::AlreadyExistsError(message);
      }
      return absl::FailedPreconditionError(message);
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_FULL:
    case SQLITE_READONLY:
    case SQLITE_PERM:
      return absl::UnavailableError(message);
    default:
      return absl::InternalError(message);
  }
}

class SqliteConn {
 public:
  static absl::StatusOr<std::unique_ptr<SqliteConn>> Open(const std::string& path) {
    sqlite3* db = nullptr;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = sqlite3_open_v2(path.c_str(), &db, flags, nullptr);
    auto conn = std::unique_ptr<SqliteConn>(new SqliteConn(db));
    if (rc != SQLITE_OK) {
      return SqliteStatus(db, rc, absl::StrCat("cannot open '", path, "'"));
    }
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_timeout(db, kBusyTimeoutMs);
    // journal_mode=WAL is persistent in the file; the others are per connection.
    for (const char* pragma :
         {"PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL", "PRAGMA foreign_keys=ON"}) {
      rc = sqlite3_exec(db, pragma, nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) return SqliteStatus(db, rc, pragma);
    }
    return conn;
  }

  ~SqliteConn() {
    for (auto& [sql, prepared] : stmts_) sqlite3_finalize(prepared.stmt);
    sqlite3_close(db_);
  }

  sqlite3* db() { return db_; }

  // A prepared statement and the names of its result columns.
  struct Prepared {
    sqlite3_stmt* stmt = nullptr;
    std::shared_ptr<const SqlColumnNames> names;
  };

  // Statements are prepared once per connection and reused.
  absl::StatusOr<const Prepared*> Prepare(const std::string& sql) {
    auto it = stmts_.find(sql);
    if (it != stmts_.end()) return &it->second;
    std::string text = ToSqlitePlaceholders(sql);
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v3(db_, text.c_str(), static_cast<int>(text.size()),
                                SQLITE_PREPARE_PERSISTENT, &stmt, nullptr);
    if (rc != SQLITE_OK) return SqliteStatus(db_, rc, "prepare");
    auto names = std::make_shared<SqlColumnNames>();
    for (int c = 0; c < sqlite3_column_count(stmt); ++c) {
      names->emplace_back(sqlite3_column_name(stmt, c));
    }
    return &stmts_.emplace(sql, Prepared{stmt, std::move(names)}).first->second;
  }

 private:
  explicit SqliteConn(sqlite3* db) : db_(db) {}
  sqlite3* db_;
  std::unordered_map<std::string, Prepared> stmts_;
};

class SqliteTx final : public SqlTx {
 public:
  explicit SqliteTx(SqliteConn& conn) : conn_(conn) {}
  Dialect dialect() const override { return Dialect::kSqlite; }
  bool retryable() const { return retryable_; }
  bool changed() const { return !change_scope().empty(); }

 protected:
  absl::Status OnFirstChange() override {
    return Run("UPDATE change_counter SET counter = counter + 1 WHERE id = 1", {}, nullptr);
  }

 public:
  absl::StatusOr<std::vector<SqlRow>> Query(const std::string& sql,
                                            const std::vector<SqlParam>& params) override {
    std::vector<SqlRow> rows;
    RETURN_IF_ERROR(Run(sql, params, &rows));
    return rows;
  }

  absl::StatusOr<int64_t> Exec(const std::string& sql,
                               const std::vector<SqlParam>& params) override {
    RETURN_IF_ERROR(Run(sql, params, nullptr));
    return static_cast<int64_t>(sqlite3_changes(conn_.db()));
  }

  absl::Status ExecScript(const std::string& sql) override {
    int rc = sqlite3_exec(conn_.db(), sql.c_str(), nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) return Fail(rc, "script");
    return absl::OkStatus();
  }

 private:
  absl::Status Fail(int rc, absl::string_view context) {
    if (IsBusy(rc)) retryable_ = true;
    return SqliteStatus(conn_.db(), rc, context);
  }

  absl::Status Run(const std::string& sql, const std::vector<SqlParam>& params,
                   std::vector<SqlRow>* rows) {
    ASSIGN_OR_RETURN(const SqliteConn::Prepared* prepared, conn_.Prepare(sql));
    sqlite3_stmt* stmt = prepared->stmt;
    // Resets the statement whatever happens, so the cached statement holds no read lock.
    struct Resetter {
      sqlite3_stmt* stmt;
      ~Resetter() {
        sqlite3_reset(stmt);
        sqlite3_clear_bindings(stmt);
      }
    } resetter{stmt};
    for (size_t i = 0; i < params.size(); ++i) {
      const SqlParam& p = params[i];
      int index = static_cast<int>(i + 1);
      int rc = SQLITE_OK;
      switch (p.kind()) {
        case SqlParam::Kind::kNull:
          rc = sqlite3_bind_null(stmt, index);
          break;
        case SqlParam::Kind::kInt:
        case SqlParam::Kind::kBool:
          rc = sqlite3_bind_int64(stmt, index, p.int_value());
          break;
        case SqlParam::Kind::kText:
          rc = sqlite3_bind_text(stmt, index, p.text().data(), static_cast<int>(p.text().size()),
                                 SQLITE_TRANSIENT);
          break;
      }
      if (rc != SQLITE_OK) return Fail(rc, "bind");
    }
    while (true) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_DONE) return absl::OkStatus();
      if (rc != SQLITE_ROW) return Fail(rc, "step");
      if (rows == nullptr) continue;
      int n = sqlite3_column_count(stmt);
      std::vector<std::optional<std::string>> values;
      values.reserve(n);
      for (int c = 0; c < n; ++c) {
        if (sqlite3_column_type(stmt, c) == SQLITE_NULL) {
          values.emplace_back(std::nullopt);
        } else {
          const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, c));
          values.emplace_back(std::string(text, sqlite3_column_bytes(stmt, c)));
        }
      }
      rows->emplace_back(prepared->names, std::move(values));
    }
  }

  SqliteConn& conn_;
  bool retryable_ = false;
};

class SqliteDb final : public SqlDb {
 public:
  // ":memory:" is a database of its own per connection: it gets one connection.
  SqliteDb(std::string path, std::unique_ptr<SqliteConn> first)
      : path_(std::move(path)),
        pool_(
            path_ == ":memory:" ? 1 : kPoolSize, [this] { return SqliteConn::Open(path_); },
            std::move(first)) {}

  Dialect dialect() const override { return Dialect::kSqlite; }

  // One machine: any change wakes the waiter, whatever location it watches (the change
  // counter is one row).
  bool WaitForChange(absl::Duration timeout, std::string_view /*location*/) override {
    std::lock_guard<std::mutex> waiter(wait_mu_);
    const absl::Time deadline = absl::Now() + timeout;
    uint64_t gen = LocalGeneration();
    while (true) {
      // The counter moves with every change, whichever process made it.
      absl::StatusOr<int64_t> counter = ReadCounter();
      if (counter.ok()) {
        if (!last_counter_) {
          last_counter_ = *counter;  // first call: changes from now on
        } else if (*counter != *last_counter_) {
          last_counter_ = *counter;
          return true;
        }
      }
      const absl::Duration remaining = deadline - absl::Now();
      if (remaining <= absl::ZeroDuration()) return false;
      std::unique_lock<std::mutex> lock(change_mu_);
      change_cv_.wait_for(lock,
                          absl::ToChronoMicroseconds(std::min(remaining, kChangePollInterval)),
                          [&] { return local_gen_ != gen; });
      gen = local_gen_;
    }
  }

  absl::Status Transact(TxMode mode, const std::function<absl::Status(SqlTx&)>& fn) override {
    absl::Status last;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) SleepBeforeRetry(attempt, kRetryBase, kRetryMaxDoublings);
      // Writers of this process queue on a mutex rather than in SQLite's busy handler, which
      // polls with sleeps; other processes are still kept out by the database lock.
      std::unique_lock<std::mutex> write_lock(write_mu_, std::defer_lock);
      if (mode == TxMode::kWrite) write_lock.lock();
      ASSIGN_OR_RETURN(std::unique_ptr<SqliteConn> conn, pool_.Acquire());
      bool reusable = true;
      bool retry = false;
      bool changed = false;
      last = RunOnce(*conn, mode, fn, &reusable, &retry, &changed);
      pool_.Release(reusable ? std::move(conn) : nullptr);
      if (last.ok() && changed) {
        {
          std::lock_guard<std::mutex> lock(change_mu_);
          ++local_gen_;
        }
        change_cv_.notify_all();
      }
      if (last.ok() || !retry) return last;
    }
    return absl::UnavailableError(
        absl::StrCat("sqlite database '", path_, "' stayed busy: ", last.message()));
  }

 private:
  absl::Status RunOnce(SqliteConn& conn, TxMode mode, const std::function<absl::Status(SqlTx&)>& fn,
                       bool* reusable, bool* retry, bool* changed) {
    const char* begin = mode == TxMode::kWrite ? "BEGIN IMMEDIATE" : "BEGIN";
    int rc = sqlite3_exec(conn.db(), begin, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
      *retry = IsBusy(rc);
      return SqliteStatus(conn.db(), rc, "begin");
    }
    SqliteTx tx(conn);
    absl::Status status = fn(tx);
    if (status.ok()) {
      rc = sqlite3_exec(conn.db(), "COMMIT", nullptr, nullptr, nullptr);
      if (rc == SQLITE_OK) {
        *changed = tx.changed();
        return absl::OkStatus();
      }
      status = SqliteStatus(conn.db(), rc, "commit");
      *retry = IsBusy(rc);
    } else {
      *retry = tx.retryable();
    }
    if (!sqlite3_get_autocommit(conn.db())) {
      rc = sqlite3_exec(conn.db(), "ROLLBACK", nullptr, nullptr, nullptr);
      if (rc != SQLITE_OK) *reusable = false;
    }
    return status;
  }

  uint64_t LocalGeneration() {
    std::lock_guard<std::mutex> lock(change_mu_);
    return local_gen_;
  }

  absl::StatusOr<int64_t> ReadCounter() {
    int64_t counter = 0;
    RETURN_IF_ERROR(Transact(TxMode::kRead, [&](SqlTx& tx) -> absl::Status {
      ASSIGN_OR_RETURN(auto rows, tx.Query("SELECT counter FROM change_counter WHERE id = 1"));
      if (!rows.empty()) counter = rows[0].Int(0);
      return absl::OkStatus();
    }));
    return counter;
  }

  const std::string path_;
  ConnectionPool<SqliteConn> pool_;
  std::mutex write_mu_;
  // Changes committed through this store; waiters wait on change_cv_.
  std::mutex change_mu_;
  std::condition_variable change_cv_;
  uint64_t local_gen_ = 0;
  // The waiter's side, used only under wait_mu_.
  std::mutex wait_mu_;
  std::optional<int64_t> last_counter_;
};

// The store holds every seat's password (and the next occupants'): its files are the owner's
// only, whatever the umask. A new database file is made 0600 before SQLite opens it, and SQLite
// gives its -wal and -shm files the database file's mode; a store made by an earlier version
// (0644) is narrowed here, with its -wal and -shm. Failures are left to SQLite's own open,
// which names them (a file of another user that we cannot change, a missing directory).
//
// An existing database is changed by path (chmod), never opened here: closing any descriptor
// of a file drops every POSIX lock this process holds on it, including those of SQLite
// connections to it opened earlier (another store of the same process). Another process then
// took the database for unused, checkpointed and removed the WAL under the writer, whose later
// commits no other process saw (found by up_cli_test: a seat Ready inside `wod up`, Vacant for
// every reader outside). Only a file created here (O_EXCL) is opened, which no connection of
// this process can hold yet.
void MakePrivate(const std::string& path) {
  if (path == ":memory:" || path.rfind("file:", 0) == 0) return;
  struct stat st {};
  if (lstat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return;
    int fd = open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) close(fd);
    return;
  }
  for (const std::string& file : {path, path + "-wal", path + "-shm"}) {
    if (lstat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
      (void)chmod(file.c_str(), st.st_mode & 0700);
    }
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDb>> OpenSqliteDb(const std::string& path) {
  if (path.empty()) return absl::InvalidArgumentError("sqlite: empty database path");
  MakePrivate(path);
  ASSIGN_OR_RETURN(std::unique_ptr<SqliteConn> conn, SqliteConn::Open(path));
  return std::unique_ptr<SqlDb>(new SqliteDb(path, std::move(conn)));
}

}  // namespace wod::store
