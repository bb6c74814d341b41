// Randomness from libsodium (the kernel's CSPRNG): passwords, secret tokens, and digests of
// tokens for storage. Tests that need determinism inject values instead of seeding this.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wod::common {

// A password of `length` characters from an alphabet without look-alikes (no 0/O, 1/l/I).
std::string RandomPassword(int length = 12);
// A URL-safe secret token carrying `bytes` bytes of entropy (hex encoded).
std::string RandomToken(int bytes = 24);
// Uniform integer in [0, upper).
uint32_t RandomUniform(uint32_t upper);
// Hex SHA-256 of `data`; tokens are stored only as this digest.
std::string Sha256Hex(std::string_view data);

}  // namespace wod::common
