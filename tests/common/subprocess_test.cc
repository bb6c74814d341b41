#include "common/subprocess.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/testing/status_matchers.h"

namespace wod::common {
namespace {

using ::testing::HasSubstr;

TEST(RunProcess, ArgumentsWithShellSyntaxStayOneArgument) {
  ASSERT_OK_AND_ASSIGN(auto r, RunProcess({"/bin/echo", "$(id); rm -rf /", "a b"}));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_EQ(r.stdout_text, "$(id); rm -rf / a b\n");
}

TEST(RunProcess, FeedsStdinAndCapturesBothStreams) {
  SubprocessOptions opts;
  opts.stdin_text = std::string(200000, 'x');  // larger than a pipe buffer
  ASSERT_OK_AND_ASSIGN(auto r, RunProcess({"wc", "-c"}, opts));
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_THAT(r.stdout_text, HasSubstr("200000"));
  ASSERT_OK_AND_ASSIGN(auto r2, RunProcess({"ls", "/definitely/not/here"}));
  EXPECT_NE(r2.exit_code, 0);
  EXPECT_THAT(r2.stderr_text, HasSubstr("/definitely/not/here"));
}

TEST(RunProcess, MissingProgramIsUnavailable) {
  EXPECT_THAT(RunProcess({"/no/such/program"}),
              wod::testing::StatusIs(absl::StatusCode::kUnavailable));
}

TEST(RunProcess, TimeoutKillsTheChild) {
  SubprocessOptions opts;
  opts.timeout = absl::Milliseconds(200);
  absl::Time start = absl::Now();
  EXPECT_THAT(RunProcess({"sleep", "5"}, opts),
              wod::testing::StatusIs(absl::StatusCode::kUnavailable, HasSubstr("timed out")));
  EXPECT_LT(absl::Now() - start, absl::Seconds(3));
}

}  // namespace
}  // namespace wod::common
