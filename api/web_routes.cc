// The web pages of `wod serve`: the portal (/ and /workshops/{id}), the participant page
// (/p/{token}), the instructor dashboard (/dashboard) and their files (/assets/{name}), all
// from the assets embedded at build time (web_assets.h). The pages are static: they read and
// write everything through the JSON API, so no page holds a secret and the server renders
// nothing per request. docs/web.md.
//
// These routes are not API routes: they are outside Routes() (the OpenAPI document describes
// /api/v1 only), and an unknown asset answers the API's usual 404 JSON through the server's
// error handler.
#include <httplib.h>

#include <string>

#include "api/server.h"
#include "api/web_assets.h"

namespace wod::api {
namespace {

// Scripts and styles come from files of this origin only (no inline script or style, no
// other host): a page that got injected markup still cannot run it or send data elsewhere.
constexpr char kContentSecurityPolicy[] =
    "default-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'; "
    "object-src 'none'";

enum class Caching {
  kRevalidate,  // may be kept, but asked again each time (answered 304 when unchanged)
  kNoStore,     // never kept: the URL holds a secret
};

// Writes `asset` (or 304 when the client's copy is current).
void ServeAsset(const WebAsset& asset, Caching caching, const httplib::Request& req,
                httplib::Response& res) {
  res.set_header("Content-Security-Policy", kContentSecurityPolicy);
  if (caching == Caching::kNoStore) {
    res.set_header("Cache-Control", "no-store");
    // The token is in this page's URL: no request from it may carry the URL elsewhere.
    res.set_header("Referrer-Policy", "no-referrer");
  } else {
    // Assets keep their names across versions (no build step to fingerprint them), so a
    // cached copy is revalidated by its strong ETag: a 304 on loopback, never a stale page
    // after an upgrade.
    res.set_header("Cache-Control", "no-cache");
    res.set_header("ETag", std::string(asset.etag));
    if (req.has_header("If-None-Match")) {
      const std::string match = req.get_header_value("If-None-Match");
      if (match == asset.etag || match == "*") {
        res.status = 304;
        return;
      }
    }
  }
  res.status = 200;
  res.set_content(std::string(asset.body), std::string(asset.content_type));
}

}  // namespace

void Server::AddWebRoutes() {
  auto page = [](const char* file, Caching caching) {
    return [file, caching](const httplib::Request& req, httplib::Response& res) {
      const WebAsset* asset = FindWebAsset(file);
      if (asset == nullptr) {
        res.status = 404;  // the error handler writes the JSON body
        return;
      }
      ServeAsset(*asset, caching, req, res);
    };
  };
  http_->Get("/", page("index.html", Caching::kRevalidate));
  http_->Get("/workshops/[^/]+", page("index.html", Caching::kRevalidate));
  http_->Get("/p/[^/]+", page("participant.html", Caching::kNoStore));
  http_->Get("/dashboard", page("dashboard.html", Caching::kRevalidate));
  http_->Get("/assets/(.+)", [](const httplib::Request& req, httplib::Response& res) {
    const WebAsset* asset = FindWebAsset(std::string(req.matches[1]));
    if (asset == nullptr) {
      res.status = 404;
      return;
    }
    ServeAsset(*asset, Caching::kRevalidate, req, res);
  });
}

}  // namespace wod::api
