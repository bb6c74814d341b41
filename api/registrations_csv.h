// The CSV export of registrations with their completion (GET /api/v1/registrations.csv), for
// the instructor dashboard's download. RFC 4180: comma-separated, CRLF line ends, a field with
// a comma, quote, CR or LF is quoted with its quotes doubled. A field that a spreadsheet would
// read as a formula (starting with = + - @, tab or CR) gets a leading apostrophe, so an email
// or a name typed by a participant never runs in the instructor's spreadsheet.
// docs/dashboard.md lists the columns.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "model/types.h"
#include "store/store.h"

namespace wod::api {

// One field, neutralised and quoted as needed.
std::string CsvField(std::string_view value);

// The header line and one line per registration in the given order. A registration whose
// participant or workshop is missing from the maps gets empty cells for them. Completion is
// the harvested progress ("harvested"), else the live progress the controller last observed
// in the home (`live`: registration id -> progress JSON, "live"), else empty.
std::string RegistrationsCsv(const std::vector<model::Registration>& registrations,
                             const std::map<int64_t, model::Participant>& participants,
                             const std::map<std::string, model::Workshop>& workshops,
                             const std::map<int64_t, std::string>& live = {});

// Reads registrations (oldest first), participants, workshops and the seats' live progress
// from `store` and renders them. Store errors are returned as they are (the caller answers
// without their message).
absl::StatusOr<std::string> ExportRegistrationsCsv(store::Store* store);

}  // namespace wod::api
