// Fuzz target for notebook progress (model/progress.h). The input is the shipped notebook and,
// after a NUL byte if there is one, the participant's current notebook (else the same text).
// Properties checked:
//  - BaselineOf and ProgressOf never crash or throw, whatever the bytes;
//  - counts are consistent: 0 <= baseline_executed <= code_cells, 0 <= executed <= Counted(),
//    Fraction() in [0, 1]; an unreadable notebook has a reason and no counts;
//  - a notebook whose baseline could be taken is readable, and against its own baseline it is
//    0 % done with every shipped executed cell excluded;
//  - baselines and progress survive their JSON forms unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "model/progress.h"

namespace {

void Fail(const char* what, std::string_view detail) {
  std::fprintf(stderr, "progress_fuzz: %s\n%.*s\n", what, static_cast<int>(detail.size()),
               detail.data());
  std::abort();
}

void CheckCounts(const wod::model::NotebookProgress& p, std::string_view text) {
  if (!p.readable) {
    if (p.error.empty() || p.code_cells != 0 || p.executed != 0 || p.baseline_executed != 0) {
      Fail("unreadable notebook without a reason or with counts", text);
    }
  }
  if (p.baseline_executed < 0 || p.baseline_executed > p.code_cells || p.executed < 0 ||
      p.executed > p.Counted() || p.Fraction() < 0.0 || p.Fraction() > 1.0) {
    Fail("inconsistent counts", text);
  }
  const auto back =
      wod::model::ProgressFromJson(nlohmann::json::parse(wod::model::ProgressToJson(p).dump()));
  if (!back.ok() || !(*back == p)) Fail("progress does not survive its JSON form", text);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace wod::model;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t nul = input.find('\0');
  const std::string_view shipped = input.substr(0, nul);
  const std::string_view current = nul == std::string_view::npos ? input : input.substr(nul + 1);

  const absl::StatusOr<NotebookBaseline> baseline = BaselineOf("fuzz.ipynb", shipped);
  const NotebookProgress self =
      ProgressOf("fuzz.ipynb", shipped, baseline.ok() ? *baseline : NotebookBaseline{});
  CheckCounts(self, shipped);
  if (baseline.ok()) {
    if (!self.readable || self.executed != 0 || self.baseline_executed != baseline->Executed() ||
        self.code_cells != static_cast<int>(baseline->code_cells.size())) {
      Fail("a fresh copy is not 0 % done against its own baseline", shipped);
    }
    const auto back = BaselineFromJson(nlohmann::json::parse(BaselineToJson(*baseline).dump()));
    if (!back.ok() || !(*back == *baseline))
      Fail("baseline does not survive its JSON form", shipped);
  } else if (self.readable) {
    Fail("baseline failed but the same text is readable", shipped);
  }

  const NotebookProgress p =
      ProgressOf("fuzz.ipynb", current, baseline.ok() ? *baseline : NotebookBaseline{});
  CheckCounts(p, current);
  return 0;
}
