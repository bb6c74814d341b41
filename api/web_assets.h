// The files of api/web/ (portal, participant page, dashboard, shared CSS and JS), embedded in
// the binary at build time by api/embed_web_assets.cmake: `wod serve` needs no file on disk
// and serves exactly the bytes that were built. docs/web.md.
#pragma once

#include <string_view>
#include <vector>

namespace wod::api {

struct WebAsset {
  std::string_view name;          // path under api/web/: "index.html", "js/portal.js"
  std::string_view content_type;  // from the extension: "text/css; charset=utf-8"
  std::string_view body;
  std::string_view etag;  // a strong validator, quoted: "\"3f2a...\"" (SHA-256 prefix)
};

// Every embedded file, sorted by name.
const std::vector<WebAsset>& WebAssets();

// The asset called `name`, or nullptr.
const WebAsset* FindWebAsset(std::string_view name);

}  // namespace wod::api
