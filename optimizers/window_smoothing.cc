#include "optimizers/window_smoothing.h"

#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/kernels.h"
#include "optimizers/status_macros.h"

namespace gs {
namespace {

double KernelWeight(SmoothingKernel kernel, int64_t radius, int64_t distance) {
  switch (kernel) {
    case SmoothingKernel::kBox:
      return 1.0;
    case SmoothingKernel::kTriangle:
      return static_cast<double>(radius + 1 - distance);
    case SmoothingKernel::kGaussian:
      return std::exp(-static_cast<double>(distance * distance) /
                      (2.0 * static_cast<double>(radius * radius)));
  }
  return 1.0;
}

// 1 / x, or 0 for a zero x (a zero block stays zero).
std::vector<double> Inverses(const std::vector<double>& x) {
  std::vector<double> inv(x.size());
  for (size_t i = 0; i < x.size(); ++i) inv[i] = x[i] > 0.0 ? 1.0 / x[i] : 0.0;
  return inv;
}

}  // namespace

absl::Status ValidateWindowSmoothingOptions(const WindowSmoothingOptions& o) {
  GS_RETURN_IF_ERROR(
      Require(o.alpha() >= 0.0 && o.alpha() <= 1.0, "smoothing", "alpha", o.alpha(), "[0, 1]"));
  return Require(o.radius() >= 1, "window", "radius", o.radius(), "an integer >= 1");
}

absl::StatusOr<std::unique_ptr<DepthTransform>> WindowSmoothing::FromSpec(
    const DepthTransformSpec& spec) {
  WindowSmoothingOptions o;
  o.alpha(spec.alpha).radius(spec.radius);
  GS_ASSIGN_OR_RETURN(o.kernel(), ParseName<SmoothingKernel>("smoothing kernel", spec.kernel,
                                                               {{"box", SmoothingKernel::kBox},
                                                                {"triangle", SmoothingKernel::kTriangle},
                                                                {"gaussian", SmoothingKernel::kGaussian}}));
  GS_ASSIGN_OR_RETURN(o.variant(),
                      ParseName<SmoothingVariant>("smoothing variant", spec.variant,
                                                  {{"standard", SmoothingVariant::kStandard},
                                                   {"norm", SmoothingVariant::kNorm},
                                                   {"direction", SmoothingVariant::kDirection}}));
  SpecOptions options("window smoothing", spec.options);
  GS_RETURN_IF_ERROR(options.Finish());
  GS_RETURN_IF_ERROR(ValidateWindowSmoothingOptions(o));
  return std::make_unique<WindowSmoothing>(o);
}

DepthMix WindowSmoothing::WindowMix(int64_t depth) const {
  const double alpha = options_.alpha();
  const int64_t r = options_.radius();
  double total = 0.0;
  for (int64_t e = 1; e <= r; ++e) total += KernelWeight(options_.kernel(), r, e);
  DepthMix mix;
  mix.rows.resize(depth);
  for (int64_t l = 0; l < depth; ++l) {
    const int64_t lo = std::max<int64_t>(0, l - r), hi = std::min<int64_t>(depth - 1, l + r);
    std::vector<double> row(hi - lo + 1, 0.0);
    row[l - lo] = 1.0 - alpha;
    for (int64_t dist = 1; dist <= r; ++dist) {
      const double w = alpha * KernelWeight(options_.kernel(), r, dist) / (2.0 * total);
      for (int64_t j : {l - dist, l + dist}) {
        // A neighbour outside [0, L) leaves its weight on block l.
        row[(j < 0 || j >= depth ? l : j) - lo] += w;
      }
    }
    for (int64_t j = lo; j <= hi; ++j) mix.rows[l].push_back({j, row[j - lo]});
  }
  return mix;
}

std::optional<DepthMix> WindowSmoothing::FixedMix(int64_t depth) const {
  if (options_.variant() != SmoothingVariant::kStandard) return std::nullopt;
  return WindowMix(depth);
}

DepthMix WindowSmoothing::MixFor(const at::Tensor& d) const {
  DepthMix mix = WindowMix(d.size(0));
  switch (options_.variant()) {
    case SmoothingVariant::kStandard:
      break;
    case SmoothingVariant::kNorm: {
      // D'_l = ||D_l|| / ||(W D)_l|| (W D)_l.
      const std::vector<double> norms = kernels::BlockNorms(d);
      const std::vector<double> smoothed = kernels::MixedBlockNorms(mix, d);
      std::vector<double> scale = Inverses(smoothed);
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

GS_REGISTER_DEPTH_TRANSFORM("window", WindowSmoothing::FromSpec);

}  // namespace gs
