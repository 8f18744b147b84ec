// The device-generic paths (what a GPU runs: ATen operations for the element-wise steps
// and the depth mix, Newton-Schulz as batched matmuls over the whole [L, m, n] stack),
// taken on the CPU with the fast paths switched off (optimizers/cpu_paths.h), against
// the CPU fast paths: every base optimizer with and without smoothing, each variant, in
// double (agreement to rounding) and in float (the kernel tests' tolerance). The
// references of the other tests run on the generic path too: their *_generic targets.
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "optimizers/cpu_paths.h"
#include "optimizers/newton_schulz.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using Case = std::tuple<std::string, std::string, torch::Dtype>;  // optimizer, variant

// Five steps of `optimizer` (smoothed with window and `variant`, or not for "none") on a
// seeded 4-block TinyNet; the parameters at the end.
std::vector<torch::Tensor> Train(const std::string& optimizer, const std::string& variant,
                                 torch::Dtype dtype, bool fast) {
  SetCpuFastPaths(fast);
  testing::TinyNet net = testing::MakeTinyNet(4, 7, dtype);
  OptimizerConfig config;
  config.optimizer = optimizer;
  config.base.lr = optimizer == "sgd" ? 0.05 : optimizer == "muon" ? 0.02 : 1e-2;
  config.base.weight_decay = 0.1;
  if (variant != "none") {
    config.smoothing = "window";
    config.smoothing_options = {{"alpha", "0.3"}, {"radius", "2"}, {"variant", variant}};
  }
  auto opt = CreateOptimizer(NamedParameters(*net), config);
  EXPECT_TRUE(opt.ok()) << opt.status();
  for (int64_t step = 0; step < 5; ++step) {
    (*opt)->zero_grad();
    testing::ForwardBackward(net, step, dtype);
    (*opt)->step();
  }
  SetCpuFastPaths(true);
  return testing::Snapshot(*net);
}

class GenericPathTest : public ::testing::TestWithParam<Case> {};

TEST_P(GenericPathTest, MatchesTheCpuFastPath) {
  const auto [optimizer, variant, dtype] = GetParam();
  const std::vector<torch::Tensor> fast = Train(optimizer, variant, dtype, true);
  const std::vector<torch::Tensor> generic = Train(optimizer, variant, dtype, false);
  ASSERT_EQ(fast.size(), generic.size());
  // Muon's float iteration amplifies rounding differences (muon_test: 1e-4 between its
  // batched and per-layer forms); element-wise steps agree to the kernels' 1e-6.
  const double tolerance = dtype == torch::kDouble ? 1e-12 : optimizer == "muon" ? 1e-4 : 1e-6;
  bool moved = false;
  const std::vector<torch::Tensor> start = testing::Snapshot(*testing::MakeTinyNet(4, 7, dtype));
  for (size_t i = 0; i < fast.size(); ++i) {
    EXPECT_LT((fast[i] - generic[i]).abs().max().item<double>(), tolerance) << "parameter " << i;
    moved = moved || !torch::equal(fast[i], start[i]);
  }
  EXPECT_TRUE(moved);
}

INSTANTIATE_TEST_SUITE_P(
    Optimizers, GenericPathTest,
    ::testing::Combine(::testing::Values("adamw", "sgd", "muon"),
                       ::testing::Values("none", "standard", "norm", "direction"),
                       ::testing::Values(torch::kDouble, torch::kFloat)),
    [](const ::testing::TestParamInfo<Case>& info) {
      return std::get<0>(info.param) + "_" + std::get<1>(info.param) + "_" +
             (std::get<2>(info.param) == torch::kDouble ? "double" : "float");
    });

TEST(GenericPath, NewtonSchulzIsTheBatchedPlainIteration) {
  // With the fast paths off, NewtonSchulz is NewtonSchulzPlain over the whole stack at
  // once (bit for bit), and agrees with the CPU's syrk and Gram forms to rounding, wide
  // and tall.
  torch::manual_seed(3);
  for (const auto& shape : {std::vector<int64_t>{6, 16, 40}, std::vector<int64_t>{6, 24, 20}}) {
    const torch::Tensor g = torch::randn(shape, torch::kDouble);
    const torch::Tensor fast = NewtonSchulz(g, 5);
    SetCpuFastPaths(false);
    const torch::Tensor generic = NewtonSchulz(g, 5);
    SetCpuFastPaths(true);
    const torch::Tensor plain = NewtonSchulzPlain(g, 5);
    EXPECT_LT((generic - plain).abs().max().item<double>(), 1e-12);
    EXPECT_LT((generic - fast).abs().max().item<double>(), 1e-12);
  }
}

}  // namespace
}  // namespace gs
