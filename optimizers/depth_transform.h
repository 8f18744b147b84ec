// Depth transforms: maps from a depth group's stacked update directions D [L, ...] to
// new ones, D' = T(D). Gradient Smoothing's transforms mix blocks linearly along depth,
// so each is a depth mix (depth_mix.h), fixed by depth alone or (the norm-preserving
// variants) rescaled from D; the optimizer fuses a fixed mix into the parameter update.
//
// A new transform is one file: a class (usually a LinearDepthTransform that says its
// mix), its options declared once as an OptionSchema, and one GS_REGISTER_DEPTH_TRANSFORM
// line. Flags, grids, run tags, run.json and reports then know it by name.
#ifndef GS_OPTIMIZERS_DEPTH_TRANSFORM_H_
#define GS_OPTIMIZERS_DEPTH_TRANSFORM_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "optimizers/depth_mix.h"
#include "optimizers/options.h"
#include "optimizers/registry.h"

namespace gs {

class DepthTransform {
 public:
  virtual ~DepthTransform() = default;

  virtual std::string name() const = 0;

  // Every declared option with its value (the registered declaration's options).
  virtual OptionValues option_values() const = 0;

  // True when the transform leaves every input as it is (alpha = 0). The optimizer
  // then skips it, so results are bit-identical to the base optimizer alone.
  virtual bool is_identity() const = 0;

  // The mix D' = Mix(D) for the stacked directions `d` ([L, ...]).
  virtual DepthMix MixFor(const at::Tensor& d) const = 0;

  // The mix for depth L when it does not depend on D (then MixFor(d) returns it for
  // every d), so the optimizer may apply it block by block; nullopt otherwise.
  virtual std::optional<DepthMix> FixedMix(int64_t /*depth*/) const { return std::nullopt; }
};

// How a linear transform treats block norms (the authors' normalisations none, rescale,
// normalize_before): standard D' = W D; norm rescales each D'_l to ||D_l||; direction
// mixes the unit directions D_l / ||D_l|| and rescales each result to ||D_l|| (a zero
// block contributes nothing and a block whose mixed direction is zero gets zero).
enum class SmoothingVariant { kStandard, kNorm, kDirection };

// The `variant` option, declared once for every linear transform.
OptionSchema VariantOption();
SmoothingVariant VariantFromName(const std::string& name);
const char* VariantName(SmoothingVariant variant);

// A transform given by a mix W that depends on depth only, with a variant on top.
class LinearDepthTransform : public DepthTransform {
 public:
  explicit LinearDepthTransform(SmoothingVariant variant) : variant_(variant) {}

  // W for depth L.
  virtual DepthMix BaseMix(int64_t depth) const = 0;

  DepthMix MixFor(const at::Tensor& d) const final;
  std::optional<DepthMix> FixedMix(int64_t depth) const final;
  SmoothingVariant variant() const { return variant_; }

 private:
  SmoothingVariant variant_;
};

// What the registry passes a depth transform's factory: its options by name.
struct DepthTransformSpec {
  std::map<std::string, std::string> options;
};

Registry<DepthTransform, DepthTransformSpec>& DepthTransforms();

absl::StatusOr<std::unique_ptr<DepthTransform>> CreateDepthTransform(
    absl::string_view name, const DepthTransformSpec& spec = {});

// Checks a transform built in code (typed options) against its registered declaration:
// InvalidArgument naming the option and what is allowed. Unregistered transforms pass.
absl::Status ValidateDepthTransform(const DepthTransform& transform);

// D' = D.
class IdentityTransform : public DepthTransform {
 public:
  std::string name() const override { return "identity"; }
  OptionValues option_values() const override { return {}; }
  bool is_identity() const override { return true; }
  DepthMix MixFor(const at::Tensor& d) const override;
  std::optional<DepthMix> FixedMix(int64_t depth) const override;
};

}  // namespace gs

// Registers `factory` (absl::StatusOr<std::unique_ptr<DepthTransform>>(const
// DepthTransformSpec&, const OptionValues&)) under `name`, with its options `schema`.
#define GS_REGISTER_DEPTH_TRANSFORM(name, schema, factory)                                \
  [[maybe_unused]] static const bool GS_REGISTRY_CONCAT_(gs_depth_transform_, __LINE__) = \
      ::gs::DepthTransforms().Register(name, schema, factory)

#endif  // GS_OPTIMIZERS_DEPTH_TRANSFORM_H_
