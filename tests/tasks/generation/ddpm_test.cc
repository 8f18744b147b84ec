// The cosine schedule against its closed form, q(x_t | x_0), the timestep grids, and
// DDIM recovering a point mass from its exact noise predictor.
#include "tasks/generation/ddpm.h"

#include <cmath>

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace gs::diffusion {
namespace {

constexpr double kPi = 3.14159265358979323846;

double F(double s) { return std::pow(std::cos((s + 0.008) / 1.008 * kPi / 2), 2); }

TEST(CosineSchedule, MatchesTheFormulaComputedByHand) {
  const NoiseSchedule schedule = CosineSchedule(1000);
  ASSERT_EQ(schedule.steps(), 1000);
  ASSERT_EQ(schedule.alpha_bars.size(), 1000u);
  double product = 1.0;
  for (int t = 0; t < 1000; ++t) {
    const double beta = std::min(1.0 - F((t + 1) / 1000.0) / F(t / 1000.0), 0.999);
    product *= 1.0 - beta;
    EXPECT_NEAR(schedule.betas[t], beta, 1e-15) << t;
    EXPECT_NEAR(schedule.alpha_bars[t], product, 1e-15) << t;
  }
  // beta_0 = 1 - f(0.001) / f(0) by hand: f(0) = cos^2(0.0124666), f(0.001) = cos^2(0.0140249).
  const double a0 = std::pow(std::cos(0.008 / 1.008 * kPi / 2), 2);
  const double a1 = std::pow(std::cos(0.009 / 1.008 * kPi / 2), 2);
  EXPECT_NEAR(schedule.betas[0], 1.0 - a1 / a0, 1e-15);
  // Linearised at s = 0.0005: beta_0 ~ (pi / 1.008) tan(0.0085 / 1.008 * pi / 2) / 1000 = 4.128e-5.
  EXPECT_NEAR(schedule.betas[0], 4.128e-5, 1e-8);
  // The last step would be 1 (abar(1) = cos^2(pi/2) = 0): clipped at 0.999.
  EXPECT_DOUBLE_EQ(schedule.betas[999], 0.999);
}

TEST(CosineSchedule, UnclippedProductTelescopesToTheContinuousAlphaBar) {
  // prod_{i<=t} abar((i+1)/T) / abar(i/T) = abar((t+1)/T) / abar(0) while no beta is clipped.
  const NoiseSchedule schedule = CosineSchedule(1000);
  for (int t = 0; t < 1000; ++t) {
    if (schedule.betas[t] >= 0.999) break;
    EXPECT_NEAR(schedule.alpha_bars[t], F((t + 1) / 1000.0) / F(0.0), 1e-12) << t;
  }
  EXPECT_NEAR(schedule.alpha_bars[499], 0.4999, 0.01);  // about half signal half-way
  for (int t = 1; t < 1000; ++t) EXPECT_LT(schedule.alpha_bars[t], schedule.alpha_bars[t - 1]);
}

TEST(AddNoise, IsTheClosedFormPerSample) {
  const NoiseSchedule schedule = CosineSchedule(1000);
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(3);
  at::Tensor x0 = torch::rand({4, 1, 2, 3}, g) * 2 - 1;
  at::Tensor eps = torch::randn({4, 1, 2, 3}, g);
  at::Tensor t = torch::tensor({0, 17, 500, 999}, torch::kLong);
  at::Tensor xt = AddNoise(schedule, x0, t, eps);
  ASSERT_EQ(xt.sizes(), x0.sizes());
  for (int b = 0; b < 4; ++b) {
    const double abar = schedule.alpha_bars[t[b].item<int64_t>()];
    for (int i = 0; i < 6; ++i) {
      const double expected = std::sqrt(abar) * x0[b].flatten()[i].item<double>() +
                              std::sqrt(1 - abar) * eps[b].flatten()[i].item<double>();
      EXPECT_NEAR(xt[b].flatten()[i].item<double>(), expected, 1e-6);
    }
  }
}

TEST(Timesteps, HeldOutGridAndEvenlySpacedSamplerGrid) {
  EXPECT_EQ(EvalTimesteps(1000, 10),
            (std::vector<int64_t>{50, 150, 250, 350, 450, 550, 650, 750, 850, 950}));
  EXPECT_EQ(EvalTimesteps(1000, 4), (std::vector<int64_t>{125, 375, 625, 875}));
  EXPECT_EQ(SamplerTimesteps(1000, 10),
            (std::vector<int64_t>{1, 101, 201, 301, 401, 501, 601, 701, 801, 901}));
  EXPECT_EQ(SamplerTimesteps(1000, 3), (std::vector<int64_t>{1, 334, 667}));
}

TEST(DdimSample, ExactPredictorOfAPointMassReturnsThePoint) {
  const NoiseSchedule schedule = CosineSchedule(1000);
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(5);
  at::Tensor point = torch::rand({1, 1, 4, 4}, g) * 1.6 - 0.8;
  at::Tensor noise = torch::randn({3, 1, 4, 4}, g);
  std::vector<int64_t> visited;
  // For data at one point x*, the noise in x_t is exactly (x_t - sqrt(abar) x*) / sqrt(1 - abar).
  NoisePredictor exact = [&](const at::Tensor& x, const at::Tensor& t) {
    visited.push_back(t[0].item<int64_t>());
    EXPECT_TRUE(t.eq(t[0]).all().item<bool>());
    const double abar = schedule.alpha_bars[t[0].item<int64_t>()];
    return (x - std::sqrt(abar) * point) / std::sqrt(1 - abar);
  };
  at::Tensor out = DdimSample(schedule, exact, noise, 5);
  EXPECT_EQ(visited, (std::vector<int64_t>{801, 601, 401, 201, 1}));
  EXPECT_LT((out - point).abs().max().item<double>(), 1e-4);
}

TEST(DdimSample, OneStepReturnsTheClampedPrediction) {
  const NoiseSchedule schedule = CosineSchedule(1000);
  at::Tensor x = torch::tensor({-3.0f, 0.0f, 3.0f}).view({3, 1});
  NoisePredictor zero = [](const at::Tensor& x, const at::Tensor&) { return torch::zeros_like(x); };
  at::Tensor out = DdimSample(schedule, zero, x, 1);
  // x0 = x / sqrt(abar_1), then clamped to [-1, 1].
  EXPECT_FLOAT_EQ(out[0][0].item<float>(), -1.0f);
  EXPECT_FLOAT_EQ(out[1][0].item<float>(), 0.0f);
  EXPECT_FLOAT_EQ(out[2][0].item<float>(), 1.0f);
  at::Tensor small = torch::tensor({0.5f}).view({1, 1});
  EXPECT_NEAR(DdimSample(schedule, zero, small, 1)[0][0].item<double>(),
              0.5 / std::sqrt(schedule.alpha_bars[1]), 1e-6);
}

}  // namespace
}  // namespace gs::diffusion
