#include "optimizers/registry.h"

namespace gs {

absl::Status Require(bool ok, absl::string_view owner, absl::string_view what) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(owner, ": ", what));
}

}  // namespace gs
