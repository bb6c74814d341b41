# The end-to-end test of issue 5 (tests/e2e/e2e_test.cc): `wod up` with real accounts
# (wode2e1.., uids 62000..62009), the test JupyterHub, the test SMTP server and, when there,
# the test Docker engine. LOCK: one run at a time holds those users.
wod_test(e2e_test SOURCES e2e/e2e_test.cc
  LIBS wod_drivers_accounts wod_drivers_hub wod_drivers_appliances wod_common
       PkgConfig::HTTPLIB nlohmann_json::nlohmann_json
  LABELS root hub smtp docker LOCK real_root_user_wode2e)
target_compile_definitions(e2e_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(e2e_test wod)

# The two-backend end-to-end test of issue 12 (tests/e2e/two_backends_test.cc): one PostgreSQL,
# locations east (wodeast<N>, uids 66000..66099, the test JupyterHub) and west (wodwest<N>,
# uids 66100..66199, a JupyterHub the test starts), a `wod controller` each and two `wod serve`.
# LOCK: one run at a time holds those users.
wod_test(two_backends_test SOURCES e2e/two_backends_test.cc
  LIBS wod_store wod_drivers_accounts wod_drivers_hub wod_common
       PkgConfig::HTTPLIB PkgConfig::PQXX nlohmann_json::nlohmann_json
  LABELS root hub postgres LOCK real_root_user_wodeastwest)
target_compile_definitions(two_backends_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(two_backends_test wod)
