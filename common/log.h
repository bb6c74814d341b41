// A small fmt-based logger (Abseil 20220623 has no absl/log). One line per event on stderr:
// "2026-11-22T02:41:07.123Z I controller: message". Secrets are never passed to it; values
// that may hold one go through Redact() first.
#pragma once

#include <fmt/format.h>

#include <string>
#include <string_view>

namespace wod::common {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarning = 2, kError = 3, kOff = 4 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug", "info", "warning", "error", "off".
bool ParseLogLevel(std::string_view text, LogLevel* level);
void LogLine(LogLevel level, std::string_view component, std::string_view message);

// Replaces the password of a URL such as postgresql://user:secret@host/db with "***".
std::string RedactUrl(std::string_view url);

template <typename... Args>
void Log(LogLevel level, std::string_view component, fmt::format_string<Args...> format,
         Args&&... args) {
  if (level < GetLogLevel()) return;
  LogLine(level, component, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace wod::common

#define WOD_LOG(level, component, ...) \
  ::wod::common::Log(::wod::common::LogLevel::level, component, __VA_ARGS__)
