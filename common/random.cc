#include "common/random.h"

#include <sodium.h>

#include <cstdlib>

namespace wod::common {
namespace {
void EnsureInit() {
  static const bool ok = [] { return sodium_init() >= 0; }();
  if (!ok) std::abort();  // no entropy source: nothing secret can be made safely
}
}  // namespace

std::string RandomPassword(int length) {
  static constexpr char kAlphabet[] = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  EnsureInit();
  std::string out;
  out.reserve(static_cast<size_t>(length));
  for (int i = 0; i < length; ++i) {
    out.push_back(kAlphabet[randombytes_uniform(sizeof(kAlphabet) - 1)]);
  }
  return out;
}

std::string RandomToken(int bytes) {
  EnsureInit();
  std::string raw(static_cast<size_t>(bytes), '\0');
  randombytes_buf(raw.data(), raw.size());
  std::string hex(raw.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(raw.data()),
                 raw.size());
  hex.pop_back();
  return hex;
}

uint32_t RandomUniform(uint32_t upper) {
  EnsureInit();
  return randombytes_uniform(upper);
}

std::string Sha256Hex(std::string_view data) {
  EnsureInit();
  unsigned char digest[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
  std::string hex(sizeof digest * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), digest, sizeof digest);
  hex.pop_back();
  return hex;
}

}  // namespace wod::common
