// The content vocabulary (model/content.h) and the pure parts of rendering: the variables a
// seat gets and their precedence, which files are templates, the manifest's JSON form and its
// refusal of paths that leave the home, the JupyterLab workspace, and the source cache.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "drivers/content/render.h"
#include "model/content.h"
#include "tests/drivers/content_test_env.h"
#include "tests/testing/status_matchers.h"

namespace wod::drivers::content {
namespace {

using model::SeatVariables;
using ::testing::HasSubstr;
using ::testing::Not;
using ::wod::testing::StatusIs;
using namespace ::wod::drivers::content::testing;  // NOLINT

TEST(SeatVariablesTest, SeatFactsPortsAndOperatorVariables) {
  model::Workshop w = OwnWorkshop("WKSHP-Docker101");
  const auto vars = SeatVariables(w, TestLocation(), 3, "pw", OperatorVars());
  EXPECT_EQ(vars.at("STDID"), "3");
  EXPECT_EQ(vars.at("PASSSTU"), "pw");
  EXPECT_EQ(vars.at("WODBEEXTFQDN"), "wod.example.test");
  EXPECT_EQ(vars.at("MODEWS"), "WKSHP");
  EXPECT_EQ(vars.at("BRANDINGWOD"), "Brand-XYZZY Workshops");
  // Range [1,4], seat 3: host ports are base + 2.
  EXPECT_EQ(vars.at("WEB_PORT_80"), "14002");
  EXPECT_EQ(vars.at("WEB_PORT_22"), "15002");
  EXPECT_EQ(vars.at("HTTPPORT"), "14002");
  EXPECT_EQ(vars.at("HTTPPORT-WKSHP-Docker101"), "14002");
  EXPECT_EQ(vars.at("IP-WKSHP-Docker101"), "wod.example.test");
}

TEST(SeatVariablesTest, HttpPortFallsBackToFirstPortThenToBase) {
  model::Workshop w = OwnWorkshop();
  w.appliances[0].name = "my-box";
  w.appliances[0].ports = {{8443, 16000}};
  auto vars = SeatVariables(w, TestLocation(), 2, "pw", {});
  EXPECT_EQ(vars.at("MY_BOX_PORT_8443"), "16001");
  EXPECT_EQ(vars.at("HTTPPORT"), "16001");

  w.appliances.clear();
  vars = SeatVariables(w, TestLocation(), 2, "pw", {});
  EXPECT_EQ(vars.count("HTTPPORT"), 0u);
  EXPECT_EQ(vars.count("IP-WKSHP-Own"), 0u);
  w.variables["HTTPPORTBASE"] = "9000";
  vars = SeatVariables(w, TestLocation(), 2, "pw", {});
  EXPECT_EQ(vars.at("HTTPPORT"), "9001");
}

TEST(SeatVariablesTest, WorkshopVariablesOverrideOperatorButNotSeatFacts) {
  model::Workshop w = OwnWorkshop();
  w.variables = {
      {"MODEWS", "CHLG"}, {"BRANDING", "Workshop brand"}, {"STDID", "99"}, {"PASSSTU", "forged"}};
  const auto vars = SeatVariables(w, TestLocation(), 3, "pw",
                                  {{"BRANDING", "Operator brand"}, {"WODBEEXTFQDN", "forged"}});
  EXPECT_EQ(vars.at("MODEWS"), "CHLG");
  EXPECT_EQ(vars.at("BRANDING"), "Workshop brand");
  EXPECT_EQ(vars.at("STDID"), "3");
  EXPECT_EQ(vars.at("PASSSTU"), "pw");
  EXPECT_EQ(vars.at("WODBEEXTFQDN"), "wod.example.test");
}

// Exactly WoD's copy_folder.yml set: *.ipynb *.yaml *.py *.sh *.src *.tf *.env Variables.ps1,
// not *-checkpoint.ipynb.
TEST(ContentModelTest, TemplateFilesAreWodsSet) {
  for (const char* f : {"a.ipynb", "x.py", "run.sh", "k.yaml", "v.src", "main.tf", ".env",
                        "prod.env", "Variables.ps1"}) {
    EXPECT_TRUE(model::IsTemplateFile(f)) << f;
  }
  for (const char* f : {"logo.png", "README.md", "LICENSE", "data.json", "x.ipynb.bak", "k.yml",
                        "ansible_check_jupyterhub.yml", "x-checkpoint.ipynb", "other.ps1",
                        "variables.ps1", "Variables.ps1.bak"}) {
    EXPECT_FALSE(model::IsTemplateFile(f)) << f;
  }
}

TEST(ContentModelTest, ManifestRoundTripsThroughJson) {
  model::ContentManifest m;
  m.registration_id = 12;
  m.workshop = "WKSHP-API101";
  m.reset_epoch = 2;
  m.seat = 7;
  m.folder = "WKSHP-API101";
  m.workspace = ".jupyter/lab/workspaces/default-37a8.jupyterlab-workspace";
  m.files = {{"WKSHP-API101/a.ipynb", std::string(64, 'a'), 0644},
             {"WKSHP-API101/run.sh", std::string(64, 'b'), 0755}};
  m.content_hash = model::ContentHash(m.files);
  m.notebooks["WKSHP-API101/a.ipynb"].code_cells = {{"c1", "0123456789abcdef", true},
                                                    {"", "fedcba9876543210", false}};
  ASSERT_OK_AND_ASSIGN(model::ContentManifest back,
                       model::ManifestFromJson(model::ManifestToJson(m).dump()));
  EXPECT_EQ(back, m);
}

TEST(ContentModelTest, ContentHashChangesWithAnyByteOrMode) {
  std::vector<model::ManifestFile> files = {{"W/a", "11", 0644}, {"W/b", "22", 0644}};
  const std::string h = model::ContentHash(files);
  std::vector<model::ManifestFile> reordered = {files[1], files[0]};
  EXPECT_EQ(model::ContentHash(reordered), h);
  files[1].mode = 0755;
  EXPECT_NE(model::ContentHash(files), h);
  files[1].mode = 0644;
  files[1].sha256 = "23";
  EXPECT_NE(model::ContentHash(files), h);
}

TEST(ContentModelTest, ManifestPathsThatLeaveTheHomeAreRefused) {
  model::ContentManifest m;
  m.folder = "WKSHP-X";
  m.files = {{"WKSHP-X/a", "1", 0644}};
  const nlohmann::json good = model::ManifestToJson(m);
  ASSERT_OK(model::ManifestFromJson(good.dump()));

  for (const char* folder : {"../x", "a/b", ".wod", "", ".."}) {
    nlohmann::json j = good;
    j["folder"] = folder;
    EXPECT_THAT(model::ManifestFromJson(j.dump()), StatusIs(absl::StatusCode::kInvalidArgument))
        << folder;
  }
  for (const char* path : {"/etc/passwd", "WKSHP-X/../../etc", "other/a", "WKSHP-X//a"}) {
    nlohmann::json j = good;
    j["files"][0]["path"] = path;
    EXPECT_THAT(model::ManifestFromJson(j.dump()), StatusIs(absl::StatusCode::kInvalidArgument))
        << path;
  }
  nlohmann::json j = good;
  j["workspace"] = ".bashrc";
  EXPECT_THAT(model::ManifestFromJson(j.dump()), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(model::ManifestFromJson("[1, 2"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(model::ManifestFromJson("{}"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(ContentModelTest, ActionDescriptionsCarryNoVariables) {
  const auto action = model::ContentAction::Deploy(7, 12, "WKSHP-X", 1, "/c/WKSHP-X",
                                                   {{"PASSSTU", "s3cret-pw"}}, "reset");
  EXPECT_EQ(action.Describe(), "deploy seat 7 registration 12 workshop 'WKSHP-X' epoch 1 (reset)");
  EXPECT_THAT(action.Describe(), Not(HasSubstr("s3cret")));
}

TEST(RenderTest, WorkspaceOpensReadMeFirstAndIsJupyterLabsFormat) {
  const nlohmann::json ws =
      nlohmann::json::parse(JupyterWorkspaceJson("WKSHP-X", "WKSHP-X/0-ReadMeFirst.ipynb"));
  EXPECT_EQ(ws["metadata"]["id"], "default");
  const auto& layout = ws["data"]["layout-restorer:data"];
  EXPECT_EQ(layout["main"]["dock"]["type"], "tab-area");
  EXPECT_EQ(layout["main"]["dock"]["widgets"][0], "notebook:WKSHP-X/0-ReadMeFirst.ipynb");
  EXPECT_EQ(ws["data"]["notebook:WKSHP-X/0-ReadMeFirst.ipynb"]["data"]["factory"], "Notebook");
  const nlohmann::json none = nlohmann::json::parse(JupyterWorkspaceJson("WKSHP-X", ""));
  EXPECT_TRUE(none["data"]["layout-restorer:data"]["main"]["dock"]["widgets"].empty());
}

TEST(RenderTest, WithoutReadMeFirstTheFirstNotebookOpens) {
  TempDir tmp;
  WriteText(tmp.path() / "W" / "2-b.ipynb", MakeNotebook({}, {}));
  WriteText(tmp.path() / "W" / "1-a.ipynb", MakeNotebook({}, {}));
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ReadSourceTree((tmp.path() / "W").string(), "WKSHP-W"));
  ASSERT_OK_AND_ASSIGN(RenderedWorkshop r, RenderWorkshop(tree, "WKSHP-W", {}));
  EXPECT_EQ(r.open_notebook, "WKSHP-W/1-a.ipynb");
}

// A workshop shipping an Ansible playbook (its {{ item.key }} is for Ansible at run time) deploys:
// the playbook and a Jupyter checkpoint are copied byte for byte, Variables.ps1 is rendered.
TEST(RenderTest, RendersWodsTemplateSetAndCopiesEverythingElse) {
  TempDir tmp;
  const std::string playbook =
      "- debug:\n    msg: \"{{ item.key }} = {{ item.value }}\"\n  loop: \"{{ x | dict2items "
      "}}\"\n";
  const std::string checkpoint = MakeNotebook({"print({{ STDID }})"}, {});
  WriteText(tmp.path() / "W" / "ansible" / "ansible_check_jupyterhub.yml", playbook);
  WriteText(tmp.path() / "W" / "scripts" / "Variables.ps1", "$Student = \"student{{ STDID }}\"\n");
  WriteText(tmp.path() / "W" / "1-Lab-checkpoint.ipynb", checkpoint);
  WriteText(tmp.path() / "W" / "1-Lab.ipynb", MakeNotebook({"print({{ STDID }})"}, {}));
  ASSERT_OK_AND_ASSIGN(SourceTree tree, ReadSourceTree((tmp.path() / "W").string(), "WKSHP-W"));
  ASSERT_OK_AND_ASSIGN(RenderedWorkshop r, RenderWorkshop(tree, "WKSHP-W", {{"STDID", "7"}}));
  std::map<std::string, std::string> files;
  for (const RenderedFile& f : r.files) files[f.path] = f.data;
  EXPECT_EQ(files["WKSHP-W/ansible/ansible_check_jupyterhub.yml"], playbook);
  EXPECT_EQ(files["WKSHP-W/scripts/Variables.ps1"], "$Student = \"student7\"\n");
  EXPECT_EQ(files["WKSHP-W/1-Lab-checkpoint.ipynb"], checkpoint);
  EXPECT_THAT(files["WKSHP-W/1-Lab.ipynb"], HasSubstr("print(7)"));
}

TEST(RenderTest, SyntaxErrorsOfEveryFileAreReportedTogether) {
  TempDir tmp;
  WriteText(tmp.path() / "W" / "a.sh", "echo {{ A\n");
  WriteText(tmp.path() / "W" / "b.py", "\n{% if X %}\n");
  auto tree = ReadSourceTree((tmp.path() / "W").string(), "WKSHP-W");
  EXPECT_THAT(tree, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("WKSHP-W/a.sh:1")));
  EXPECT_THAT(tree, StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("WKSHP-W/b.py:2")));
}

TEST(RenderTest, SourceCacheRereadsOnlyChangedFolders) {
  TempDir tmp;
  const fs::path dir = WriteOwnWorkshop(tmp.path());
  SourceCache cache;
  ASSERT_OK(cache.Get(dir.string(), "WKSHP-Own"));
  ASSERT_OK(cache.Get(dir.string(), "WKSHP-Own"));
  EXPECT_EQ(cache.reads(), 1);
  WriteText(dir / "scripts/setup.sh", "#!/bin/sh\necho changed {{ STDID }}\n", 0755);
  ASSERT_OK_AND_ASSIGN(auto tree, cache.Get(dir.string(), "WKSHP-Own"));
  EXPECT_EQ(cache.reads(), 2);
  ASSERT_OK_AND_ASSIGN(
      RenderedWorkshop r,
      RenderWorkshop(*tree, "WKSHP-Own",
                     model::SeatVariables(OwnWorkshop(), TestLocation(), 5, "pw", OperatorVars())));
  bool found = false;
  for (const auto& f : r.files) {
    if (f.path == "WKSHP-Own/scripts/setup.sh") {
      found = true;
      EXPECT_EQ(f.data, "#!/bin/sh\necho changed 5\n");
      EXPECT_EQ(f.mode, 0755);
    }
  }
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace wod::drivers::content
