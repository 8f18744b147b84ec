#include "optimizers/depth_transform.h"

#include "optimizers/kernels.h"

namespace gs {
namespace {

// 1 / x, or 0 for a zero x (a zero block stays zero).
std::vector<double> Inverses(const std::vector<double>& x) {
  std::vector<double> inv(x.size());
  for (size_t i = 0; i < x.size(); ++i) inv[i] = x[i] > 0.0 ? 1.0 / x[i] : 0.0;
  return inv;
}

}  // namespace

OptionSchema VariantOption() {
  return OptionSchema().Choice("variant", "standard", {"standard", "norm", "direction"},
                               "standard: W D; norm: rescale each block to its own norm; "
                               "direction: mix unit directions, then rescale");
}

SmoothingVariant VariantFromName(const std::string& name) {
  if (name == "norm") return SmoothingVariant::kNorm;
  if (name == "direction") return SmoothingVariant::kDirection;
  return SmoothingVariant::kStandard;
}

const char* VariantName(SmoothingVariant variant) {
  switch (variant) {
    case SmoothingVariant::kStandard: return "standard";
    case SmoothingVariant::kNorm: return "norm";
    case SmoothingVariant::kDirection: return "direction";
  }
  return "standard";
}

std::optional<DepthMix> LinearDepthTransform::FixedMix(int64_t depth) const {
  if (variant_ != SmoothingVariant::kStandard) return std::nullopt;
  return BaseMix(depth);
}

DepthMix LinearDepthTransform::MixFor(const at::Tensor& d) const {
  DepthMix mix = BaseMix(d.size(0));
  switch (variant_) {
    case SmoothingVariant::kStandard:
      break;
    case SmoothingVariant::kNorm: {
      // D'_l = ||D_l|| / ||(W D)_l|| (W D)_l.
      const std::vector<double> norms = kernels::BlockNorms(d);
      std::vector<double> scale = Inverses(kernels::MixedBlockNorms(mix, d));
      for (size_t l = 0; l < scale.size(); ++l) scale[l] *= norms[l];
      mix.ScaleRows(scale);
      break;
    }
    case SmoothingVariant::kDirection: {
      // U_j = D_j / ||D_j||;  D'_l = ||D_l|| / ||(W U)_l|| (W U)_l.
      const std::vector<double> norms = kernels::BlockNorms(d);
      mix.ScaleColumns(Inverses(norms));
      std::vector<double> scale = Inverses(kernels::MixedBlockNorms(mix, d));
      for (size_t l = 0; l < scale.size(); ++l) scale[l] *= norms[l];
      mix.ScaleRows(scale);
      break;
    }
  }
  return mix;
}

Registry<DepthTransform, DepthTransformSpec>& DepthTransforms() {
  static auto* registry = new Registry<DepthTransform, DepthTransformSpec>("depth transform");
  return *registry;
}

absl::StatusOr<std::unique_ptr<DepthTransform>> CreateDepthTransform(
    absl::string_view name, const DepthTransformSpec& spec) {
  return DepthTransforms().Create(name, spec);
}

absl::Status ValidateDepthTransform(const DepthTransform& transform) {
  absl::StatusOr<const OptionSchema*> schema = DepthTransforms().Schema(transform.name());
  if (!schema.ok()) return absl::OkStatus();
  return (*schema)->Validate(transform.name(), transform.option_values());
}

DepthMix IdentityTransform::MixFor(const at::Tensor& d) const { return *FixedMix(d.size(0)); }

std::optional<DepthMix> IdentityTransform::FixedMix(int64_t depth) const {
  DepthMix mix;
  for (int64_t l = 0; l < depth; ++l) mix.rows.push_back({{l, 1.0}});
  return mix;
}

GS_REGISTER_DEPTH_TRANSFORM("identity", OptionSchema(),
                            [](const DepthTransformSpec&, const OptionValues&)
                                -> absl::StatusOr<std::unique_ptr<DepthTransform>> {
                              return std::make_unique<IdentityTransform>();
                            });

}  // namespace gs
