// Golden-file tests of the pass's plan: each folder of tests/golden/plans/ holds a desired.yaml
// and an observed.yaml (see README.md there) and the plan.txt that reconcilers::PlanPass (the
// function the controller and `wod drift --live` run) must produce from them, printed by
// reconcilers::PassPlanText. WOD_UPDATE_GOLDEN=1 rewrites plan.txt; review
// the diff before committing it.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "reconcilers/pass_plan.h"
#include "tests/reconcilers/golden_yaml.h"

namespace wod::reconcilers {
namespace {

namespace fs = std::filesystem;

fs::path PlansDir() { return fs::path(WOD_SOURCE_DIR) / "tests/golden/plans"; }

std::string ReadFile(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> CaseNames() {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(PlansDir(), ec)) {
    if (e.is_directory() && fs::exists(e.path() / "desired.yaml")) {
      out.push_back(e.path().filename().string());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

class GoldenPlan : public ::testing::TestWithParam<std::string> {};

TEST_P(GoldenPlan, PlanMatchesPlanTxt) {
  const fs::path dir = PlansDir() / GetParam();
  model::AccountPolicy policy;
  auto desired = testing::LoadDesiredYaml(ReadFile(dir / "desired.yaml"));
  ASSERT_TRUE(desired.ok()) << desired.status();
  auto observed = testing::LoadObservedYaml(ReadFile(dir / "observed.yaml"), *desired, policy);
  ASSERT_TRUE(observed.ok()) << observed.status();
  const std::string text = PassPlanText(PlanPass(*desired, *observed, policy));
  const char* update = std::getenv("WOD_UPDATE_GOLDEN");
  if (update != nullptr && std::string(update) == "1") {
    std::ofstream(dir / "plan.txt", std::ios::binary | std::ios::trunc) << text;
    GTEST_SKIP() << "rewrote " << (dir / "plan.txt");
  }
  ASSERT_TRUE(fs::exists(dir / "plan.txt")) << "no plan.txt; run with WOD_UPDATE_GOLDEN=1";
  EXPECT_EQ(text, ReadFile(dir / "plan.txt"))
      << "plan of " << GetParam() << " differs from plan.txt (WOD_UPDATE_GOLDEN=1 rewrites it)";
  // The same input plans the same way twice: planners are pure.
  EXPECT_EQ(PassPlanText(PlanPass(*desired, *observed, policy)), text);
}

TEST(GoldenPlanCases, ThereAreAtLeastSix) { EXPECT_GE(CaseNames().size(), 6u); }

INSTANTIATE_TEST_SUITE_P(Plans, GoldenPlan, ::testing::ValuesIn(CaseNames()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string n = info.param;
                           for (char& c : n) {
                             if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
                           }
                           return n;
                         });

}  // namespace
}  // namespace wod::reconcilers
