# The controller crash test: real accounts (users wodcrash1..50, uids 61001..61050), a real
# PostgreSQL store, JupyterHub and Docker, `wod controller` SIGKILLed and restarted. Its own
# label `crash` so it can be run alone: ctest -L crash.
wod_test(crash_test SOURCES crash/crash_test.cc
  LIBS wod_store wod_drivers_accounts wod_drivers_content wod_drivers_hub wod_drivers_appliances
       PkgConfig::PQXX nlohmann_json::nlohmann_json
  LABELS crash root postgres hub docker LOCK real_root_user_wodcrash)
target_compile_definitions(crash_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(crash_test wod)
