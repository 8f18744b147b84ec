// EMA smoothing along depth: an exponential moving average of the blocks' directions,
// run from one end of the chain to the other. Forward (from block 0 up; the authors'
// post-step default):
//   D'_0 = D_0,   D'_l = rho D'_{l-1} + (1 - rho) D_l,
// so D'_l = rho^l D_0 + sum_{1 <= j <= l} (1 - rho) rho^(l - j) D_j; backward runs from
// block L-1 down. rho = 0 is the identity.
#ifndef GS_OPTIMIZERS_EMA_SMOOTHING_H_
#define GS_OPTIMIZERS_EMA_SMOOTHING_H_

#include <torch/arg.h>

#include "optimizers/depth_transform.h"

namespace gs {

enum class EmaDirection { kForward, kBackward };

struct EmaSmoothingOptions {
  TORCH_ARG(double, rho) = 0.3;
  TORCH_ARG(EmaDirection, direction) = EmaDirection::kForward;
  TORCH_ARG(SmoothingVariant, variant) = SmoothingVariant::kStandard;
};

class EmaSmoothing : public LinearDepthTransform {
 public:
  // Out-of-range options are reported by DepthOptimizer::Create (ValidateDepthTransform).
  explicit EmaSmoothing(EmaSmoothingOptions options = {})
      : LinearDepthTransform(options.variant()), options_(options) {}

  std::string name() const override { return "ema"; }
  OptionValues option_values() const override;
  bool is_identity() const override { return options_.rho() == 0.0; }
  DepthMix BaseMix(int64_t depth) const override;

  const EmaSmoothingOptions& options() const { return options_; }

 private:
  EmaSmoothingOptions options_;
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_EMA_SMOOTHING_H_
