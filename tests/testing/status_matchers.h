// gMock matchers and assertions for absl::Status / StatusOr (Abseil 20220623 ships none).
#include "common/status.h"
#pragma once

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace wod::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

MATCHER_P(StatusIs, code, "has status code " + ::testing::PrintToString(code)) {
  const absl::Status& s = ::wod::testing::GetStatus(arg);
  if (s.code() == code) return true;
  *result_listener << "status is " << s;
  return false;
}

MATCHER_P2(StatusIs, code, message_matcher, "") {
  const absl::Status& s = ::wod::testing::GetStatus(arg);
  if (s.code() != code) {
    *result_listener << "status is " << s;
    return false;
  }
  return ::testing::ExplainMatchResult(message_matcher, std::string(s.message()), result_listener);
}

MATCHER(IsOk, "is OK") {
  const absl::Status& s = ::wod::testing::GetStatus(arg);
  if (s.ok()) return true;
  *result_listener << "status is " << s;
  return false;
}

}  // namespace wod::testing

#define ASSERT_OK(expr) ASSERT_THAT(expr, ::wod::testing::IsOk())
#define EXPECT_OK(expr) EXPECT_THAT(expr, ::wod::testing::IsOk())
// Declares `lhs` from a StatusOr expression, failing the test when it holds an error.
#define ASSERT_OK_AND_ASSIGN(lhs, rexpr) \
  ASSERT_OK_AND_ASSIGN_IMPL_(WOD_STATUS_CONCAT_(wod_test_so_, __LINE__), lhs, rexpr)
#define ASSERT_OK_AND_ASSIGN_IMPL_(so, lhs, rexpr) \
  auto so = (rexpr);                               \
  ASSERT_OK(so);                                   \
  lhs = std::move(so).value()
