# The lifecycle planner (pure table tests), the lifecycle runner and outbox sender over a real
# SQLite store with the fake mail sender and a fake clock, and one run against a real SMTP
# server (label smtp).
wod_test(lifecycle_planner_test SOURCES lifecycle/lifecycle_planner_test.cc LIBS wod_reconcilers)
wod_test(lifecycle_test SOURCES lifecycle/lifecycle_test.cc LIBS wod_controller wod_catalogfs)
wod_test(lifecycle_smtp_test SOURCES lifecycle/lifecycle_smtp_test.cc LIBS wod_controller
  wod_catalogfs
  LABELS smtp)

# The participant page token (HMAC of a nonce under the server's secret).
wod_test(participant_token_test SOURCES lifecycle/participant_token_test.cc LIBS wod_model)
# The lifecycle next to the API on SQLite: page links in mails open /api/v1/me, mail outcomes
# on /metrics and in the events.
wod_test(lifecycle_api_test SOURCES lifecycle/lifecycle_api_test.cc
  LIBS wod_controller wod_api PkgConfig::PQXX)
# `wod serve` processes on one PostgreSQL store: one runs the lifecycle under its lease, another
# takes over when it dies; the participant token secret file.
wod_test(serve_lifecycle_pg_test SOURCES lifecycle/serve_lifecycle_pg_test.cc
  LIBS wod_api wod_store PkgConfig::PQXX LABELS postgres)
target_compile_definitions(serve_lifecycle_pg_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(serve_lifecycle_pg_test wod)
# The YAML config readers of serve/up/controller (api:, mail:, lifecycle:, the controller's
# sections) as a libFuzzer target; ctest replays its seed corpus. The CLI's readers are not a
# library: their sources are compiled in.
wod_fuzz_target(config_fuzz SOURCE lifecycle/config_fuzz.cc CORPUS corpus/config
  LIBS wod_api wod_controller wod_drivers_accounts wod_drivers_hub wod_drivers_content
  wod_drivers_appliances wod_drivers_mail yaml-cpp)
target_sources(config_fuzz PRIVATE ${PROJECT_SOURCE_DIR}/cli/daemon_common.cc
  ${PROJECT_SOURCE_DIR}/cli/controller_config.cc)
# The lifecycle's guarded verbs under a race played out between load and verb, on both stores.
wod_test(lifecycle_race_test SOURCES lifecycle/lifecycle_race_test.cc
  LIBS wod_controller wod_api PkgConfig::PQXX)
wod_test(lifecycle_race_pg_test SOURCES lifecycle/lifecycle_race_test.cc
  LIBS wod_controller wod_api PkgConfig::PQXX LABELS postgres)
target_compile_definitions(lifecycle_race_pg_test PRIVATE WOD_LIFECYCLE_TEST_POSTGRES)
