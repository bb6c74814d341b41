// The catalog as files on disk: finds the wod.yml files under the paths an operator gives,
// reads them, and hands their texts to model::BuildCatalog (model/ parses, this reads).
#pragma once

#include <string>
#include <vector>

#include "model/catalog.h"

namespace wod::catalogfs {

// Loads every workshop under `paths`. A path may be:
//  - a directory holding WKSHP-*/wod.yml folders and/or WKSHP-*.yml files (one level deep);
//  - a workshop folder (a directory with a wod.yml): the id is the folder's name;
//  - a .yml/.yaml file: the id is its stem, or its folder's name when it is called wod.yml.
// A missing path, an unreadable or oversized (over 1 MiB) file, a WKSHP-* folder without a
// wod.yml and a directory without workshops are findings, never crashes. Workshops without
// `location` get `default_location`.
model::Catalog LoadCatalog(const std::vector<std::string>& paths,
                           const std::string& default_location);

}  // namespace wod::catalogfs
