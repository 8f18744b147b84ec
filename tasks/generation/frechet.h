// The Frechet distance between two Gaussians fitted to feature sets (the FID formula):
//   ||mu_r - mu_g||^2 + Tr(S_r + S_g) - 2 Tr((S_r^(1/2) S_g S_r^(1/2))^(1/2))
// in double precision; the last trace is the sum of square roots of the eigenvalues of
// the symmetric matrix S_r^(1/2) S_g S_r^(1/2), tiny negative ones (round-off) taken as 0.
#ifndef GS_TASKS_GENERATION_FRECHET_H_
#define GS_TASKS_GENERATION_FRECHET_H_

#include <ATen/core/Tensor.h>

namespace gs::diffusion {

struct GaussianStats {
  at::Tensor mean;  // [d], double
  at::Tensor cov;   // [d, d], double, symmetric positive semi-definite
};

// The sample mean and covariance (denominator n - 1) of features [n, d], n >= 2.
GaussianStats FeatureStats(const at::Tensor& features);

double FrechetDistance(const GaussianStats& real, const GaussianStats& generated);

}  // namespace gs::diffusion

#endif  // GS_TASKS_GENERATION_FRECHET_H_
