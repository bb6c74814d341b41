// Notebook progress counting. Every nlohmann call here is non-throwing (parse with
// allow_exceptions = false, type checks before every get), so no exception leaves this file.
#include "model/progress.h"

#include <deque>
#include <iterator>
#include <limits>
#include <map>
#include <utility>

#include "absl/status/status.h"
#include "common/random.h"
#include "common/status.h"
#include "fmt/format.h"
#include "model/strings.h"

namespace wod::model {
namespace {

using nlohmann::json;

// Reports only where JSON parsing stopped: nlohmann's own message quotes the text it last
// read, which in a rendered notebook may be a participant's password.
class ErrorLocator : public nlohmann::json_sax<json> {
 public:
  size_t byte = 0;
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t) override { return true; }
  bool number_unsigned(number_unsigned_t) override { return true; }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t&) override { return true; }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return true; }
  bool key(string_t&) override { return true; }
  bool end_object() override { return true; }
  bool start_array(std::size_t) override { return true; }
  bool end_array() override { return true; }
  bool parse_error(std::size_t position, const std::string&,
                   const nlohmann::detail::exception&) override {
    byte = position;
    return false;
  }
};

std::string SyntaxErrorReason(std::string_view text) {
  ErrorLocator locator;
  try {
    json::sax_parse(text, &locator);
  } catch (...) {
    // sax_parse reports through the handler; nothing to add if it throws anyway.
  }
  // nlohmann's position is 1-based and points at the last character read.
  const size_t offset = locator.byte == 0 ? 0 : std::min(locator.byte - 1, text.size());
  size_t line = 1;
  size_t line_start = 0;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      line_start = i + 1;
    }
  }
  return Cat("not valid JSON (syntax error at line ", line, ", column ", offset - line_start + 1,
             ")");
}

struct CodeCell {
  std::string id;
  std::string source_hash;
  bool executed = false;
};

// The code cells of an nbformat-4 notebook, or why the text is not one (a reason, no file).
absl::StatusOr<std::vector<CodeCell>> ReadCodeCells(std::string_view text) {
  const json nb = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (nb.is_discarded()) return absl::InvalidArgumentError(SyntaxErrorReason(text));
  if (!nb.is_object()) return absl::InvalidArgumentError("not a notebook: not a JSON object");
  if (const auto format = nb.find("nbformat"); format != nb.end()) {
    if (!format->is_number_integer()) {
      return absl::InvalidArgumentError("not a notebook: 'nbformat' is not an integer");
    }
    if (format->get<int64_t>() < 4) {
      return absl::InvalidArgumentError(
          Cat("nbformat ", format->get<int64_t>(), " is not supported (need 4)"));
    }
  }
  const auto cells = nb.find("cells");
  if (cells == nb.end() || !cells->is_array()) {
    return absl::InvalidArgumentError("not a notebook: no 'cells' array");
  }
  std::vector<CodeCell> code_cells;
  int index = 0;
  for (const json& cell : *cells) {
    ++index;
    if (!cell.is_object()) {
      return absl::InvalidArgumentError(Cat("cell ", index, " is not an object"));
    }
    const auto type = cell.find("cell_type");
    if (type == cell.end() || !type->is_string()) {
      return absl::InvalidArgumentError(Cat("cell ", index, " has no 'cell_type'"));
    }
    if (type->get_ref<const std::string&>() != "code") continue;

    CodeCell code;
    std::string source;
    const auto src = cell.find("source");
    if (src != cell.end() && src->is_string()) {
      source = src->get_ref<const std::string&>();
    } else if (src != cell.end() && src->is_array()) {
      for (const json& line : *src) {
        if (!line.is_string()) {
          return absl::InvalidArgumentError(Cat("cell ", index, " has a malformed 'source'"));
        }
        source += line.get_ref<const std::string&>();
      }
    } else {
      return absl::InvalidArgumentError(Cat("cell ", index, " has no 'source'"));
    }
    code.source_hash = common::Sha256Hex(source).substr(0, 16);
    if (const auto id = cell.find("id"); id != cell.end() && id->is_string()) {
      code.id = id->get_ref<const std::string&>();
    }
    // Executed means the kernel ran it: nbformat sets execution_count then, whatever the
    // outputs (an assignment has none; an error has some).
    const auto count = cell.find("execution_count");
    code.executed = count != cell.end() && count->is_number();
    code_cells.push_back(std::move(code));
  }
  return code_cells;
}

// Matches each current code cell to the shipped cell it is, or to none (inserted by the
// participant). Ids first, since they survive edits; then equal sources in document order, so
// inserted or duplicated cells do not shift the matching of the others.
std::vector<int> MatchCells(const std::vector<CodeCell>& current,
                            const NotebookBaseline& baseline) {
  const std::vector<ShippedCell>& shipped = baseline.code_cells;
  std::vector<int> match(current.size(), -1);
  std::vector<bool> used(shipped.size(), false);
  std::map<std::string_view, size_t> by_id;
  std::map<std::string_view, std::deque<size_t>> by_hash;
  for (size_t i = 0; i < shipped.size(); ++i) {
    if (!shipped[i].id.empty()) by_id.emplace(shipped[i].id, i);  // the first of duplicates
    by_hash[shipped[i].source_hash].push_back(i);
  }
  for (size_t c = 0; c < current.size(); ++c) {
    if (current[c].id.empty()) continue;
    const auto it = by_id.find(current[c].id);
    if (it == by_id.end() || used[it->second]) continue;
    match[c] = static_cast<int>(it->second);
    used[it->second] = true;
  }
  for (size_t c = 0; c < current.size(); ++c) {
    if (match[c] >= 0) continue;
    const auto it = by_hash.find(current[c].source_hash);
    if (it == by_hash.end()) continue;
    std::deque<size_t>& queue = it->second;
    while (!queue.empty() && used[queue.front()]) queue.pop_front();
    if (queue.empty()) continue;
    match[c] = static_cast<int>(queue.front());
    used[queue.front()] = true;
    queue.pop_front();
  }
  return match;
}

double Ratio(int executed, int counted) {
  if (counted <= 0) return 0.0;
  return static_cast<double>(executed) / counted;
}

absl::Status Malformed(std::string_view what, std::string_view why) {
  return absl::InvalidArgumentError(Cat("malformed ", what, ": ", why));
}

// A non-negative int field of `j`, or an error naming it.
absl::StatusOr<int> IntField(const json& j, const char* name, std::string_view what) {
  const auto it = j.find(name);
  if (it == j.end() || !it->is_number_integer()) {
    return Malformed(what, Cat("'", name, "' is not an integer"));
  }
  const int64_t v = it->get<int64_t>();
  if (v < 0 || v > std::numeric_limits<int>::max()) {
    return Malformed(what, Cat("'", name, "' is out of range"));
  }
  return static_cast<int>(v);
}

}  // namespace

int NotebookBaseline::Executed() const {
  int n = 0;
  for (const ShippedCell& cell : code_cells) n += cell.executed ? 1 : 0;
  return n;
}

double NotebookProgress::Fraction() const { return readable ? Ratio(executed, Counted()) : 0.0; }

double TotalProgress::Fraction() const { return Ratio(executed, Counted()); }

absl::StatusOr<NotebookBaseline> BaselineOf(std::string_view file, std::string_view rendered_text) {
  auto cells = ReadCodeCells(rendered_text);
  if (!cells.ok()) {
    return absl::InvalidArgumentError(
        Cat("notebook '", file, "': ", std::string(cells.status().message())));
  }
  NotebookBaseline baseline;
  baseline.code_cells.reserve(cells->size());
  for (CodeCell& cell : *cells) {
    baseline.code_cells.push_back(
        ShippedCell{std::move(cell.id), std::move(cell.source_hash), cell.executed});
  }
  return baseline;
}

NotebookProgress ProgressOf(std::string_view file, std::string_view text,
                            const NotebookBaseline& baseline) {
  NotebookProgress progress;
  progress.file = std::string(file);
  auto cells = ReadCodeCells(text);
  if (!cells.ok()) {
    progress.readable = false;
    progress.error = std::string(std::string(cells.status().message()));
    return progress;
  }
  const std::vector<int> match = MatchCells(*cells, baseline);
  progress.code_cells = static_cast<int>(cells->size());
  for (size_t c = 0; c < cells->size(); ++c) {
    if (match[c] >= 0 && baseline.code_cells[match[c]].executed) {
      ++progress.baseline_executed;
    } else if ((*cells)[c].executed) {
      ++progress.executed;
    }
  }
  return progress;
}

TotalProgress Total(std::span<const NotebookProgress> notebooks) {
  TotalProgress total;
  for (const NotebookProgress& p : notebooks) {
    ++total.notebooks;
    if (!p.readable) {
      ++total.unreadable;
      continue;
    }
    total.code_cells += p.code_cells;
    total.baseline_executed += p.baseline_executed;
    total.executed += p.executed;
  }
  return total;
}

json BaselineToJson(const NotebookBaseline& baseline) {
  json cells = json::array();
  for (const ShippedCell& cell : baseline.code_cells) {
    json c = json::object();
    if (!cell.id.empty()) c["id"] = cell.id;
    c["source_hash"] = cell.source_hash;
    c["executed"] = cell.executed;
    cells.push_back(std::move(c));
  }
  return json{{"code_cells", std::move(cells)}};
}

absl::StatusOr<NotebookBaseline> BaselineFromJson(const json& j) {
  constexpr std::string_view kWhat = "notebook baseline";
  if (!j.is_object()) return Malformed(kWhat, "not an object");
  const auto cells = j.find("code_cells");
  if (cells == j.end() || !cells->is_array()) return Malformed(kWhat, "no 'code_cells' array");
  NotebookBaseline baseline;
  for (const json& c : *cells) {
    if (!c.is_object()) return Malformed(kWhat, "a cell is not an object");
    ShippedCell cell;
    if (const auto id = c.find("id"); id != c.end()) {
      if (!id->is_string()) return Malformed(kWhat, "'id' is not a string");
      cell.id = id->get<std::string>();
    }
    const auto hash = c.find("source_hash");
    if (hash == c.end() || !hash->is_string()) {
      return Malformed(kWhat, "'source_hash' is not a string");
    }
    cell.source_hash = hash->get<std::string>();
    const auto executed = c.find("executed");
    if (executed == c.end() || !executed->is_boolean()) {
      return Malformed(kWhat, "'executed' is not a boolean");
    }
    cell.executed = executed->get<bool>();
    baseline.code_cells.push_back(std::move(cell));
  }
  return baseline;
}

json ProgressToJson(const NotebookProgress& p) {
  json j = {{"file", p.file},
            {"code_cells", p.code_cells},
            {"baseline_executed", p.baseline_executed},
            {"executed", p.executed},
            {"fraction", p.Fraction()},
            {"readable", p.readable}};
  if (!p.readable) j["error"] = p.error;
  return j;
}

absl::StatusOr<NotebookProgress> ProgressFromJson(const json& j) {
  constexpr std::string_view kWhat = "notebook progress";
  if (!j.is_object()) return Malformed(kWhat, "not an object");
  NotebookProgress p;
  const auto file = j.find("file");
  if (file == j.end() || !file->is_string()) return Malformed(kWhat, "'file' is not a string");
  p.file = file->get<std::string>();
  const auto readable = j.find("readable");
  if (readable == j.end() || !readable->is_boolean()) {
    return Malformed(kWhat, "'readable' is not a boolean");
  }
  p.readable = readable->get<bool>();
  ASSIGN_OR_RETURN(p.code_cells, IntField(j, "code_cells", kWhat));
  ASSIGN_OR_RETURN(p.baseline_executed, IntField(j, "baseline_executed", kWhat));
  ASSIGN_OR_RETURN(p.executed, IntField(j, "executed", kWhat));
  if (p.baseline_executed > p.code_cells || p.executed > p.Counted()) {
    return Malformed(kWhat, "counts do not add up");
  }
  if (!p.readable) {
    const auto error = j.find("error");
    if (error == j.end() || !error->is_string()) {
      return Malformed(kWhat, "'error' is not a string");
    }
    p.error = error->get<std::string>();
  }
  return p;
}

json TotalToJson(const TotalProgress& t) {
  return json{{"notebooks", t.notebooks},   {"unreadable", t.unreadable},
              {"code_cells", t.code_cells}, {"baseline_executed", t.baseline_executed},
              {"executed", t.executed},     {"fraction", t.Fraction()}};
}

json ProgressReportToJson(std::span<const NotebookProgress> notebooks) {
  json list = json::array();
  for (const NotebookProgress& p : notebooks) list.push_back(ProgressToJson(p));
  return json{{"notebooks", std::move(list)}, {"total", TotalToJson(Total(notebooks))}};
}

absl::StatusOr<std::vector<NotebookProgress>> ProgressReportFromJson(const json& j) {
  if (!j.is_object()) return Malformed("progress report", "not an object");
  const auto list = j.find("notebooks");
  if (list == j.end() || !list->is_array()) {
    return Malformed("progress report", "no 'notebooks' array");
  }
  std::vector<NotebookProgress> notebooks;
  for (const json& n : *list) {
    ASSIGN_OR_RETURN(NotebookProgress p, ProgressFromJson(n));
    notebooks.push_back(std::move(p));
  }
  return notebooks;
}

}  // namespace wod::model
