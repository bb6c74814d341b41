# The web pages: their routes over HTTP (hermetic), and the browser tests (tests/web/*.test.js:
# playwright-core driving Debian's chromium against a real `wod up`; docs/web.md).
wod_test(web_routes_test SOURCES web/web_routes_test.cc LIBS wod_api)

# Every tests/web/NAME.test.js is the ctest test web_NAME_test, run by node with the wod binary
# in WOD_BIN. They need root (real Linux accounts), the test hub and chromium: without them
# they exit 77 (skipped), or fail under WOD_REQUIRE_SERVICES=1. playwright-core comes from
# `npm ci --prefix tests/web` (scripts/test runs it). Each test uses its own user prefix and
# uid range (harness.js startWod), so they may run in parallel.
find_program(WOD_NODE node)
if(NOT WOD_NODE)
  set(WOD_NODE node)  # found at run time, or the test fails saying so
endif()
file(GLOB wod_web_browser_tests CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/*.test.js)
foreach(js ${wod_web_browser_tests})
  get_filename_component(stem ${js} NAME_WE)
  add_test(NAME web_${stem}_test COMMAND ${WOD_NODE} ${js})
  set_tests_properties(web_${stem}_test PROPERTIES
    LABELS "web;browser;root;hub"
    ENVIRONMENT "WOD_BIN=$<TARGET_FILE:wod>;WOD_SCREENSHOT_DIR=${CMAKE_BINARY_DIR}/web-screenshots"
    SKIP_RETURN_CODE 77
    TIMEOUT 300
    RESOURCE_LOCK "web_${stem}_users")
endforeach()
# The dashboard at 20 locations × 1,000 seats (a `wod serve` without a controller on a
# generated store) provisions nothing: it needs neither root nor the hub. It measures the first
# view against 1 s, so it runs alone (RUN_SERIAL): beside another browser test on two cores
# its cold view took 1.18 s in one CI run (load 4.7), 0.37-0.84 s otherwise.
if(TEST web_dashboard_scale_test)
  set_tests_properties(web_dashboard_scale_test PROPERTIES LABELS "web;browser" RUN_SERIAL TRUE)
endif()
