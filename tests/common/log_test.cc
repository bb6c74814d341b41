#include "common/log.h"

#include <gtest/gtest.h>

namespace wod::common {
namespace {

TEST(RedactUrl, HidesPasswordInUserinfo) {
  EXPECT_EQ(RedactUrl("postgresql://wod:s3cret@db.example:5432/wod"),
            "postgresql://wod:***@db.example:5432/wod");
}

TEST(RedactUrl, HidesPasswordQueryParameter) {
  EXPECT_EQ(RedactUrl("postgresql:///wod?host=/tmp&password=s3cret&port=5"),
            "postgresql:///wod?host=/tmp&password=***&port=5");
}

TEST(RedactUrl, LeavesUrlsWithoutSecretsAlone) {
  EXPECT_EQ(RedactUrl("postgresql://wod@localhost/wod"), "postgresql://wod@localhost/wod");
  EXPECT_EQ(RedactUrl("sqlite:/var/lib/wod/wod.db"), "sqlite:/var/lib/wod/wod.db");
}

}  // namespace
}  // namespace wod::common
