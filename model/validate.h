// Pure validation of model values: emails, workshop ids, location and appliance names, image
// references, seat ranges, memory sizes, and a whole Workshop. The wod.yml parser adds file and
// line to what ValidateWorkshop finds; the API validates JSON input with the same functions, so
// both paths accept and reject the same workshops.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "model/types.h"

namespace wod::model {

// Seat numbers are Linux user suffixes (`student<N>`) and offsets into host-port ranges;
// the upper bound keeps every sum involving them far from int overflow.
inline constexpr int kMinSeatNumber = 1;
inline constexpr int kMaxSeatNumber = 99999;
// Docker refuses a memory limit below 6 MiB.
inline constexpr int64_t kMinApplianceMemory = 6 * 1024 * 1024;

enum class Severity { kError, kWarning };
const char* SeverityName(Severity s);  // "error", "warning"

// One problem in a value. `field` is spelt as in wod.yml: "range", "capacity",
// "appliances[0].ports[1].hostBase", "variables.FOO".
struct Problem {
  Severity severity = Severity::kError;
  std::string field;
  std::string message;
  bool operator==(const Problem&) const = default;
};

// Each returns OK or InvalidArgument with a lowercase message that quotes the value.
absl::Status ValidateEmail(std::string_view email);
absl::Status ValidateWorkshopId(std::string_view id);         // WKSHP-[A-Za-z0-9][A-Za-z0-9_-]*
absl::Status ValidateLocationName(std::string_view name);     // [a-z0-9][a-z0-9-]*, <= 63 chars
absl::Status ValidateApplianceName(std::string_view name);    // [a-z0-9][a-z0-9-]*, <= 63 chars
absl::Status ValidateImageReference(std::string_view image);  // [host[:port]/]path[:tag][@digest]
// Template variables: [A-Za-z_][A-Za-z0-9_-]* (names with '-' are reachable only through
// `hostvars[inventory_hostname]['NAME']`, as in WoD's notebooks).
absl::Status ValidateVariableName(std::string_view name);
absl::Status ValidateEnvName(std::string_view name);  // [A-Za-z_][A-Za-z0-9_]*
// A location's external name: empty, or a host name ([A-Za-z0-9.-], labels of 1-63, <= 253).
absl::Status ValidateFqdn(std::string_view fqdn);
// A location's hub URL: empty, or http(s)://host[:port][/path] with no space or control
// character, <= 2048 characters.
absl::Status ValidateHubUrl(std::string_view url);

// Trims surrounding whitespace and lowercases: the form participants' emails are stored in.
std::string NormalizeEmail(std::string_view email);

// Variables wod sets itself per seat or per location; a workshop may not redefine them.
bool IsReservedVariable(std::string_view name);

// "151-170", "151 - 170", "1,6" or "[1,6]" -> {min, max}. Checks syntax and the seat number
// bounds but not min <= max (ValidateWorkshop reports that with both numbers).
absl::StatusOr<SeatRange> ParseSeatRange(std::string_view text);
// "512m", "1g", "1G", "64k", "100b", "1048576" -> bytes (binary units, as docker reads them).
absl::StatusOr<int64_t> ParseMemory(std::string_view text);
// The shortest exact spelling ParseMemory reads back: 536870912 -> "512m", 1000 -> "1000".
std::string FormatMemory(int64_t bytes);

// Values the real catalog uses for "not written yet": 'tbd', 'TBD', '???', 'todo', 'n/a', ...
bool IsPlaceholder(std::string_view value);
// An http(s) link with nothing after the host ("https://youtu.be/"): a link someone forgot to
// finish.
bool IsIncompleteLink(std::string_view value);

// Edit distance (insertions, deletions, substitutions and swaps of neighbours) over
// ASCII-lowercased bytes.
size_t EditDistance(std::string_view a, std::string_view b);
// The candidate closest to `word` if it is near enough to be a typo, for "did you mean 'X'?".
std::optional<std::string> ClosestMatch(std::string_view word,
                                        const std::vector<std::string_view>& candidates);

// Everything that can be said about one workshop on its own (cross-workshop rules such as
// overlapping ranges are in catalog.h). Errors make it unusable; warnings do not.
std::vector<Problem> ValidateWorkshop(const Workshop& w);

}  // namespace wod::model
