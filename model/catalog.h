// The workshop catalog: reads WoD `wod.yml` files (with every quirk of the real catalog) into
// model::Workshop, checks each workshop and the catalog as a whole (overlapping seat ranges,
// colliding appliance host ports, duplicate ids), and reports findings with file and line.
// Writes a workshop back as canonical YAML. docs/catalog.md describes every field and finding.
//
// Pure apart from reading the files it is handed. Never throws: yaml-cpp's exceptions become
// findings, and so do missing or unreadable files.
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

// Loads every workshop under `paths`. A path may be:
//  - a directory holding WKSHP-*/wod.yml folders and/or WKSHP-*.yml files (one level deep);
//  - a workshop folder (a directory with a wod.yml): the id is the folder's name;
//  - a .yml/.yaml file: the id is its stem, or its folder's name when it is called wod.yml.
// Workshops without `location` get `default_location`.
Catalog LoadCatalog(const std::vector<std::string>& paths, const std::string& default_location);

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

// Canonical YAML for a workshop (every string double-quoted, fixed key order, empty optional
// fields left out). ParseWorkshopYaml of the result gives back an equal Workshop.
std::string WorkshopToYaml(const Workshop& w);

// "path/wod.yml:9: error: range: min 7 > max 3" (the ":9" and "range: " parts only when set).
std::string FormatFinding(const Finding& f);
// [{"severity": "error", "file": ..., "line": 9, "field": "range", "message": ...}, ...]
nlohmann::json FindingsToJson(const std::vector<Finding>& findings);

}  // namespace wod::model
