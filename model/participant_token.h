// The participant's page token, derived from a server secret so that no plaintext token sits in
// the store (docs/lifecycle.md, "The participant page link"):
//
//   nonce = "<key id>.<random>"              stored with the registration (not a secret)
//   token = hex HMAC-SHA256(secret, "wod participant token v1\n" + nonce)
//
// The store keeps the nonce and SHA-256(token). Whoever holds the secret (the API, and the
// lifecycle in the same deployment) can rebuild the token from the nonce to put the page link
// into mails; whoever reads the store cannot. The key id names the secret a nonce was made
// under, so a process with another secret (a copy of the API with its own file) knows it
// cannot rebuild the link instead of mailing a wrong one.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace wod::model {

// Stands for the token in the page links of mails waiting in the outbox: the sender, which
// holds the secret, puts the token in when it sends, so the outbox never holds it either.
inline constexpr char kPageTokenPlaceholder[] = "%PARTICIPANT_TOKEN%";

// A short public name of a secret: the first 8 hex digits of an HMAC of a fixed label under it
// (reveals nothing useful about a 32-byte secret).
std::string TokenKeyId(std::string_view secret);
// "<key id>.<random_part>"; `random_part` is fresh randomness from the caller (hex).
std::string MakeTokenNonce(std::string_view secret, std::string_view random_part);
// The token of `nonce` under `secret`; nullopt when the nonce was made under another secret
// (its key id differs) or is malformed.
std::optional<std::string> ParticipantToken(std::string_view secret, std::string_view nonce);

}  // namespace wod::model
