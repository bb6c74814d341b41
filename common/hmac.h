// HMAC-SHA256 (RFC 2104) from libsodium, for values derived from a server secret (the
// participant page token: model/participant_token.h).
#pragma once

#include <string>
#include <string_view>

namespace wod::common {

// Hex HMAC-SHA256 of `message` under `key` (any length).
std::string HmacSha256Hex(std::string_view key, std::string_view message);

}  // namespace wod::common
