#include "optimizers/window_smoothing.h"

#include <algorithm>
#include <cmath>

namespace gs {
namespace {

const std::vector<std::string> kKernels = {"box", "triangle", "gaussian"};

// The options window and laplacian declare; they differ only in the default alpha.
OptionSchema NeighbourSchema(double default_alpha) {
  return OptionSchema()
      .Number("alpha", default_alpha, Range::Closed(0, 1),
              "strength: the weight the neighbours share over a full window")
      .Tag("a")
      .Strength()
      .Integer("radius", 1, Range::AtLeast(1), "neighbours on each side")
      .Tag("r")
      .Choice("kernel", "box", kKernels, "neighbour weights by distance: box, triangle, gaussian")
      .Extend(VariantOption());
}

const OptionSchema& WindowSchema() {
  static const OptionSchema* schema = new OptionSchema(NeighbourSchema(0.2));
  return *schema;
}

const OptionSchema& LaplacianSchema() {
  static const OptionSchema* schema = new OptionSchema(NeighbourSchema(0.1));
  return *schema;
}

WindowSmoothingOptions FromValues(const OptionValues& v) {
  const std::string& kernel = v.Choice("kernel");
  return WindowSmoothingOptions()
      .alpha(v.Number("alpha"))
      .radius(v.Integer("radius"))
      .kernel(kernel == "triangle"   ? SmoothingKernel::kTriangle
              : kernel == "gaussian" ? SmoothingKernel::kGaussian
                                     : SmoothingKernel::kBox)
      .variant(VariantFromName(v.Choice("variant")));
}

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

}  // namespace

OptionValues WindowSmoothing::option_values() const {
  OptionValues v(sign_ > 0 ? WindowSchema() : LaplacianSchema());
  v.SetNumber("alpha", options_.alpha())
      .SetInteger("radius", options_.radius())
      .SetChoice("kernel", kKernels[static_cast<int>(options_.kernel())])
      .SetChoice("variant", VariantName(options_.variant()));
  return v;
}

DepthMix WindowSmoothing::BaseMix(int64_t depth) const {
  const double alpha = options_.alpha();
  const int64_t r = std::max<int64_t>(options_.radius(), 1);
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
        if (j < 0 || j >= depth) {
          row[l - lo] += w;  // a missing neighbour's weight stays on block l
        } else {
          row[j - lo] += sign_ * w;
        }
      }
    }
    for (int64_t j = lo; j <= hi; ++j) mix.rows[l].push_back({j, row[j - lo]});
  }
  return mix;
}

GS_REGISTER_DEPTH_TRANSFORM("window", WindowSchema(),
                            [](const DepthTransformSpec&, const OptionValues& v)
                                -> absl::StatusOr<std::unique_ptr<DepthTransform>> {
                              return std::make_unique<WindowSmoothing>(FromValues(v));
                            });

GS_REGISTER_DEPTH_TRANSFORM("laplacian", LaplacianSchema(),
                            [](const DepthTransformSpec&, const OptionValues& v)
                                -> absl::StatusOr<std::unique_ptr<DepthTransform>> {
                              return std::make_unique<LaplacianSharpening>(FromValues(v));
                            });

}  // namespace gs
