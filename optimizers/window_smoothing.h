// Window Smoothing, the paper's Gradient Smoothing instance, and its high-pass mirror,
// Laplacian sharpening.
//
// Window, strength alpha and radius r: each neighbour j at distance d = |j - l| <= r pulls
// with weight w(d) = alpha k(d) / (2 sum_{e=1..r} k(e)), and block l keeps
// 1 - (the weights of its neighbours inside [0, L)):
//   D'_l = (1 - sum_{j present} w(|j - l|)) D_l + sum_{j present} w(|j - l|) D_j.
// For r = 1 that is (1 - alpha) D_l + alpha/2 (D_{l-1} + D_{l+1}) inside and
// (1 - alpha/2) D_0 + alpha/2 D_1 at the ends: D - alpha/2 Lap(D) on the path graph.
// Laplacian: the same self weight, the neighbour weights negated:
//   D'_l = (1 - alpha) D_l - alpha/2 (D_{l-1} + D_{l+1}), at an end (1 - alpha/2) D_l - alpha/2 D_nb.
// Kernels: box k(d) = 1 (the paper's), triangle k(d) = r + 1 - d,
// gaussian k(d) = exp(-d^2 / (2 r^2)); all three coincide at r = 1.
#ifndef GS_OPTIMIZERS_WINDOW_SMOOTHING_H_
#define GS_OPTIMIZERS_WINDOW_SMOOTHING_H_

#include <torch/arg.h>

#include "optimizers/depth_transform.h"

namespace gs {

enum class SmoothingKernel { kBox, kTriangle, kGaussian };

struct WindowSmoothingOptions {
  TORCH_ARG(double, alpha) = 0.2;
  TORCH_ARG(int64_t, radius) = 1;
  TORCH_ARG(SmoothingKernel, kernel) = SmoothingKernel::kBox;
  TORCH_ARG(SmoothingVariant, variant) = SmoothingVariant::kStandard;
};

class WindowSmoothing : public LinearDepthTransform {
 public:
  // Out-of-range options are reported by DepthOptimizer::Create (ValidateDepthTransform).
  explicit WindowSmoothing(WindowSmoothingOptions options = {})
      : WindowSmoothing(options, +1.0) {}

  std::string name() const override { return "window"; }
  OptionValues option_values() const override;
  bool is_identity() const override { return options_.alpha() == 0.0; }
  DepthMix BaseMix(int64_t depth) const override;

  const WindowSmoothingOptions& options() const { return options_; }

 protected:
  WindowSmoothing(WindowSmoothingOptions options, double sign)
      : LinearDepthTransform(options.variant()), options_(options), sign_(sign) {}

 private:
  WindowSmoothingOptions options_;
  double sign_;  // +1: smoothing (low-pass); -1: sharpening (high-pass)
};

class LaplacianSharpening : public WindowSmoothing {
 public:
  explicit LaplacianSharpening(WindowSmoothingOptions options = WindowSmoothingOptions().alpha(0.1))
      : WindowSmoothing(options, -1.0) {}
  std::string name() const override { return "laplacian"; }
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_WINDOW_SMOOTHING_H_
