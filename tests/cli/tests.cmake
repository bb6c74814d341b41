# `wod controller` and `wod drift` through the binary. The hermetic half reads configs and
# drift; the root half runs passes on a temp root prefix (useradd --prefix needs root: the
# users live in the prefix's /etc only, so no lock) and starts controller processes side by
# side, on SQLite (controller_cli_root_test) and on PostgreSQL (controller_cli_pg_test).
wod_test(controller_cli_test SOURCES cli/controller_cli_test.cc
  LIBS wod_store wod_common nlohmann_json::nlohmann_json)
target_compile_definitions(controller_cli_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(controller_cli_test wod)
wod_test(controller_cli_root_test SOURCES cli/controller_cli_test.cc
  LIBS wod_store wod_common nlohmann_json::nlohmann_json PkgConfig::PQXX LABELS root)
target_compile_definitions(controller_cli_root_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>"
  WOD_CONTROLLER_CLI_ROOT=1)
add_dependencies(controller_cli_root_test wod)
wod_test(controller_cli_pg_test SOURCES cli/controller_cli_test.cc
  LIBS wod_store wod_common nlohmann_json::nlohmann_json PkgConfig::PQXX LABELS root postgres)
target_compile_definitions(controller_cli_pg_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>"
  WOD_CONTROLLER_CLI_ROOT=1 WOD_CONTROLLER_CLI_PG=1)
add_dependencies(controller_cli_pg_test wod)
# `wod mail-ingest` with WoD order mails on stdin, on an embedded store.
wod_test(mail_ingest_cli_test SOURCES cli/mail_ingest_cli_test.cc
  LIBS wod_common nlohmann_json::nlohmann_json)
target_compile_definitions(mail_ingest_cli_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(mail_ingest_cli_test wod)
