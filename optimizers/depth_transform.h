// Depth transforms: maps from a depth group's stacked update directions D [L, ...] to
// new ones, D' = T(D). Gradient Smoothing's transforms average along depth, so each
// is a depth mix (depth_mix.h) that may depend on D (the norm-preserving variants);
// the optimizer fuses the mix into the parameter update.
#ifndef GS_OPTIMIZERS_DEPTH_TRANSFORM_H_
#define GS_OPTIMIZERS_DEPTH_TRANSFORM_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "optimizers/depth_mix.h"
#include "optimizers/registry.h"

namespace gs {

class DepthTransform {
 public:
  virtual ~DepthTransform() = default;

  virtual std::string name() const = 0;

  // True when the transform leaves every input as it is (alpha = 0). The optimizer
  // then skips it, so results are bit-identical to the base optimizer alone.
  virtual bool is_identity() const = 0;

  // The mix D' = Mix(D) for the stacked directions `d` ([L, ...]).
  virtual DepthMix MixFor(const at::Tensor& d) const = 0;

  // The mix for depth L when it does not depend on D (then MixFor(d) returns it for
  // every d), so the optimizer may apply it block by block; nullopt otherwise.
  virtual std::optional<DepthMix> FixedMix(int64_t depth) const { return std::nullopt; }
};

// Settings of the smoothing transforms (the --smoothing_* flags); each transform
// reads those it uses, `options` holds any others by name.
struct DepthTransformSpec {
  double alpha = 0.2;
  int64_t radius = 1;
  std::string kernel = "box";         // box | triangle | gaussian
  std::string variant = "standard";   // standard | norm | direction
  std::map<std::string, std::string> options;
};

Registry<DepthTransform, DepthTransformSpec>& DepthTransforms();

absl::StatusOr<std::unique_ptr<DepthTransform>> CreateDepthTransform(
    absl::string_view name, const DepthTransformSpec& spec = {});

// D' = D.
class IdentityTransform : public DepthTransform {
 public:
  std::string name() const override { return "identity"; }
  bool is_identity() const override { return true; }
  DepthMix MixFor(const at::Tensor& d) const override;
  std::optional<DepthMix> FixedMix(int64_t depth) const override;
};

}  // namespace gs

#define GS_REGISTER_DEPTH_TRANSFORM(name, factory)                                      \
  [[maybe_unused]] static const bool GS_REGISTRY_CONCAT_(gs_depth_transform_, __LINE__) = \
      ::gs::DepthTransforms().Register(name, factory)

#endif  // GS_OPTIMIZERS_DEPTH_TRANSFORM_H_
