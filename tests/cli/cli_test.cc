// Runs the real `wod` binary as an operator would, against a temporary embedded store.
#include <filesystem>
#include <fstream>

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "common/subprocess.h"
#include "tests/testing/status_matchers.h"

namespace wod {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

namespace fs = std::filesystem;

class WodCli : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::path(::testing::TempDir()) /
           ("wod_cli_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    store_ = "sqlite:" + (dir_ / "wod.db").string();
  }
  void TearDown() override { fs::remove_all(dir_); }

  common::SubprocessResult Wod(std::vector<std::string> args) {
    args.insert(args.begin(), WOD_BINARY);
    auto r = common::RunProcess(args);
    EXPECT_OK(r);
    return r.ok() ? *r : common::SubprocessResult{};
  }

  // Writes DIR/WKSHP-<id>/wod.yml and returns DIR.
  fs::path WriteWorkshop(const std::string& catalog, const std::string& id,
                         const std::string& yaml) {
    fs::path d = dir_ / catalog / id;
    fs::create_directories(d);
    std::ofstream(d / "wod.yml") << yaml;
    return dir_ / catalog;
  }

  static std::string Yaml(const std::string& range, int capacity, const std::string& extra = "") {
    return "name: 'A workshop'\ndescription: 'About something'\nactive: true\ncapacity: " +
           std::to_string(capacity) + "\nrange: " + range +
           "\nduration: 2\nbadgeImg: badge\n" + extra;
  }

  fs::path dir_;
  std::string store_;
};

TEST_F(WodCli, HelpListsEveryWorkingSubcommand) {
  auto r = Wod({"--help"});
  EXPECT_EQ(r.exit_code, 0);
  for (const char* cmd : {"catalog", "register", "seats", "verb"}) {
    EXPECT_THAT(r.stdout_text, HasSubstr(cmd));
  }
  auto lint = Wod({"catalog", "lint", "--help"});
  EXPECT_EQ(lint.exit_code, 0);
  EXPECT_THAT(lint.stdout_text, HasSubstr("--json"));
  EXPECT_THAT(lint.stdout_text, HasSubstr("--location"));
}

TEST_F(WodCli, LintAcceptsTheRealWodCatalog) {
  const std::string fixtures = std::string(WOD_FIXTURES_DIR) + "/wod-notebooks";
  if (!fs::exists(fixtures)) GTEST_FAIL() << "fixtures missing: " << fixtures;
  // The two folders hold the same workshops (a duplicate id across them is an error), so
  // each is linted on its own: the real catalog lints with warnings only.
  for (const char* dir : {"/wod-yml", "/full"}) {
    auto r = Wod({"catalog", "lint", fixtures + dir});
    EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
    EXPECT_THAT(r.stdout_text, HasSubstr(" 0 error(s)"));
  }
  auto both = Wod({"catalog", "lint", fixtures + "/wod-yml", fixtures + "/full"});
  EXPECT_EQ(both.exit_code, 1);
  EXPECT_THAT(both.stderr_text, HasSubstr("WKSHP-API101"));
}

TEST_F(WodCli, LintNamesFileLineAndSuggestsTheMisspeltKey) {
  auto cat = WriteWorkshop("c", "WKSHP-One", Yaml("[1,4]", 4, "alternatLocation: 'east'\n"));
  auto r = Wod({"catalog", "lint", cat.string()});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.stderr_text, HasSubstr("WKSHP-One/wod.yml:8"));
  EXPECT_THAT(r.stderr_text, HasSubstr("alternateLocation"));
  auto j = Wod({"catalog", "lint", "--json", cat.string()});
  EXPECT_EQ(j.exit_code, 1);
  auto parsed = nlohmann::json::parse(j.stdout_text, nullptr, false);
  ASSERT_FALSE(parsed.is_discarded()) << j.stdout_text;
  EXPECT_EQ(parsed["errors"], 1);
}

TEST_F(WodCli, LoadIsIdempotentAndAllOrNothing) {
  auto cat = WriteWorkshop("good", "WKSHP-One", Yaml("[1,4]", 4));
  WriteWorkshop("good", "WKSHP-Two", Yaml("[5,6]", 2));
  auto first = Wod({"catalog", "load", cat.string(), "--store", store_});
  ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
  EXPECT_THAT(first.stdout_text, HasSubstr("2 new"));
  EXPECT_THAT(first.stdout_text, HasSubstr("seats +6"));
  auto second = Wod({"catalog", "load", cat.string(), "--store", store_});
  ASSERT_EQ(second.exit_code, 0);
  EXPECT_THAT(second.stdout_text, HasSubstr("0 new, 0 changed, 2 unchanged; seats +0 -0"));

  // A catalog with one bad workshop loads nothing, not even the good one.
  auto bad = WriteWorkshop("bad", "WKSHP-Three", Yaml("[7,9]", 3));
  WriteWorkshop("bad", "WKSHP-Four", Yaml("[9-3]", 3));
  auto failed = Wod({"catalog", "load", bad.string(), "--store", store_});
  EXPECT_EQ(failed.exit_code, 1);
  EXPECT_THAT(failed.stderr_text, HasSubstr("nothing was loaded"));
  auto seats = Wod({"seats", "--json", "--store", store_});
  auto j = nlohmann::json::parse(seats.stdout_text, nullptr, false);
  ASSERT_TRUE(j.is_array()) << seats.stdout_text;
  EXPECT_EQ(j.size(), 6u);
  for (const auto& s : j) EXPECT_NE(s["workshop"], "WKSHP-Three");
}

TEST_F(WodCli, RegisterPrintsTheSeatAndExplainsEachRefusal) {
  auto cat = WriteWorkshop("c", "WKSHP-One", Yaml("[3,4]", 2));
  ASSERT_EQ(Wod({"catalog", "load", cat.string(), "--store", store_}).exit_code, 0);
  auto reg = [&](const std::string& email, const std::string& workshop = "WKSHP-One") {
    return Wod({"register", "--store", store_, "--workshop", workshop, "--email", email, "--name",
                "Ada L", "--company", "ACME"});
  };
  auto a = reg("ada@example.com");
  ASSERT_EQ(a.exit_code, 0) << a.stderr_text;
  EXPECT_THAT(a.stdout_text, HasSubstr("seat 3"));
  auto again = reg("ADA@example.com");
  EXPECT_EQ(again.exit_code, 4);
  EXPECT_THAT(again.stderr_text, HasSubstr("already"));
  EXPECT_EQ(reg("bob@example.com").exit_code, 0);
  auto full = reg("cy@example.com");
  EXPECT_EQ(full.exit_code, 5);
  EXPECT_THAT(full.stderr_text, HasSubstr("full"));
  auto unknown = reg("dee@example.com", "WKSHP-Nope");
  EXPECT_EQ(unknown.exit_code, 3);
  EXPECT_THAT(unknown.stderr_text, HasSubstr("WKSHP-Nope"));
  auto invalid = reg("not-an-email");
  EXPECT_EQ(invalid.exit_code, 2);

  auto seats = Wod({"seats", "--store", store_});
  EXPECT_THAT(seats.stdout_text, HasSubstr("ada@example.com"));
  EXPECT_THAT(seats.stdout_text, HasSubstr("bob@example.com"));
  EXPECT_THAT(seats.stdout_text, Not(HasSubstr("cy@example.com")));
}

TEST_F(WodCli, VerbsAreTransitionsAndIdempotent) {
  auto cat = WriteWorkshop("c", "WKSHP-One", Yaml("[1,2]", 2));
  ASSERT_EQ(Wod({"catalog", "load", cat.string(), "--store", store_}).exit_code, 0);
  auto create = Wod({"verb", "CREATE", "WKSHP-One", "2", "--store", store_});
  ASSERT_EQ(create.exit_code, 0) << create.stderr_text;
  auto j = nlohmann::json::parse(Wod({"seats", "--json", "--store", store_}).stdout_text);
  EXPECT_EQ(j[1]["occupied"], true);
  EXPECT_EQ(j[0]["occupied"], false);
  auto reset = Wod({"verb", "reset", "WKSHP-One", "2", "--store", store_, "--json"});
  ASSERT_EQ(reset.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(reset.stdout_text)["changed"], true);
  auto cleanup = Wod({"verb", "CLEANUP", "WKSHP-One", "2", "--store", store_, "--json"});
  EXPECT_EQ(nlohmann::json::parse(cleanup.stdout_text)["changed"], true);
  auto again = Wod({"verb", "CLEANUP", "WKSHP-One", "2", "--store", store_, "--json"});
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(again.stdout_text)["changed"], false);
  EXPECT_EQ(Wod({"verb", "EXPLODE", "WKSHP-One", "2", "--store", store_}).exit_code, 2);
  EXPECT_EQ(Wod({"verb", "CLEANUP", "WKSHP-One", "99", "--store", store_}).exit_code, 3);
}

}  // namespace
}  // namespace wod
