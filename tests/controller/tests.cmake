# Convergence property test of the reconcile pass (fakes + SQLite store, hermetic), split in
# shards so each ctest case stays short.
wod_test(controller_convergence_test SOURCES controller/convergence_test.cc
  LIBS wod_controller wod_catalogfs)
# Live progress in the seat status and the pass statistics (fakes, and the real content driver
# in a temp root prefix).
wod_test(controller_progress_test SOURCES controller/progress_test.cc
  LIBS wod_controller wod_catalogfs)
