// Notebook progress: how many of a notebook's code cells the participant has executed, read
// from the nbformat-4 JSON in the home directory. Cells that were already executed in the
// shipped content (the baseline) are not counted at all. Pure: text in, numbers out; never
// throws, an unreadable notebook is reported as such. docs/templates.md gives the definition.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace wod::model {

// One code cell of a notebook as shipped. A participant's cell is the same cell when it has the
// same nbformat-4.5 `id`, or else the same source (matched in document order).
struct ShippedCell {
  std::string id;           // nbformat >= 4.5 cell id; empty when the notebook has none
  std::string source_hash;  // first 16 hex digits of the SHA-256 of the joined source
  bool executed = false;    // execution_count was a number when shipped
  bool operator==(const ShippedCell&) const = default;
};

// The code cells of a notebook as written into the home, in order.
struct NotebookBaseline {
  std::vector<ShippedCell> code_cells;
  int Executed() const;
  bool operator==(const NotebookBaseline&) const = default;
};

struct NotebookProgress {
  std::string file;
  int code_cells = 0;         // every code cell now in the notebook
  int baseline_executed = 0;  // of those, cells shipped already executed: not counted
  int executed = 0;           // counted cells that are executed now
  bool readable = true;
  std::string error;  // why the notebook could not be read, when !readable

  // The cells that count: code_cells - baseline_executed.
  int Counted() const { return code_cells - baseline_executed; }
  // executed / Counted(), in [0, 1]; 0 when nothing counts (no code cells, or unreadable).
  double Fraction() const;
  bool operator==(const NotebookProgress&) const = default;
};

// The sum over a workshop's notebooks; unreadable notebooks contribute no cells.
struct TotalProgress {
  int notebooks = 0;
  int unreadable = 0;
  int code_cells = 0;
  int baseline_executed = 0;
  int executed = 0;
  int Counted() const { return code_cells - baseline_executed; }
  double Fraction() const;
  bool operator==(const TotalProgress&) const = default;
};

// The baseline of a notebook from the exact text written into the home (after rendering).
// InvalidArgument "notebook 'FILE' ..." when that text is not an nbformat-4 notebook.
[[nodiscard]] absl::StatusOr<NotebookBaseline> BaselineOf(std::string_view file,
                                                          std::string_view rendered_text);

// Progress of a notebook's current text against its baseline. A notebook that is not valid
// JSON or not nbformat-4-like comes back with readable = false and the reason.
NotebookProgress ProgressOf(std::string_view file, std::string_view text,
                            const NotebookBaseline& baseline);

TotalProgress Total(std::span<const NotebookProgress> notebooks);

// JSON forms, stored in the content manifest and in registrations (progress_json).
nlohmann::json BaselineToJson(const NotebookBaseline& baseline);
[[nodiscard]] absl::StatusOr<NotebookBaseline> BaselineFromJson(const nlohmann::json& j);
nlohmann::json ProgressToJson(const NotebookProgress& progress);
[[nodiscard]] absl::StatusOr<NotebookProgress> ProgressFromJson(const nlohmann::json& j);
nlohmann::json TotalToJson(const TotalProgress& total);

// A whole report: {"notebooks": [...], "total": {...}}. Reading it back recomputes the total.
nlohmann::json ProgressReportToJson(std::span<const NotebookProgress> notebooks);
[[nodiscard]] absl::StatusOr<std::vector<NotebookProgress>> ProgressReportFromJson(
    const nlohmann::json& j);

}  // namespace wod::model
