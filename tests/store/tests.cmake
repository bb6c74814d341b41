# The store's hot-path queries and guarded verbs, on SQLite and on PostgreSQL.
wod_test(store_queries_test SOURCES store/store_queries_test.cc LIBS wod_store PkgConfig::PQXX)
wod_test(store_queries_pg_test SOURCES store/store_queries_test.cc
  LIBS wod_store PkgConfig::PQXX LABELS postgres)
target_compile_definitions(store_queries_pg_test PRIVATE WOD_STORE_TEST_POSTGRES)

# The SQL layer's pieces: named parameters, columns read by name, the connection pool.
wod_test(store_sql_db_test SOURCES store/sql_db_test.cc LIBS wod_store PkgConfig::PQXX)
