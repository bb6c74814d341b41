// Canonical YAML for a workshop: the form `wod.yml` files are written back in (a fixed key order,
// every text double-quoted, empty optional fields left out). docs/catalog.md "Canonical YAML".
#pragma once

#include <string>

#include "model/types.h"

namespace wod::catalogfs {

// ParseWorkshopYaml (model/catalog.h) of the result gives back an equal Workshop, and writing
// that again gives the same text.
std::string WorkshopToYaml(const model::Workshop& w);

}  // namespace wod::catalogfs
