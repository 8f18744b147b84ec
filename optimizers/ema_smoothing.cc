#include "optimizers/ema_smoothing.h"

#include <algorithm>
#include <cmath>

namespace gs {
namespace {

const OptionSchema& EmaSchema() {
  static const OptionSchema* schema = new OptionSchema(
      OptionSchema()
          .Number("rho", 0.3, Range::HalfOpen(0, 1), "decay of the running average along depth")
          .Tag("rho")
          .Strength()
          .Choice("direction", "forward", {"forward", "backward"},
                  "forward: from block 0 up; backward: from the last block down")
          .Extend(VariantOption()));
  return *schema;
}

}  // namespace

OptionValues EmaSmoothing::option_values() const {
  OptionValues v(EmaSchema());
  v.SetNumber("rho", options_.rho())
      .SetChoice("direction", options_.direction() == EmaDirection::kForward ? "forward" : "backward")
      .SetChoice("variant", VariantName(options_.variant()));
  return v;
}

DepthMix EmaSmoothing::BaseMix(int64_t depth) const {
  const double rho = options_.rho();
  DepthMix mix;
  mix.rows.resize(depth);
  // Position k along the direction of the average; block(k) its index in the chain.
  const bool forward = options_.direction() == EmaDirection::kForward;
  auto block = [&](int64_t k) { return forward ? k : depth - 1 - k; };
  for (int64_t k = 0; k < depth; ++k) {
    std::vector<DepthMix::Term>& row = mix.rows[block(k)];
    // The first block keeps rho^k of its direction; each later one (1 - rho) rho^(k - i).
    for (int64_t i = 0; i <= k; ++i) {
      const double w = i == 0 ? std::pow(rho, static_cast<double>(k))
                              : (1.0 - rho) * std::pow(rho, static_cast<double>(k - i));
      row.push_back({block(i), w});
    }
    // Terms in increasing block index, as DepthMix keeps them.
    if (!forward) std::reverse(row.begin(), row.end());
  }
  return mix;
}

GS_REGISTER_DEPTH_TRANSFORM(
    "ema", EmaSchema(),
    [](const DepthTransformSpec&, const OptionValues& v)
        -> absl::StatusOr<std::unique_ptr<DepthTransform>> {
      return std::make_unique<EmaSmoothing>(
          EmaSmoothingOptions()
              .rho(v.Number("rho"))
              .direction(v.Choice("direction") == "backward" ? EmaDirection::kBackward
                                                             : EmaDirection::kForward)
              .variant(VariantFromName(v.Choice("variant"))));
    });

}  // namespace gs
