// String helpers the model's parsers share. Debian's Abseil (20220623) is built with its own
// absl::string_view, a type apart from std::string_view: absl::StrCat, StrSplit and friends do
// not take a std::string_view. AV and SV convert between the two, and Cat concatenates anything
// fmt can print, std::string_view included.
#pragma once

#include <iterator>
#include <string>
#include <string_view>

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"
#include "fmt/format.h"

namespace wod::model {

inline absl::string_view AV(std::string_view s) { return {s.data(), s.size()}; }
inline std::string_view SV(absl::string_view s) { return {s.data(), s.size()}; }

// `s` without ASCII whitespace at either end.
inline std::string_view Trim(std::string_view s) {
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.front()))) {
    s.remove_prefix(1);
  }
  while (!s.empty() && absl::ascii_isspace(static_cast<unsigned char>(s.back()))) {
    s.remove_suffix(1);
  }
  return s;
}

// Concatenates like absl::StrCat, also taking std::string_view.
template <typename... Args>
std::string Cat(const Args&... args) {
  std::string out;
  (fmt::format_to(std::back_inserter(out), "{}", args), ...);
  return out;
}

}  // namespace wod::model
