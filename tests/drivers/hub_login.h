// How a participant logs in to JupyterHub with the password of their seat, as a browser does,
// for tests (and as the reference for the end-to-end test): POST /hub/login with the form
// fields `username` and `password`. JupyterHub 3.0 checks no XSRF token on that form; later
// hubs do, so the helper first GETs the login page and, when it sets an `_xsrf` cookie, sends
// it back as cookie and form field. Success is a 302 redirect that sets the
// `jupyterhub-hub-login` cookie; a wrong password re-renders the form (200 on 3.0, 403 later).
#pragma once

#include <string>

#include <httplib.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace wod::testing {

// The "name=value" of every cookie a response sets, joined for a Cookie header.
inline std::string CookiesOf(const httplib::Response& res) {
  std::string out;
  for (size_t i = 0; i < res.get_header_value_count("Set-Cookie"); ++i) {
    std::string c = res.get_header_value("Set-Cookie", i);
    c = c.substr(0, c.find(';'));
    if (!out.empty()) out += "; ";
    out += c;
  }
  return out;
}

// Logs `user` in at `hub_url` ("http://127.0.0.1:PORT"). Returns the session cookies on
// success, PermissionDenied when the hub refuses the password, Unavailable when it does not
// answer.
inline absl::StatusOr<std::string> HubLogin(const std::string& hub_url, const std::string& user,
                                            const std::string& password) {
  httplib::Client client(hub_url);
  client.set_connection_timeout(2);
  client.set_read_timeout(30);
  auto page = client.Get("/hub/login");
  if (!page) return absl::UnavailableError("hub login page did not answer");
  std::string cookies = CookiesOf(*page);
  httplib::Params form{{"username", user}, {"password", password}};
  size_t xsrf = cookies.find("_xsrf=");
  if (xsrf != std::string::npos) {
    std::string value = cookies.substr(xsrf + 6);
    form.emplace("_xsrf", value.substr(0, value.find(';')));
  }
  httplib::Headers headers;
  if (!cookies.empty()) headers.emplace("Cookie", cookies);
  auto res = client.Post("/hub/login", headers, form);
  if (!res) return absl::UnavailableError("hub login did not answer");
  std::string session = CookiesOf(*res);
  if (res->status == 302 && absl::StrContains(session, "jupyterhub-hub-login=")) return session;
  if (res->status == 200 || res->status == 403) {
    return absl::PermissionDeniedError(absl::StrCat("hub refused the login of '", user, "'"));
  }
  return absl::UnavailableError(absl::StrCat("hub login answered ", res->status));
}

}  // namespace wod::testing
