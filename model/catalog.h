// The workshop catalog: parses WoD `wod.yml` texts (with every quirk of the real catalog) into
// model::Workshop, checks each workshop and the catalog as a whole (overlapping seat ranges,
// colliding appliance host ports, duplicate ids), and reports findings with file and line.
// docs/catalog.md describes every field and finding.
//
// Pure: works on texts it is handed. Finding and reading the files (catalogfs::LoadCatalog) and
// writing canonical YAML (catalogfs::WorkshopToYaml) live in catalogfs/. Never throws:
// yaml-cpp's exceptions become findings.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "model/types.h"
#include "model/validate.h"
#include "nlohmann/json.hpp"

namespace wod::model {

// One thing `wod catalog lint` reports. Errors make a catalog unusable; warnings do not.
struct Finding {
  Severity severity = Severity::kError;
  std::string file;
  int line = 0;       // 1-based; 0 when the finding is about the whole file or a missing key
  std::string field;  // wod.yml spelling: "range", "appliances[0].ports[1].hostBase"; may be ""
  std::string message;
  bool operator==(const Finding&) const = default;
};

// Where each field of a workshop was written, so findings made after parsing (the catalog-wide
// checks) still point at a line.
struct FieldLines {
  std::map<std::string, int> lines;
  // The line of `field`, else of its nearest enclosing field ("appliances[0].ports[1]" falls
  // back to "appliances[0]"), else 0.
  int LineOf(std::string_view field) const;
};

struct CatalogEntry {
  Workshop workshop;  // its content_dir is the absolute form of content_dir below
  std::string file;   // the wod.yml (or WKSHP-*.yml) it was read from, as found under the path
  std::string content_dir;  // the WKSHP-* folder holding notebooks, as found; "" for a bare .yml
  FieldLines lines;
};

struct Catalog {
  // Workshops without errors of their own, sorted by id. Catalog-wide errors (overlaps) do not
  // remove entries; check HasErrors() before using a catalog.
  std::vector<CatalogEntry> entries;
  std::vector<Finding> findings;  // sorted by file, then line
  bool HasErrors() const;
  int ErrorCount() const;
  int WarningCount() const;
  const CatalogEntry* Find(std::string_view id) const;
};

// One wod.yml as found and read (catalogfs::LoadCatalog finds and reads them).
struct CatalogSource {
  std::string file;                  // where it was read from, as found under the path given
  std::string id;                    // the workshop id: its folder's name or its file's stem
  std::string content_dir;           // the WKSHP-* folder as found; "" for a bare .yml
  std::string absolute_content_dir;  // the same made absolute (Workshop::content_dir)
  std::string text;
};

// Parses every source and checks them as one catalog. `findings` are those found before
// parsing (missing paths, unreadable files); they are kept, with the parse and catalog-wide
// findings added. Workshops without `location` get `default_location`.
Catalog BuildCatalog(const std::vector<CatalogSource>& sources, std::vector<Finding> findings,
                     const std::string& default_location);

// Parses one wod.yml text (Workshop::content_dir is left empty: the text does not say it). Appends
// findings (with `file` and 1-based lines) to `findings`. Returns the workshop when it has no
// errors, std::nullopt otherwise. `lines`, when given, receives where each field was written.
std::optional<Workshop> ParseWorkshopYaml(std::string_view text, std::string_view file,
                                          std::string_view id, const std::string& default_location,
                                          std::vector<Finding>* findings,
                                          FieldLines* lines = nullptr);

// The rules that span workshops: ids are unique; on one location, seat ranges of two active
// workshops do not overlap and neither do the host-port ranges of their appliances. When one
// of the two is inactive an overlap is a warning: an inactive workshop owns no seats.
std::vector<Finding> CheckCatalog(const std::vector<CatalogEntry>& entries);

// "path/wod.yml:9: error: range: min 7 > max 3" (the ":9" and "range: " parts only when set).
std::string FormatFinding(const Finding& f);
// [{"severity": "error", "file": ..., "line": 9, "field": "range", "message": ...}, ...]
nlohmann::json FindingsToJson(const std::vector<Finding>& findings);

}  // namespace wod::model
