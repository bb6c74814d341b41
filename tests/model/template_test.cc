// Tests of the Jinja-subset renderer: every real WoD notebook renders to valid JSON with no
// template syntax left, golden files of our own, each construct, and each error.
#include "model/template.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <set>
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
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::wod::testing::StatusIs;

constexpr TemplateOptions kPlain{};
constexpr TemplateOptions kJson{TemplateEscape::kJson, true};

// A StatusOr<std::string> that is OK and holds `expected`.
MATCHER_P(Renders, expected, "renders to " + ::testing::PrintToString(std::string(expected))) {
  if (!arg.ok()) {
    *result_listener << "status is " << arg.status();
    return false;
  }
  if (*arg == expected) return true;
  *result_listener << "renders to " << ::testing::PrintToString(*arg);
  return false;
}

absl::StatusOr<std::string> Render(std::string_view text, const TemplateVariables& vars,
                                   const TemplateOptions& options = kPlain) {
  return RenderTemplate(text, vars, "t.txt", options);
}

size_t Count(std::string_view haystack, std::string_view needle) {
  size_t n = 0;
  for (size_t i = haystack.find(needle); i != std::string_view::npos;
       i = haystack.find(needle, i + needle.size())) {
    ++n;
  }
  return n;
}

// ---- real WoD notebooks --------------------------------------------------------------------

const fs::path kNotebooksRoot = fs::path(WOD_FIXTURES_DIR) / "wod-notebooks";

std::vector<fs::path> FixtureNotebooks() {
  std::vector<fs::path> found;
  for (const char* sub : {"notebooks", "full"}) {
    const fs::path dir = kNotebooksRoot / sub;
    if (!fs::is_directory(dir)) continue;
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      if (entry.path().extension() == ".ipynb") found.push_back(entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  return found;
}

// Values with characters that would break a notebook's JSON if inserted unescaped.
TemplateVariables FullVariables(const std::string& mode) {
  return {
      {"STDID", "17"},
      {"PASSSTU", "Xk7#pq\"9\\z"},
      {"WODBEEXTFQDN", "wod.example.org"},
      {"HTTPPORT", "10017"},
      {"BRANDING", "ACME"},
      {"BRANDINGWOD", "ACME Workshops-on-Demand"},
      {"BRANDINGLOGO", "<img src=\"Pictures/acme.png\" width='30'>"},
      {"BRANDINGURL", "https://acme.example.org/community"},
      {"SURVEYURL", "https://survey.example.org/s?id=1&x=\"y\""},
      {"SURVEYCHALURL", "https://survey.example.org/challenge"},
      {"MODEWS", mode},
      {"IP-WKSHP-Ansible101", "10.1.2.3"},
      {"HTTPPORT-WKSHP-Ansible101", "20017"},
      {"IP-WKSHP-Docker101", "10.1.2.4"},
  };
}

// Template openers a correct rendering still outputs: those produced by string literals such
// as {{ '{{' }} (these fixtures have no raw blocks and no literal in an untaken branch).
size_t ProtectedOpeners(std::string_view source) {
  size_t n = 0;
  // Built with append: gcc 12's -Wrestrict misfires on "literal" + std::string (PR 105651).
  for (std::string_view opener : {"{{", "{%", "{#"}) {
    n += Count(source, std::string("'").append(opener).append("'"));
    n += Count(source, std::string("\\\"").append(opener).append("\\\""));
  }
  return n;
}

size_t Openers(std::string_view text) {
  return Count(text, "{{") + Count(text, "{%") + Count(text, "{#");
}

TEST(TemplateFixtureTest, EveryWodNotebookRendersToValidJsonWithNoTemplateSyntaxLeft) {
  const std::vector<fs::path> notebooks = FixtureNotebooks();
  if (notebooks.empty()) GTEST_FAIL() << "WoD fixtures missing at " << kNotebooksRoot;
  EXPECT_GE(notebooks.size(), 13u);
  for (const std::string mode : {"WKSHP", "CHLG"}) {
    const TemplateVariables vars = FullVariables(mode);
    for (const fs::path& path : notebooks) {
      SCOPED_TRACE(path.string() + " MODEWS=" + mode);
      ASSERT_OK_AND_ASSIGN(const std::string source, common::ReadFile(path.string()));
      ASSERT_OK_AND_ASSIGN(const Template tmpl,
                           Template::Parse(source, path.filename().string(),
                                           TemplateOptionsForFile(path.filename().string())));
      for (const std::string& name : tmpl.ReferencedVariables()) {
        EXPECT_TRUE(vars.contains(name)) << "fixture references '" << name << "'";
      }
      ASSERT_OK_AND_ASSIGN(const std::string out, tmpl.Render(vars));
      const nlohmann::json nb = nlohmann::json::parse(out, nullptr, false);
      ASSERT_FALSE(nb.is_discarded()) << "rendered notebook is not valid JSON";
      EXPECT_TRUE(nb.contains("cells"));
      EXPECT_EQ(Openers(out), ProtectedOpeners(source));
      // Each referenced value made it into the notebook's text, unescaped by the JSON parser.
      std::string all_text;
      for (const auto& cell : nb["cells"]) {
        for (const auto& line : cell["source"]) all_text += line.get<std::string>();
      }
      for (const std::string& name : tmpl.ReferencedVariables()) {
        if (name == "MODEWS" || (name == "SURVEYCHALURL" && mode != "CHLG")) continue;
        EXPECT_THAT(all_text, HasSubstr(vars.at(name))) << name;
      }
    }
  }
}

TEST(TemplateFixtureTest, FixturesReferenceTheWodVariables) {
  const std::vector<fs::path> notebooks = FixtureNotebooks();
  if (notebooks.empty()) GTEST_FAIL() << "WoD fixtures missing at " << kNotebooksRoot;
  std::set<std::string> all;
  for (const fs::path& path : notebooks) {
    ASSERT_OK_AND_ASSIGN(const std::string source, common::ReadFile(path.string()));
    ASSERT_OK_AND_ASSIGN(const std::vector<std::string> names,
                         ReferencedVariables(source, path.filename().string()));
    all.insert(names.begin(), names.end());
  }
  // The hostvars keys and the literal-protected names ('{{' }} LABSTUDENTNAME ...) show the
  // lookup works and string literals are not read as variables.
  EXPECT_TRUE(all.contains("IP-WKSHP-Ansible101"));
  EXPECT_TRUE(all.contains("HTTPPORT-WKSHP-Ansible101"));
  EXPECT_TRUE(all.contains("STDID"));
  EXPECT_TRUE(all.contains("MODEWS"));
  EXPECT_FALSE(all.contains("LABSTUDENTNAME"));
  EXPECT_FALSE(all.contains("hostvars"));
  EXPECT_FALSE(all.contains("ansible_facts"));
}

std::string CellText(const std::string& rendered, size_t index) {
  const nlohmann::json nb = nlohmann::json::parse(rendered, nullptr, false);
  std::string text;
  if (nb.is_discarded()) return text;
  for (const auto& line : nb["cells"][index]["source"]) text += line.get<std::string>();
  return text;
}

TEST(TemplateFixtureTest, ModewsPicksTheWorkshopOrChallengeBranch) {
  const fs::path path = kNotebooksRoot / "full/WKSHP-Python101/0-ReadMeFirst.ipynb";
  if (!fs::exists(path)) GTEST_FAIL() << "WoD fixtures missing at " << kNotebooksRoot;
  ASSERT_OK_AND_ASSIGN(const std::string source, common::ReadFile(path.string()));
  ASSERT_OK_AND_ASSIGN(const std::string workshop,
                       RenderTemplate(source, FullVariables("WKSHP"), "0-ReadMeFirst.ipynb"));
  ASSERT_OK_AND_ASSIGN(const std::string challenge,
                       RenderTemplate(source, FullVariables("CHLG"), "0-ReadMeFirst.ipynb"));
  const std::string w = CellText(workshop, 0);
  const std::string c = CellText(challenge, 0);
  EXPECT_THAT(w, HasSubstr("# ACME Workshops-on-Demand Workshop\n"));
  EXPECT_THAT(w, Not(HasSubstr("The challenge consists of")));
  EXPECT_THAT(c, HasSubstr("# ACME Workshops-on-Demand Challenge\n"));
  EXPECT_THAT(c, HasSubstr("The challenge consists of"));
  EXPECT_THAT(w, HasSubstr("<img src=\"Pictures/acme.png\" width='30'>"));
}

TEST(TemplateFixtureTest, MissingVariableInARealNotebookNamesFileLineAndName) {
  const fs::path path =
      kNotebooksRoot / "notebooks/WKSHP-Ansible101/2-WKSHP-Ansible101-Templates.ipynb";
  if (!fs::exists(path)) GTEST_FAIL() << "WoD fixtures missing at " << kNotebooksRoot;
  ASSERT_OK_AND_ASSIGN(const std::string source, common::ReadFile(path.string()));
  TemplateVariables vars = FullVariables("WKSHP");
  vars.erase("PASSSTU");
  // The first {{ PASSSTU }} of this notebook, found independently of the renderer.
  const size_t at = source.find("{{ PASSSTU }}");
  ASSERT_NE(at, std::string::npos);
  const int line = 1 + static_cast<int>(std::count(source.begin(), source.begin() + at, '\n'));
  EXPECT_THAT(RenderTemplate(source, vars, "2-WKSHP-Ansible101-Templates.ipynb"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "2-WKSHP-Ansible101-Templates.ipynb:" + std::to_string(line) +
                           ": undefined variable 'PASSSTU'"));
}

// ---- golden files --------------------------------------------------------------------------

// tests/golden/template/NAME.in is rendered with NAME.vars (a JSON object) and compared to
// NAME.out; the options come from NAME, so `lab.ipynb.in` renders as a notebook.
// WOD_UPDATE_GOLDEN=1 rewrites the .out files instead.
TEST(TemplateGoldenTest, OurTemplatesRenderAsRecorded) {
  const fs::path dir = fs::path(WOD_SOURCE_DIR) / "tests/golden/template";
  const char* update_env = std::getenv("WOD_UPDATE_GOLDEN");
  const bool update = update_env != nullptr && std::string(update_env) == "1";
  int checked = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".in") continue;
    const std::string name = entry.path().stem().string();
    SCOPED_TRACE(name);
    const fs::path base = dir / name;
    ASSERT_OK_AND_ASSIGN(const std::string in, common::ReadFile(entry.path().string()));
    ASSERT_OK_AND_ASSIGN(const std::string vars_text, common::ReadFile(base.string() + ".vars"));
    const nlohmann::json vars_json = nlohmann::json::parse(vars_text, nullptr, false);
    ASSERT_TRUE(vars_json.is_object());
    TemplateVariables vars;
    for (const auto& [k, v] : vars_json.items()) vars[k] = v.get<std::string>();
    ASSERT_OK_AND_ASSIGN(const std::string out, RenderTemplate(in, vars, name));
    if (name.ends_with(".ipynb")) {
      EXPECT_FALSE(nlohmann::json::parse(out, nullptr, false).is_discarded());
    }
    if (update) {
      ASSERT_OK(common::WriteFileAtomic(base.string() + ".out", out));
    } else {
      ASSERT_OK_AND_ASSIGN(const std::string want, common::ReadFile(base.string() + ".out"));
      EXPECT_EQ(out, want) << "regenerate with WOD_UPDATE_GOLDEN=1 if the change is intended";
    }
    ++checked;
  }
  EXPECT_GE(checked, 3);
}

// ---- constructs ----------------------------------------------------------------------------

TEST(TemplateTest, TextWithoutTagsIsUnchanged) {
  const std::string text = "plain { text } with {single} braces, % and # and }} and %}\n";
  EXPECT_THAT(Render(text, {}), Renders(text));
  EXPECT_THAT(Render(text, {}, kJson), Renders(text));
  EXPECT_THAT(Render("", {}), Renders(""));
}

TEST(TemplateTest, VariableWhitespaceVariants) {
  const TemplateVariables vars = {{"NAME", "v"}, {"HTTPPORT", "8080"}};
  ASSERT_OK_AND_ASSIGN(auto out,
                       Render("{{NAME}}|{{ NAME }}|{{  NAME  }}|{{ HTTPPORT}}|{{\tNAME\n}}", vars));
  EXPECT_EQ(out, "v|v|v|8080|v");
}

TEST(TemplateTest, StringLiteralsProduceTemplateSyntax) {
  ASSERT_OK_AND_ASSIGN(
      auto out,
      Render(R"({{ '{{' }} X {{ '}}' }} {{ "{%" }} {{ '%}' }} {{ '{#' }} {{ "it's" }})", {}));
  EXPECT_EQ(out, "{{ X }} {% %} {# it's");
  ASSERT_OK_AND_ASSIGN(out, Render(R"({{ 'a\'b' }}{{ "q\"q" }}{{ 'back\\slash' }})", {}));
  EXPECT_EQ(out, R"(a'bq"qback\slash)");
}

TEST(TemplateTest, HostvarsLookupReadsTheVariable) {
  const TemplateVariables vars = {{"IP-WKSHP-Docker101", "10.0.0.9"}};
  ASSERT_OK_AND_ASSIGN(auto out,
                       Render("ssh {{ hostvars[inventory_hostname]['IP-WKSHP-Docker101'] "
                              "}} {{hostvars[ inventory_hostname ][\"IP-WKSHP-Docker101\"]}}",
                              vars));
  EXPECT_EQ(out, "ssh 10.0.0.9 10.0.0.9");
}

TEST(TemplateTest, IfElifElseFollowModews) {
  const std::string text =
      "{% if MODEWS == 'WKSHP' %}workshop{% elif MODEWS == \"CHLG\" %}challenge"
      "{% else %}other{% endif %}";
  for (const auto& [mode, want] : std::vector<std::pair<std::string, std::string>>{
           {"WKSHP", "workshop"}, {"CHLG", "challenge"}, {"DEMO", "other"}}) {
    EXPECT_THAT(Render(text, {{"MODEWS", mode}}), Renders(want)) << mode;
  }
}

TEST(TemplateTest, NotEqualAndNestedIfs) {
  const std::string text =
      "{% if MODEWS != 'CHLG' %}a{% if STDID == '1' %}b{% else %}c{% endif %}d{% endif %}"
      "{% if 'x' == 'x' %}e{% endif %}{% if MODEWS == STDID %}f{% endif %}";
  EXPECT_THAT(Render(text, {{"MODEWS", "WKSHP"}, {"STDID", "1"}}), Renders("abde"));
  EXPECT_THAT(Render(text, {{"MODEWS", "WKSHP"}, {"STDID", "2"}}), Renders("acde"));
  EXPECT_THAT(Render(text, {{"MODEWS", "CHLG"}, {"STDID", "1"}}), Renders("e"));
  EXPECT_THAT(Render(text, {{"MODEWS", "7"}, {"STDID", "7"}}), Renders("acdef"));
}

TEST(TemplateTest, RawBlockIsVerbatim) {
  ASSERT_OK_AND_ASSIGN(
      auto out, Render("a{% raw %}{{ X }} {% if %} {# c #}{% endraw %}b{%raw%}{{{%endraw%}", {}));
  EXPECT_EQ(out, "a{{ X }} {% if %} {# c #}b{{");
  ASSERT_OK_AND_ASSIGN(out, Render("[{% raw -%}  x  {%- endraw %}]", {}));
  EXPECT_EQ(out, "[x]");
}

TEST(TemplateTest, CommentsAreDropped) {
  EXPECT_THAT(Render("a{# {{ UNDEFINED }} %} #}b{#-x-#}  c", {}), Renders("abc"));
}

TEST(TemplateTest, MinusTrimsWhitespace) {
  const TemplateVariables vars = {{"X", "x"}};
  EXPECT_THAT(Render("a \n {{- X -}} \n b", vars), Renders("axb"));
  EXPECT_THAT(Render("a  {%- if X == 'x' -%}  yes  {%- endif -%}  b", vars), Renders("ayesb"));
  EXPECT_THAT(Render("a  {{ X -}}  b  {{- X }}  c", vars), Renders("a  xbx  c"));
}

TEST(TemplateTest, TrimBlocksDropsTheNewlineAfterABlockTagLikeAnsible) {
  const std::string text = "{% if X == 'x' %}\nyes\n{% endif %}\n{{ X }}\nend{# c #}\n";
  EXPECT_THAT(Render(text, {{"X", "x"}}), Renders("yes\nx\nend"));
  TemplateOptions keep;
  keep.trim_blocks = false;
  EXPECT_THAT(Render(text, {{"X", "x"}}, keep), Renders("\nyes\n\nx\nend\n"));
  EXPECT_THAT(Render("{% if X == 'x' +%}\nyes{% endif +%}\n", {{"X", "x"}}), Renders("\nyes\n"));
}

TEST(TemplateTest, JsonModeEscapesValuesAndDecodesTags) {
  const TemplateVariables vars = {{"V", "say \"hi\" \\ then\nnew\tline\x01"}, {"K", "k"}};
  ASSERT_OK_AND_ASSIGN(auto out, Render(R"({"s": "<{{ V }}>"})", vars, kJson));
  EXPECT_EQ(out, R"({"s": "<say \"hi\" \\ then\nnew\tline\u0001>"})");
  const nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded());
  EXPECT_EQ(j["s"], "<" + vars.at("V") + ">");

  // A tag as Jupyter saves it: its double quotes are JSON-escaped inside the cell's string.
  ASSERT_OK_AND_ASSIGN(
      out,
      Render(
          R"({"s": "{{ hostvars[inventory_hostname][\"K\"] }} {% if K == \"k\" %}y{% endif %} {{ \"\\\"q\\\"\" }}"})",
          vars, kJson));
  EXPECT_EQ(nlohmann::json::parse(out, nullptr, false)["s"], "k y \"q\"");
  // The same value goes in unescaped outside JSON mode, as WoD (Ansible) does.
  EXPECT_THAT(Render("{{ V }}", vars), Renders(vars.at("V")));
}

TEST(TemplateTest, OptionsFollowTheFileName) {
  EXPECT_EQ(TemplateOptionsForFile("WKSHP-X/0-ReadMeFirst.ipynb").escape, TemplateEscape::kJson);
  EXPECT_EQ(TemplateOptionsForFile("setup.sh").escape, TemplateEscape::kNone);
  EXPECT_THAT(RenderTemplate("{{ V }}", {{"V", "\""}}, "a.ipynb"), Renders("\\\""));
  EXPECT_THAT(RenderTemplate("{{ V }}", {{"V", "\""}}, "a.md"), Renders("\""));
}

TEST(TemplateTest, UndefinedVariableInAnUntakenBranchIsFine) {
  const std::string text = "{% if MODEWS == 'CHLG' %}{{ SURVEYCHALURL }}{% endif %}ok";
  EXPECT_THAT(Render(text, {{"MODEWS", "WKSHP"}}), Renders("ok"));
  EXPECT_THAT(
      Render(text, {{"MODEWS", "CHLG"}}),
      StatusIs(absl::StatusCode::kInvalidArgument, "t.txt:1: undefined variable 'SURVEYCHALURL'"));
}

TEST(TemplateTest, ReferencedVariablesCoverEveryBranch) {
  ASSERT_OK_AND_ASSIGN(
      const Template tmpl,
      Template::Parse("{{ B }}{% if MODEWS == 'x' %}{{ A }}{% elif C != D %}{% else %}"
                      "{{ hostvars[inventory_hostname]['IP-X'] }}{% endif %}{{ B }}{{ 'lit' }}"
                      "{% raw %}{{ RAW }}{% endraw %}{# {{ COMMENT }} #}",
                      "t.txt", kPlain));
  EXPECT_THAT(tmpl.ReferencedVariables(), ElementsAre("A", "B", "C", "D", "IP-X", "MODEWS"));
}

TEST(TemplateTest, ParsedTemplateRendersManyTimes) {
  ASSERT_OK_AND_ASSIGN(const Template tmpl, Template::Parse("student{{ STDID }}", "t", kPlain));
  const Template copy = tmpl;
  EXPECT_THAT(tmpl.Render({{"STDID", "1"}}), Renders("student1"));
  EXPECT_THAT(copy.Render({{"STDID", "2"}}), Renders("student2"));
}

// ---- errors --------------------------------------------------------------------------------

absl::Status RenderError(std::string_view text, const TemplateVariables& vars = {},
                         const TemplateOptions& options = kPlain) {
  return RenderTemplate(text, vars, "0-ReadMeFirst.ipynb", options).status();
}

TEST(TemplateErrorTest, UndefinedVariableNamesFileLineAndName) {
  EXPECT_THAT(
      RenderError("line one\nline two\nuser {{ STDID }} pass {{ PASSSTU }}", {{"STDID", "3"}}),
      StatusIs(absl::StatusCode::kInvalidArgument,
               "0-ReadMeFirst.ipynb:3: undefined variable 'PASSSTU'"));
  EXPECT_THAT(RenderError("\n{{ hostvars[inventory_hostname]['IP-WKSHP-X'] }}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "0-ReadMeFirst.ipynb:2: undefined variable 'IP-WKSHP-X'"));
  EXPECT_THAT(RenderError("\n\n{% if MODEWS == 'x' %}{% endif %}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "0-ReadMeFirst.ipynb:3: undefined variable 'MODEWS'"));
}

TEST(TemplateErrorTest, ErrorsNeverCarryVariableValues) {
  const absl::Status s = RenderError("{{ PASSSTU }} {{ OTHER }}", {{"PASSSTU", "s3cr3t-pw"}});
  EXPECT_THAT(s, StatusIs(absl::StatusCode::kInvalidArgument,
                          AllOf(HasSubstr("'OTHER'"), Not(HasSubstr("s3cr3t-pw")))));
}

TEST(TemplateErrorTest, UnclosedIfNamesItsLine) {
  EXPECT_THAT(
      RenderError("a\n{% if MODEWS == 'WKSHP' %}\nb\n", {{"MODEWS", "WKSHP"}}),
      StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:2: unclosed 'if' block"));
  EXPECT_THAT(
      RenderError("{% if A == 'a' %}\n{% if A == 'b' %}{% endif %}\n"),
      StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:1: unclosed 'if' block"));
}

TEST(TemplateErrorTest, UnclosedExpressionOrTag) {
  EXPECT_THAT(RenderError("x\n{{ STDID"),
              StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:2: unclosed '{{'"));
  EXPECT_THAT(RenderError("{{ STDID, and text.\nmore {{ X }}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:1: unclosed '{{'"));
  EXPECT_THAT(RenderError("{{ '}}"),
              StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:1: unclosed '{{'"));
  EXPECT_THAT(RenderError("\n\n{% if A == 'a'"),
              StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:3: unclosed '{%'"));
  EXPECT_THAT(RenderError("{# never closed"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                       "0-ReadMeFirst.ipynb:1: unclosed comment"));
}

TEST(TemplateErrorTest, UnclosedRaw) {
  EXPECT_THAT(
      RenderError("a\n{% raw %}{{ x }}{% endraw x %}{% end raw %}"),
      StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:2: unclosed 'raw' block"));
}

TEST(TemplateErrorTest, UnknownTag) {
  EXPECT_THAT(
      RenderError("\n{% for x in items %}{% endfor %}"),
      StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:2: unknown tag 'for'"));
  EXPECT_THAT(
      RenderError("{% set X = 'a' %}"),
      StatusIs(absl::StatusCode::kInvalidArgument, "0-ReadMeFirst.ipynb:1: unknown tag 'set'"));
}

TEST(TemplateErrorTest, MisplacedBlockTags) {
  EXPECT_THAT(RenderError("{% endif %}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "0-ReadMeFirst.ipynb:1: unexpected 'endif' outside an 'if' block"));
  EXPECT_THAT(RenderError("{% else %}"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                  HasSubstr("'else' outside an 'if' block")));
  EXPECT_THAT(
      RenderError("{% elif A == 'b' %}"),
      StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'elif' outside an 'if' block")));
  EXPECT_THAT(RenderError("{% endraw %}"), StatusIs(absl::StatusCode::kInvalidArgument,
                                                    HasSubstr("'endraw' outside a 'raw' block")));
  EXPECT_THAT(RenderError("{% if A == 'a' %}{% else %}{% elif A == 'b' %}{% endif %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'elif' after 'else'")));
  EXPECT_THAT(RenderError("{% if A == 'a' %}{% else %}{% else %}{% endif %}"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("second 'else'")));
  EXPECT_THAT(RenderError("{% if A == 'a' %}{% endif A %}"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("malformed 'endif' tag: unexpected 'A'")));
}

TEST(TemplateErrorTest, MalformedExpressions) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{{ }}", "1: empty expression"},
      {"{% %}", "1: empty tag"},
      {"{{ X | int }}", "1: malformed expression: unexpected '|'"},
      {"{{ X.y }}", "1: malformed expression: unexpected '.'"},
      {"{{ A B }}", "1: malformed expression: unexpected 'B'"},
      {"{{ 42 }}", "1: malformed expression: unexpected '4'"},
      {"{{ IP-WKSHP-X }}", "1: malformed expression: unexpected '-'"},
      {"{{ hostvars['X'] }}", "expected hostvars[inventory_hostname]['KEY']"},
      {"{{ hostvars[inventory_hostname].X }}", "1: malformed expression: unexpected '.'"},
      {"{{ hostvars[inventory_hostname] }}", "expected hostvars[inventory_hostname]['KEY']"},
      {"{{ hostvars[inventory_hostname][''] }}", "empty hostvars key"},
      {"{% if X %}{% endif %}", "1: malformed condition: expected '==' or '!='"},
      {"{% if X == %}{% endif %}", "expected a name or a string"},
      {"{% if A == 'a' and B == 'b' %}{% endif %}", "unexpected 'and'"},
      {"{% if A = 'a' %}{% endif %}", "unexpected '='"},
      {"{% 'if' %}", "malformed tag: unexpected ''if''"},
      {"{% raw x %}{% endraw %}", "malformed 'raw' tag"},
  };
  for (const auto& [text, message] : cases) {
    EXPECT_THAT(RenderError(text, {{"X", "x"}, {"A", "a"}, {"B", "b"}}),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr("0-ReadMeFirst.ipynb:"), HasSubstr(message))))
        << text;
  }
}

TEST(TemplateErrorTest, BadJsonEscapeInANotebookTag) {
  EXPECT_THAT(RenderError(R"("{{ \q }}")", {}, kJson),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       "0-ReadMeFirst.ipynb:1: malformed JSON escape in tag"));
  EXPECT_THAT(RenderError(R"("{{ '\ud800' }}")", {}, kJson),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("malformed JSON escape")));
  // A valid surrogate pair decodes to one character.
  EXPECT_THAT(Render(R"({{ '\ud83d\ude00\u00e9' }})", {}, kJson),
              Renders("\xf0\x9f\x98\x80\xc3\xa9"));
}

TEST(TemplateErrorTest, NestingIsBounded) {
  std::string deep;
  for (int i = 0; i < 65; ++i) deep += "{% if A == 'a' %}";
  for (int i = 0; i < 65; ++i) deep += "{% endif %}";
  EXPECT_THAT(RenderError(deep, {{"A", "a"}}),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("nested deeper than 64")));
  std::string ok;
  for (int i = 0; i < 64; ++i) ok += "{% if A == 'a' %}";
  ok += "x";
  for (int i = 0; i < 64; ++i) ok += "{% endif %}";
  EXPECT_THAT(Render(ok, {{"A", "a"}}), Renders("x"));
}

}  // namespace
}  // namespace wod::model
