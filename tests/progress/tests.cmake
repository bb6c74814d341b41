# Live progress and the controllers' pass statistics (store migration 5, the controller's
# observation, /api/v1/me, /api/v1/seats, /metrics). The sources live in the areas they test;
# the targets are declared here so this work does not edit the store and API areas' lists.
wod_test(store_progress_test SOURCES store/store_progress_test.cc LIBS wod_store PkgConfig::PQXX)
wod_test(store_progress_pg_test SOURCES store/store_progress_test.cc
  LIBS wod_store PkgConfig::PQXX LABELS postgres)
target_compile_definitions(store_progress_pg_test PRIVATE WOD_STORE_TEST_POSTGRES)
# /api/v1/me and /api/v1/seats with live progress, /metrics with the pass statistics (SQLite).
wod_test(api_progress_test SOURCES api/progress_api_test.cc LIBS wod_api PkgConfig::PQXX)
