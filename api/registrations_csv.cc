#include "api/registrations_csv.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "common/clock.h"
#include "common/status.h"
#include "model/mail_templates.h"
#include "model/progress.h"

namespace wod::api {
namespace {

constexpr std::string_view kColumns[] = {"registration_id",
                                         "workshop",
                                         "workshop_name",
                                         "location",
                                         "seat",
                                         "state",
                                         "email",
                                         "name",
                                         "company",
                                         "start",
                                         "deadline",
                                         "ended",
                                         "completion_percent",
                                         "executed_cells",
                                         "counted_cells",
                                         "completion_source"};

// Executed and counted cells of a harvested report; nullopt when there is none or it is
// unreadable.
std::optional<model::TotalProgress> TotalOf(const std::string& progress_json) {
  if (progress_json.empty()) return std::nullopt;
  nlohmann::json j = nlohmann::json::parse(progress_json, nullptr, false);
  if (j.is_discarded()) return std::nullopt;
  auto notebooks = model::ProgressReportFromJson(j);
  if (!notebooks.ok()) return std::nullopt;
  return model::Total(*notebooks);
}

std::string Line(const std::vector<std::string>& fields) {
  std::string out;
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i > 0) out += ',';
    out += CsvField(fields[i]);
  }
  out += "\r\n";
  return out;
}

}  // namespace

std::string CsvField(std::string_view value) {
  std::string v(value);
  // OWASP's list for CSV injection: these start a formula (or, tab and CR, hide one). A
  // spreadsheet skips leading blanks, the Unicode ones too (a no-break space before '=' still
  // makes a formula), so the first character after them is the one that counts.
  size_t first = 0;
  for (bool skipped = true; skipped && first < v.size();) {
    skipped = false;
    for (std::string_view blank :
         {" ", "\xc2\xa0", "\xe2\x80\x80", "\xe2\x80\x81", "\xe2\x80\x82", "\xe2\x80\x83",
          "\xe2\x80\x84", "\xe2\x80\x85", "\xe2\x80\x86", "\xe2\x80\x87", "\xe2\x80\x88",
          "\xe2\x80\x89", "\xe2\x80\x8a", "\xe2\x80\x8b", "\xe2\x80\xaf", "\xe3\x80\x80",
          "\xef\xbb\xbf"}) {
      if (std::string_view(v).substr(first).starts_with(blank)) {
        first += blank.size();
        skipped = true;
        break;
      }
    }
  }
  if (first < v.size() && std::string_view("=+-@\t\r").find(v[first]) != std::string_view::npos) {
    v.insert(v.begin(), '\'');
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string quoted = "\"";
  for (char c : v) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  quoted += '"';
  return quoted;
}

std::string RegistrationsCsv(const std::vector<model::Registration>& registrations,
                             const std::map<int64_t, model::Participant>& participants,
                             const std::map<std::string, model::Workshop>& workshops,
                             const std::map<int64_t, std::string>& live) {
  std::string out = Line(std::vector<std::string>(std::begin(kColumns), std::end(kColumns)));
  for (const model::Registration& r : registrations) {
    const auto p = participants.find(r.participant_id);
    const auto w = workshops.find(r.workshop);
    std::string source = "harvested";
    const std::string* progress = &r.progress_json;
    if (progress->empty()) {
      const auto l = live.find(r.id);
      source = "live";
      if (l != live.end()) progress = &l->second;
    }
    const std::optional<int> percent = model::CompletionPercent(*progress);
    const std::optional<model::TotalProgress> total = TotalOf(*progress);
    out += Line({
        absl::StrCat(r.id),
        r.workshop,
        w == workshops.end() ? "" : w->second.name,
        r.location,
        absl::StrCat(r.seat),
        model::RegistrationStateName(r.state),
        p == participants.end() ? "" : p->second.email,
        p == participants.end() ? "" : p->second.name,
        p == participants.end() ? "" : p->second.company,
        common::FormatTime(r.start),
        common::FormatTime(r.deadline),
        r.ended ? common::FormatTime(*r.ended) : "",
        percent ? absl::StrCat(*percent) : "",
        total ? absl::StrCat(total->executed) : "",
        total ? absl::StrCat(total->Counted()) : "",
        percent ? source : "",
    });
  }
  return out;
}

absl::StatusOr<std::string> ExportRegistrationsCsv(store::Store* store) {
  ASSIGN_OR_RETURN(std::vector<model::Registration> registrations, store->ListRegistrations());
  ASSIGN_OR_RETURN(std::vector<model::Participant> participant_list, store->ListParticipants());
  ASSIGN_OR_RETURN(std::vector<model::Workshop> workshop_list, store->ListWorkshops());
  std::map<int64_t, model::Participant> participants;
  for (model::Participant& p : participant_list) participants[p.id] = std::move(p);
  std::map<std::string, model::Workshop> workshops;
  for (model::Workshop& w : workshop_list) workshops[w.id] = std::move(w);
  ASSIGN_OR_RETURN(std::vector<store::SeatStatus> statuses, store->ListSeatStatus());
  std::map<int64_t, std::string> live;
  for (store::SeatStatus& st : statuses) {
    if (st.progress_registration != 0 && !st.progress_json.empty()) {
      live[st.progress_registration] = std::move(st.progress_json);
    }
  }
  return RegistrationsCsv(registrations, participants, workshops, live);
}

}  // namespace wod::api
