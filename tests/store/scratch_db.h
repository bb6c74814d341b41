// Throwaway databases for store tests and benchmarks: a fresh SQLite file in a temp dir, or a
// fresh PostgreSQL database created on the server of WOD_TEST_PG_URL (and dropped afterwards),
// so that every test starts from an empty schema.
#pragma once

#include <stdlib.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <memory>
#include <pqxx/pqxx>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "common/log.h"

namespace wod::store::testing {

// `url` with its database name replaced by `db` (postgresql://u:p@h:port/OLD?x -> .../db?x).
inline std::string WithDatabase(const std::string& url, const std::string& db) {
  size_t scheme = url.find("://");
  size_t start = scheme == std::string::npos ? 0 : scheme + 3;
  size_t query = url.find('?', start);
  size_t slash = url.find('/', start);
  if (slash == std::string::npos || (query != std::string::npos && slash > query)) {
    size_t at = query == std::string::npos ? url.size() : query;
    return absl::StrCat(url.substr(0, at), "/", db, url.substr(at));
  }
  size_t end = query == std::string::npos ? url.size() : query;
  return absl::StrCat(url.substr(0, slash + 1), db, url.substr(end));
}

class ScratchDb {
 public:
  virtual ~ScratchDb() = default;
  virtual const std::string& url() const = 0;
};

class SqliteScratchDb final : public ScratchDb {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDb>> Create() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "wod-store-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) return absl::InternalError("mkdtemp failed");
    return std::unique_ptr<ScratchDb>(new SqliteScratchDb(tmpl));
  }
  ~SqliteScratchDb() override {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  const std::string& url() const override { return url_; }

 private:
  explicit SqliteScratchDb(std::string dir)
      : dir_(std::move(dir)), url_("sqlite:" + dir_ + "/wod.db") {}
  std::string dir_;
  std::string url_;
};

class PgScratchDb final : public ScratchDb {
 public:
  static absl::StatusOr<std::unique_ptr<ScratchDb>> Create(const std::string& base_url,
                                                           const std::string& prefix) {
    static std::atomic<int> counter{0};
    std::string name = absl::StrCat(prefix, "_", getpid(), "_", counter++);
    try {
      pqxx::connection conn(base_url);
      pqxx::nontransaction tx(conn);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name));
      tx.exec("CREATE DATABASE " + tx.quote_name(name));
    } catch (const std::exception&) {
      return absl::UnavailableError(absl::StrCat("cannot create database '", name, "' on '",
                                                 common::RedactUrl(base_url), "'"));
    }
    return std::unique_ptr<ScratchDb>(new PgScratchDb(base_url, name));
  }
  ~PgScratchDb() override {
    try {
      pqxx::connection conn(base_url_);
      pqxx::nontransaction tx(conn);
      tx.exec("DROP DATABASE IF EXISTS " + tx.quote_name(name_) + " WITH (FORCE)");
    } catch (const std::exception&) {
      // The cluster is thrown away by scripts/services/postgres stop anyway.
    }
  }
  const std::string& url() const override { return url_; }

 private:
  PgScratchDb(std::string base_url, std::string name)
      : base_url_(std::move(base_url)),
        name_(std::move(name)),
        url_(WithDatabase(base_url_, name_)) {}
  std::string base_url_;
  std::string name_;
  std::string url_;
};

}  // namespace wod::store::testing
