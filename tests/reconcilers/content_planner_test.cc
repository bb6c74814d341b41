// Table tests of the content planner: occupy, vacate (harvest before wipe; PURGE wipes without
// harvest), RESET through reset_epoch, turnover of a home that still holds another
// registration's content, unreadable manifests, unknown workshops as seat problems, and
// workshops without notebooks. The first case is the converged one: nothing to do.
#include "reconcilers/content_planner.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/reconcilers/planner_test_util.h"

namespace wod::reconcilers {
namespace {

using model::ObservedSeatContent;
using testing::Occupy;
using testing::TestDesired;
using testing::TestWorkshop;

ObservedSeatContent Deployed(int seat, int64_t registration, const std::string& workshop,
                             int64_t epoch = 0) {
  ObservedSeatContent c;
  c.seat = seat;
  c.home = "/home/student" + std::to_string(seat);
  c.manifest_state = ObservedSeatContent::Manifest::kPresent;
  c.registration_id = registration;
  c.workshop = workshop;
  c.reset_epoch = epoch;
  c.folder = workshop;
  c.files_intact = true;
  return c;
}

ObservedSeatContent Corrupt(int seat) {
  ObservedSeatContent c;
  c.seat = seat;
  c.home = "/home/student" + std::to_string(seat);
  c.manifest_state = ObservedSeatContent::Manifest::kCorrupt;
  c.manifest_error = "is not valid JSON";
  return c;
}

ObservedSeatContent EmptyHome(int seat) {
  ObservedSeatContent c;
  c.seat = seat;
  c.home = "/home/student" + std::to_string(seat);
  return c;
}

struct Case {
  std::string name;
  // Seats 1..3 of WKSHP-A (content /src/WKSHP-A) and 4..5 of WKSHP-Bare (no content_dir); the
  // setup function occupies, resets and purges.
  std::function<void(DesiredState&)> desire;
  std::vector<ObservedSeatContent> observed;
  std::vector<std::string> plan;           // ContentAction::Describe() of each action, in order
  std::vector<std::string> problems = {};  // "seat domain reason"
};

DesiredState BaseDesired() {
  model::Workshop a = TestWorkshop("WKSHP-A", 1, 3);
  a.content_dir = "/src/WKSHP-A";
  model::Workshop bare = TestWorkshop("WKSHP-Bare", 4, 5);
  DesiredState d = TestDesired(a);
  DesiredState b = TestDesired(bare);
  d.workshops[bare.id] = bare;
  d.seats.insert(d.seats.end(), b.seats.begin(), b.seats.end());
  return d;
}

void SetEpoch(DesiredState& d, int seat, int64_t epoch) {
  for (auto& s : d.seats) {
    if (s.number == seat) s.reset_epoch = epoch;
  }
}

const std::vector<Case>& Cases() {
  static const std::vector<Case> cases = {
      {"converged: empty plan",
       [](DesiredState& d) {
         Occupy(d, 1, 10, "pw1");
         Occupy(d, 4, 40, "pw4");
       },
       {Deployed(1, 10, "WKSHP-A"), EmptyHome(2), EmptyHome(4)},
       {}},
      {"occupy: fresh seat gets its workshop rendered for its registration",
       [](DesiredState& d) { Occupy(d, 2, 11, "pw"); },
       {EmptyHome(2)},
       {"deploy seat 2 registration 11 workshop 'WKSHP-A' epoch 0 (seat is occupied)"}},
      {"occupy: a home the driver has not listed yet is deployed too",
       [](DesiredState& d) { Occupy(d, 3, 12, "pw"); },
       {},
       {"deploy seat 3 registration 12 workshop 'WKSHP-A' epoch 0 (seat is occupied)"}},
      {"vacate: harvest before wipe",
       [](DesiredState&) {},
       {Deployed(1, 10, "WKSHP-A")},
       {"harvest seat 1 registration 10 workshop 'WKSHP-A' (seat vacated by registration 10: "
        "harvest before wipe)",
        "wipe seat 1 workshop 'WKSHP-A' (seat vacated by registration 10)"}},
      {"purge: wipe without harvest",
       [](DesiredState& d) { d.purged_registrations.insert(10); },
       {Deployed(1, 10, "WKSHP-A")},
       {"wipe seat 1 workshop 'WKSHP-A' (seat vacated by registration 10)"}},
      {"vacant seat with an unreadable manifest is wiped, nothing to harvest",
       [](DesiredState&) {},
       {Corrupt(2)},
       {"wipe seat 2 (seat is vacant; manifest is not valid JSON)"}},
      {"reset: a new epoch redeploys pristine over the same folder, no harvest",
       [](DesiredState& d) {
         Occupy(d, 1, 10, "pw");
         SetEpoch(d, 1, 1);
       },
       {Deployed(1, 10, "WKSHP-A", 0)},
       {"deploy seat 1 registration 10 workshop 'WKSHP-A' epoch 1 (seat was reset (epoch 1))"}},
      {"reset already applied: converged",
       [](DesiredState& d) {
         Occupy(d, 1, 10, "pw");
         SetEpoch(d, 1, 1);
       },
       {Deployed(1, 10, "WKSHP-A", 1)},
       {}},
      {"turnover: the previous registration is harvested and wiped before the new deploy",
       [](DesiredState& d) { Occupy(d, 1, 20, "pw"); },
       {Deployed(1, 10, "WKSHP-A")},
       {"harvest seat 1 registration 10 workshop 'WKSHP-A' (content belongs to registration 10: "
        "harvest before wipe)",
        "wipe seat 1 workshop 'WKSHP-A' (content belongs to registration 10)",
        "deploy seat 1 registration 20 workshop 'WKSHP-A' epoch 0 (seat is occupied)"}},
      {"turnover after purge: wiped without harvest",
       [](DesiredState& d) {
         Occupy(d, 1, 20, "pw");
         d.purged_registrations.insert(10);
       },
       {Deployed(1, 10, "WKSHP-A")},
       {"wipe seat 1 workshop 'WKSHP-A' (content belongs to registration 10)",
        "deploy seat 1 registration 20 workshop 'WKSHP-A' epoch 0 (seat is occupied)"}},
      {"occupied seat with an unreadable manifest is wiped and redeployed",
       [](DesiredState& d) { Occupy(d, 2, 11, "pw"); },
       {Corrupt(2)},
       {"wipe seat 2 (manifest is not valid JSON)",
        "deploy seat 2 registration 11 workshop 'WKSHP-A' epoch 0 (replacing unreadable "
        "content)"}},
      {"workshop changed for the same registration: old folder wiped, new one deployed",
       [](DesiredState& d) { Occupy(d, 1, 10, "pw"); },
       {Deployed(1, 10, "WKSHP-Old")},
       {"wipe seat 1 workshop 'WKSHP-Old' (workshop changed to 'WKSHP-A')",
        "deploy seat 1 registration 10 workshop 'WKSHP-A' epoch 0 (workshop changed to "
        "'WKSHP-A')"}},
      {"workshop without notebooks: an occupied seat needs nothing",
       [](DesiredState& d) { Occupy(d, 4, 40, "pw"); },
       {EmptyHome(4)},
       {}},
      {"workshop without notebooks: vacating still harvests and wipes",
       [](DesiredState&) {},
       {Deployed(4, 40, "WKSHP-Old")},
       {"harvest seat 4 registration 40 workshop 'WKSHP-Old' (seat vacated by registration 40: "
        "harvest before wipe)",
        "wipe seat 4 workshop 'WKSHP-Old' (seat vacated by registration 40)"}},
      {"workshop without notebooks: turnover still clears the previous occupant's content",
       [](DesiredState& d) { Occupy(d, 4, 41, "pw"); },
       {Deployed(4, 40, "WKSHP-Old")},
       {"harvest seat 4 registration 40 workshop 'WKSHP-Old' (content belongs to registration "
        "40: harvest before wipe)",
        "wipe seat 4 workshop 'WKSHP-Old' (content belongs to registration 40)"}},
      {"workshop without notebooks: an unreadable manifest is wiped",
       [](DesiredState& d) { Occupy(d, 5, 41, "pw"); },
       {Corrupt(5)},
       {"wipe seat 5 (manifest is not valid JSON)"}},
      {"workshop without notebooks: reset wipes what an earlier deploy left",
       [](DesiredState& d) {
         Occupy(d, 4, 40, "pw");
         SetEpoch(d, 4, 2);
       },
       {Deployed(4, 40, "WKSHP-Bare", 1)},
       {"wipe seat 4 workshop 'WKSHP-Bare' (seat was reset (epoch 2))"}},
      {"unknown workshop: a seat problem, and another registration's content still goes",
       [](DesiredState& d) {
         Occupy(d, 2, 11, "pw");
         d.workshops.erase("WKSHP-A");
       },
       {Deployed(2, 9, "WKSHP-A")},
       {"harvest seat 2 registration 9 workshop 'WKSHP-A' (content belongs to registration 9: "
        "harvest before wipe)",
        "wipe seat 2 workshop 'WKSHP-A' (content belongs to registration 9)"},
       {"2 content UnknownWorkshop"}},
      {"unknown workshop: the occupant's own content is kept",
       [](DesiredState& d) {
         Occupy(d, 2, 11, "pw");
         d.workshops.erase("WKSHP-A");
       },
       {Deployed(2, 11, "WKSHP-A")},
       {},
       {"2 content UnknownWorkshop"}},
      {"orphan: a home of a seat no longer in the pool is harvested and wiped",
       [](DesiredState&) {},
       {Deployed(9, 90, "WKSHP-A"), EmptyHome(10)},
       {"harvest seat 9 registration 90 workshop 'WKSHP-A' (seat is no longer in the pool: "
        "harvest before wipe)",
        "wipe seat 9 workshop 'WKSHP-A' (seat is no longer in the pool)"}},
      {"several seats: actions come by seat, pool first, orphans last",
       [](DesiredState& d) {
         Occupy(d, 3, 13, "pw");
         Occupy(d, 1, 11, "pw");
       },
       {Deployed(2, 12, "WKSHP-A"), Deployed(7, 70, "WKSHP-A")},
       {"deploy seat 1 registration 11 workshop 'WKSHP-A' epoch 0 (seat is occupied)",
        "harvest seat 2 registration 12 workshop 'WKSHP-A' (seat vacated by registration 12: "
        "harvest before wipe)",
        "wipe seat 2 workshop 'WKSHP-A' (seat vacated by registration 12)",
        "deploy seat 3 registration 13 workshop 'WKSHP-A' epoch 0 (seat is occupied)",
        "harvest seat 7 registration 70 workshop 'WKSHP-A' (seat is no longer in the pool: "
        "harvest before wipe)",
        "wipe seat 7 workshop 'WKSHP-A' (seat is no longer in the pool)"}},
  };
  return cases;
}

class ContentPlannerTable : public ::testing::TestWithParam<Case> {};

TEST_P(ContentPlannerTable, PlansExactlyTheseActions) {
  const Case& c = GetParam();
  DesiredState d = BaseDesired();
  c.desire(d);
  model::ObservedContent observed;
  observed.seats = c.observed;
  ContentPlan plan = PlanContent(d, observed);
  EXPECT_THAT(testing::Describe(plan.actions), ::testing::ElementsAreArray(c.plan));
  std::vector<std::string> problems;
  for (const auto& p : plan.problems) {
    problems.push_back(std::to_string(p.seat) + " " + p.domain + " " + p.reason);
  }
  EXPECT_THAT(problems, ::testing::ElementsAreArray(c.problems));
  // Planning the same input twice gives the same plan: no hidden state.
  EXPECT_EQ(testing::Describe(PlanContent(d, observed).actions), testing::Describe(plan.actions));
}

std::string CaseName(const ::testing::TestParamInfo<Case>& info) {
  std::string out = std::to_string(info.index) + "_";
  for (char ch : info.param.name) {
    if (std::isalnum(static_cast<unsigned char>(ch)))
      out += ch;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cases, ContentPlannerTable, ::testing::ValuesIn(Cases()), CaseName);

TEST(ContentPlanner, DeployCarriesTheSeatsVariablesAndSource) {
  DesiredState d = BaseDesired();
  Occupy(d, 2, 11, "secret-pw");
  ContentPlan plan = PlanContent(d, {});
  ASSERT_EQ(plan.actions.size(), 1u);
  const model::ContentAction& a = plan.actions[0];
  EXPECT_EQ(a.content_dir, "/src/WKSHP-A");
  EXPECT_EQ(a.variables.at("PASSSTU"), "secret-pw");
  EXPECT_EQ(a.variables.at("STDID"), "2");
  EXPECT_THAT(a.Describe(), ::testing::Not(::testing::HasSubstr("secret-pw")));
}

TEST(ContentPlanner, HarvestAlwaysPrecedesTheWipeOfTheSameRegistration) {
  // Over every table case: a wipe of a seat whose content was a non-purged registration's is
  // preceded, in the same plan, by that registration's harvest.
  for (const Case& c : Cases()) {
    DesiredState d = BaseDesired();
    c.desire(d);
    model::ObservedContent observed;
    observed.seats = c.observed;
    ContentPlan plan = PlanContent(d, observed);
    for (size_t i = 0; i < plan.actions.size(); ++i) {
      const auto& a = plan.actions[i];
      if (a.kind != model::ContentAction::Kind::kHarvest) continue;
      ASSERT_LT(i + 1, plan.actions.size()) << c.name;
      EXPECT_EQ(plan.actions[i + 1].kind, model::ContentAction::Kind::kWipe) << c.name;
      EXPECT_EQ(plan.actions[i + 1].seat, a.seat) << c.name;
      EXPECT_FALSE(d.purged_registrations.count(a.registration_id)) << c.name;
    }
  }
}

}  // namespace
}  // namespace wod::reconcilers
