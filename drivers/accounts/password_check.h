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

#include "absl/status/status.h"
#include "model/accounts.h"

namespace wod::drivers::accounts {

// Memoizes PasswordMatches per user so a pass over 2,000 converged seats hashes nothing.
//
// The entry of a user holds (shadow hash, password) -> result; it answers only while both are
// the same, so a changed shadow file or a changed desired password recomputes. The driver
// that writes a password Remember()s the hash it wrote, so even the pass right after a
// password rotation hashes nothing. Thread-safe: Observe and the pool threads' set-password
// use it at the same time.
//
// A fresh process (a restarted controller, `wod drift --live`) Load()s the memo the last one
// Save()d, so it hashes nothing either: each line is (user, shadow hash, digest, result), the
// digest an HMAC-SHA256 of the password keyed by the shadow hash (salted per user by the hash's
// own salt; fast, so the file is as secret as the shadow file: root's, mode 0600, and it sits
// beside a store that holds the same passwords in clear). An entry answers only for the same
// shadow hash and a password with the same digest, so an edit of the shadow file behind our
// back, or a memo of another machine, costs a real check, never a wrong answer.
class PasswordCheckCache {
 public:
  bool Matches(const model::ObservedAccount& account, std::string_view password);
  // Records that `shadow_hash` is a hash of `password` for `user`.
  void Remember(std::string_view user, std::string_view shadow_hash, std::string_view password);
  void Forget(std::string_view user);
  size_t size() const;
  // How many real crypt computations Matches() has done: lets tests prove the cache works.
  int64_t computations() const;

  // Adds the entries saved at `path` (no file: none). A line that does not parse is skipped
  // (a cache: a lost entry costs one hash); a file that is not a memo is InvalidArgument
  // naming it. Entries already in memory win.
  absl::Status Load(const std::string& path);
  // Writes the memo to `path` (atomically, mode 0600, its directory made 0700 when missing)
  // when something changed since the last Load or Save; otherwise writes nothing.
  absl::Status Save(const std::string& path);

 private:
  struct Entry {
    std::string shadow_hash;  // without a leading '!'
    // Secret. Kept as is (not as a digest: hashing 2,000 passwords was a visible part of a
    // no-op pass); the controller holds every seat's desired password in memory anyway.
    // Empty for an entry loaded from a memo until a check confirms it through `digest`.
    std::string password;
    std::string digest;  // of a loaded entry: PasswordDigest(shadow_hash, password)
    bool matches = false;
  };
  mutable std::mutex mu_;
  std::unordered_map<std::string, Entry> entries_;
  int64_t computations_ = 0;
  bool dirty_ = false;  // changed since the last Load or Save
};

}  // namespace wod::drivers::accounts
