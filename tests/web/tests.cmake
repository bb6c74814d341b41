# The web pages: their routes over HTTP (hermetic), and the browser tests (tests/web/*.test.js:
# playwright-core driving Debian's chromium against a real `wod up`; docs/web.md).
wod_test(web_routes_test SOURCES web/web_routes_test.cc LIBS wod_api)
