#include "optimizers/catalog.h"

#include "absl/strings/str_cat.h"
#include "optimizers/base_optimizer.h"
#include "optimizers/depth_transform.h"
#include "optimizers/optimizer.h"

namespace gs {

nlohmann::json CatalogJson() {
  nlohmann::json catalog = {{"optimizers", nlohmann::json::object()},
                            {"transforms", nlohmann::json::object()},
                            {"smoothing_common", CommonSmoothingOptions().ToJson()}};
  for (const std::string& name : BaseOptimizers().Names()) {
    catalog["optimizers"][name] = (*BaseOptimizers().Schema(name))->ToJson();
  }
  for (const std::string& name : DepthTransforms().Names()) {
    catalog["transforms"][name] = (*DepthTransforms().Schema(name))->ToJson();
  }
  return catalog;
}

std::string CatalogText() {
  std::string out =
      "Base optimizers (--optimizer=NAME --optimizer_options=key=value,...; lr and "
      "weight_decay come from the preset, --lr sets lr):\n";
  for (const std::string& name : BaseOptimizers().Names()) {
    absl::StrAppend(&out, "  ", name, "\n", (*BaseOptimizers().Schema(name))->Describe());
  }
  absl::StrAppend(&out,
                  "\nDepth transforms (--smoothing=NAME --smoothing_options=key=value,...; "
                  "--smoothing_alpha, --window_radius, --smoothing_kernel, --smoothing_variant, "
                  "--smoothing_scope and --smoothing_target spell those options):\n");
  for (const std::string& name : DepthTransforms().Names()) {
    absl::StrAppend(&out, "  ", name, "\n", (*DepthTransforms().Schema(name))->Describe());
  }
  absl::StrAppend(&out, "\nOptions every depth transform has:\n",
                  CommonSmoothingOptions().Describe());
  return out;
}

}  // namespace gs
