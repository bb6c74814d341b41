#include "drivers/accounts/password_hash.h"

#include <crypt.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace wod::drivers::accounts {
namespace {

// crypt_rn(password, setting), or "" when libxcrypt refuses (an unknown method, a malformed
// setting). crypt_data is 32 KiB: too big for the stack of a pool thread. crypt_rn() reports
// failure as nullptr instead of a "*0" string.
std::string Crypt(std::string_view password, const char* setting) {
  std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_rn(phrase.c_str(), setting, data.get(), sizeof(crypt_data));
  std::string hash = (out != nullptr && out[0] != '*') ? std::string(out) : std::string();
  // Do not leave the password or its intermediate state in freed memory.
  explicit_bzero(data.get(), sizeof(crypt_data));
  explicit_bzero(phrase.data(), phrase.size());
  return hash;
}

// Compares without an early exit so the time taken says nothing about where they differ.
bool ConstantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

}  // namespace

absl::StatusOr<std::string> HashPassword(std::string_view password, int cost) {
  if (password.find('\0') != std::string_view::npos) {
    return absl::InvalidArgumentError("password contains a NUL byte");
  }
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  // A null random source makes libxcrypt read the kernel's CSPRNG itself.
  if (crypt_gensalt_rn("$y$", static_cast<unsigned long>(cost), nullptr, 0, salt, sizeof salt) ==
      nullptr) {
    return absl::InternalError(absl::StrCat("crypt_gensalt: ", std::strerror(errno)));
  }
  std::string hash = Crypt(password, salt);
  if (hash.empty()) return absl::InternalError("crypt: yescrypt hashing failed");
  return hash;
}

std::string_view StripLock(std::string_view shadow_hash) {
  while (!shadow_hash.empty() && shadow_hash.front() == '!') shadow_hash.remove_prefix(1);
  return shadow_hash;
}

bool ShadowHashMatches(std::string_view shadow_hash, std::string_view password) {
  std::string_view hash = StripLock(shadow_hash);
  // "", "*", "x" and the like are not hashes: no password can log in with them.
  if (hash.size() < 2 || hash.front() == '*') return false;
  const std::string setting(hash);
  const std::string out = Crypt(password, setting.c_str());
  return !out.empty() && ConstantTimeEqual(out, hash);
}

}  // namespace wod::drivers::accounts
