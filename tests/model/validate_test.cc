// Tests of model/validate.h: the pure checks shared by the wod.yml parser and the API.
#include "model/validate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <vector>

#include "tests/testing/status_matchers.h"

namespace wod::model {
namespace {

using ::testing::HasSubstr;
using ::wod::testing::StatusIs;

TEST(ValidateEmailTest, AcceptsOrdinaryAddresses) {
  for (const char* email : {"ada@example.com", "first.last+tag@sub.example.org", "a_b-c@x-y.io",
                            "O'Brien@example.ie"}) {
    EXPECT_TRUE(ValidateEmail(email).ok()) << email;
  }
}

TEST(ValidateEmailTest, RejectsMalformedAddressesWithAReason) {
  struct Case {
    const char* email;
    const char* reason;
  } cases[] = {
      {"", "email is empty"},
      {"no-at.example.com", "has no '@'"},
      {"a@b@example.com", "more than one '@'"},
      {"@example.com", "nothing before '@'"},
      {"a@", "no domain"},
      {"a@localhost", "without a '.'"},
      {".a@example.com", "misplaced '.'"},
      {"a..b@example.com", "misplaced '.'"},
      {"a b@example.com", "not allowed"},
      {"a@-example.com", "invalid domain"},
      {"a@example..com", "invalid domain"},
      {"a@example.c", "top-level"},
      {"a@example.123", "top-level"},
      {"a@exa_mple.com", "invalid domain"},
  };
  for (const Case& c : cases) {
    EXPECT_THAT(ValidateEmail(c.email),
                StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(c.reason)))
        << c.email;
  }
  EXPECT_FALSE(ValidateEmail(std::string(65, 'a') + "@example.com").ok());
  EXPECT_FALSE(ValidateEmail("a@" + std::string(250, 'b') + ".com").ok());
}

TEST(NormalizeEmailTest, TrimsAndLowercases) {
  EXPECT_EQ(NormalizeEmail("  Ada.Lovelace@Example.COM \n"), "ada.lovelace@example.com");
}

TEST(ValidateWorkshopIdTest, AcceptsWodIdsAndRejectsOthers) {
  for (const char* id : {"WKSHP-API101", "WKSHP-Jupyter-Notebooks101", "WKSHP-Python_Intro"}) {
    EXPECT_TRUE(ValidateWorkshopId(id).ok()) << id;
  }
  EXPECT_THAT(ValidateWorkshopId("API101"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must start with 'WKSHP-'")));
  for (const char* id : {"WKSHP-", "WKSHP--x", "WKSHP-a b", "WKSHP-a/b", "WKSHP-ü"}) {
    EXPECT_FALSE(ValidateWorkshopId(id).ok()) << id;
  }
  EXPECT_FALSE(ValidateWorkshopId("WKSHP-" + std::string(60, 'a')).ok());
}

TEST(ValidateNamesTest, LocationAndApplianceNamesAreDnsLabels) {
  EXPECT_TRUE(ValidateLocationName("local").ok());
  EXPECT_TRUE(ValidateLocationName("backend-2").ok());
  EXPECT_TRUE(ValidateApplianceName("web").ok());
  for (const char* bad : {"", "Local", "-x", "a_b", "a.b", "a b"}) {
    EXPECT_FALSE(ValidateLocationName(bad).ok()) << bad;
    EXPECT_FALSE(ValidateApplianceName(bad).ok()) << bad;
  }
  EXPECT_FALSE(ValidateLocationName(std::string(64, 'a')).ok());
  EXPECT_THAT(ValidateLocationName("Jupyter"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("location name 'Jupyter'")));
}

TEST(ValidateImageReferenceTest, AcceptsDockerReferences) {
  for (const char* image :
       {"busybox", "wod-test/busybox:latest", "library/busybox:1.36", "ghcr.io/org/app:v1.2_3",
        "localhost:5000/app", "registry.example.com:443/a/b/c:tag", "a__b/c--d.e",
        "busybox@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}) {
    EXPECT_TRUE(ValidateImageReference(image).ok()) << image;
  }
}

TEST(ValidateImageReferenceTest, RejectsMalformedReferences) {
  for (const char* image :
       {"", "Busybox", "busy box", "busybox:", "busybox:-tag", "/busybox", "busybox/", "a//b",
        "a___b", "a.-b", "busybox@sha256:123", "host:port/app", ":tag", "busybox;rm"}) {
    EXPECT_FALSE(ValidateImageReference(image).ok()) << image;
  }
}

TEST(ValidateVariableNameTest, AcceptsTemplateNames) {
  EXPECT_TRUE(ValidateVariableName("LAB_TITLE").ok());
  EXPECT_TRUE(ValidateVariableName("IP-WKSHP-Ansible101").ok());  // hostvars-style
  EXPECT_FALSE(ValidateVariableName("1ABC").ok());
  EXPECT_FALSE(ValidateVariableName("-A").ok());
  EXPECT_FALSE(ValidateVariableName("A B").ok());
  EXPECT_FALSE(ValidateVariableName("").ok());
  EXPECT_TRUE(ValidateEnvName("HOME_DIR").ok());
  EXPECT_FALSE(ValidateEnvName("HOME-DIR").ok());
  EXPECT_TRUE(IsReservedVariable("STDID"));
  EXPECT_TRUE(IsReservedVariable("PASSSTU"));
  EXPECT_FALSE(IsReservedVariable("LAB_TITLE"));
}

TEST(ParseSeatRangeTest, ReadsBothWodSpellings) {
  ASSERT_OK_AND_ASSIGN(SeatRange dash, ParseSeatRange("151-170"));
  EXPECT_EQ(dash, (SeatRange{151, 170}));
  ASSERT_OK_AND_ASSIGN(SeatRange comma, ParseSeatRange("[1,6]"));
  EXPECT_EQ(comma, (SeatRange{1, 6}));
  ASSERT_OK_AND_ASSIGN(SeatRange spaced, ParseSeatRange(" [ 7 - 12 ] "));
  EXPECT_EQ(spaced, (SeatRange{7, 12}));
  // min > max is syntactically fine; ValidateWorkshop reports it with both numbers.
  ASSERT_OK_AND_ASSIGN(SeatRange reversed, ParseSeatRange("7-3"));
  EXPECT_EQ(reversed, (SeatRange{7, 3}));
}

TEST(ParseSeatRangeTest, RejectsWhatIsNotTwoSeatNumbers) {
  for (const char* text : {"", "7", "a-b", "1-", "-5", "1,2,3", "1-2-3", "[1,6", "1.5-3",
                           "0x10-0x20", "99999999999-1"}) {
    EXPECT_THAT(ParseSeatRange(text), StatusIs(absl::StatusCode::kInvalidArgument)) << text;
  }
  EXPECT_THAT(ParseSeatRange("0-5"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seat number 0")));
  EXPECT_THAT(ParseSeatRange("1-100000"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("seat number 100000")));
}

TEST(ParseMemoryTest, ReadsDockerUnits) {
  ASSERT_OK_AND_ASSIGN(int64_t m, ParseMemory("512m"));
  EXPECT_EQ(m, int64_t{512} << 20);
  ASSERT_OK_AND_ASSIGN(int64_t g, ParseMemory("1G"));
  EXPECT_EQ(g, int64_t{1} << 30);
  ASSERT_OK_AND_ASSIGN(int64_t k, ParseMemory("64k"));
  EXPECT_EQ(k, 65536);
  ASSERT_OK_AND_ASSIGN(int64_t b, ParseMemory("1048576"));
  EXPECT_EQ(b, 1048576);
  ASSERT_OK_AND_ASSIGN(int64_t bb, ParseMemory("100b"));
  EXPECT_EQ(bb, 100);
  for (const char* bad : {"", "m", "lots", "1.5g", "-1m", "1mb", "99999999999999999999"}) {
    EXPECT_FALSE(ParseMemory(bad).ok()) << bad;
  }
  EXPECT_THAT(ParseMemory("9999999999t"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("too large")));
}

TEST(ParseMemoryTest, FormatMemoryReadsBackExactly) {
  for (int64_t bytes : {int64_t{0}, int64_t{1}, int64_t{1000}, int64_t{1024}, int64_t{6} << 20,
                        int64_t{512} << 20, int64_t{3} << 30, (int64_t{1} << 40) + 1024}) {
    ASSERT_OK_AND_ASSIGN(int64_t back, ParseMemory(FormatMemory(bytes)));
    EXPECT_EQ(back, bytes) << FormatMemory(bytes);
  }
  EXPECT_EQ(FormatMemory(int64_t{512} << 20), "512m");
  EXPECT_EQ(FormatMemory(int64_t{1} << 30), "1g");
  EXPECT_EQ(FormatMemory(1000), "1000");
}

TEST(PlaceholderTest, RecognisesTheCatalogsPlaceholders) {
  for (const char* p : {"tbd", "TBD", " tbd ", "?\?\?", "?", "TODO", "n/a", "xxx", "..."}) {
    EXPECT_TRUE(IsPlaceholder(p)) << p;
  }
  for (const char* p : {"", "Didier Lalli", "WOD-Badge-API101", "tbd later", "https://x.y/tbd"}) {
    EXPECT_FALSE(IsPlaceholder(p)) << p;
  }
}

TEST(IncompleteLinkTest, FlagsLinksWithNothingAfterTheHost) {
  EXPECT_TRUE(IsIncompleteLink("https://youtu.be/"));
  EXPECT_TRUE(IsIncompleteLink("https://youtu.be"));
  EXPECT_TRUE(IsIncompleteLink("http://example.com/"));
  EXPECT_FALSE(IsIncompleteLink("https://youtu.be/j9Tu1ufWVGk"));
  EXPECT_FALSE(IsIncompleteLink("https://example.com/?v=1"));
  EXPECT_FALSE(IsIncompleteLink("/img/wod/avatar.png"));
  EXPECT_FALSE(IsIncompleteLink("WOD-Badge-API101"));
}

TEST(EditDistanceTest, CountsEditsIgnoringCase) {
  EXPECT_EQ(EditDistance("alternatLocation", "alternateLocation"), 1u);
  EXPECT_EQ(EditDistance("replayID", "replayId"), 0u);
  EXPECT_EQ(EditDistance("kitten", "sitting"), 3u);
  EXPECT_EQ(EditDistance("imgae", "image"), 1u);  // a swap is one edit
  EXPECT_EQ(EditDistance("", "abc"), 3u);
}

TEST(ClosestMatchTest, SuggestsOnlyNearMisses) {
  std::vector<std::string_view> keys = {"name", "role", "range", "alternateLocation", "capacity"};
  EXPECT_EQ(ClosestMatch("alternatLocation", keys), "alternateLocation");
  EXPECT_EQ(ClosestMatch("capcity", keys), "capacity");
  EXPECT_EQ(ClosestMatch("Range", keys), "range");
  EXPECT_EQ(ClosestMatch("foo", keys), std::nullopt);
  EXPECT_EQ(ClosestMatch("colour", keys), std::nullopt);
}

Workshop CleanWorkshop() {
  Workshop w;
  w.id = "WKSHP-Test";
  w.name = "Test";
  w.description = "A test workshop";
  w.active = true;
  w.capacity = 4;
  w.range = {10, 15};
  w.badge_img = "WOD-Badge-Test";
  w.location = "local";
  Appliance a;
  a.name = "web";
  a.image = "wod-test/busybox:latest";
  a.ports = {{8080, 20000}, {22, 20100}};
  a.env = {{"GREETING", "hello {{ STDID }}"}};
  a.memory_bytes = int64_t{64} << 20;
  a.cpus = 0.5;
  w.appliances = {a};
  w.variables = {{"LAB_TITLE", "Shell"}};
  return w;
}

MATCHER_P3(IsProblem, severity, field, message_part, "") {
  return arg.severity == severity && arg.field == field &&
         arg.message.find(message_part) != std::string::npos;
}

TEST(ValidateWorkshopTest, CleanWorkshopHasNoProblems) {
  EXPECT_THAT(ValidateWorkshop(CleanWorkshop()), ::testing::IsEmpty());
}

TEST(ValidateWorkshopTest, ReportsEachProblemOnItsField) {
  struct Case {
    const char* name;
    std::function<void(Workshop&)> change;
    Severity severity;
    const char* field;
    const char* message;
  } cases[] = {
      {"bad id", [](Workshop& w) { w.id = "Test"; }, Severity::kError, "", "WKSHP-"},
      {"empty name", [](Workshop& w) { w.name = " "; }, Severity::kError, "name", "empty"},
      {"min > max",
       [](Workshop& w) {
         w.range = {7, 3};
       },
       Severity::kError, "range", "min 7 > max 3"},
      {"seat 0",
       [](Workshop& w) {
         w.range = {0, 3};
       },
       Severity::kError, "range", "seat number 0"},
      {"capacity 0", [](Workshop& w) { w.capacity = 0; }, Severity::kWarning, "capacity",
       "cannot be booked"},
      {"capacity > range", [](Workshop& w) { w.capacity = 20; }, Severity::kWarning, "capacity",
       "20 is larger than the 6 seats of range [10,15]"},
      {"negative capacity", [](Workshop& w) { w.capacity = -1; }, Severity::kError, "capacity",
       "negative"},
      {"no description", [](Workshop& w) { w.description = ""; }, Severity::kWarning, "description",
       "missing"},
      {"no badge", [](Workshop& w) { w.badge_img = ""; }, Severity::kWarning, "badgeImg",
       "missing"},
      {"placeholder role", [](Workshop& w) { w.role = "?\?\?"; }, Severity::kWarning, "role",
       "placeholder value '?\?\?'"},
      {"incomplete replay link", [](Workshop& w) { w.replay_link = "https://youtu.be/"; },
       Severity::kWarning, "replayLink", "nothing after the host"},
      {"empty category",
       [](Workshop& w) {
         w.category = {"Open Source", ""};
       },
       Severity::kError, "category[1]", "empty"},
      {"bad location", [](Workshop& w) { w.location = "Main Site"; }, Severity::kError, "location",
       "location name 'Main Site'"},
      {"same alternate", [](Workshop& w) { w.alternate_locations = {"local"}; }, Severity::kWarning,
       "alternateLocation", "same as location"},
      {"reserved variable", [](Workshop& w) { w.variables["STDID"] = "x"; }, Severity::kError,
       "variables.STDID", "cannot be redefined"},
      {"bad variable", [](Workshop& w) { w.variables["1X"] = "x"; }, Severity::kError,
       "variables.1X", "variable name"},
      {"bad appliance name", [](Workshop& w) { w.appliances[0].name = "Web"; }, Severity::kError,
       "appliances[0].name", "appliance name 'Web'"},
      {"duplicate appliance",
       [](Workshop& w) {
         w.appliances.push_back(w.appliances[0]);
         w.appliances[1].ports.clear();
       },
       Severity::kError, "appliances[1].name", "duplicate appliance name 'web'"},
      {"bad image", [](Workshop& w) { w.appliances[0].image = "Bad Image"; }, Severity::kError,
       "appliances[0].image", "image 'Bad Image'"},
      {"container port 0", [](Workshop& w) { w.appliances[0].ports[0].container = 0; },
       Severity::kError, "appliances[0].ports[0].container", "outside 1-65535"},
      {"container port twice", [](Workshop& w) { w.appliances[0].ports[1].container = 8080; },
       Severity::kError, "appliances[0].ports[1].container", "listed twice"},
      {"host ports past 65535", [](Workshop& w) { w.appliances[0].ports[0].host_base = 65532; },
       Severity::kError, "appliances[0].ports[0].hostBase",
       "host ports 65532-65537 for the 6 seats of range [10,15] go past 65535"},
      {"host ports collide", [](Workshop& w) { w.appliances[0].ports[1].host_base = 20005; },
       Severity::kError, "appliances[0].ports[1]",
       "host ports 20005-20010 of appliance 'web' port 22 collide with host ports 20000-20005 "
       "of appliance 'web' port 8080"},
      {"bad env name", [](Workshop& w) { w.appliances[0].env["A-B"] = "x"; }, Severity::kError,
       "appliances[0].env.A-B", "environment variable name"},
      {"tiny memory", [](Workshop& w) { w.appliances[0].memory_bytes = 1 << 20; }, Severity::kError,
       "appliances[0].memory", "1m is below docker's minimum of 6m"},
      {"negative cpus", [](Workshop& w) { w.appliances[0].cpus = -1; }, Severity::kError,
       "appliances[0].cpus", "positive"},
      {"privileged", [](Workshop& w) { w.appliances[0].privileged = true; }, Severity::kWarning,
       "appliances[0].privileged", "root"},
  };
  for (const Case& c : cases) {
    Workshop w = CleanWorkshop();
    c.change(w);
    std::vector<Problem> problems = ValidateWorkshop(w);
    EXPECT_THAT(problems,
                ::testing::Contains(IsProblem(c.severity, std::string(c.field), c.message)))
        << c.name;
  }
}

TEST(ValidateWorkshopTest, ApplianceWithoutPortsNeedsNoRange) {
  Workshop w = CleanWorkshop();
  w.appliances[0].ports.clear();
  w.appliances[0].memory_bytes = 0;  // no limit
  w.appliances[0].cpus = 0;          // no limit
  EXPECT_THAT(ValidateWorkshop(w), ::testing::IsEmpty());
}

}  // namespace
}  // namespace wod::model
