# The lifecycle planner (pure table tests), the lifecycle runner and outbox sender over a real
# SQLite store with the fake mail sender and a fake clock, and one run against a real SMTP
# server (label smtp).
wod_test(lifecycle_planner_test SOURCES lifecycle/lifecycle_planner_test.cc LIBS wod_reconcilers)
wod_test(lifecycle_test SOURCES lifecycle/lifecycle_test.cc LIBS wod_controller)
wod_test(lifecycle_smtp_test SOURCES lifecycle/lifecycle_smtp_test.cc LIBS wod_controller
  LABELS smtp)
