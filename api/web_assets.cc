#include "api/web_assets.h"

#include <algorithm>

namespace wod::api {

const WebAsset* FindWebAsset(std::string_view name) {
  // A dozen files: a linear search costs less than keeping an index.
  const std::vector<WebAsset>& assets = WebAssets();
  auto it = std::find_if(assets.begin(), assets.end(),
                         [name](const WebAsset& a) { return a.name == name; });
  return it == assets.end() ? nullptr : &*it;
}

}  // namespace wod::api
