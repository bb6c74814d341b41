# `wod up` through the binary: API + controller + lifecycle in one process on a temp SQLite
# store. The hermetic half checks the config sections `wod up` adds; the root half
# (useradd --prefix needs root: users live in a temp root's /etc only) registers through the
# API, waits for Ready and the mails in a maildir, and stops it with SIGTERM.
wod_test(up_cli_test SOURCES up/up_cli_test.cc
  LIBS wod_api wod_store wod_common nlohmann_json::nlohmann_json)
target_compile_definitions(up_cli_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>")
add_dependencies(up_cli_test wod)
wod_test(up_cli_root_test SOURCES up/up_cli_test.cc
  LIBS wod_api wod_store wod_common nlohmann_json::nlohmann_json LABELS root)
target_compile_definitions(up_cli_root_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>"
  WOD_UP_CLI_ROOT=1)
add_dependencies(up_cli_root_test wod)
# The same scenario with `mail.smtp_url`: mails through a real SMTP server (scripts/services/smtp).
wod_test(up_cli_smtp_test SOURCES up/up_cli_test.cc
  LIBS wod_api wod_store wod_common nlohmann_json::nlohmann_json LABELS root smtp)
target_compile_definitions(up_cli_smtp_test PRIVATE WOD_BINARY="$<TARGET_FILE:wod>"
  WOD_UP_CLI_ROOT=1 WOD_UP_CLI_SMTP=1)
add_dependencies(up_cli_smtp_test wod)
