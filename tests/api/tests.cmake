# API tests: the pure validators, the server over HTTP against a real SQLite store, and the
# registration burst on both stores.
wod_test(api_body_test SOURCES api/body_test.cc LIBS wod_api)
wod_test(api_server_test SOURCES api/server_test.cc LIBS wod_api PkgConfig::PQXX)
wod_test(api_burst_test SOURCES api/burst_test.cc LIBS wod_api PkgConfig::PQXX)
wod_test(api_burst_pg_test SOURCES api/burst_test.cc LIBS wod_api PkgConfig::PQXX
  LABELS postgres)
target_compile_definitions(api_burst_pg_test PRIVATE WOD_API_TEST_POSTGRES)

# The registration body validator as a libFuzzer target; ctest replays its seed corpus.
# (tests/fuzz's wod_fuzz_target resolves replay_main.cc against the caller's directory, so it
# cannot be called from here: the same two cases, spelled out.)
set(api_fuzz_corpus ${CMAKE_CURRENT_SOURCE_DIR}/api/corpus/registration)
if(WOD_FUZZ)
  add_executable(api_registration_fuzz api/registration_fuzz.cc)
  target_link_options(api_registration_fuzz PRIVATE -fsanitize=fuzzer)
  add_test(NAME api_registration_fuzz_corpus
    COMMAND api_registration_fuzz -runs=0 ${api_fuzz_corpus})
else()
  add_executable(api_registration_fuzz api/registration_fuzz.cc fuzz/replay_main.cc)
  add_test(NAME api_registration_fuzz_corpus COMMAND api_registration_fuzz ${api_fuzz_corpus})
endif()
target_link_libraries(api_registration_fuzz PRIVATE wod_options wod_api)
set_tests_properties(api_registration_fuzz_corpus PROPERTIES LABELS fuzz)

# `wod serve` as a process.
wod_test(api_serve_cli_test SOURCES api/serve_cli_test.cc LIBS wod_api PkgConfig::PQXX)
target_compile_definitions(api_serve_cli_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(api_serve_cli_test wod)

# Admin/operator routes (bearer tokens) and the participant view over HTTP on SQLite.
wod_test(api_admin_test SOURCES api/admin_test.cc LIBS wod_api PkgConfig::PQXX)

# The dashboard's routes: registrations as CSV and whoami, on both stores.
wod_test(api_csv_test SOURCES api/csv_test.cc LIBS wod_api PkgConfig::PQXX)
wod_test(api_csv_pg_test SOURCES api/csv_test.cc LIBS wod_api PkgConfig::PQXX LABELS postgres)
target_compile_definitions(api_csv_pg_test PRIVATE WOD_API_TEST_POSTGRES)
