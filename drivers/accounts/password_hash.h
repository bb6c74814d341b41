// Hashing a password for the shadow file in-process (libxcrypt), so that only the hash is
// handed to `chpasswd -e`: see accounts_real.h for why chpasswd does not hash it itself.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace wod::drivers::accounts {

// A yescrypt ("$y$") hash of `password` with a fresh random salt from the kernel. `cost` is
// yescrypt's cost parameter, 1..11; 0 means libxcrypt's default (5, what Debian 12's PAM and
// chpasswd use: ~30 ms here). The fake uses 1 (~2 ms) to keep planner tests fast.
absl::StatusOr<std::string> HashPassword(std::string_view password, int cost = 0);

}  // namespace wod::drivers::accounts
