// GRPO's arithmetic against values computed by hand (the arithmetic is in the comments).
#include "tasks/rl/grpo.h"

#include <cmath>

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gs::rl {
namespace {

// Two prompt groups of G = 3: rewards {1, 0, 0} and {1, 1, 1}.
at::Tensor Rewards() {
  return torch::tensor({1.0, 0.0, 0.0, 1.0, 1.0, 1.0}, torch::kDouble).view({2, 3});
}

TEST(GroupAdvantages, CenteredIsRewardMinusGroupMean) {
  // Group 0: mean 1/3, so A = {2/3, -1/3, -1/3}; group 1: all equal, A = 0.
  at::Tensor a = GroupAdvantages(Rewards(), AdvantageMode::kCentered);
  at::Tensor expected =
      torch::tensor({2.0 / 3, -1.0 / 3, -1.0 / 3, 0.0, 0.0, 0.0}, torch::kDouble).view({2, 3});
  EXPECT_TRUE(torch::allclose(a, expected, 0, 1e-12)) << a;
}

TEST(GroupAdvantages, NormalizedDividesByTheUnbiasedStd) {
  // Group 0: deviations 2/3, -1/3, -1/3; squares sum 4/9 + 1/9 + 1/9 = 2/3; over G - 1 = 2
  // gives variance 1/3, std 1/sqrt(3). With eps 0: A = {2/sqrt(3), -1/sqrt(3), -1/sqrt(3)}.
  at::Tensor a = GroupAdvantages(Rewards().slice(0, 0, 1), AdvantageMode::kNormalized, 0.0);
  const double s = std::sqrt(3.0);
  EXPECT_TRUE(torch::allclose(a, torch::tensor({2 / s, -1 / s, -1 / s}, torch::kDouble).view({1, 3}), 0, 1e-12)) << a;
  // Group 1 has std 0: with eps the advantages are 0 / eps = 0, not NaN. Group 0 with
  // eps 1e-4: (2/3) / (0.5773503 + 0.0001) = 1.1545005.
  at::Tensor b = GroupAdvantages(Rewards(), AdvantageMode::kNormalized, 1e-4);
  EXPECT_NEAR(b[0][0].item<double>(), (2.0 / 3) / (1 / s + 1e-4), 1e-12);
  EXPECT_NEAR(b[0][0].item<double>(), 1.1545005, 1e-6);
  EXPECT_TRUE(b[1].eq(0).all().item<bool>()) << b;
}

TEST(GroupAdvantages, ModesByName) {
  EXPECT_EQ(*ParseAdvantageMode("centered"), AdvantageMode::kCentered);
  EXPECT_EQ(*ParseAdvantageMode("normalized"), AdvantageMode::kNormalized);
  EXPECT_THAT(std::string(ParseAdvantageMode("std").status().message()),
              ::testing::HasSubstr("centered, normalized"));
}

TEST(TokenLogProbs, LogSoftmaxAtTheToken) {
  // exp(logits) = {1, 2, 3}, sum 6: log p = log(1/6), log(2/6), log(3/6).
  at::Tensor logits = torch::tensor({0.0, std::log(2.0), std::log(3.0)}, torch::kDouble).view({1, 1, 3}).repeat({1, 3, 1});
  at::Tensor tokens = torch::tensor({0, 1, 2}, torch::kLong).view({1, 3});
  at::Tensor lp = TokenLogProbs(logits, tokens);
  EXPECT_TRUE(torch::allclose(lp, torch::tensor({std::log(1 / 6.0), std::log(2 / 6.0), std::log(0.5)}, torch::kDouble).view({1, 3}), 0, 1e-12));
}

TEST(KlEstimate, K3AtHandPicked) {
  // d = ref - logp: d = ln 2 gives 2 - ln 2 - 1 = 0.3068528; d = -ln 2 gives
  // 1/2 + ln 2 - 1 = 0.1931472; d = 0 gives 0.
  const double ln2 = std::log(2.0);
  at::Tensor logp = torch::tensor({-1.0, -0.5, -3.0}, torch::kDouble);
  at::Tensor ref = torch::tensor({-1.0 + ln2, -0.5 - ln2, -3.0}, torch::kDouble);
  at::Tensor kl = KlEstimate(logp, ref);
  EXPECT_NEAR(kl[0].item<double>(), 0.3068528, 1e-7);
  EXPECT_NEAR(kl[1].item<double>(), 0.1931472, 1e-7);
  EXPECT_EQ(kl[2].item<double>(), 0.0);
}

// P = 2 groups, G = 3 samples, L_max = 4 tokens. Masked positions hold -7 so that a
// loss that forgot the mask would differ.
struct Batch {
  at::Tensor logp, mask, ref;
};
Batch MakeBatch() {
  const double m = -7.0, ln2 = std::log(2.0);
  Batch b;
  b.logp = torch::tensor({-0.5, -1.0, m, m,      // g0: 2 tokens
                          -2.0, -0.25, -0.5, m,  // g1: 3 tokens
                          -1.0, m, m, m,         // g2: 1 token
                          -1.0, -1.0, m, m,      // group 1
                          -0.2, m, m, m,
                          -0.3, -0.5, m, m},
                         torch::kDouble)
               .view({2, 3, 4})
               .requires_grad_(true);
  b.mask = torch::tensor({1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 0, 0,
                          1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0}, torch::kDouble).view({2, 3, 4});
  b.ref = b.logp.detach().clone();
  b.ref[1][0][0] += ln2;   // k3 = 0.3068528
  b.ref[1][2][1] -= ln2;   // k3 = 0.1931472
  b.ref[1][1][3] += 5.0;   // masked: must not count
  return b;
}

TEST(GrpoLoss, DrGrpoTokenSumOverGTimesLmax) {
  Batch b = MakeBatch();
  at::Tensor adv = GroupAdvantages(Rewards(), AdvantageMode::kCentered);
  // Group 0, sum of -A * logp over unmasked tokens:
  //   g0: -(2/3) * (-0.5 - 1.0)        =  1.0
  //   g1: -(-1/3) * (-2 - 0.25 - 0.5)  = -0.9166667
  //   g2: -(-1/3) * (-1.0)             = -0.3333333
  //   sum -0.25, over G * L_max = 12: -0.0208333.
  // Group 1 has A = 0: 0. Mean over the 2 groups: -0.0104167.
  at::Tensor loss = GrpoLoss(b.logp, b.mask, adv, 4);
  EXPECT_NEAR(loss.item<double>(), -0.25 / 12 / 2, 1e-12);
  loss.backward();
  // d loss / d logp = -A * mask / (G * L_max * P): group 0, g0, t0: -(2/3) / 24.
  at::Tensor grad = b.logp.grad();
  EXPECT_NEAR(grad[0][0][0].item<double>(), -(2.0 / 3) / 24, 1e-12);
  EXPECT_NEAR(grad[0][1][2].item<double>(), (1.0 / 3) / 24, 1e-12);
  EXPECT_EQ(grad[0][0][2].item<double>(), 0.0);  // masked
  EXPECT_EQ(grad[1].abs().sum().item<double>(), 0.0);
}

TEST(GrpoLoss, KlTermWithBeta) {
  Batch b = MakeBatch();
  at::Tensor adv = GroupAdvantages(Rewards(), AdvantageMode::kCentered);
  // Group 1 adds beta * (0.3068528 + 0.1931472) / 12 = 0.1 * 0.5 / 12 = 0.0041667
  // (ln 2 terms cancel: 2 - ln2 - 1 + 1/2 + ln2 - 1 = 1/2). Mean with group 0's
  // -0.0208333: (-0.0208333 + 0.0041667) / 2 = -0.0083333.
  at::Tensor loss = GrpoLoss(b.logp, b.mask, adv, 4, b.ref, 0.1);
  EXPECT_NEAR(loss.item<double>(), (-0.25 / 12 + 0.05 / 12) / 2, 1e-12);
  // Gradient of beta * k3 in logp: beta * (1 - exp(d)) / 24 with d = ln 2: 0.1 * (1 - 2) / 24.
  loss.backward();
  EXPECT_NEAR(b.logp.grad()[1][0][0].item<double>(), -0.1 / 24, 1e-12);
}

}  // namespace
}  // namespace gs::rl
