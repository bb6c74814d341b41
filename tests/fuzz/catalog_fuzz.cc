// Fuzz target for the wod.yml parser and validator (model/catalog.h). Properties checked:
//  - parsing never crashes or throws, whatever the bytes;
//  - every finding has a file and a line >= 0, and formats;
//  - round trip: a workshop that parses without errors, written with WorkshopToYaml, parses
//    again without errors into an equal Workshop, and its canonical YAML is a fixed point;
//  - two copies of a valid workshop on one location always overlap (an error if active).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "catalogfs/yaml_writer.h"
#include "model/catalog.h"

namespace {

void Fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "catalog_fuzz: %s\n%s\n", what, detail.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wod::model;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::vector<Finding> findings;
  std::optional<Workshop> w =
      ParseWorkshopYaml(text, "fuzz/wod.yml", "WKSHP-Fuzz", "local", &findings);
  bool has_error = false;
  for (const Finding& f : findings) {
    if (f.file != "fuzz/wod.yml" || f.line < 0) Fail("finding without file or line", f.message);
    if (FormatFinding(f).empty()) Fail("empty formatted finding", f.message);
    has_error |= f.severity == Severity::kError;
  }
  if (w.has_value() == has_error) {
    Fail("a workshop must be returned exactly when there is no error", std::string(text));
  }
  if (!w) return 0;
  (void)FindingsToJson(findings).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);

  std::string yaml = wod::catalogfs::WorkshopToYaml(*w);
  std::vector<Finding> again;
  std::optional<Workshop> back =
      ParseWorkshopYaml(yaml, "fuzz/canonical.yml", "WKSHP-Fuzz", "elsewhere", &again);
  if (!back) {
    std::string why;
    for (const Finding& f : again) why += FormatFinding(f) + "\n";
    Fail("canonical YAML does not parse", yaml + "\n" + why);
  }
  if (!(*back == *w)) Fail("round trip changed the workshop", yaml);
  if (wod::catalogfs::WorkshopToYaml(*back) != yaml) {
    Fail("canonical YAML is not a fixed point", yaml);
  }

  CatalogEntry first{*w, "a.yml", "", {}};
  CatalogEntry second{*w, "b.yml", "", {}};
  second.workshop.id = "WKSHP-Fuzz2";
  std::vector<Finding> cross = CheckCatalog({first, second});
  bool overlap = false;
  for (const Finding& f : cross) {
    if (f.field == "range") {
      overlap = true;
      if ((f.severity == Severity::kError) != w->active) Fail("overlap severity", f.message);
    }
  }
  if (!overlap) Fail("two copies of a workshop do not overlap", yaml);
  return 0;
}
