# The shipped systemd units (examples/systemd/) read as systemd reads them, and judged by
# systemd-analyze where it exists (skipped with a reason where it cannot run).
wod_test(examples_systemd_test SOURCES examples/systemd_units_test.cc LIBS wod_common)
