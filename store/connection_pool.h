// The connection pool of the SQL engines (store/sqlite_db.cc, store/postgres_db.cc): at most
// `max_open` connections, each used by one thread at a time; a caller takes an idle one, opens
// a new one while fewer than `max_open` are open, or waits for one to come back. A connection
// that broke is given back as nullptr, which frees its place for a new one.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"

namespace wod::store {

template <typename Conn>
class ConnectionPool {
 public:
  using Opener = std::function<absl::StatusOr<std::unique_ptr<Conn>>()>;

  // `first` is the connection the engine opened to fail early; it counts as open.
  ConnectionPool(int max_open, Opener open, std::unique_ptr<Conn> first)
      : max_open_(max_open), open_conn_(std::move(open)) {
    idle_.push_back(std::move(first));
    open_ = 1;
  }

  // An idle connection, else a new one (errors of the opener are returned as they are), else
  // waits until one is released.
  absl::StatusOr<std::unique_ptr<Conn>> Acquire() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      if (!idle_.empty()) {
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return conn;
      }
      if (open_ < max_open_) {
        ++open_;
        lock.unlock();  // opening takes a while (PostgreSQL: a round trip and authentication)
        auto conn = open_conn_();
        if (!conn.ok()) {
          lock.lock();
          --open_;
          cv_.notify_one();
        }
        return conn;
      }
      cv_.wait(lock);
    }
  }

  // Gives back a connection from Acquire: nullptr when it is no longer usable.
  void Release(std::unique_ptr<Conn> conn) {
    std::lock_guard<std::mutex> lock(mu_);
    if (conn) {
      idle_.push_back(std::move(conn));
    } else {
      --open_;
    }
    cv_.notify_one();
  }

 private:
  const int max_open_;
  const Opener open_conn_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::unique_ptr<Conn>> idle_;
  int open_ = 0;
};

}  // namespace wod::store
