// Window Smoothing, the paper's Gradient Smoothing instance (see ../shared/DESIGN.md).
//
// With strength alpha and radius r, block l's direction becomes
//   D'_l = (1 - alpha) D_l + sum_{0 < |j - l| <= r} alpha k(|j - l|) / (2 sum_{e=1..r} k(e)) D_j
// where a neighbour j outside [0, L) leaves its weight on block l itself. For r = 1
// that is (1 - alpha) D_l + alpha/2 (D_{l-1} + D_{l+1}) inside and
// (1 - alpha/2) D_0 + alpha/2 D_1 at the ends: D - alpha/2 Lap(D) on the path graph.
// Kernels: box k(d) = 1 (the paper's), triangle k(d) = r + 1 - d,
// gaussian k(d) = exp(-d^2 / (2 r^2)).
// Variants: standard (above); norm rescales each D'_l to ||D_l||; direction smooths the
// unit directions D_l / ||D_l|| and rescales each result to ||D_l|| (a zero block
// contributes nothing and a block whose smoothed direction is zero gets zero).
#ifndef GS_OPTIMIZERS_WINDOW_SMOOTHING_H_
#define GS_OPTIMIZERS_WINDOW_SMOOTHING_H_

#include <torch/arg.h>

#include "absl/status/status.h"
#include "optimizers/depth_transform.h"

namespace gs {

enum class SmoothingKernel { kBox, kTriangle, kGaussian };
enum class SmoothingVariant { kStandard, kNorm, kDirection };

struct WindowSmoothingOptions {
  TORCH_ARG(double, alpha) = 0.2;
  TORCH_ARG(int64_t, radius) = 1;
  TORCH_ARG(SmoothingKernel, kernel) = SmoothingKernel::kBox;
  TORCH_ARG(SmoothingVariant, variant) = SmoothingVariant::kStandard;
};

absl::Status ValidateWindowSmoothingOptions(const WindowSmoothingOptions& options);

class WindowSmoothing : public DepthTransform {
 public:
  explicit WindowSmoothing(WindowSmoothingOptions options = {}) : options_(options) {}

  static absl::StatusOr<std::unique_ptr<DepthTransform>> FromSpec(const DepthTransformSpec& spec);

  std::string name() const override { return "window"; }
  bool is_identity() const override { return options_.alpha() == 0.0; }
  DepthMix MixFor(const at::Tensor& d) const override;
  std::optional<DepthMix> FixedMix(int64_t depth) const override;

  // The standard variant's mix for depth L (independent of the data).
  DepthMix WindowMix(int64_t depth) const;

  const WindowSmoothingOptions& options() const { return options_; }

 private:
  WindowSmoothingOptions options_;
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_WINDOW_SMOOTHING_H_
