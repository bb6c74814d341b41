// How tests reach the real services that scripts/test starts. Each service exports its
// address in an environment variable (WOD_TEST_PG_URL, WOD_TEST_HUB_URL, ...). When one is
// missing, the test skips with the reason, except under WOD_REQUIRE_SERVICES=1 (set by
// scripts/test and so on CI), where a missing service fails the test: a skip of a real-service
// test must never pass silently.
#pragma once

#include <unistd.h>

#include <cstdlib>
#include <optional>
#include <string>

#include <gtest/gtest.h>

namespace wod::testing {

inline bool ServicesRequired() {
  const char* v = std::getenv("WOD_REQUIRE_SERVICES");
  return v != nullptr && std::string(v) == "1";
}

// Returns the value of `env_var`, or nullopt after recording a skip (or a failure when
// services are required). Use through WOD_REQUIRE_SERVICE.
inline std::optional<std::string> ServiceAddress(const char* env_var) {
  const char* v = std::getenv(env_var);
  if (v != nullptr && *v != '\0') return std::string(v);
  return std::nullopt;
}

}  // namespace wod::testing

// In a TEST body or SetUp(): declares `std::string var` from the environment variable, or
// skips (fails under WOD_REQUIRE_SERVICES=1) naming the variable and the service.
#define WOD_REQUIRE_SERVICE(var, env_var, service)                                       \
  std::string var;                                                                       \
  do {                                                                                   \
    auto wod_addr_ = ::wod::testing::ServiceAddress(env_var);                            \
    if (!wod_addr_) {                                                                    \
      if (::wod::testing::ServicesRequired()) {                                          \
        FAIL() << service << " is required but " env_var " is not set (run scripts/test)"; \
      }                                                                                  \
      GTEST_SKIP() << service << " not available: " env_var " is not set (run scripts/test)"; \
    }                                                                                    \
    var = *wod_addr_;                                                                    \
  } while (false)

// Root-only tests: skip (fail under WOD_REQUIRE_SERVICES=1) when not root.
#define WOD_REQUIRE_ROOT()                                                       \
  do {                                                                           \
    if (geteuid() != 0) {                                                        \
      if (::wod::testing::ServicesRequired()) FAIL() << "test needs root";       \
      GTEST_SKIP() << "test needs root";                                         \
    }                                                                            \
  } while (false)
