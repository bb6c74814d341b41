# API tests: the pure validators, the server over HTTP against a real SQLite store, and the
# registration burst on both stores.
wod_test(api_body_test SOURCES api/body_test.cc LIBS wod_api)
wod_test(api_server_test SOURCES api/server_test.cc LIBS wod_api PkgConfig::PQXX)
wod_test(api_burst_test SOURCES api/burst_test.cc LIBS wod_api PkgConfig::PQXX)
wod_test(api_burst_pg_test SOURCES api/burst_test.cc LIBS wod_api PkgConfig::PQXX
  LABELS postgres)
target_compile_definitions(api_burst_pg_test PRIVATE WOD_API_TEST_POSTGRES)
