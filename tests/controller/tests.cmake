# Convergence property test of the reconcile pass (fakes + SQLite store, hermetic), split in
# shards so each ctest case stays short.
wod_test(controller_convergence_test SOURCES controller/convergence_test.cc LIBS wod_controller)
