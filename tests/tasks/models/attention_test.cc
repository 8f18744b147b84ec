// The BLAS-per-head attention against the eager formula evaluated in double precision
// (permutes, matmuls, masked_fill, softmax through LibTorch's own ops and autograd):
// outputs and the gradient with respect to qkv, causal and not, at the suite's shapes and
// odd ones, in float and in double; the same for the device-generic path (what the
// models run on a GPU) taken on the CPU.
#include "tasks/models/attention.h"

#include <tuple>

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "optimizers/cpu_paths.h"

namespace gs::models {
namespace {

class AttentionTest
    : public ::testing::TestWithParam<std::tuple<int64_t, int64_t, int64_t, int64_t, bool>> {};

TEST_P(AttentionTest, MatchesTheEagerFormulaInDouble) {
  const auto [b, t, heads, d, causal] = GetParam();
  torch::manual_seed(11);
  at::Tensor qkv = torch::randn({b, t, 3 * heads * d}) * 1.5;
  at::Tensor dy = torch::randn({b, t, heads * d});

  at::Tensor x64 = qkv.to(torch::kDouble).requires_grad_();
  at::Tensor y64 = ReferenceAttention(x64, heads, causal);
  (y64 * dy.to(torch::kDouble)).sum().backward();
  const double scale = x64.grad().abs().max().item<double>();

  // Float against double, for the BLAS path and for what the models call with the CPU
  // fast paths off (GenericAttention).
  at::Tensor y;
  for (bool fast : {false, true}) {
    SetCpuFastPaths(fast);
    at::Tensor x = qkv.clone().requires_grad_();
    y = fast ? BlasAttention(x, heads, causal) : AttentionCore(x, heads, causal);
    (y * dy).sum().backward();
    SetCpuFastPaths(true);
    ASSERT_EQ(y.sizes(), y64.sizes());
    EXPECT_LT((y.to(torch::kDouble) - y64).abs().max().item<double>(), 2e-5) << "fast " << fast;
    EXPECT_LT((x.grad().to(torch::kDouble) - x64.grad()).abs().max().item<double>(),
              2e-5 * std::max(1.0, scale))
        << "fast " << fast;
  }
  if (causal) {
    // The first token attends only to itself: y_0 = v_0 for every head, exactly (its
    // probability row is 1 followed by zeros).
    at::Tensor v0 = qkv.slice(1, 0, 1).slice(2, 2 * heads * d, 3 * heads * d);
    EXPECT_TRUE(torch::equal(y.slice(1, 0, 1), v0));
  }

  // The BLAS path in double: the eager formula's result to rounding.
  at::Tensor xb = qkv.to(torch::kDouble).requires_grad_();
  at::Tensor yb = BlasAttention(xb, heads, causal);
  (yb * dy.to(torch::kDouble)).sum().backward();
  EXPECT_LT((yb - y64).abs().max().item<double>(), 1e-12);
  EXPECT_LT((xb.grad() - x64.grad()).abs().max().item<double>(), 1e-12 * std::max(1.0, scale));
}

INSTANTIATE_TEST_SUITE_P(
    Shapes, AttentionTest,
    ::testing::Values(std::make_tuple(3, 49, 4, 16, false),  // ViT / U-ViT tokens
                      std::make_tuple(2, 128, 4, 32, true),  // the LM's context
                      std::make_tuple(2, 7, 2, 5, true), std::make_tuple(1, 1, 1, 3, true),
                      std::make_tuple(4, 13, 3, 8, false)));

TEST(Attention, SameBitsEveryTime) {
  torch::manual_seed(5);
  at::Tensor qkv = torch::randn({8, 33, 3 * 64});
  auto run = [&] {
    at::Tensor x = qkv.clone().requires_grad_();
    at::Tensor y = BlasAttention(x, 4, true);
    y.pow(2).sum().backward();
    return std::make_pair(y, x.grad());
  };
  const auto [y1, g1] = run();
  const auto [y2, g2] = run();
  EXPECT_TRUE(torch::equal(y1, y2));
  EXPECT_TRUE(torch::equal(g1, g2));
}

TEST(Attention, FutureTokensDoNotReachThePastWhenCausal) {
  // Changing the last token's q, k and v leaves every earlier output and every gradient
  // with respect to earlier tokens' inputs (through earlier outputs) unchanged, bit for bit.
  torch::manual_seed(6);
  at::Tensor qkv = torch::randn({2, 17, 3 * 32});
  at::Tensor changed = qkv.clone();
  changed.select(1, 16).normal_();
  at::Tensor y = BlasAttention(qkv, 2, true), z = BlasAttention(changed, 2, true);
  EXPECT_TRUE(torch::equal(y.slice(1, 0, 16), z.slice(1, 0, 16)));
  EXPECT_FALSE(torch::equal(y.select(1, 16), z.select(1, 16)));
}

}  // namespace
}  // namespace gs::models
