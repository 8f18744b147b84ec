// What is registered, with every option's declaration: printed by --list_optimizers on
// every task binary, and read back (as JSON) by the suite to check grids.
#ifndef GS_OPTIMIZERS_CATALOG_H_
#define GS_OPTIMIZERS_CATALOG_H_

#include <string>

#include "nlohmann/json.hpp"

namespace gs {

// {"optimizers": {name: [decl...]}, "transforms": {name: [decl...]},
//  "smoothing_common": [decl...]}; the paper's three optimizers first in `order`.
nlohmann::json CatalogJson();

// The same for a person: each optimizer and transform with its options, defaults, ranges.
std::string CatalogText();

}  // namespace gs

#endif  // GS_OPTIMIZERS_CATALOG_H_
