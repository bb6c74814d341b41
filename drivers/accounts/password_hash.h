// Hashing a password for the shadow file in-process (libxcrypt), so that only the hash is
// handed to `chpasswd -e` (see accounts_real.h for why chpasswd does not hash it itself), and
// checking a password against a shadow hash. Both are crypt(3): ~30 ms each at Debian 12's
// default yescrypt cost, which is why the driver checks through a PasswordCheckCache
// (password_check.h).
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "model/accounts.h"

namespace wod::drivers::accounts {

// A yescrypt ("$y$") hash of `password` with a fresh random salt from the kernel. `cost` is
// yescrypt's cost parameter, 1..11; 0 means libxcrypt's default (5, what Debian 12's PAM and
// chpasswd use: ~30 ms here). The fake uses 1 (~2 ms) to keep planner tests fast.
absl::StatusOr<std::string> HashPassword(std::string_view password, int cost = 0);

// True when `password` hashes to `shadow_hash` (crypt_rn with the hash as setting; yescrypt,
// sha512crypt and every other method libxcrypt knows). A leading '!' (locked) is ignored, so
// locking does not put a seat's password out of sync. An empty, '*' or '!'-only hash matches
// nothing. Costs one full hash.
bool ShadowHashMatches(std::string_view shadow_hash, std::string_view password);
inline bool PasswordMatches(const model::ObservedAccount& account, std::string_view password) {
  return ShadowHashMatches(account.shadow_hash, password);
}

// The shadow hash without the lock: every leading '!' removed.
std::string_view StripLock(std::string_view shadow_hash);

}  // namespace wod::drivers::accounts
