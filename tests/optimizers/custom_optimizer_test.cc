// The README's worked example, compiled and checked: a new base optimizer in one file
// with one registration line works by name, with smoothing, and in save/load.
#include <ATen/ATen.h>
#include "optimizers/base_optimizer.h"
#include "optimizers/status_macros.h"

namespace gs {

class Lion : public BaseOptimizer {
 public:
  // Its options, declared once: the registry checks them (ranges, unknown keys), and
  // flags, grids, run tags and --list_optimizers come from here.
  static OptionSchema Schema() {
    return StepOptions(1e-4, 0.0)
        .Number("beta1", 0.9, Range::HalfOpen(0, 1), "interpolation for the update's sign")
        .Tag("b1")
        .Number("beta2", 0.99, Range::HalfOpen(0, 1), "decay of the momentum")
        .Tag("b2");
  }

  explicit Lion(const OptionValues& v)
      : lr_(v.Number("lr")), wd_(v.Number("weight_decay")), beta1_(v.Number("beta1")),
        beta2_(v.Number("beta2")) {}

  std::string name() const override { return "lion"; }
  LrAndDecay LrAndDecayFor(const Slot& slot) const override {
    return {lr_, slot.decays() ? wd_ : 0.0};
  }
  void InitState(const Slot& slot, SlotState& state) const override {
    state["exp_avg"] = at::zeros_like(slot.param());
  }
  void Direction(const Slot&, const at::Tensor& grad, SlotState& state, int64_t,
                 at::Tensor& direction) override {
    at::Tensor& m = state.at("exp_avg");
    direction.copy_(m.lerp(grad, 1 - beta1_).sign_());
    m.lerp_(grad, 1 - beta2_);
  }

 private:
  double lr_, wd_, beta1_, beta2_;
};

GS_REGISTER_BASE_OPTIMIZER("lion", Lion::Schema(),
                           [](const BaseOptimizerSpec&, const OptionValues& v)
                               -> absl::StatusOr<std::unique_ptr<BaseOptimizer>> {
                             return std::make_unique<Lion>(v);
                           });

}  // namespace gs

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

TEST(CustomOptimizer, RegisteredByOneLineAndUsableByName) {
  EXPECT_THAT(BaseOptimizers().Names(), ::testing::Contains("lion"));
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  torch::manual_seed(0);
  std::vector<NamedTensor> params;
  for (int i = 0; i < 4; ++i) params.push_back({"blocks." + std::to_string(i) + ".w", torch::randn({3, 5}, opts)});
  OptimizerConfig config;
  config.optimizer = "lion";
  config.base.lr = 0.01;
  config.base.options["beta1"] = "0.8";
  config.smoothing = "window";
  config.smoothing_options["alpha"] = NumberText(0.2);
  auto opt = CreateOptimizer(params, config);
  ASSERT_TRUE(opt.ok()) << opt.status();

  // Reference in double: D = sign(lerp(m, g, 1 - b1)), m = lerp(m, g, 1 - b2), then the
  // window of radius 1 along the 4 blocks, then W -= lr * D'.
  std::vector<torch::Tensor> w, m;
  for (auto& p : params) {
    w.push_back(p.tensor.detach().clone());
    m.push_back(torch::zeros_like(w.back()));
  }
  for (int step = 0; step < 3; ++step) {
    std::vector<torch::Tensor> d;
    for (size_t i = 0; i < params.size(); ++i) {
      torch::Tensor g = torch::randn_like(w[i]);
      params[i].tensor.mutable_grad().copy_(g);
      d.push_back((m[i] * 0.8 + g * 0.2).sign());
      m[i] = m[i] * 0.99 + g * 0.01;
    }
    (*opt)->step();
    for (int l = 0; l < 4; ++l) {
      const torch::Tensor left = d[l > 0 ? l - 1 : l], right = d[l < 3 ? l + 1 : l];
      w[l] -= 0.01 * (0.8 * d[l] + 0.1 * left + 0.1 * right);
    }
  }
  for (int l = 0; l < 4; ++l) {
    EXPECT_LT((params[l].tensor.detach() - w[l]).abs().max().item<double>(), 1e-12);
  }
  EXPECT_TRUE((*opt)->Save(std::string(std::getenv("TEST_TMPDIR")) + "/lion.pt").ok());
  config.base.options["gamma"] = "1";
  auto bad = CreateOptimizer(params, config);
  EXPECT_THAT(std::string(bad.status().message()), ::testing::HasSubstr("lion has no option 'gamma'"));
}

}  // namespace
}  // namespace gs
