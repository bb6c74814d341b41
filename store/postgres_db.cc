// The PostgreSQL engine of the SQL layer, on libpqxx 6.4: a pool of connections (each used by
// one thread at a time), statements prepared once per connection, write transactions at READ
// COMMITTED (the store takes explicit row locks where it needs them), read transactions at
// REPEATABLE READ READ ONLY (one snapshot for multi-statement reads). Every libpqxx exception is
// caught here and becomes a Status; serialization failures and deadlocks rerun the transaction.
// Desired-state changes are announced with NOTIFY on kChannel from a background notifier, after
// the changing transaction committed, so that the commits themselves never queue on the
// notification lock; waiters LISTEN on a connection of their own.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <pqxx/pqxx>
#include <thread>
#include <unordered_map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/time/clock.h"
#include "common/log.h"
#include "common/random.h"
#include "common/status.h"
#include "store/connection_pool.h"
#include "store/sql_db.h"

namespace wod::store {
namespace {

constexpr int kMaxAttempts = 20;
constexpr absl::Duration kRetryBase = absl::Microseconds(200);
constexpr int kRetryMaxDoublings = 6;
constexpr int kPoolSize = 16;
constexpr char kChannel[] = "wod_desired";
// At most one NOTIFY per this interval: a burst of registrations wakes controllers once.
constexpr absl::Duration kNotifyCoalesce = absl::Milliseconds(20);
constexpr size_t kMaxScopeText = 4000;

// The password of a libpq URI (postgresql://user:password@host/...), or "".
std::string UrlPassword(std::string_view url) {
  size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return "";
  std::string_view rest = url.substr(scheme + 3);
  size_t at = rest.find('@');
  if (at == std::string_view::npos) return "";
  std::string_view userinfo = rest.substr(0, at);
  size_t colon = userinfo.find(':');
  if (colon == std::string_view::npos) return "";
  return std::string(userinfo.substr(colon + 1));
}

// What one failed libpqxx call means for the transaction runner.
struct PgFailure {
  absl::Status status;
  bool retry = false;   // transient conflict: rerun the transaction
  bool broken = false;  // the connection is no longer usable: drop it from the pool
};

class PgConn {
 public:
  explicit PgConn(std::unique_ptr<pqxx::connection> conn) : conn_(std::move(conn)) {}
  pqxx::connection& conn() { return *conn_; }
  // The name of `sql` prepared on this connection (prepared on first use).
  const std::string& Prepared(const std::string& sql) {
    auto it = prepared_.find(sql);
    if (it != prepared_.end()) return it->second;
    std::string name = absl::StrCat("wod_s", prepared_.size());
    conn_->prepare(name, sql);
    return prepared_.emplace(sql, std::move(name)).first->second;
  }

 private:
  std::unique_ptr<pqxx::connection> conn_;
  std::unordered_map<std::string, std::string> prepared_;
};

class PgTx final : public SqlTx {
 public:
  using Classifier = std::function<PgFailure()>;
  PgTx(PgConn& conn, pqxx::transaction_base& tx, const Classifier& classify)
      : conn_(conn), tx_(tx), classify_(classify) {}
  Dialect dialect() const override { return Dialect::kPostgres; }
  const PgFailure& failure() const { return failure_; }
  ChangeScope changes() const { return change_scope(); }

  absl::StatusOr<std::vector<SqlRow>> Query(const std::string& sql,
                                            const std::vector<SqlParam>& params) override {
    std::vector<SqlRow> rows;
    RETURN_IF_ERROR(Run(sql, params, &rows, nullptr));
    return rows;
  }

  absl::StatusOr<int64_t> Exec(const std::string& sql,
                               const std::vector<SqlParam>& params) override {
    int64_t affected = 0;
    RETURN_IF_ERROR(Run(sql, params, nullptr, &affected));
    return affected;
  }

  absl::Status ExecScript(const std::string& sql) override {
    try {
      tx_.exec(sql);
      return absl::OkStatus();
    } catch (...) {
      failure_ = classify_();
      return failure_.status;
    }
  }

 private:
  absl::Status Run(const std::string& sql, const std::vector<SqlParam>& params,
                   std::vector<SqlRow>* rows, int64_t* affected) {
    std::vector<std::string> texts;
    texts.reserve(params.size());
    for (const SqlParam& p : params) texts.push_back(p.ToText());
    std::vector<const char*> values;
    values.reserve(params.size());
    for (size_t i = 0; i < params.size(); ++i) {
      values.push_back(params[i].kind() == SqlParam::Kind::kNull ? nullptr : texts[i].c_str());
    }
    try {
      const std::string& name = conn_.Prepared(sql);
      pqxx::result result = tx_.exec_prepared(name, pqxx::prepare::make_dynamic_params(values));
      if (affected != nullptr) *affected = static_cast<int64_t>(result.affected_rows());
      if (rows != nullptr) {
        auto names = std::make_shared<SqlColumnNames>();
        for (pqxx::row::size_type c = 0; c < result.columns(); ++c) {
          names->emplace_back(result.column_name(c));
        }
        rows->reserve(result.size());
        for (const auto& row : result) {
          std::vector<std::optional<std::string>> out;
          out.reserve(row.size());
          for (const auto& field : row) {
            if (field.is_null()) {
              out.emplace_back(std::nullopt);
            } else {
              out.emplace_back(std::string(field.c_str(), field.size()));
            }
          }
          rows->emplace_back(names, std::move(out));
        }
      }
      return absl::OkStatus();
    } catch (...) {
      failure_ = classify_();
      return failure_.status;
    }
  }

  PgConn& conn_;
  pqxx::transaction_base& tx_;
  const Classifier& classify_;
  PgFailure failure_;
};

// Notes NOTIFYs on kChannel that other stores (other processes) sent about the watched
// location. A payload is "<sender>|<ChangeScope::Encode()>"; one without '|' (an older wod)
// concerns every location.
class ChangeReceiver final : public pqxx::notification_receiver {
 public:
  ChangeReceiver(pqxx::connection_base& conn, std::string self, bool* foreign)
      : pqxx::notification_receiver(conn, kChannel), self_(std::move(self)), foreign_(foreign) {}
  void operator()(const std::string& payload, int) override {
    const size_t bar = payload.find('|');
    const std::string_view sender = std::string_view(payload).substr(0, bar);
    if (sender == self_) return;
    if (bar == std::string::npos ||
        ChangeScope::Decode(std::string_view(payload).substr(bar + 1)).Concerns(watched)) {
      *foreign_ = true;
    }
  }

  std::string watched;  // the waiter's location; "" = every location

 private:
  std::string self_;
  bool* foreign_;
};

class PostgresDb final : public SqlDb {
 public:
  PostgresDb(std::string url, int pool_size, std::unique_ptr<PgConn> first)
      : url_(std::move(url)),
        password_(UrlPassword(url_)),
        self_(common::RandomToken(8)),
        pool_(
            pool_size, [this] { return Connect(url_, password_); }, std::move(first)) {}

  ~PostgresDb() override {
    {
      std::lock_guard<std::mutex> lock(change_mu_);
      stopping_ = true;
    }
    change_cv_.notify_all();
    if (notifier_.joinable()) notifier_.join();
  }

  bool WaitForChange(absl::Duration timeout, std::string_view location) override {
    std::lock_guard<std::mutex> waiter(wait_mu_);
    const absl::Time deadline = absl::Now() + timeout;
    {
      std::lock_guard<std::mutex> lock(change_mu_);
      watched_ = std::string(location);
    }
    EnsureListener();
    if (receiver_) receiver_->watched = std::string(location);
    if (!waited_) {  // first call: changes from now on, as on SQLite
      waited_ = true;
      std::lock_guard<std::mutex> lock(change_mu_);
      seen_gen_ = local_gen_;
    }
    while (true) {
      {
        std::lock_guard<std::mutex> lock(change_mu_);
        if (local_gen_ != seen_gen_) {
          seen_gen_ = local_gen_;
          return true;
        }
      }
      if (PollListener()) return true;
      const absl::Duration remaining = deadline - absl::Now();
      if (remaining <= absl::ZeroDuration()) return false;
      std::unique_lock<std::mutex> lock(change_mu_);
      change_cv_.wait_for(lock,
                          absl::ToChronoMicroseconds(std::min(remaining, kChangePollInterval)),
                          [&] { return local_gen_ != seen_gen_ || stopping_; });
    }
  }

  Dialect dialect() const override { return Dialect::kPostgres; }

  absl::Status Transact(TxMode mode, const std::function<absl::Status(SqlTx&)>& fn) override {
    PgFailure last;
    for (int attempt = 0; attempt < kMaxAttempts; ++attempt) {
      if (attempt > 0) SleepBeforeRetry(attempt, kRetryBase, kRetryMaxDoublings);
      ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, pool_.Acquire());
      ChangeScope changed;
      last = mode == TxMode::kWrite
                 ? RunOnce<pqxx::work>(*conn, fn, &changed)
                 : RunOnce<pqxx::transaction<pqxx::repeatable_read, pqxx::read_only>>(*conn, fn,
                                                                                      &changed);
      pool_.Release(last.broken ? nullptr : std::move(conn));
      if (last.status.ok() && !changed.empty()) Announce(changed);
      if (last.status.ok() || !last.retry) return last.status;
    }
    return absl::UnavailableError(
        absl::StrCat("postgresql: transaction kept conflicting: ", last.status.message()));
  }

  // Connects one more pooled connection; also used at open to fail early.
  static absl::StatusOr<std::unique_ptr<PgConn>> Connect(const std::string& url,
                                                         const std::string& password) {
    try {
      auto conn = std::make_unique<pqxx::connection>(url);
      return std::make_unique<PgConn>(std::move(conn));
    } catch (...) {
      PgFailure f = Classify(password);
      return absl::UnavailableError(
          absl::StrCat("cannot connect to '", common::RedactUrl(url), "': ", f.status.message()));
    }
  }

  // Must be called inside a catch block: maps the exception in flight to a status. Messages
  // keep their first line only (DETAIL lines quote row values) and never the password.
  static PgFailure Classify(const std::string& password) {
    PgFailure f;
    auto scrub = [&](const char* what) {
      std::string line = FirstLine(what);
      if (!password.empty()) absl::StrReplaceAll({{password, "***"}}, &line);
      return absl::StrCat("postgresql: ", line);
    };
    try {
      throw;
    } catch (const pqxx::broken_connection& e) {
      f.broken = true;
      f.status = absl::UnavailableError(scrub(e.what()));
    } catch (const pqxx::in_doubt_error& e) {
      f.broken = true;
      f.status = absl::UnavailableError(scrub(e.what()));
    } catch (const pqxx::serialization_failure& e) {
      f.retry = true;
      f.status = absl::AbortedError(scrub(e.what()));
    } catch (const pqxx::deadlock_detected& e) {
      f.retry = true;
      f.status = absl::AbortedError(scrub(e.what()));
    } catch (const pqxx::unique_violation& e) {
      f.status = absl::AlreadyExistsError(scrub(e.what()));
    } catch (const pqxx::integrity_constraint_violation& e) {
      f.status = absl::FailedPreconditionError(scrub(e.what()));
    } catch (const pqxx::sql_error& e) {
      const std::string& state = e.sqlstate();
      if (state == "40001" || state == "40P01") {
        f.retry = true;
        f.status = absl::AbortedError(scrub(e.what()));
      } else if (state.rfind("08", 0) == 0 || state.rfind("57P", 0) == 0 ||
                 state.rfind("53", 0) == 0) {
        // connection exceptions, server shutdown, insufficient resources
        f.broken = state.rfind("53", 0) != 0;
        f.status = absl::UnavailableError(scrub(e.what()));
      } else {
        f.status = absl::InternalError(scrub(e.what()));
      }
    } catch (const std::exception& e) {
      // pqxx::usage_error, conversion errors, ...: a bug of ours; the connection may be in an
      // unknown state, so it is not reused.
      f.broken = true;
      f.status = absl::InternalError(scrub(e.what()));
    } catch (...) {
      f.broken = true;
      f.status = absl::InternalError("postgresql: unknown error");
    }
    return f;
  }

 private:
  template <typename Transaction>
  PgFailure RunOnce(PgConn& conn, const std::function<absl::Status(SqlTx&)>& fn,
                    ChangeScope* changed) {
    PgTx::Classifier classify = [this] { return Classify(password_); };
    try {
      Transaction tx(conn.conn());
      PgTx sql_tx(conn, tx, classify);
      absl::Status status = fn(sql_tx);
      if (!status.ok()) {
        PgFailure f = sql_tx.failure();
        f.status = status;
        return f;  // the transaction's destructor rolls back
      }
      tx.commit();
      *changed = sql_tx.changes();
      return PgFailure{};
    } catch (...) {
      return Classify(password_);
    }
  }

  // A committed change: wake this process's waiter now when it concerns its location, and
  // have the notifier tell the other processes.
  void Announce(const ChangeScope& scope) {
    {
      std::lock_guard<std::mutex> lock(change_mu_);
      if (scope.Concerns(watched_)) ++local_gen_;
      pending_.Merge(scope);
      if (!notifier_.joinable() && !stopping_) notifier_ = std::thread([this] { NotifierLoop(); });
    }
    change_cv_.notify_all();
  }

  // Sends the NOTIFYs on a connection borrowed from the pool for each one: a process keeps no
  // connection of its own for it (a controller then holds its pool's one or two and the
  // listener's; twenty controllers must not hold four each).
  void NotifierLoop() {
    std::unique_lock<std::mutex> lock(change_mu_);
    while (true) {
      change_cv_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
      std::string scope = pending_.Encode();
      pending_ = ChangeScope();
      // NOTIFY payloads must stay under 8000 bytes: a long list becomes "every location".
      if (scope.size() > kMaxScopeText) scope = "*";
      const std::string payload = absl::StrCat(self_, "|", scope);
      lock.unlock();
      absl::StatusOr<std::unique_ptr<PgConn>> conn = pool_.Acquire();
      if (!conn.ok()) {
        WOD_LOG(kWarning, "store", "change notification not sent: {}",
                std::string(conn.status().message()));
      } else {
        bool broken = false;
        try {
          pqxx::work tx((*conn)->conn());
          // Losing a notification in a crash is harmless (controllers also resync on a
          // timer), so this commit does not wait for the disk.
          tx.exec("SET LOCAL synchronous_commit TO OFF");
          tx.exec_params("SELECT pg_notify($1, $2)", kChannel, payload);
          tx.commit();
        } catch (...) {
          PgFailure f = Classify(password_);
          WOD_LOG(kWarning, "store", "change notification not sent: {}",
                  std::string(f.status.message()));
          broken = true;  // its state is unknown: not given back for reuse
        }
        pool_.Release(broken ? nullptr : std::move(*conn));
      }
      lock.lock();
      change_cv_.wait_for(lock, absl::ToChronoMicroseconds(kNotifyCoalesce),
                          [&] { return stopping_; });
    }
  }

  // LISTENs on a connection of its own; without one (database unreachable) WaitForChange
  // still sees this process's changes and tries again on the next call.
  void EnsureListener() {
    if (listen_conn_) return;
    try {
      listen_conn_ = std::make_unique<pqxx::connection>(url_);
      receiver_ = std::make_unique<ChangeReceiver>(*listen_conn_, self_, &foreign_change_);
    } catch (...) {
      PgFailure f = Classify(password_);
      WOD_LOG(kWarning, "store", "cannot listen for changes: {}", std::string(f.status.message()));
      DropListener();
    }
  }

  void DropListener() {
    try {
      receiver_.reset();
    } catch (...) {
      // UNLISTEN on a broken connection: the connection goes away anyway.
    }
    listen_conn_.reset();
  }

  // True when another process announced a change since the last look.
  bool PollListener() {
    if (!listen_conn_) return false;
    try {
      listen_conn_->get_notifs();
    } catch (...) {
      PgFailure f = Classify(password_);
      WOD_LOG(kWarning, "store", "change listener lost: {}", std::string(f.status.message()));
      DropListener();
      return true;  // changes may have been missed: let the caller look
    }
    if (!foreign_change_) return false;
    foreign_change_ = false;
    return true;
  }

  const std::string url_;
  const std::string password_;
  const std::string self_;  // tells our own notifications from other processes'
  // Change announcement: local_gen_ counts committed changes of this process.
  std::mutex change_mu_;
  std::condition_variable change_cv_;
  uint64_t local_gen_ = 0;  // changes of this process that concern watched_
  uint64_t seen_gen_ = 0;
  std::string watched_;  // the waiter's location, "" = every location
  ChangeScope pending_;  // what the next NOTIFY announces
  bool stopping_ = false;
  std::thread notifier_;
  // The waiter's side; used only under wait_mu_. The receiver goes before its connection.
  std::mutex wait_mu_;
  std::unique_ptr<pqxx::connection> listen_conn_;
  std::unique_ptr<ChangeReceiver> receiver_;
  bool foreign_change_ = false;
  bool waited_ = false;
  ConnectionPool<PgConn> pool_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<SqlDb>> OpenPostgresDb(const std::string& url, int max_connections) {
  std::string password = UrlPassword(url);
  ASSIGN_OR_RETURN(std::unique_ptr<PgConn> conn, PostgresDb::Connect(url, password));
  const int pool = max_connections > 0 ? max_connections : kPoolSize;
  return std::unique_ptr<SqlDb>(new PostgresDb(url, pool, std::move(conn)));
}

}  // namespace wod::store
