// The Frechet distance against closed forms: diagonal covariances by hand, commuting
// covariances (sum of (sqrt a - sqrt b)^2), and 2x2 non-commuting ones, where
// Tr(M^(1/2)) = sqrt(tr M + 2 sqrt(det M)) for a 2x2 SPD M.
#include "tasks/generation/frechet.h"

#include <cmath>

#include <torch/torch.h>

#include "gtest/gtest.h"

namespace gs::diffusion {
namespace {

at::Tensor D(std::vector<double> values) { return torch::tensor(values, torch::kDouble); }

TEST(FrechetDistance, DiagonalCaseByHand) {
  // |(1, 2)|^2 + (1 + 4) + (4 + 9) - 2 (sqrt(1 * 4) + sqrt(4 * 9)) = 5 + 18 - 16 = 7.
  GaussianStats real{D({0, 0}), torch::diag(D({1, 4}))};
  GaussianStats generated{D({1, 2}), torch::diag(D({4, 9}))};
  EXPECT_NEAR(FrechetDistance(real, generated), 7.0, 1e-12);
  EXPECT_NEAR(FrechetDistance(real, real), 0.0, 1e-12);
}

TEST(FrechetDistance, CommutingCovariancesMatchTheClosedForm) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(11);
  const int d = 8;
  at::Tensor q = std::get<0>(at::linalg_qr(torch::randn({d, d}, g).to(torch::kDouble)));
  at::Tensor a = torch::rand({d}, g).to(torch::kDouble) * 3 + 0.1;
  at::Tensor b = torch::rand({d}, g).to(torch::kDouble) * 3 + 0.1;
  at::Tensor mu_r = torch::randn({d}, g).to(torch::kDouble), mu_g = torch::randn({d}, g).to(torch::kDouble);
  GaussianStats real{mu_r, q.mm(torch::diag(a)).mm(q.t())};
  GaussianStats generated{mu_g, q.mm(torch::diag(b)).mm(q.t())};
  double expected = 0.0;
  for (int i = 0; i < d; ++i) {
    const double dm = mu_r[i].item<double>() - mu_g[i].item<double>();
    const double ra = std::sqrt(a[i].item<double>()), rb = std::sqrt(b[i].item<double>());
    expected += dm * dm + (ra - rb) * (ra - rb);
  }
  EXPECT_NEAR(FrechetDistance(real, generated), expected, 1e-10);
}

TEST(FrechetDistance, NonCommutingTwoByTwoMatchesTheClosedForm) {
  // S_r = [[2, 1], [1, 3]], S_g = [[1, -0.5], [-0.5, 4]]: tr(S_r S_g) = 2 - 0.5 - 0.5 + 12 = 13,
  // det S_r = 5, det S_g = 3.75, so Tr((S_r^1/2 S_g S_r^1/2)^1/2) = sqrt(13 + 2 sqrt(18.75)).
  GaussianStats real{D({1, -1}), D({2, 1, 1, 3}).view({2, 2})};
  GaussianStats generated{D({0.5, 0}), D({1, -0.5, -0.5, 4}).view({2, 2})};
  const double cross = std::sqrt(13.0 + 2.0 * std::sqrt(5.0 * 3.75));
  const double expected = (0.25 + 1.0) + (5.0 + 5.0) - 2.0 * cross;
  EXPECT_NEAR(FrechetDistance(real, generated), expected, 1e-12);
  EXPECT_NEAR(FrechetDistance(generated, real), expected, 1e-12);  // symmetric
}

TEST(FrechetDistance, SymmetricAndZeroOnItselfForGeneralCovariances) {
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(12);
  at::Tensor x = torch::randn({40, 6}, g), y = torch::randn({30, 6}, g) * 1.5 + 0.3;
  const GaussianStats sx = FeatureStats(x), sy = FeatureStats(y);
  EXPECT_NEAR(FrechetDistance(sx, sy), FrechetDistance(sy, sx), 1e-9);
  EXPECT_NEAR(FrechetDistance(sx, sx), 0.0, 1e-9);
  EXPECT_GT(FrechetDistance(sx, sy), 0.1);
}

TEST(FrechetDistance, RankDeficientCovariancesStayFinite) {
  // Fewer samples than dimensions: singular covariances, eigenvalues at round-off.
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(13);
  const GaussianStats a = FeatureStats(torch::randn({5, 16}, g));
  const GaussianStats b = FeatureStats(torch::randn({5, 16}, g));
  const double fd = FrechetDistance(a, b);
  EXPECT_TRUE(std::isfinite(fd));
  EXPECT_GT(fd, 0.0);
}

TEST(FeatureStats, MeanAndUnbiasedCovarianceByHand) {
  // Rows (1, 2), (3, 6), (5, 4): mean (3, 4); centred (-2, -2), (0, 2), (2, 0);
  // covariance / (n - 1 = 2): [[8, 4], [4, 8]] / 2.
  const GaussianStats s = FeatureStats(torch::tensor({1.0f, 2.0f, 3.0f, 6.0f, 5.0f, 4.0f}).view({3, 2}));
  EXPECT_EQ(s.mean.scalar_type(), torch::kDouble);
  EXPECT_TRUE(torch::allclose(s.mean, D({3, 4})));
  EXPECT_TRUE(torch::allclose(s.cov, D({4, 2, 2, 4}).view({2, 2})));
}

}  // namespace
}  // namespace gs::diffusion
