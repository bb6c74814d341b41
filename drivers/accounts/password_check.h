// The accounts driver's memo of password checks: whether a seat's shadow hash is a hash of the
// seat's desired password is what Observe reports as ObservedAccount::password_in_sync, and
// each check costs a full crypt(3) (~30 ms at Debian 12's default yescrypt cost), so 2,000
// seats checked from scratch on every pass would take a minute.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "model/accounts.h"

namespace wod::drivers::accounts {

// Memoizes PasswordMatches per user so a pass over 2,000 converged seats hashes nothing.
//
// The entry of a user holds (shadow hash, password) -> result; it answers only while both are
// the same, so a changed shadow file or a changed desired password recomputes. The driver
// that writes a password Remember()s the hash it wrote, so even the pass right after a
// password rotation hashes nothing. Without that (a fresh process), each seat costs one hash,
// once. Thread-safe: Observe and the pool threads' set-password use it at the same time.
class PasswordCheckCache {
 public:
  bool Matches(const model::ObservedAccount& account, std::string_view password);
  // Records that `shadow_hash` is a hash of `password` for `user`.
  void Remember(std::string_view user, std::string_view shadow_hash, std::string_view password);
  void Forget(std::string_view user);
  size_t size() const;
  // How many real crypt computations Matches() has done: lets tests prove the cache works.
  int64_t computations() const;

 private:
  struct Entry {
    std::string shadow_hash;  // without a leading '!'
    // Secret. Kept as is (not as a digest: hashing 2,000 passwords was a visible part of a
    // no-op pass); the controller holds every seat's desired password in memory anyway.
    std::string password;
    bool matches = false;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  int64_t computations_ = 0;
};

}  // namespace wod::drivers::accounts
