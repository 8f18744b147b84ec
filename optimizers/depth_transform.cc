#include "optimizers/depth_transform.h"

namespace gs {

Registry<DepthTransform, DepthTransformSpec>& DepthTransforms() {
  static auto* registry = new Registry<DepthTransform, DepthTransformSpec>("depth transform");
  return *registry;
}

absl::StatusOr<std::unique_ptr<DepthTransform>> CreateDepthTransform(
    absl::string_view name, const DepthTransformSpec& spec) {
  return DepthTransforms().Create(name, spec);
}

DepthMix IdentityTransform::MixFor(const at::Tensor& d) const { return *FixedMix(d.size(0)); }

std::optional<DepthMix> IdentityTransform::FixedMix(int64_t depth) const {
  DepthMix mix;
  for (int64_t l = 0; l < depth; ++l) mix.rows.push_back({{l, 1.0}});
  return mix;
}

GS_REGISTER_DEPTH_TRANSFORM("identity", [](const DepthTransformSpec& spec)
                                            -> absl::StatusOr<std::unique_ptr<DepthTransform>> {
  SpecOptions options("identity", spec.options);
  if (absl::Status s = options.Finish(); !s.ok()) return s;
  return std::make_unique<IdentityTransform>();
});

}  // namespace gs
