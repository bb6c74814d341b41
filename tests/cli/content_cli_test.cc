// Runs `wod content render|progress` as an operator would: a real WoD workshop rendered for a
// seat into a temp dir, the progress of what was rendered, and template errors that name
// FILE:LINE and exit 1.
#include <filesystem>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/files.h"
#include "common/subprocess.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using json = nlohmann::json;

namespace fs = std::filesystem;

const fs::path kApi101 = fs::path(WOD_FIXTURES_DIR) / "wod-notebooks/full/WKSHP-API101";

class ContentCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("wod_content_cli_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  common::SubprocessResult Wod(std::vector<std::string> args) {
    args.insert(args.begin(), WOD_BINARY);
    auto r = common::RunProcess(args);
    EXPECT_OK(r);
    return r.ok() ? *r : common::SubprocessResult{};
  }

  static std::vector<std::string> Branding() {
    return {"--var", "BRANDING=Brand",           "--var", "BRANDINGWOD=Brand-XYZZY",
            "--var", "BRANDINGLOGO=logo.png",    "--var", "BRANDINGURL=https://example.test",
            "--var", "SURVEYURL=https://s.test", "--var", "SURVEYCHALURL=https://q.test"};
  }

  std::string Read(const fs::path& p) {
    auto text = common::ReadFile(p.string());
    return text.ok() ? *text : "";
  }

  fs::path dir_;
};

TEST_F(ContentCli, RendersAFixtureWorkshopAsTheSeatReceivesIt) {
  if (!fs::exists(kApi101)) GTEST_FAIL() << "fixtures missing: " << kApi101;
  const fs::path out = dir_ / "home";
  std::vector<std::string> args = {
      "content", "render",     kApi101.string(), "--seat",           "4",
      "--out",   out.string(), "--fqdn",         "wod.example.test", "--json"};
  for (const std::string& a : Branding()) args.push_back(a);
  auto r = Wod(args);
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const json result = json::parse(r.stdout_text, nullptr, false);
  ASSERT_FALSE(result.is_discarded()) << r.stdout_text;
  EXPECT_EQ(result["folder"], "WKSHP-API101");
  EXPECT_EQ(result["changed"], true);

  const std::string readme = Read(out / "WKSHP-API101/0-ReadMeFirst.ipynb");
  EXPECT_FALSE(json::parse(readme, nullptr, false).is_discarded());
  EXPECT_THAT(readme, HasSubstr("Brand-XYZZY"));
  EXPECT_THAT(readme, Not(HasSubstr("{{ BRANDINGWOD }}")));
  EXPECT_EQ(Read(out / "WKSHP-API101/Pictures/wod-logo.png"),
            Read(kApi101 / "Pictures/wod-logo.png"));
  EXPECT_FALSE(fs::exists(out / "WKSHP-API101/wod.yml"));
  EXPECT_TRUE(fs::exists(out / ".wod/manifest.json"));
  EXPECT_TRUE(fs::exists(out / ".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace"));

  // Rendering again changes nothing: the same deploy code, idempotent.
  auto again = Wod(args);
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_EQ(json::parse(again.stdout_text)["changed"], false);

  // Progress of the rendered home, and of its workshop folder: the same report.
  auto progress = Wod({"content", "progress", out.string(), "--json"});
  ASSERT_EQ(progress.exit_code, 0) << progress.stderr_text;
  const json report = json::parse(progress.stdout_text, nullptr, false);
  ASSERT_FALSE(report.is_discarded()) << progress.stdout_text;
  EXPECT_EQ(report["baseline"], "manifest");
  EXPECT_EQ(report["manifest"]["seat"], 4);
  EXPECT_EQ(report["total"]["notebooks"], 3);
  EXPECT_EQ(report["total"]["executed"], 0);
  auto folder = Wod({"content", "progress", (out / "WKSHP-API101").string(), "--json"});
  ASSERT_EQ(folder.exit_code, 0) << folder.stderr_text;
  EXPECT_EQ(json::parse(folder.stdout_text)["notebooks"], report["notebooks"]);
}

TEST_F(ContentCli, ProgressCountsCellsRunAfterRendering) {
  const fs::path src = dir_ / "WKSHP-Mini";
  json nb = {{"nbformat", 4},
             {"nbformat_minor", 5},
             {"metadata", json::object()},
             {"cells",
              {{{"cell_type", "code"},
                {"id", "a"},
                {"source", "print({{ STDID }})"},
                {"metadata", json::object()},
                {"outputs", json::array()},
                {"execution_count", nullptr}},
               {{"cell_type", "code"},
                {"id", "b"},
                {"source", "1"},
                {"metadata", json::object()},
                {"outputs", json::array()},
                {"execution_count", 3}}}}};
  fs::create_directories(src);
  std::ofstream(src / "0-ReadMeFirst.ipynb") << nb.dump(1);
  const fs::path out = dir_ / "home";
  auto r = Wod({"content", "render", src.string(), "--seat", "2", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;

  json deployed = json::parse(Read(out / "WKSHP-Mini/0-ReadMeFirst.ipynb"));
  EXPECT_EQ(deployed["cells"][0]["source"], "print(2)");
  deployed["cells"][0]["execution_count"] = 1;
  std::ofstream(out / "WKSHP-Mini/0-ReadMeFirst.ipynb") << deployed.dump(1);

  auto progress = Wod({"content", "progress", out.string()});
  ASSERT_EQ(progress.exit_code, 0) << progress.stderr_text;
  // Cell b was shipped executed: only cell a counts.
  EXPECT_THAT(progress.stdout_text, HasSubstr("total 1/1 100%"));

  // Without the manifest every executed cell counts.
  fs::remove_all(out / ".wod");
  auto raw = Wod({"content", "progress", out.string(), "--json"});
  ASSERT_EQ(raw.exit_code, 0) << raw.stderr_text;
  const json report = json::parse(raw.stdout_text);
  EXPECT_EQ(report["baseline"], "none");
  EXPECT_EQ(report["total"]["executed"], 2);
  EXPECT_EQ(report["total"]["code_cells"], 2);
}

TEST_F(ContentCli, UndefinedVariableNamesFileAndLineAndExits1) {
  if (!fs::exists(kApi101)) GTEST_FAIL() << "fixtures missing: " << kApi101;
  // No --var: the BRANDING* variables the real notebooks use are undefined.
  auto r = Wod(
      {"content", "render", kApi101.string(), "--seat", "3", "--out", (dir_ / "home").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_text,
              HasSubstr("WKSHP-API101/0-ReadMeFirst.ipynb:7: undefined variable 'BRANDINGLOGO'"));
  EXPECT_THAT(r.stderr_text, HasSubstr("WKSHP-API101/2-WKSHP-Conclusion.ipynb:"));
  EXPECT_FALSE(fs::exists(dir_ / "home/WKSHP-API101"));

  const fs::path src = dir_ / "WKSHP-Bad";
  fs::create_directories(src);
  std::ofstream(src / "setup.sh") << "#!/bin/sh\n# line 2\necho {{ NOT_DEFINED }}\n";
  auto bad =
      Wod({"content", "render", src.string(), "--seat", "1", "--out", (dir_ / "home2").string()});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_THAT(bad.stderr_text, HasSubstr("WKSHP-Bad/setup.sh:3: undefined variable 'NOT_DEFINED'"));
}

// WoD's template set: a playbook's {{ item.key }} (for Ansible at run time) is copied as is,
// Variables.ps1 is rendered, a Jupyter checkpoint is copied as is.
TEST_F(ContentCli, RendersWodsTemplateSetAndCopiesTheRestByteForByte) {
  const fs::path src = dir_ / "WKSHP-Playbook";
  fs::create_directories(src / "ansible");
  const std::string playbook =
      "- debug: msg=\"{{ item.key }}\"\n  loop: \"{{ d | dict2items }}\"\n";
  const std::string checkpoint = "{\"cells\": [], \"x\": \"{{ item.key }}\"}";
  std::ofstream(src / "ansible/ansible_check_jupyterhub.yml") << playbook;
  std::ofstream(src / "Variables.ps1") << "$Stdid = {{ STDID }}\n";
  std::ofstream(src / "0-ReadMeFirst-checkpoint.ipynb") << checkpoint;
  const fs::path out = dir_ / "home";
  auto r = Wod({"content", "render", src.string(), "--seat", "5", "--out", out.string()});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(Read(out / "WKSHP-Playbook/ansible/ansible_check_jupyterhub.yml"), playbook);
  EXPECT_EQ(Read(out / "WKSHP-Playbook/Variables.ps1"), "$Stdid = 5\n");
  EXPECT_EQ(Read(out / "WKSHP-Playbook/0-ReadMeFirst-checkpoint.ipynb"), checkpoint);
}

// A seat fact given with --var would be silently replaced: refused, naming what sets it.
TEST_F(ContentCli, ReservedVariableNamesTheFlagThatSetsIt) {
  const fs::path src = dir_ / "WKSHP-Mini";
  fs::create_directories(src);
  std::ofstream(src / "run.sh") << "echo {{ PASSSTU }} {{ HTTPPORT }}\n";
  const std::string out = (dir_ / "home").string();
  for (const auto& [var, flag] : std::vector<std::pair<std::string, std::string>>{
           {"PASSSTU=x", "--password"}, {"STDID=9", "--seat"}, {"WODBEEXTFQDN=h", "--fqdn"}}) {
    auto r = Wod({"content", "render", src.string(), "--seat", "2", "--out", out, "--var",
                  "HTTPPORT=80", "--var", var});
    EXPECT_EQ(r.exit_code, 1) << var;
    EXPECT_THAT(r.stderr_text, HasSubstr(fmt::format("--var '{}' is reserved: set it with {}",
                                                     var.substr(0, var.find('=')), flag)));
    EXPECT_FALSE(fs::exists(out)) << var;
  }
  // HTTPPORT is the seat's own once HTTPPORTBASE defines it.
  auto port = Wod({"content", "render", src.string(), "--seat", "2", "--out", out, "--var",
                   "HTTPPORTBASE=9000", "--var", "HTTPPORT=80"});
  EXPECT_EQ(port.exit_code, 1);
  EXPECT_THAT(port.stderr_text, HasSubstr("--var 'HTTPPORT' is reserved"));
  EXPECT_FALSE(fs::exists(out));
  // Without HTTPPORTBASE or appliances, HTTPPORT is the operator's to set.
  auto ok = Wod({"content", "render", src.string(), "--seat", "2", "--out", out, "--password", "pw",
                 "--var", "HTTPPORT=80"});
  ASSERT_EQ(ok.exit_code, 0) << ok.stderr_text;
  EXPECT_EQ(Read(dir_ / "home/WKSHP-Mini/run.sh"), "echo pw 80\n");
}

TEST_F(ContentCli, SeatOutsideTheWorkshopRangeIsRefused) {
  if (!fs::exists(kApi101)) GTEST_FAIL() << "fixtures missing: " << kApi101;
  auto r = Wod(
      {"content", "render", kApi101.string(), "--seat", "40", "--out", (dir_ / "home").string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("seat 40 is outside the range [1,6]"));
}

}  // namespace
}  // namespace wod
