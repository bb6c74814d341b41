// The participant page token derivation (model/participant_token.h) and the HMAC under it.
#include "model/participant_token.h"

#include <gtest/gtest.h>

#include "common/hmac.h"

namespace wod::model {
namespace {

// RFC 4231, test case 2.
TEST(HmacSha256, MatchesTheRfc4231Vector) {
  EXPECT_EQ(common::HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

TEST(ParticipantToken, IsReproducibleFromTheNonceWithTheSameSecretOnly) {
  const std::string secret(64, 's');
  const std::string nonce = MakeTokenNonce(secret, "00112233");
  EXPECT_EQ(nonce.substr(0, 9), TokenKeyId(secret) + ".");
  auto token = ParticipantToken(secret, nonce);
  ASSERT_TRUE(token.has_value());
  EXPECT_EQ(token->size(), 64u);
  EXPECT_EQ(ParticipantToken(secret, nonce), token);  // the lifecycle rebuilds the same one
  // Another nonce, another token.
  EXPECT_NE(ParticipantToken(secret, MakeTokenNonce(secret, "00112234")), token);
  // Another secret cannot rebuild it: its key id differs, so it says so instead of guessing.
  const std::string other(64, 't');
  EXPECT_NE(TokenKeyId(other), TokenKeyId(secret));
  EXPECT_FALSE(ParticipantToken(other, nonce).has_value());
  // Random tokens (no nonce), malformed nonces and no secret give nothing.
  EXPECT_FALSE(ParticipantToken(secret, "").has_value());
  EXPECT_FALSE(ParticipantToken(secret, TokenKeyId(secret)).has_value());
  EXPECT_FALSE(ParticipantToken(secret, TokenKeyId(secret) + ".").has_value());
  EXPECT_FALSE(ParticipantToken("", nonce).has_value());
  // The token is not the nonce, nor the secret's key id.
  EXPECT_EQ(token->find(nonce), std::string::npos);
}

}  // namespace
}  // namespace wod::model
