#include "model/participant_token.h"

#include "absl/strings/str_cat.h"
#include "common/hmac.h"

namespace wod::model {

std::string TokenKeyId(std::string_view secret) {
  return common::HmacSha256Hex(secret, "wod participant token key id").substr(0, 8);
}

std::string MakeTokenNonce(std::string_view secret, std::string_view random_part) {
  return absl::StrCat(TokenKeyId(secret), ".", std::string(random_part));
}

std::optional<std::string> ParticipantToken(std::string_view secret, std::string_view nonce) {
  if (secret.empty()) return std::nullopt;
  const size_t dot = nonce.find('.');
  if (dot == std::string_view::npos || dot + 1 >= nonce.size()) return std::nullopt;
  if (nonce.substr(0, dot) != TokenKeyId(secret)) return std::nullopt;
  return common::HmacSha256Hex(secret,
                               absl::StrCat("wod participant token v1\n", std::string(nonce)));
}

}  // namespace wod::model
