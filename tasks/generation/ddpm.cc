#include "tasks/generation/ddpm.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

namespace gs::diffusion {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

double CosineAlphaBar(double s) {
  const double c = std::cos((s + 0.008) / 1.008 * kPi / 2);
  return c * c;
}

NoiseSchedule CosineSchedule(int64_t timesteps) {
  NoiseSchedule schedule;
  double alpha_bar = 1.0;
  for (int64_t t = 0; t < timesteps; ++t) {
    const double beta = std::min(
        1.0 - CosineAlphaBar(static_cast<double>(t + 1) / timesteps) /
                  CosineAlphaBar(static_cast<double>(t) / timesteps),
        0.999);
    alpha_bar *= 1.0 - beta;
    schedule.betas.push_back(beta);
    schedule.alpha_bars.push_back(alpha_bar);
  }
  return schedule;
}

at::Tensor AddNoise(const NoiseSchedule& schedule, const at::Tensor& x0, const at::Tensor& t,
                    const at::Tensor& eps) {
  at::Tensor alpha_bar = at::tensor(schedule.alpha_bars, at::kDouble)
                             .index_select(0, t.to(at::kCPU, at::kLong))
                             .to(x0.device());
  std::vector<int64_t> shape(x0.dim(), 1);
  shape[0] = x0.size(0);
  at::Tensor signal = alpha_bar.sqrt().to(x0.scalar_type()).view(shape);
  at::Tensor noise = (1.0 - alpha_bar).sqrt().to(x0.scalar_type()).view(shape);
  return signal * x0 + noise * eps;
}

std::vector<int64_t> EvalTimesteps(int64_t timesteps, int64_t bins) {
  std::vector<int64_t> t;
  for (int64_t k = 0; k < bins; ++k) {
    t.push_back(static_cast<int64_t>(std::floor((k + 0.5) * timesteps / bins)));
  }
  return t;
}

std::vector<int64_t> SamplerTimesteps(int64_t timesteps, int64_t steps) {
  std::vector<int64_t> t;
  for (int64_t i = 0; i < steps; ++i) t.push_back(i * (timesteps / steps) + 1);
  return t;
}

at::Tensor DdimSample(const NoiseSchedule& schedule, const NoisePredictor& predict,
                      const at::Tensor& noise, int64_t steps) {
  const std::vector<int64_t> grid = SamplerTimesteps(schedule.steps(), steps);
  at::Tensor x = noise;
  for (int64_t i = steps - 1; i >= 0; --i) {
    const double abar = schedule.alpha_bars[grid[i]];
    const double abar_prev = i > 0 ? schedule.alpha_bars[grid[i - 1]] : 1.0;
    at::Tensor t = at::full({x.size(0)}, grid[i], x.options().dtype(at::kLong));
    at::Tensor eps = predict(x, t);
    at::Tensor x0 = ((x - std::sqrt(1.0 - abar) * eps) / std::sqrt(abar)).clamp(-1.0, 1.0);
    // The noise consistent with the clamped x0 (as diffusers' DDIM does).
    eps = (x - std::sqrt(abar) * x0) / std::sqrt(1.0 - abar);
    x = i > 0 ? std::sqrt(abar_prev) * x0 + std::sqrt(1.0 - abar_prev) * eps : x0;
  }
  return x;
}

}  // namespace gs::diffusion
