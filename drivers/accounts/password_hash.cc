#include "drivers/accounts/password_hash.h"

#include <crypt.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "absl/strings/str_cat.h"

namespace wod::drivers::accounts {

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
  std::string phrase(password);
  auto data = std::make_unique<crypt_data>();
  std::memset(data.get(), 0, sizeof(crypt_data));
  const char* out = crypt_rn(phrase.c_str(), salt, data.get(), sizeof(crypt_data));
  std::string hash = (out != nullptr && out[0] != '*') ? std::string(out) : std::string();
  explicit_bzero(data.get(), sizeof(crypt_data));
  explicit_bzero(phrase.data(), phrase.size());
  if (hash.empty()) return absl::InternalError("crypt: yescrypt hashing failed");
  return hash;
}

}  // namespace wod::drivers::accounts
