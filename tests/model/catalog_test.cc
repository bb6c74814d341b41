// Tests of model/catalog.h and catalogfs/ (reading the files, writing canonical YAML): the real
// WoD catalog loads (with warnings only), each quirk of it is handled, each error names its file
// and line, catalog-wide overlaps follow the active rule, and WorkshopToYaml round-trips.
#include "model/catalog.h"

#include "catalogfs/load.h"
#include "catalogfs/yaml_writer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace wod::model {

// Lets gMock print findings the way lint does.
void PrintTo(const Finding& f, std::ostream* os) { *os << FormatFinding(f); }

namespace {

namespace fs = std::filesystem;
using catalogfs::LoadCatalog;
using catalogfs::WorkshopToYaml;
using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

const std::string kFixtures = std::string(WOD_FIXTURES_DIR) + "/wod-notebooks";

#define REQUIRE_FIXTURES()                                   \
  if (!fs::is_directory(kFixtures)) {                        \
    GTEST_FAIL() << "WoD fixtures missing at " << kFixtures; \
  }

MATCHER_P4(IsFinding, severity, line, field, message_part, "") {
  bool ok = arg.severity == severity && arg.line == line && arg.field == field &&
            arg.message.find(message_part) != std::string::npos;
  if (!ok) *result_listener << FormatFinding(arg);
  return ok;
}

MATCHER_P(MessageHas, part, "") { return arg.message.find(part) != std::string::npos; }

MATCHER(IsError, "") { return arg.severity == Severity::kError; }

std::vector<std::string> Formatted(const std::vector<Finding>& findings) {
  std::vector<std::string> out;
  for (const Finding& f : findings) out.push_back(FormatFinding(f));
  return out;
}

struct Parsed {
  std::optional<Workshop> workshop;
  std::vector<Finding> findings;
  bool HasErrors() const {
    for (const Finding& f : findings) {
      if (f.severity == Severity::kError) return true;
    }
    return false;
  }
};

Parsed Parse(const std::string& yaml, const std::string& id = "WKSHP-Test") {
  Parsed p;
  p.workshop = ParseWorkshopYaml(yaml, "t/wod.yml", id, "local", &p.findings);
  return p;
}

// The fields every workshop needs; tests append the field under test.
constexpr const char* kBase =
    "name: 'Test'\n"               // line 1
    "description: 'A workshop'\n"  // line 2
    "active: true\n"               // line 3
    "capacity: 6\n"                // line 4
    "range: [1,6]\n"               // line 5
    "badgeImg: WOD-Badge-Test\n";  // line 6

// A fresh directory under the test's temp dir, removed at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = ::testing::TempDir() + "/catalog_test_XXXXXX";
    path_ = mkdtemp(tmpl.data()) ? tmpl : "";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }
  std::string Write(const std::string& rel, const std::string& text) const {
    fs::path p = fs::path(path_) / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
    return p.string();
  }

 private:
  std::string path_;
};

std::string Yml(const std::string& name, bool active, const std::string& range,
                const std::string& extra = "") {
  return "name: '" + name + "'\ndescription: 'd'\nactive: " + (active ? "true" : "false") +
         "\ncapacity: 2\nrange: " + range + "\nbadgeImg: b\n" + extra;
}

// ---- The real catalog ----

TEST(CatalogFixturesTest, EveryRealWodYmlParsesWithoutErrors) {
  REQUIRE_FIXTURES();
  int files = 0;
  for (const auto& entry : fs::directory_iterator(kFixtures + "/wod-yml")) {
    std::ifstream in(entry.path());
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::vector<Finding> findings;
    std::optional<model::Workshop> w = ParseWorkshopYaml(
        text, entry.path().string(), entry.path().stem().string(), "local", &findings);
    EXPECT_TRUE(w.has_value()) << entry.path();
    EXPECT_THAT(findings, Not(Contains(IsError())))
        << ::testing::PrintToString(Formatted(findings));
    ++files;
  }
  EXPECT_EQ(files, 14);
}

TEST(CatalogFixturesTest, RealFilesGiveTheValuesWritten) {
  REQUIRE_FIXTURES();
  Catalog c = LoadCatalog({kFixtures + "/wod-yml"}, "local");
  ASSERT_EQ(c.entries.size(), 14u);

  const CatalogEntry* api = c.Find("WKSHP-API101");
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api->workshop.name, "API 101 - API basics and the value they provide");
  EXPECT_TRUE(api->workshop.active);
  EXPECT_EQ(api->workshop.capacity, 20);
  EXPECT_EQ(api->workshop.priority, 1);
  EXPECT_EQ(api->workshop.range, (SeatRange{1, 6}));
  EXPECT_FALSE(api->workshop.compile);
  EXPECT_FALSE(api->workshop.reset);
  EXPECT_EQ(api->workshop.replay_id, 9);
  EXPECT_EQ(api->workshop.badge_img, "WOD-Badge-API101");  // bare badge name, kept as is
  EXPECT_THAT(api->workshop.category, ElementsAre("Open Source"));
  EXPECT_EQ(api->workshop.duration_hours, 2);
  EXPECT_EQ(api->workshop.presenter, "Didier Lalli");
  EXPECT_EQ(api->workshop.replay_link, "https://youtu.be/j9Tu1ufWVGk");
  EXPECT_EQ(api->workshop.location, "local");
  EXPECT_THAT(api->workshop.description, HasSubstr("we\u2019ll review"));  // UTF-8 kept
  EXPECT_EQ(api->content_dir, "");
  EXPECT_EQ(api->workshop.content_dir, "");
  EXPECT_EQ(api->file, kFixtures + "/wod-yml/WKSHP-API101.yml");

  const CatalogEntry* docker = c.Find("WKSHP-Docker101");
  ASSERT_NE(docker, nullptr);
  EXPECT_TRUE(docker->workshop.monoappliance);
  EXPECT_FALSE(docker->workshop.multiappliance);
  EXPECT_FALSE(docker->workshop.active);
  EXPECT_TRUE(docker->workshop.reset);
  EXPECT_EQ(docker->workshop.range, (SeatRange{1551, 1580}));

  const CatalogEntry* storm = c.Find("WKSHP-StackStorm101");
  ASSERT_NE(storm, nullptr);
  EXPECT_TRUE(storm->workshop.varpass);

  const CatalogEntry* k8s = c.Find("WKSHP-K8S101");
  ASSERT_NE(k8s, nullptr);
  EXPECT_EQ(k8s->workshop.capacity, 0);
  EXPECT_EQ(k8s->workshop.range, (SeatRange{10, 15}));
}

TEST(CatalogFixturesTest, RealDirectoryLintsWithWarningsOnly) {
  REQUIRE_FIXTURES();
  Catalog c = LoadCatalog({kFixtures + "/wod-yml"}, "local");
  EXPECT_FALSE(c.HasErrors()) << ::testing::PrintToString(Formatted(c.findings));
  const std::string dir = kFixtures + "/wod-yml/";
  // Inactive Ansible101 [52,91] covers four active workshops; inactive K8S101 [10,15] meets
  // Jupyter-Notebooks101 [7,12]. Each is reported on the inactive workshop's range line.
  for (const char* other :
       {"'WKSHP-Python101'", "'WKSHP-Python201'", "'WKSHP-Grommet'", "'WKSHP-GIT101'"}) {
    EXPECT_THAT(c.findings,
                Contains(AllOf(Field(&Finding::file, dir + "WKSHP-Ansible101.yml"),
                               IsFinding(Severity::kWarning, 9, "range",
                                         "inactive workshop 'WKSHP-Ansible101' range [52,91] "
                                         "overlaps"),
                               MessageHas(other))));
  }
  EXPECT_THAT(c.findings,
              Contains(AllOf(Field(&Finding::file, dir + "WKSHP-K8S101.yml"),
                             IsFinding(Severity::kWarning, 9, "range",
                                       "range [7,12] of 'WKSHP-Jupyter-Notebooks101' (" + dir +
                                           "WKSHP-Jupyter-Notebooks101.yml:9)"))));
  EXPECT_THAT(c.findings,
              Contains(AllOf(Field(&Finding::file, dir + "WKSHP-K8S101.yml"),
                             IsFinding(Severity::kWarning, 7, "capacity", "cannot be booked"))));
  EXPECT_THAT(
      c.findings,
      Contains(AllOf(Field(&Finding::file, dir + "WKSHP-Podman201.yml"),
                     IsFinding(Severity::kWarning, 15, "workshopImg", "placeholder value 'tbd'"))));
  EXPECT_THAT(
      c.findings,
      Contains(AllOf(Field(&Finding::file, dir + "WKSHP-Podman201.yml"),
                     IsFinding(Severity::kWarning, 21, "role", "placeholder value 'tbd'"))));
  EXPECT_THAT(c.findings, Contains(AllOf(Field(&Finding::file, dir + "WKSHP-Grommet.yml"),
                                         IsFinding(Severity::kWarning, 23, "replayLink",
                                                   "'https://youtu.be/' has nothing"))));
  EXPECT_EQ(c.WarningCount(), static_cast<int>(c.findings.size()));
}

TEST(CatalogFixturesTest, FullWorkshopFoldersKeepTheirContentDir) {
  REQUIRE_FIXTURES();
  Catalog c = LoadCatalog({kFixtures + "/full"}, "backend-1");
  EXPECT_FALSE(c.HasErrors()) << ::testing::PrintToString(Formatted(c.findings));
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].workshop.id, "WKSHP-API101");
  EXPECT_EQ(c.entries[0].content_dir, kFixtures + "/full/WKSHP-API101");
  EXPECT_EQ(c.entries[0].file, kFixtures + "/full/WKSHP-API101/wod.yml");
  EXPECT_EQ(c.entries[0].workshop.location, "backend-1");
  EXPECT_EQ(c.entries[0].workshop.content_dir,
            fs::absolute(kFixtures + "/full/WKSHP-API101").lexically_normal().string());
  EXPECT_EQ(c.entries[1].workshop.id, "WKSHP-Python101");
  EXPECT_TRUE(fs::exists(c.entries[1].content_dir + "/0-ReadMeFirst.ipynb"));
}

TEST(CatalogFixturesTest, AWorkshopFolderOrFileCanBeGivenDirectly) {
  REQUIRE_FIXTURES();
  Catalog folder = LoadCatalog({kFixtures + "/full/WKSHP-Python101/"}, "local");
  ASSERT_EQ(folder.entries.size(), 1u);
  EXPECT_EQ(folder.entries[0].workshop.id, "WKSHP-Python101");
  EXPECT_EQ(folder.entries[0].content_dir, kFixtures + "/full/WKSHP-Python101/");
  EXPECT_FALSE(folder.entries[0].workshop.content_dir.ends_with("/"));
  EXPECT_TRUE(fs::path(folder.entries[0].workshop.content_dir).is_absolute());

  Catalog wod_yml = LoadCatalog({kFixtures + "/full/WKSHP-API101/wod.yml"}, "local");
  ASSERT_EQ(wod_yml.entries.size(), 1u);
  EXPECT_EQ(wod_yml.entries[0].workshop.id, "WKSHP-API101");
  EXPECT_EQ(wod_yml.entries[0].content_dir, kFixtures + "/full/WKSHP-API101");

  Catalog file = LoadCatalog({kFixtures + "/wod-yml/WKSHP-GO101.yml"}, "local");
  ASSERT_EQ(file.entries.size(), 1u);
  EXPECT_EQ(file.entries[0].workshop.id, "WKSHP-GO101");
}

TEST(CatalogFixturesTest, TheSameIdTwiceIsAnError) {
  REQUIRE_FIXTURES();
  Catalog c = LoadCatalog({kFixtures + "/wod-yml", kFixtures + "/full"}, "local");
  EXPECT_TRUE(c.HasErrors());
  EXPECT_THAT(c.findings,
              Contains(AllOf(Field(&Finding::file, kFixtures + "/full/WKSHP-API101/wod.yml"),
                             IsFinding(Severity::kError, 0, "",
                                       "workshop id 'WKSHP-API101' is also defined in '" +
                                           kFixtures + "/wod-yml/WKSHP-API101.yml'"))));
  // The duplicates take no part in overlap checks (they would overlap their twins).
  EXPECT_THAT(c.findings, Not(Contains(MessageHas(kFixtures + "/full/"))));
  EXPECT_THAT(c.findings,
              Not(Contains(AllOf(Field(&Finding::file, kFixtures + "/full/WKSHP-Python101/wod.yml"),
                                 MessageHas("overlaps")))));
  EXPECT_EQ(c.entries.size(), 14u);
}

TEST(CatalogFixturesTest, EveryRealFileRoundTripsThroughCanonicalYaml) {
  REQUIRE_FIXTURES();
  Catalog c = LoadCatalog({kFixtures + "/wod-yml"}, "local");
  ASSERT_EQ(c.entries.size(), 14u);
  for (const CatalogEntry& e : c.entries) {
    std::string yaml = WorkshopToYaml(e.workshop);
    std::vector<Finding> findings;
    std::optional<model::Workshop> back =
        ParseWorkshopYaml(yaml, "canonical.yml", e.workshop.id, "other", &findings);
    ASSERT_TRUE(back.has_value()) << yaml << ::testing::PrintToString(Formatted(findings));
    EXPECT_EQ(back->content_dir, "");  // not part of wod.yml: the loader sets it
    back->content_dir = e.workshop.content_dir;
    EXPECT_EQ(*back, e.workshop) << yaml;
  }
}

// ---- Quirks, one each ----

TEST(CatalogQuirksTest, TabBeforeAValueIsAccepted) {
  Parsed p = Parse(
      "name:\t'Tabbed'\ndescription:\t\"d\"\nactive:\ttrue\ncapacity:\t6\nrange:\t[1,6]\n"
      "badgeImg:\tb\nduration: \t3\n");
  ASSERT_TRUE(p.workshop.has_value()) << ::testing::PrintToString(Formatted(p.findings));
  EXPECT_EQ(p.workshop->name, "Tabbed");
  EXPECT_EQ(p.workshop->range, (SeatRange{1, 6}));
  EXPECT_EQ(p.workshop->duration_hours, 3);
  EXPECT_THAT(p.findings, IsEmpty());
}

TEST(CatalogQuirksTest, DashRangeInsideAFlowListIsRead) {
  Parsed p = Parse(Yml("Dash", true, "[151-170]"));
  ASSERT_TRUE(p.workshop.has_value()) << ::testing::PrintToString(Formatted(p.findings));
  EXPECT_EQ(p.workshop->range, (SeatRange{151, 170}));
}

TEST(CatalogQuirksTest, RangeAsAPlainScalarIsRead) {
  Parsed p = Parse(Yml("Scalar", true, "151-170"));
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_EQ(p.workshop->range, (SeatRange{151, 170}));
}

TEST(CatalogQuirksTest, CategoryMayBeAScalarOrAList) {
  Parsed scalar = Parse(std::string(kBase) + "category: 'Open Source'\n");
  ASSERT_TRUE(scalar.workshop.has_value());
  EXPECT_THAT(scalar.workshop->category, ElementsAre("Open Source"));
  Parsed list = Parse(std::string(kBase) + "category: ['Open Source', \"HPE Ezmeral\"]\n");
  ASSERT_TRUE(list.workshop.has_value());
  EXPECT_THAT(list.workshop->category, ElementsAre("Open Source", "HPE Ezmeral"));
  Parsed nested = Parse(std::string(kBase) + "category: [[a]]\n");
  EXPECT_THAT(nested.findings, Contains(IsFinding(Severity::kError, 7, "category", "a list")));
}

TEST(CatalogQuirksTest, MisspeltAlternatLocationSuggestsTheRightKey) {
  Parsed p = Parse(std::string(kBase) + "location: 'backend-1'\nalternatLocation: 'backend-2'\n");
  EXPECT_FALSE(p.workshop.has_value());
  ASSERT_THAT(p.findings, ElementsAre(IsFinding(Severity::kError, 8, "alternatLocation",
                                                "unknown key 'alternatLocation'; did you mean "
                                                "'alternateLocation'?")));
  EXPECT_EQ(FormatFinding(p.findings[0]),
            "t/wod.yml:8: error: alternatLocation: unknown key 'alternatLocation'; did you mean "
            "'alternateLocation'?");
}

TEST(CatalogQuirksTest, UnknownKeyFarFromAnyKnownKeyHasNoSuggestion) {
  Parsed p = Parse(std::string(kBase) + "colour: blue\n");
  ASSERT_THAT(p.findings,
              ElementsAre(IsFinding(Severity::kError, 7, "colour", "unknown key 'colour'")));
  EXPECT_THAT(p.findings[0].message, Not(HasSubstr("did you mean")));
}

// WoD's own files write the alternates as a list (`alternateLocation: ['fqdn']`).
TEST(CatalogQuirksTest, AlternateLocationIsANameOrAListOfNames) {
  Parsed list = Parse(std::string(kBase) +
                      "location: 'east'\n"
                      "alternateLocation: ['west', 'north']\n");
  ASSERT_TRUE(list.workshop.has_value()) << ::testing::PrintToString(Formatted(list.findings));
  EXPECT_THAT(list.workshop->alternate_locations, ElementsAre("west", "north"));
  EXPECT_THAT(list.workshop->Locations(), ElementsAre("east", "west", "north"));

  Parsed block = Parse(std::string(kBase) +
                       "location: 'east'\n"
                       "alternateLocation:\n"
                       "  - west\n");
  ASSERT_TRUE(block.workshop.has_value()) << ::testing::PrintToString(Formatted(block.findings));
  EXPECT_THAT(block.workshop->alternate_locations, ElementsAre("west"));

  Parsed empty = Parse(std::string(kBase) + "alternateLocation: []\n");
  ASSERT_TRUE(empty.workshop.has_value());
  EXPECT_TRUE(empty.workshop->alternate_locations.empty());

  Parsed nested = Parse(std::string(kBase) + "alternateLocation: [[west]]\n");
  EXPECT_THAT(nested.findings, Contains(IsFinding(Severity::kError, 7, "alternateLocation",
                                                  "expected a list of location names")));
  Parsed map = Parse(std::string(kBase) + "alternateLocation: {a: b}\n");
  EXPECT_THAT(map.findings, Contains(IsFinding(Severity::kError, 7, "alternateLocation",
                                               "a location name or a list")));
  Parsed bad = Parse(std::string(kBase) + "location: east\nalternateLocation: [west, 'No Way']\n");
  EXPECT_FALSE(bad.workshop.has_value());
  EXPECT_THAT(Formatted(bad.findings), Contains(HasSubstr("alternateLocation[1]")));
}

TEST(CatalogQuirksTest, KeysOfOlderFilesAreRead) {
  Parsed p = Parse(std::string(kBase) +
                   "location: 'backend-1'\n"
                   "alternateLocation: 'backend-2'\n"
                   "videoLink: 'https://example.com/v/1'\n"
                   "notebook: 'WKSHP-Test.ipynb'\n"
                   "monoappliance: true\n"
                   "multiappliance: false\n");
  ASSERT_TRUE(p.workshop.has_value()) << ::testing::PrintToString(Formatted(p.findings));
  EXPECT_EQ(p.workshop->location, "backend-1");
  EXPECT_THAT(p.workshop->alternate_locations, ElementsAre("backend-2"));
  EXPECT_EQ(p.workshop->video_link, "https://example.com/v/1");
  EXPECT_EQ(p.workshop->notebook, "WKSHP-Test.ipynb");
  EXPECT_TRUE(p.workshop->monoappliance);
  EXPECT_FALSE(p.workshop->multiappliance);
  EXPECT_THAT(p.findings, IsEmpty());
}

TEST(CatalogQuirksTest, YamlDirectiveAndBothQuoteStylesAreRead) {
  Parsed p = Parse(
      "%YAML 1.1\n# comment\n---\nname: \"Double \\\"quoted\\\"\"\ndescription: 'Single "
      "''quoted'''\n"
      "active: true\ncapacity: 6\nrange: [1,6]\nbadgeImg: b\ncompile: false\n");
  ASSERT_TRUE(p.workshop.has_value()) << ::testing::PrintToString(Formatted(p.findings));
  EXPECT_EQ(p.workshop->name, "Double \"quoted\"");
  EXPECT_EQ(p.workshop->description, "Single 'quoted'");
  EXPECT_FALSE(p.workshop->compile);
}

TEST(CatalogQuirksTest, CapacityZeroWarns) {
  std::string yaml = std::string(kBase);
  yaml.replace(yaml.find("capacity: 6"), 11, "capacity: 0");
  Parsed p = Parse(yaml);
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_THAT(p.findings, ElementsAre(IsFinding(Severity::kWarning, 4, "capacity",
                                                "0 means the workshop cannot be booked")));
}

TEST(CatalogQuirksTest, CapacityLargerThanTheRangeWarnsAndSmallerIsFine) {
  std::string yaml = std::string(kBase);
  yaml.replace(yaml.find("capacity: 6"), 11, "capacity: 20");
  Parsed larger = Parse(yaml);
  ASSERT_TRUE(larger.workshop.has_value());
  EXPECT_THAT(larger.findings,
              ElementsAre(IsFinding(Severity::kWarning, 4, "capacity",
                                    "20 is larger than the 6 seats of range [1,6]")));
  yaml.replace(yaml.find("capacity: 20"), 12, "capacity: 2");
  EXPECT_THAT(Parse(yaml).findings, IsEmpty());
}

TEST(CatalogQuirksTest, PlaceholdersWarnOnTheirLine) {
  Parsed p = Parse(std::string(kBase) +
                   "workshopImg: 'tbd'\nrole: '?\?\?'\nreplayLink: 'TBD'\npresenter: 'Ada'\n");
  ASSERT_TRUE(p.workshop.has_value());  // warnings only
  EXPECT_THAT(
      p.findings,
      ElementsAre(IsFinding(Severity::kWarning, 7, "workshopImg", "placeholder value 'tbd'"),
                  IsFinding(Severity::kWarning, 8, "role", "placeholder value '?\?\?'"),
                  IsFinding(Severity::kWarning, 9, "replayLink", "placeholder value 'TBD'")));
}

TEST(CatalogQuirksTest, MissingBadgeAndDescriptionWarn) {
  Parsed p = Parse("name: x\nactive: false\ncapacity: 1\nrange: [1,1]\n");
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_THAT(p.findings, ElementsAre(IsFinding(Severity::kWarning, 0, "description", "missing"),
                                      IsFinding(Severity::kWarning, 0, "badgeImg", "missing")));
}

TEST(CatalogQuirksTest, YesNoBooleansAreRead) {
  Parsed p = Parse(std::string(kBase) + "reset: yes\nldap: Off\nbeta: FALSE\nvarpass: 'true'\n");
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_TRUE(p.workshop->reset);
  EXPECT_FALSE(p.workshop->ldap);
  EXPECT_FALSE(p.workshop->beta);
  EXPECT_TRUE(p.workshop->varpass);
}

TEST(CatalogQuirksTest, EmptyOptionalValuesAreLikeAbsentOnes) {
  Parsed p = Parse(std::string(kBase) + "videoLink:\nnotebook: ~\ncategory:\n");
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_EQ(p.workshop->video_link, "");
  EXPECT_THAT(p.workshop->category, IsEmpty());
  EXPECT_THAT(p.findings, IsEmpty());
}

// ---- Errors in one file ----

TEST(CatalogErrorsTest, ReversedRangeIsAnErrorNamingBothNumbers) {
  Parsed p = Parse(Yml("Rev", true, "[7-3]"));
  EXPECT_FALSE(p.workshop.has_value());
  ASSERT_THAT(p.findings, ElementsAre(IsFinding(Severity::kError, 5, "range", "min 7 > max 3")));
  EXPECT_EQ(FormatFinding(p.findings[0]), "t/wod.yml:5: error: range: min 7 > max 3");
}

TEST(CatalogErrorsTest, NonNumericRangesAreErrors) {
  for (const char* range : {"[a,b]", "[1,6,9]", "[one-six]", "'x'", "{min: 1}", "[[1,2]]", "[]"}) {
    Parsed p = Parse(Yml("Bad", true, range));
    EXPECT_FALSE(p.workshop.has_value()) << range;
    EXPECT_THAT(p.findings, Contains(IsFinding(Severity::kError, 5, "range", "")))
        << range << ::testing::PrintToString(Formatted(p.findings));
    // The range error is not followed by a second one about seat number 0.
    EXPECT_THAT(p.findings, Not(Contains(MessageHas("seat number 0")))) << range;
  }
  Parsed p = Parse(Yml("Bad", true, "[a,b]"));
  EXPECT_EQ(FormatFinding(p.findings[0]),
            "t/wod.yml:5: error: range: range '[a,b]' is not two seat numbers like [1,6] or "
            "[151-170]");
}

TEST(CatalogErrorsTest, WrongTypesAreErrors) {
  std::string yaml = std::string(kBase);
  yaml.replace(yaml.find("capacity: 6"), 11, "capacity: 'abc'");
  Parsed p = Parse(yaml + "active2: 1\n");
  EXPECT_FALSE(p.workshop.has_value());
  EXPECT_EQ(FormatFinding(p.findings[0]),
            "t/wod.yml:4: error: capacity: expected a whole number, got 'abc'");
  EXPECT_THAT(p.findings,
              Contains(IsFinding(Severity::kError, 7, "active2", "did you mean 'active'?")));
  // A bad capacity is not also reported as "capacity 0".
  EXPECT_THAT(p.findings, Not(Contains(MessageHas("cannot be booked"))));

  EXPECT_THAT(
      Parse(std::string(kBase) + "reset: maybe\n").findings,
      ElementsAre(IsFinding(Severity::kError, 7, "reset", "expected true or false, got 'maybe'")));
  EXPECT_THAT(
      Parse(std::string(kBase) + "presenter: [a, b]\n").findings,
      ElementsAre(IsFinding(Severity::kError, 7, "presenter", "expected text, got a list")));
  EXPECT_THAT(Parse(std::string(kBase) + "duration: 2.5\n").findings,
              ElementsAre(IsFinding(Severity::kError, 7, "duration", "whole number")));
  EXPECT_THAT(Parse(std::string(kBase) + "priority: 99999999999\n").findings,
              ElementsAre(IsFinding(Severity::kError, 7, "priority", "whole number")));
}

TEST(CatalogErrorsTest, MissingRequiredFieldsAreErrors) {
  Parsed p = Parse("description: d\nbadgeImg: b\n");
  EXPECT_FALSE(p.workshop.has_value());
  EXPECT_THAT(p.findings, ElementsAre(IsFinding(Severity::kError, 0, "name", "required"),
                                      IsFinding(Severity::kError, 0, "active", "required"),
                                      IsFinding(Severity::kError, 0, "capacity", "required"),
                                      IsFinding(Severity::kError, 0, "range", "required")));
  EXPECT_EQ(FormatFinding(p.findings[0]), "t/wod.yml: error: name: is required but missing");

  Parsed empty_name = Parse(std::string(kBase).replace(0, 13, "name:\n"));
  EXPECT_THAT(empty_name.findings,
              ElementsAre(IsFinding(Severity::kError, 1, "name", "is empty but required")));
}

TEST(CatalogErrorsTest, YamlSyntaxErrorHasFileAndLine) {
  Parsed p = Parse("name: 'x'\nactive: true\nrange: [1,6\ncapacity: 2\n");
  EXPECT_FALSE(p.workshop.has_value());
  ASSERT_EQ(p.findings.size(), 1u);
  EXPECT_EQ(p.findings[0].severity, Severity::kError);
  EXPECT_GT(p.findings[0].line, 0);
  EXPECT_THAT(FormatFinding(p.findings[0]),
              ::testing::MatchesRegex("t/wod\\.yml:[34]: error: yaml: .*"));
  Parsed bad_map = Parse("name: a: b\n");
  EXPECT_EQ(FormatFinding(bad_map.findings.at(0)), "t/wod.yml:1: error: yaml: illegal map value");
}

TEST(CatalogErrorsTest, DuplicateKeysAreErrors) {
  Parsed p = Parse(std::string(kBase) + "capacity: 3\n");
  EXPECT_THAT(p.findings, ElementsAre(IsFinding(Severity::kError, 7, "capacity",
                                                "duplicate key (first at line 4)")));
}

TEST(CatalogErrorsTest, DocumentsThatAreNotOneMappingAreErrors) {
  EXPECT_THAT(Parse("").findings, ElementsAre(IsFinding(Severity::kError, 0, "", "is empty")));
  EXPECT_THAT(Parse("# only a comment\n").findings,
              ElementsAre(IsFinding(Severity::kError, 0, "", "is empty")));
  EXPECT_THAT(Parse("- a\n- b\n").findings,
              ElementsAre(IsFinding(Severity::kError, 1, "", "got a list")));
  EXPECT_THAT(Parse("just text\n").findings,
              ElementsAre(IsFinding(Severity::kError, 1, "", "got 'just text'")));
  // yaml-cpp 0.7 would loop forever on this in YAML::LoadAll (found by catalog_fuzz).
  EXPECT_THAT(Parse(",,,,e: 'x'\nactive: true\n").findings,
              ElementsAre(IsFinding(Severity::kError, 1, "",
                                    "yaml: unexpected ',' where a document should start")));
  Parsed two = Parse(std::string(kBase) + "---\nname: other\n");
  EXPECT_THAT(two.findings, Contains(IsFinding(Severity::kError, 7, "", "more than one")));
  EXPECT_FALSE(two.workshop.has_value());
}

TEST(CatalogErrorsTest, InvalidUtf8IsAnErrorWithItsLine) {
  EXPECT_THAT(Parse(std::string(kBase) + "presenter: '\xff'\n").findings,
              ElementsAre(IsFinding(Severity::kError, 7, "", "not valid UTF-8")));
  EXPECT_THAT(Parse(std::string(kBase) + "presenter: \"\\xff\"\n").workshop->presenter,
              "\u00ff");  // an escape names a code point, written as UTF-8
}

TEST(CatalogErrorsTest, NonTextKeysAreErrors) {
  EXPECT_THAT(Parse(std::string(kBase) + "? [a, b]\n: c\n").findings,
              ElementsAre(IsFinding(Severity::kError, 7, "", "keys must be plain names")));
}

TEST(CatalogErrorsTest, LocationDefaultsAndIsValidated) {
  Parsed p = Parse(kBase);
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_EQ(p.workshop->location, "local");
  EXPECT_THAT(Parse(std::string(kBase) + "location: 'Main Site'\n").findings,
              ElementsAre(IsFinding(Severity::kError, 7, "location", "location name 'Main Site'")));
}

TEST(CatalogErrorsTest, WorkshopIdComesFromTheCaller) {
  Parsed p = Parse(kBase, "Shell101");
  EXPECT_FALSE(p.workshop.has_value());
  EXPECT_THAT(p.findings, ElementsAre(IsFinding(Severity::kError, 0, "",
                                                "workshop id 'Shell101' must start with")));
}

// ---- Our own fields ----

constexpr const char* kAppliances =
    "appliances:\n"                                  // line 7
    "  - name: web\n"                                // line 8
    "    image: wod-test/busybox:latest\n"           // line 9
    "    command: [httpd, -f, -p, '8080']\n"         // line 10
    "    ports:\n"                                   // line 11
    "      - {container: 8080, hostBase: 20000}\n"   // line 12
    "      - container: 22\n"                        // line 13
    "        hostBase: 20100\n"                      // line 14
    "    env:\n"                                     // line 15
    "      GREETING: 'hello {{ STDID }}'\n"          // line 16
    "      EMPTY:\n"                                 // line 17
    "    memory: 512m\n"                             // line 18
    "    cpus: 0.5\n"                                // line 19
    "  - name: db\n"                                 // line 20
    "    image: 'registry.example.com:5000/db:1'\n"  // line 21
    "    privileged: false\n"                        // line 22
    "variables:\n"                                   // line 23
    "  LAB_TITLE: 'Shell basics'\n"                  // line 24
    "  PORT_COUNT: 2\n";                             // line 25

TEST(CatalogOwnFieldsTest, AppliancesAndVariablesAreRead) {
  Parsed p = Parse(std::string(kBase) + kAppliances);
  ASSERT_TRUE(p.workshop.has_value()) << ::testing::PrintToString(Formatted(p.findings));
  EXPECT_THAT(p.findings, IsEmpty());
  ASSERT_EQ(p.workshop->appliances.size(), 2u);
  const Appliance& web = p.workshop->appliances[0];
  EXPECT_EQ(web.name, "web");
  EXPECT_EQ(web.image, "wod-test/busybox:latest");
  EXPECT_THAT(web.command, ElementsAre("httpd", "-f", "-p", "8080"));
  EXPECT_THAT(web.ports, ElementsAre(AppliancePort{8080, 20000}, AppliancePort{22, 20100}));
  EXPECT_EQ(web.env.at("GREETING"), "hello {{ STDID }}");
  EXPECT_EQ(web.env.at("EMPTY"), "");
  EXPECT_EQ(web.memory_bytes, int64_t{512} << 20);
  EXPECT_DOUBLE_EQ(web.cpus, 0.5);
  EXPECT_FALSE(web.privileged);
  const Appliance& db = p.workshop->appliances[1];
  EXPECT_EQ(db.image, "registry.example.com:5000/db:1");
  EXPECT_EQ(db.memory_bytes, 0);
  EXPECT_EQ(p.workshop->variables.at("LAB_TITLE"), "Shell basics");
  EXPECT_EQ(p.workshop->variables.at("PORT_COUNT"), "2");
}

TEST(CatalogOwnFieldsTest, InvalidApplianceFieldsAreErrorsOnTheirLines) {
  struct Case {
    std::string from, to;
    int line;
    std::string field, message;
  } cases[] = {
      {"    image: wod-test/busybox:latest\n", "", 8, "appliances[0].image",
       "required but missing"},
      {"name: web", "name: Web", 8, "appliances[0].name", "appliance name 'Web'"},
      {"name: db", "name: web", 20, "appliances[1].name", "duplicate appliance name 'web'"},
      {"image: wod-test/busybox:latest", "imgae: wod-test/busybox:latest", 9, "appliances[0].imgae",
       "did you mean 'image'?"},
      {"memory: 512m", "memory: lots", 18, "appliances[0].memory", "not a size"},
      {"memory: 512m", "memory: 1m", 18, "appliances[0].memory", "below docker's minimum"},
      {"cpus: 0.5", "cpus: -1", 19, "appliances[0].cpus", "positive"},
      {"cpus: 0.5", "cpus: half", 19, "appliances[0].cpus", "expected a number"},
      {"cpus: 0.5", "cpus: nan", 19, "appliances[0].cpus", "expected a number"},
      {"hostBase: 20000", "hostBase: 65534", 12, "appliances[0].ports[0].hostBase",
       "host ports 65534-65539 for the 6 seats of range [1,6] go past 65535"},
      {"hostBase: 20100", "hostBase: 20003", 13, "appliances[0].ports[1]",
       "host ports 20003-20008 of appliance 'web' port 22 collide with host ports 20000-20005 of "
       "appliance 'web' port 8080"},
      {"        hostBase: 20100\n", "", 13, "appliances[0].ports[1].hostBase",
       "required but missing"},
      {"{container: 8080, hostBase: 20000}", "8080:20000", 12, "appliances[0].ports[0]",
       "expected a mapping like {container: 80, hostBase: 20000}"},
      {"{container: 8080, hostBase: 20000}", "{container: 8080, hostbase: 20000}", 12,
       "appliances[0].ports[0].hostbase", "did you mean 'hostBase'?"},
      {"command: [httpd, -f, -p, '8080']", "command: 'httpd -f'", 10, "appliances[0].command",
       "expected a list of arguments"},
      {"GREETING: 'hello {{ STDID }}'", "GREETING-X: 'hello'", 16, "appliances[0].env.GREETING-X",
       "environment variable name"},
      {"privileged: false", "privileged: sometimes", 22, "appliances[1].privileged",
       "true or false"},
      {"LAB_TITLE: 'Shell basics'", "STDID: 'me'", 24, "variables.STDID", "cannot be redefined"},
      {"  - name: db\n    image: 'registry.example.com:5000/db:1'\n    privileged: false\n",
       "  - just-a-string\n", 20, "appliances[1]", "expected a mapping"},
  };
  for (const Case& c : cases) {
    std::string yaml = std::string(kBase) + kAppliances;
    size_t at = yaml.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    yaml.replace(at, c.from.size(), c.to);
    Parsed p = Parse(yaml);
    EXPECT_FALSE(p.workshop.has_value()) << c.to;
    EXPECT_THAT(p.findings, Contains(IsFinding(Severity::kError, c.line, c.field, c.message)))
        << c.to << "\n"
        << ::testing::PrintToString(Formatted(p.findings));
  }
}

TEST(CatalogOwnFieldsTest, PrivilegedApplianceWarns) {
  std::string yaml = std::string(kBase) + kAppliances;
  yaml.replace(yaml.find("privileged: false"), 17, "privileged: true");
  Parsed p = Parse(yaml);
  ASSERT_TRUE(p.workshop.has_value());
  EXPECT_THAT(p.findings,
              ElementsAre(IsFinding(Severity::kWarning, 22, "appliances[1].privileged", "root")));
}

// ---- The whole catalog ----

// model/ builds a catalog from texts alone (catalogfs/ finds and reads the files): findings
// made before parsing are kept, duplicates and workshops with errors are left out, all sorted.
TEST(CatalogWideTest, BuildCatalogWorksOnTextsAlone) {
  std::vector<CatalogSource> sources = {
      {"d/WKSHP-B/wod.yml", "WKSHP-B", "d/WKSHP-B", "/abs/d/WKSHP-B", Yml("B", true, "[7,9]")},
      {"d/WKSHP-A.yml", "WKSHP-A", "", "", Yml("A", true, "[1,6]")},
      {"d/WKSHP-Bad.yml", "WKSHP-Bad", "", "", "name: [\n"},
      {"e/WKSHP-A.yml", "WKSHP-A", "", "", Yml("A", true, "[1,6]")}};
  Catalog c = BuildCatalog(sources, {{Severity::kError, "gone", 0, "", "does not exist"}}, "here");
  ASSERT_EQ(c.entries.size(), 2u);
  EXPECT_EQ(c.entries[0].workshop.id, "WKSHP-A");
  EXPECT_EQ(c.entries[0].file, "d/WKSHP-A.yml");
  EXPECT_EQ(c.entries[0].workshop.location, "here");
  EXPECT_EQ(c.entries[1].content_dir, "d/WKSHP-B");
  EXPECT_EQ(c.entries[1].workshop.content_dir, "/abs/d/WKSHP-B");
  EXPECT_THAT(Formatted(c.findings),
              ElementsAre("d/WKSHP-Bad.yml:2: error: yaml: end of sequence flow not found",
                          "e/WKSHP-A.yml: error: workshop id 'WKSHP-A' is also defined in "
                          "'d/WKSHP-A.yml'",
                          "gone: error: does not exist"));
}

TEST(CatalogWideTest, OverlapOfTwoActiveWorkshopsIsAnErrorNamingBoth) {
  TempDir dir;
  std::string a = dir.Write("WKSHP-A.yml", Yml("A", true, "[1,6]"));
  std::string b = dir.Write("WKSHP-B/wod.yml", Yml("B", true, "[6,9]"));
  Catalog c = LoadCatalog({dir.path()}, "local");
  EXPECT_TRUE(c.HasErrors());
  ASSERT_THAT(c.findings, ElementsAre(AllOf(Field(&Finding::file, b),
                                            IsFinding(Severity::kError, 5, "range", ""))));
  EXPECT_EQ(c.findings[0].message, "range [6,9] of 'WKSHP-B' overlaps range [1,6] of 'WKSHP-A' (" +
                                       a +
                                       ":5) on location 'local': a seat belongs to one workshop");
  // Both workshops are valid on their own, so both stay in the catalog; HasErrors() decides.
  EXPECT_EQ(c.entries.size(), 2u);
}

// A workshop's range exists on its location and on each alternate: it may not overlap another
// workshop's range on any of them, and ranges on locations it is not on do not matter.
TEST(CatalogWideTest, AnAlternateLocationsRangeIsCheckedForOverlapOnThatLocation) {
  TempDir dir;
  dir.Write("WKSHP-A.yml", Yml("A", true, "[1,6]", "location: east\nalternateLocation: [west]\n"));
  std::string b = dir.Write("WKSHP-B.yml", Yml("B", true, "[6,9]", "location: west\n"));
  dir.Write("WKSHP-C.yml", Yml("C", true, "[1,6]", "location: north\n"));
  Catalog c = LoadCatalog({dir.path()}, "east");
  ASSERT_THAT(c.findings, ElementsAre(AllOf(Field(&Finding::file, b),
                                            IsFinding(Severity::kError, 5, "range", ""))));
  EXPECT_THAT(c.findings[0].message, HasSubstr("on location 'west'"));
}

TEST(CatalogWideTest, OverlapWithAnInactiveWorkshopIsAWarningOnTheInactiveOne) {
  TempDir dir;
  std::string a = dir.Write("WKSHP-A.yml", Yml("A", false, "[52,91]"));
  std::string b = dir.Write("WKSHP-B.yml", Yml("B", true, "[52,57]"));
  std::string z = dir.Write("WKSHP-Z.yml", Yml("Z", true, "[58,63]"));
  Catalog c = LoadCatalog({dir.path()}, "local");
  EXPECT_FALSE(c.HasErrors());
  EXPECT_EQ(Formatted(c.findings),
            (std::vector<std::string>{
                a +
                    ":5: warning: range: inactive workshop 'WKSHP-A' range [52,91] overlaps range "
                    "[52,57] of 'WKSHP-B' (" +
                    b +
                    ":5) on location 'local'; it gets no seats "
                    "while inactive, and activating it is an error",
                a +
                    ":5: warning: range: inactive workshop 'WKSHP-A' range [52,91] overlaps range "
                    "[58,63] of 'WKSHP-Z' (" +
                    z +
                    ":5) on location 'local'; it gets no seats "
                    "while inactive, and activating it is an error",
            }));
}

TEST(CatalogWideTest, OverlapOfTwoInactiveWorkshopsIsAWarning) {
  TempDir dir;
  dir.Write("WKSHP-A.yml", Yml("A", false, "[1,6]"));
  std::string b = dir.Write("WKSHP-B.yml", Yml("B", false, "[3,4]"));
  Catalog c = LoadCatalog({dir.path()}, "local");
  EXPECT_FALSE(c.HasErrors());
  EXPECT_THAT(
      c.findings,
      ElementsAre(AllOf(Field(&Finding::file, b),
                        IsFinding(Severity::kWarning, 5, "range", "of inactive workshop 'WKSHP-A'"),
                        MessageHas("only one of them can be activated"))));
}

TEST(CatalogWideTest, AdjacentRangesAndOtherLocationsDoNotOverlap) {
  TempDir dir;
  dir.Write("WKSHP-A.yml", Yml("A", true, "[1,6]"));
  dir.Write("WKSHP-B.yml", Yml("B", true, "[7,12]"));
  dir.Write("WKSHP-C.yml", Yml("C", true, "[1,12]", "location: backend-2\n"));
  Catalog c = LoadCatalog({dir.path()}, "local");
  EXPECT_THAT(c.findings, IsEmpty()) << ::testing::PrintToString(Formatted(c.findings));
  EXPECT_EQ(c.entries.size(), 3u);
  EXPECT_EQ(c.Find("WKSHP-C")->workshop.location, "backend-2");
  EXPECT_EQ(c.Find("WKSHP-A")->workshop.location, "local");
}

TEST(CatalogWideTest, HostPortRangesThatCollideAcrossWorkshopsAreErrors) {
  TempDir dir;
  auto app = [](int base) {
    return "appliances:\n  - name: web\n    image: busybox\n    ports:\n"
           "      - {container: 80, hostBase: " +
           std::to_string(base) + "}\n";
  };
  std::string a = dir.Write("WKSHP-A.yml", Yml("A", true, "[1,6]", app(20000)));
  std::string b = dir.Write("WKSHP-B.yml", Yml("B", true, "[7,12]", app(20005)));
  dir.Write("WKSHP-C.yml", Yml("C", true, "[13,18]", app(20011)));  // 20011-20016: clear
  dir.Write("WKSHP-D.yml",
            Yml("D", true, "[1,6]", "location: other\n" + app(20000)));  // other location
  Catalog c = LoadCatalog({dir.path()}, "local");
  EXPECT_TRUE(c.HasErrors());
  ASSERT_THAT(Formatted(c.findings),
              ElementsAre(b +
                          ":11: error: appliances[0].ports[0].hostBase: host ports "
                          "20005-20010 of appliance 'web' port 80 of 'WKSHP-B' collide with host "
                          "ports 20000-20005 of appliance 'web' port 80 of 'WKSHP-A' (" +
                          a + ":11) on location 'local': two seats would bind one host port"));
}

TEST(CatalogWideTest, HostPortCollisionWithAnInactiveWorkshopIsAWarning) {
  TempDir dir;
  std::string app =
      "appliances:\n  - name: web\n    image: busybox\n    ports:\n"
      "      - {container: 80, hostBase: 20000}\n";
  dir.Write("WKSHP-A.yml", Yml("A", true, "[1,6]", app));
  std::string b = dir.Write("WKSHP-B.yml", Yml("B", false, "[7,12]", app));
  Catalog c = LoadCatalog({dir.path()}, "local");
  EXPECT_FALSE(c.HasErrors());
  EXPECT_THAT(c.findings,
              ElementsAre(AllOf(Field(&Finding::file, b),
                                IsFinding(Severity::kWarning, 11, "appliances[0].ports[0].hostBase",
                                          "inactive workshop 'WKSHP-B' host ports 20000-20005"))));
}

TEST(CatalogWideTest, WorkshopsWithErrorsAreLeftOutButStillChecked) {
  TempDir dir;
  std::string a = dir.Write("WKSHP-A.yml", Yml("A", true, "[1,6]", "colour: red\n"));
  dir.Write("WKSHP-B.yml", Yml("B", true, "[2,3]"));
  Catalog c = LoadCatalog({dir.path()}, "local");
  ASSERT_EQ(c.entries.size(), 1u);
  EXPECT_EQ(c.entries[0].workshop.id, "WKSHP-B");
  EXPECT_THAT(c.findings, Contains(AllOf(Field(&Finding::file, a),
                                         IsFinding(Severity::kError, 7, "colour", "unknown key"))));
  EXPECT_THAT(c.findings, Contains(MessageHas("range [2,3] of 'WKSHP-B' overlaps")));
}

TEST(CatalogWideTest, MissingPathsAndEmptyFoldersAreFindingsNotCrashes) {
  TempDir dir;
  fs::create_directories(dir.path() + "/WKSHP-NoYml");
  fs::create_directories(dir.path() + "/empty");
  dir.Write("notes.yml", "not: a workshop\n");  // not WKSHP-*: ignored in a directory
  Catalog c = LoadCatalog({dir.path() + "/missing", dir.path(), dir.path() + "/empty"}, "local");
  EXPECT_TRUE(c.HasErrors());
  EXPECT_THAT(Formatted(c.findings),
              ElementsAre(dir.path() + ": warning: holds no WKSHP-*/wod.yml folder and no "
                                       "WKSHP-*.yml file",
                          dir.path() + "/WKSHP-NoYml: warning: workshop folder has no wod.yml; "
                                       "skipped",
                          dir.path() + "/empty: warning: holds no WKSHP-*/wod.yml folder and no "
                                       "WKSHP-*.yml file",
                          dir.path() + "/missing: error: does not exist"));
  EXPECT_THAT(c.entries, IsEmpty());
}

TEST(CatalogWideTest, UnreadableAndHugeFilesAreFindings) {
  TempDir dir;
  std::string huge = dir.Write("WKSHP-Huge.yml", std::string(2 << 20, '#'));
  Catalog c = LoadCatalog({huge}, "local");
  EXPECT_THAT(Formatted(c.findings), ElementsAre(huge + ": error: is larger than 1024 KiB"));
  if (geteuid() != 0) {  // root reads everything
    std::string locked = dir.Write("WKSHP-Locked.yml", Yml("L", true, "[1,2]"));
    fs::permissions(locked, fs::perms::none);
    Catalog l = LoadCatalog({locked}, "local");
    EXPECT_THAT(Formatted(l.findings),
                ElementsAre(locked + ": error: cannot be read: permission denied"));
  }
}

// ---- Canonical YAML ----

TEST(CatalogYamlTest, CanonicalYamlRoundTripsEveryField) {
  Parsed p = Parse(std::string(kBase) + kAppliances +
                   "workshopImg: 'https://example.com/i.png'\n"
                   "category: ['Open Source', 'Ünïcode ✓']\n"
                   "presenter: \"quotes \\\" and \\\\ backslash, tab\\t, newline\\n, nel\\u0085, "
                   "ls\\L, bom\\uFEFF, bell\\a, del\\x7f\"\n"
                   "role: '  padded  '\n"
                   "avatar: '#not a comment: really'\n"
                   "replayLink: '{{ not a template }}'\n"
                   "location: backend-1\nalternateLocation: backend-2\n"
                   "priority: -3\nduration: 4\nreplayId: 12\nreset: true\nldap: true\n"
                   "varpass: true\ncompile: true\nbeta: true\n");
  ASSERT_TRUE(p.workshop.has_value()) << ::testing::PrintToString(Formatted(p.findings));
  std::string yaml = WorkshopToYaml(*p.workshop);
  Parsed back = Parse(yaml);
  ASSERT_TRUE(back.workshop.has_value())
      << yaml << ::testing::PrintToString(Formatted(back.findings));
  EXPECT_EQ(*back.workshop, *p.workshop) << yaml;
  EXPECT_EQ(WorkshopToYaml(*back.workshop), yaml);  // canonical: a fixed point
}

TEST(CatalogYamlTest, CanonicalYamlIsReadable) {
  Parsed p = Parse(std::string(kBase) + kAppliances);
  ASSERT_TRUE(p.workshop.has_value());
  std::string yaml = WorkshopToYaml(*p.workshop);
  EXPECT_THAT(yaml, HasSubstr("# WKSHP-Test\nname: \"Test\"\n"));
  EXPECT_THAT(yaml, HasSubstr("range: [1, 6]\n"));
  EXPECT_THAT(yaml, HasSubstr("      - {container: 8080, hostBase: 20000}\n"));
  EXPECT_THAT(yaml, HasSubstr("    memory: \"512m\"\n    cpus: 0.5\n"));
  EXPECT_THAT(yaml, HasSubstr("location: \"local\"\n"));
  EXPECT_THAT(yaml, Not(HasSubstr("videoLink")));  // empty optional fields are left out
}

// ---- Output forms ----

TEST(CatalogOutputTest, FormatFindingLeavesOutWhatIsUnset) {
  EXPECT_EQ(FormatFinding({Severity::kError, "a/wod.yml", 9, "range", "min 7 > max 3"}),
            "a/wod.yml:9: error: range: min 7 > max 3");
  EXPECT_EQ(FormatFinding({Severity::kWarning, "a/wod.yml", 0, "badgeImg", "is missing"}),
            "a/wod.yml: warning: badgeImg: is missing");
  EXPECT_EQ(FormatFinding({Severity::kError, "dir", 0, "", "does not exist"}),
            "dir: error: does not exist");
}

TEST(CatalogOutputTest, FindingsToJsonKeepsEveryField) {
  nlohmann::json j = FindingsToJson({{Severity::kError, "a/wod.yml", 9, "range", "min 7 > max 3"},
                                     {Severity::kWarning, "b.yml", 0, "", "w"}});
  EXPECT_EQ(j, nlohmann::json::parse(R"([
    {"severity": "error", "file": "a/wod.yml", "line": 9, "field": "range",
     "message": "min 7 > max 3"},
    {"severity": "warning", "file": "b.yml", "line": 0, "field": "", "message": "w"}])"));
}

// ---- Our own example catalog ----

TEST(CatalogExamplesTest, OurExampleCatalogLintsClean) {
  Catalog c = LoadCatalog({std::string(WOD_SOURCE_DIR) + "/examples/catalog"}, "local");
  EXPECT_THAT(Formatted(c.findings), IsEmpty());
  ASSERT_GE(c.entries.size(), 3u);
  bool has_appliance = false;
  for (const CatalogEntry& e : c.entries) {
    EXPECT_TRUE(e.workshop.active) << e.workshop.id;
    EXPECT_FALSE(e.content_dir.empty()) << e.workshop.id;
    for (const char* nb : {"/0-ReadMeFirst.ipynb", "/2-Conclusion.ipynb"}) {
      EXPECT_TRUE(fs::exists(e.content_dir + nb)) << e.content_dir << nb;
    }
    for (const Appliance& a : e.workshop.appliances) {
      has_appliance = true;
      EXPECT_EQ(a.image, "wod-test/busybox:latest");
    }
  }
  EXPECT_TRUE(has_appliance);
}

}  // namespace
}  // namespace wod::model
