// Status plumbing shared by every folder: early-return macros for absl::Status and
// absl::StatusOr, since Abseil 20220623 ships neither.
#pragma once

#include "absl/status/status.h"
#include "absl/status/statusor.h"

#define WOD_STATUS_CONCAT_INNER_(a, b) a##b
#define WOD_STATUS_CONCAT_(a, b) WOD_STATUS_CONCAT_INNER_(a, b)

// Returns from the enclosing function when `expr` (an absl::Status) is not OK.
#define RETURN_IF_ERROR(expr)                  \
  do {                                         \
    ::absl::Status wod_status_ = (expr);       \
    if (!wod_status_.ok()) return wod_status_; \
  } while (false)

// Declares or assigns `lhs` from the value of `rexpr` (an absl::StatusOr), or returns its
// status when it holds an error.
#define ASSIGN_OR_RETURN(lhs, rexpr) \
  WOD_ASSIGN_OR_RETURN_IMPL_(WOD_STATUS_CONCAT_(wod_statusor_, __LINE__), lhs, rexpr)

#define WOD_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)   \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()
