#include "common/hmac.h"

#include <sodium.h>

#include <cstdlib>

namespace wod::common {

std::string HmacSha256Hex(std::string_view key, std::string_view message) {
  // sodium_init is idempotent and thread-safe; HMAC does not need it, but it costs nothing.
  if (sodium_init() < 0) std::abort();
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, reinterpret_cast<const unsigned char*>(key.data()),
                              key.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(message.data()),
                                message.size());
  unsigned char mac[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, mac);
  sodium_memzero(&state, sizeof state);
  std::string hex(sizeof mac * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), mac, sizeof mac);
  hex.pop_back();
  return hex;
}

}  // namespace wod::common
