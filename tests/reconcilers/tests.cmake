# Golden-file tests of the planners (tests/golden/plans/<case>/{desired,observed}.yaml ->
# plan.txt), with a test-only YAML loader. WOD_UPDATE_GOLDEN=1 rewrites the plan.txt files.
wod_test(reconcilers_golden_test
  SOURCES reconcilers/golden_plan_test.cc reconcilers/golden_yaml.cc
  LIBS wod_reconcilers yaml-cpp)
