#include "tasks/generation/frechet.h"

#include <ATen/ATen.h>

namespace gs::diffusion {

GaussianStats FeatureStats(const at::Tensor& features) {
  TORCH_CHECK(features.dim() == 2 && features.size(0) >= 2, "features must be [n >= 2, d]");
  at::Tensor f = features.to(at::kCPU, at::kDouble);
  at::Tensor mean = f.mean(0);
  at::Tensor centred = f - mean;
  at::Tensor cov = centred.t().mm(centred) / static_cast<double>(f.size(0) - 1);
  return {mean, cov};
}

namespace {

// The symmetric square root V diag(sqrt(max(lambda, 0))) V^T of a symmetric matrix.
at::Tensor SymmetricSqrt(const at::Tensor& m) {
  auto [values, vectors] = at::linalg_eigh(m);
  return vectors.mm(at::diag(values.clamp_min(0.0).sqrt())).mm(vectors.t());
}

}  // namespace

double FrechetDistance(const GaussianStats& real, const GaussianStats& generated) {
  const at::Tensor mu_r = real.mean.to(at::kDouble), mu_g = generated.mean.to(at::kDouble);
  const at::Tensor s_r = real.cov.to(at::kDouble), s_g = generated.cov.to(at::kDouble);
  TORCH_CHECK(mu_r.sizes() == mu_g.sizes() && s_r.sizes() == s_g.sizes() &&
                  s_r.dim() == 2 && s_r.size(0) == mu_r.size(0) && s_r.size(1) == mu_r.size(0),
              "Frechet distance: means [d] and covariances [d, d] of one d");
  const at::Tensor root_r = SymmetricSqrt(s_r);
  at::Tensor inner = root_r.mm(s_g).mm(root_r);
  inner = 0.5 * (inner + inner.t());  // symmetric up to round-off; make it exactly so
  const double cross = at::linalg_eigvalsh(inner).clamp_min(0.0).sqrt().sum().item<double>();
  const double mean_term = (mu_r - mu_g).pow(2).sum().item<double>();
  return mean_term + s_r.trace().item<double>() + s_g.trace().item<double>() - 2.0 * cross;
}

}  // namespace gs::diffusion
