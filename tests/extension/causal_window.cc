// The README's promise for depth transforms, kept: a new transform is this one file and
// its one registration line. Nothing in tasks/, benchmarks/ or reports/ names it; a
// task binary linked with it trains with --smoothing=causal, a grid names it, and the
// report gives it rows of its own (custom_transform_test.sh checks all three).
//
// Causal window: each block mixes in the block below it, D'_l = (1 - beta) D_l + beta D_{l-1}
// (block 0 keeps its own direction).
#include "optimizers/depth_transform.h"

namespace gs {
namespace {

const OptionSchema& CausalSchema() {
  static const OptionSchema* schema = new OptionSchema(
      OptionSchema()
          .Number("beta", 0.2, Range::Closed(0, 1), "weight of the block below")
          .Tag("b")
          .Strength()
          .Extend(VariantOption()));
  return *schema;
}

class CausalWindow : public LinearDepthTransform {
 public:
  CausalWindow(double beta, SmoothingVariant variant) : LinearDepthTransform(variant), beta_(beta) {}

  std::string name() const override { return "causal"; }
  OptionValues option_values() const override {
    OptionValues v(CausalSchema());
    v.SetNumber("beta", beta_).SetChoice("variant", VariantName(variant()));
    return v;
  }
  bool is_identity() const override { return beta_ == 0.0; }
  DepthMix BaseMix(int64_t depth) const override {
    DepthMix mix;
    mix.rows.resize(depth);
    mix.rows[0] = {{0, 1.0}};
    for (int64_t l = 1; l < depth; ++l) mix.rows[l] = {{l - 1, beta_}, {l, 1.0 - beta_}};
    return mix;
  }

 private:
  double beta_;
};

}  // namespace

GS_REGISTER_DEPTH_TRANSFORM("causal", CausalSchema(),
                            [](const DepthTransformSpec&, const OptionValues& v)
                                -> absl::StatusOr<std::unique_ptr<DepthTransform>> {
                              return std::make_unique<CausalWindow>(
                                  v.Number("beta"), VariantFromName(v.Choice("variant")));
                            });

}  // namespace gs
