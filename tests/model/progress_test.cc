// Tests of notebook progress: real WoD notebooks fresh and after the participant runs cells,
// inserted and edited cells, unreadable notebooks, and the JSON forms.
#include "model/progress.h"

#include <filesystem>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "tests/testing/status_matchers.h"

namespace wod::model {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;
using ::wod::testing::StatusIs;

const fs::path kFull = fs::path(WOD_FIXTURES_DIR) / "wod-notebooks/full";

json CodeCell(const std::string& source, std::optional<int> count = std::nullopt,
              const std::string& id = "") {
  json cell = {{"cell_type", "code"},
               {"metadata", json::object()},
               {"outputs", json::array()},
               {"source", source}};
  cell["execution_count"] = count ? json(*count) : json(nullptr);
  if (!id.empty()) cell["id"] = id;
  return cell;
}

json Notebook(std::vector<json> cells) {
  return {{"cells", cells}, {"metadata", json::object()}, {"nbformat", 4}, {"nbformat_minor", 5}};
}

NotebookBaseline Baseline(const json& nb) {
  auto b = BaselineOf("nb.ipynb", nb.dump());
  EXPECT_OK(b);
  return b.ok() ? *b : NotebookBaseline{};
}

NotebookProgress Progress(const json& nb, const NotebookBaseline& baseline) {
  return ProgressOf("nb.ipynb", nb.dump(1), baseline);
}

// Indices of the code cells of a notebook's "cells" array.
std::vector<size_t> CodeIndices(const json& nb) {
  std::vector<size_t> out;
  for (size_t i = 0; i < nb["cells"].size(); ++i) {
    if (nb["cells"][i]["cell_type"] == "code") out.push_back(i);
  }
  return out;
}

absl::StatusOr<json> LoadFixture(const std::string& relative) {
  ASSIGN_OR_RETURN(std::string text, common::ReadFile((kFull / relative).string()));
  json nb = json::parse(text, nullptr, false);
  if (nb.is_discarded()) return absl::InternalError("fixture is not JSON");
  return nb;
}

TEST(ProgressFixtureTest, FreshPython101IsZeroThenCountsCellsTheParticipantRuns) {
  const std::string rel = "WKSHP-Python101/1-WKSHP-Introduction-to-Python.ipynb";
  if (!fs::exists(kFull / rel)) GTEST_FAIL() << "WoD fixtures missing at " << kFull;
  ASSERT_OK_AND_ASSIGN(const std::string shipped, common::ReadFile((kFull / rel).string()));
  ASSERT_OK_AND_ASSIGN(const NotebookBaseline baseline, BaselineOf(rel, shipped));
  ASSERT_OK_AND_ASSIGN(json nb, LoadFixture(rel));
  const std::vector<size_t> code = CodeIndices(nb);
  ASSERT_EQ(baseline.code_cells.size(), code.size());

  NotebookProgress fresh = ProgressOf(rel, shipped, baseline);
  EXPECT_TRUE(fresh.readable) << fresh.error;
  EXPECT_EQ(fresh.code_cells, static_cast<int>(code.size()));
  EXPECT_EQ(fresh.executed, 0);
  EXPECT_EQ(fresh.Fraction(), 0.0);

  // The participant runs the first, fourth and sixth code cells.
  nb["cells"][code[0]]["execution_count"] = 1;
  nb["cells"][code[3]]["execution_count"] = 2;
  nb["cells"][code[5]]["execution_count"] = 3;
  nb["cells"][code[5]]["outputs"] =
      json::array({{{"output_type", "stream"}, {"name", "stdout"}, {"text", "hello\n"}}});
  const NotebookProgress after = ProgressOf(rel, nb.dump(1), baseline);
  EXPECT_EQ(after.code_cells, static_cast<int>(code.size()));
  EXPECT_EQ(after.baseline_executed, baseline.Executed());
  EXPECT_EQ(after.executed, 3);
  EXPECT_DOUBLE_EQ(after.Fraction(), 3.0 / after.Counted());
}

TEST(ProgressFixtureTest, CellsExecutedUpstreamDoNotCountAsDone) {
  // This notebook is committed upstream with its code cells already executed.
  const std::string rel = "WKSHP-API101/1-WKSHP-REST_API_Basics.ipynb";
  if (!fs::exists(kFull / rel)) GTEST_FAIL() << "WoD fixtures missing at " << kFull;
  ASSERT_OK_AND_ASSIGN(const std::string shipped, common::ReadFile((kFull / rel).string()));
  ASSERT_OK_AND_ASSIGN(const NotebookBaseline baseline, BaselineOf(rel, shipped));
  ASSERT_OK_AND_ASSIGN(json nb, LoadFixture(rel));
  int executed_upstream = 0;
  for (size_t i : CodeIndices(nb))
    executed_upstream += nb["cells"][i]["execution_count"].is_number();
  ASSERT_GT(executed_upstream, 0) << "the fixture no longer has executed cells";
  EXPECT_EQ(baseline.Executed(), executed_upstream);

  const NotebookProgress fresh = ProgressOf(rel, shipped, baseline);
  EXPECT_EQ(fresh.baseline_executed, executed_upstream);
  EXPECT_EQ(fresh.executed, 0);
  EXPECT_EQ(fresh.Fraction(), 0.0);

  // Re-running them (the same numbers, as a fresh kernel would give) still does not count;
  // a cell the participant adds and runs does, wherever it is inserted.
  nb["cells"].insert(nb["cells"].begin(), CodeCell("print('mine')\n", 4));
  nb["cells"].push_back(CodeCell("x = 1\n"));
  const NotebookProgress after = ProgressOf(rel, nb.dump(), baseline);
  EXPECT_EQ(after.code_cells, fresh.code_cells + 2);
  EXPECT_EQ(after.baseline_executed, executed_upstream);
  EXPECT_EQ(after.executed, 1);
  EXPECT_EQ(after.Counted(), fresh.Counted() + 2);
}

TEST(ProgressTest, InsertedCellsDoNotShiftTheShippedOnes) {
  const json shipped = Notebook({CodeCell("a\n", 1), CodeCell("b\n"), CodeCell("c\n", 2)});
  const NotebookBaseline baseline = Baseline(shipped);
  json nb = shipped;
  nb["cells"].insert(nb["cells"].begin() + 1, CodeCell("new1\n", 7));
  nb["cells"].insert(nb["cells"].begin(), CodeCell("new2\n"));
  nb["cells"][3]["execution_count"] = 8;  // "b", now at index 3
  const NotebookProgress p = Progress(nb, baseline);
  EXPECT_EQ(p.code_cells, 5);
  EXPECT_EQ(p.baseline_executed, 2);  // "a" and "c"
  EXPECT_EQ(p.executed, 2);           // "new1" and "b"
  EXPECT_EQ(p.Counted(), 3);
}

TEST(ProgressTest, DuplicateSourcesMatchInDocumentOrder) {
  const json shipped = Notebook({CodeCell("!ls\n"), CodeCell("!ls\n", 3)});
  const NotebookBaseline baseline = Baseline(shipped);
  EXPECT_EQ(Progress(shipped, baseline).executed, 0);
  EXPECT_EQ(Progress(shipped, baseline).baseline_executed, 1);
  json nb = shipped;
  nb["cells"][0]["execution_count"] = 1;
  EXPECT_EQ(Progress(nb, baseline).executed, 1);
  // A copy of the cell pasted by the participant is theirs.
  nb["cells"].push_back(CodeCell("!ls\n", 2));
  EXPECT_EQ(Progress(nb, baseline).executed, 2);
  EXPECT_EQ(Progress(nb, baseline).code_cells, 3);
}

TEST(ProgressTest, CellIdsSurviveEditsOfShippedCells) {
  const json shipped = Notebook({CodeCell("x = 1\n", 5, "cell-a"), CodeCell("y\n", {}, "cell-b")});
  const NotebookBaseline baseline = Baseline(shipped);
  json nb = shipped;
  nb["cells"][0]["source"] = "x = 2  # edited\n";  // still the shipped, pre-executed cell
  nb["cells"][1]["source"] = "y + 1\n";
  nb["cells"][1]["execution_count"] = 1;
  const NotebookProgress p = Progress(nb, baseline);
  EXPECT_EQ(p.baseline_executed, 1);
  EXPECT_EQ(p.executed, 1);
  EXPECT_EQ(p.Counted(), 1);
}

TEST(ProgressTest, WithoutIdsAnEditedShippedCellIsTheParticipants) {
  const json shipped = Notebook({CodeCell("x = 1\n", 5)});
  const NotebookBaseline baseline = Baseline(shipped);
  json nb = shipped;
  nb["cells"][0]["source"] = "x = 2\n";
  const NotebookProgress p = Progress(nb, baseline);
  EXPECT_EQ(p.baseline_executed, 0);
  EXPECT_EQ(p.executed, 1);
}

TEST(ProgressTest, IdsAddedOnSaveFallBackToSources) {
  // Shipped as nbformat 4.4 without ids; Jupyter adds random ids when it saves.
  const json shipped = Notebook({CodeCell("a\n", 1), CodeCell("b\n")});
  const NotebookBaseline baseline = Baseline(shipped);
  json nb = shipped;
  nb["cells"][0]["id"] = "9f1c";
  nb["cells"][1]["id"] = "77aa";
  nb["cells"][1]["execution_count"] = 1;
  const NotebookProgress p = Progress(nb, baseline);
  EXPECT_EQ(p.baseline_executed, 1);
  EXPECT_EQ(p.executed, 1);
}

TEST(ProgressTest, ExecutedMeansAnExecutionCountWhateverTheOutputs) {
  json cleared = CodeCell("print(1)\n");
  cleared["outputs"] =
      json::array({{{"output_type", "stream"}, {"name", "stdout"}, {"text", "1"}}});
  const json nb =
      Notebook({CodeCell("x = 1\n", 1),
                cleared,
                CodeCell("y = 2\n", 2),
                {{"cell_type", "markdown"}, {"metadata", json::object()}, {"source", "# t"}}});
  const NotebookProgress p = Progress(nb, NotebookBaseline{});
  EXPECT_EQ(p.code_cells, 3);
  EXPECT_EQ(p.executed, 2);
}

TEST(ProgressTest, SourceAsListOrStringIsTheSameCell) {
  json as_list = Notebook({CodeCell("", 1)});
  as_list["cells"][0]["source"] = json::array({"import os\n", "print(os.getcwd())"});
  const NotebookBaseline baseline = Baseline(as_list);
  const json as_string = Notebook({CodeCell("import os\nprint(os.getcwd())", 1)});
  EXPECT_EQ(Progress(as_string, baseline).baseline_executed, 1);
}

TEST(ProgressTest, EmptyNotebookIsZeroOfZero) {
  const json nb = Notebook({});
  const NotebookProgress p = Progress(nb, Baseline(nb));
  EXPECT_TRUE(p.readable);
  EXPECT_EQ(p.code_cells, 0);
  EXPECT_EQ(p.Counted(), 0);
  EXPECT_EQ(p.Fraction(), 0.0);
  const json markdown_only = Notebook({{{"cell_type", "markdown"}, {"source", "hi"}}});
  EXPECT_EQ(Progress(markdown_only, NotebookBaseline{}).Fraction(), 0.0);
}

TEST(ProgressTest, InvalidJsonIsUnreadableWithAReasonButNoContent) {
  const std::string text = "{\n \"cells\": [\n  \"password Zq9secret";
  const NotebookProgress p = ProgressOf("0-ReadMeFirst.ipynb", text, NotebookBaseline{});
  EXPECT_FALSE(p.readable);
  EXPECT_EQ(p.file, "0-ReadMeFirst.ipynb");
  EXPECT_THAT(p.error, HasSubstr("not valid JSON (syntax error at line 3"));
  EXPECT_THAT(p.error, Not(HasSubstr("Zq9secret")));
  EXPECT_EQ(p.Fraction(), 0.0);
  EXPECT_THAT(BaselineOf("0-ReadMeFirst.ipynb", text),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("notebook '0-ReadMeFirst.ipynb': not valid JSON")));
}

TEST(ProgressTest, TextsThatAreNotNotebooksAreUnreadable) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"[]", "not a JSON object"},
      {"{}", "no 'cells' array"},
      {R"({"cells": 3})", "no 'cells' array"},
      {R"({"nbformat": 3, "worksheets": []})", "nbformat 3 is not supported"},
      {R"({"nbformat": "4", "cells": []})", "'nbformat' is not an integer"},
      {R"({"cells": [1]})", "cell 1 is not an object"},
      {R"({"cells": [{"source": "x"}]})", "cell 1 has no 'cell_type'"},
      {R"({"cells": [{"cell_type": "markdown", "source": ""}, {"cell_type": "code"}]})",
       "cell 2 has no 'source'"},
      {R"({"cells": [{"cell_type": "code", "source": ["a", 1]}]})",
       "cell 1 has a malformed 'source'"},
  };
  for (const auto& [text, reason] : cases) {
    const NotebookProgress p = ProgressOf("x.ipynb", text, NotebookBaseline{});
    EXPECT_FALSE(p.readable) << text;
    EXPECT_THAT(p.error, HasSubstr(reason)) << text;
  }
}

TEST(ProgressTest, TotalSumsReadableNotebooks) {
  NotebookProgress a{"a.ipynb", 10, 2, 4, true, ""};
  NotebookProgress b{"b.ipynb", 6, 0, 6, true, ""};
  NotebookProgress broken{"c.ipynb", 0, 0, 0, false, "not valid JSON"};
  const std::vector<NotebookProgress> all = {a, b, broken};
  const TotalProgress t = Total(all);
  EXPECT_EQ(t.notebooks, 3);
  EXPECT_EQ(t.unreadable, 1);
  EXPECT_EQ(t.code_cells, 16);
  EXPECT_EQ(t.baseline_executed, 2);
  EXPECT_EQ(t.executed, 10);
  EXPECT_DOUBLE_EQ(t.Fraction(), 10.0 / 14.0);
  EXPECT_EQ(Total({}).Fraction(), 0.0);
}

TEST(ProgressJsonTest, BaselineRoundTrips) {
  const NotebookBaseline b{{{"id-1", "0123456789abcdef", true}, {"", "fedcba9876543210", false}}};
  const json j = BaselineToJson(b);
  EXPECT_FALSE(j["code_cells"][1].contains("id"));
  ASSERT_OK_AND_ASSIGN(const NotebookBaseline back, BaselineFromJson(json::parse(j.dump())));
  EXPECT_EQ(back, b);
}

TEST(ProgressJsonTest, ProgressReportRoundTrips) {
  const std::vector<NotebookProgress> notebooks = {
      {"1-lab.ipynb", 30, 3, 9, true, ""},
      {"2-end.ipynb", 0, 0, 0, false, "cell 1 is not an object"}};
  const json j = ProgressReportToJson(notebooks);
  EXPECT_EQ(j["total"]["executed"], 9);
  EXPECT_EQ(j["total"]["unreadable"], 1);
  EXPECT_DOUBLE_EQ(j["notebooks"][0]["fraction"].get<double>(), 9.0 / 27.0);
  EXPECT_FALSE(j["notebooks"][0].contains("error"));
  ASSERT_OK_AND_ASSIGN(const std::vector<NotebookProgress> back,
                       ProgressReportFromJson(json::parse(j.dump())));
  EXPECT_EQ(back, notebooks);
}

TEST(ProgressJsonTest, MalformedJsonFormsAreRejected) {
  EXPECT_THAT(BaselineFromJson(json::array()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(BaselineFromJson(json{{"code_cells", {{{"source_hash", 3}, {"executed", true}}}}}),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "malformed notebook baseline: 'source_hash' is not a string"));
  json p = ProgressToJson({"a.ipynb", 2, 1, 1, true, ""});
  ASSERT_OK(ProgressFromJson(p));
  p["executed"] = 5;
  EXPECT_THAT(ProgressFromJson(p),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("counts do not add up")));
  p["executed"] = -1;
  EXPECT_THAT(ProgressFromJson(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("'executed' is out of range")));
  p["executed"] = "1";
  EXPECT_THAT(ProgressFromJson(p), StatusIs(absl::StatusCode::kInvalidArgument,
                                            HasSubstr("'executed' is not an integer")));
  EXPECT_THAT(ProgressReportFromJson(json{{"notebooks", {1}}}),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace wod::model
