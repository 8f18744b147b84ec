// DDPM with epsilon prediction and the cosine noise schedule (Nichol & Dhariwal 2021),
// as the U-ViT code trains it, and a deterministic DDIM sampler (eta = 0) over a few
// evenly spaced timesteps.
#ifndef GS_TASKS_GENERATION_DDPM_H_
#define GS_TASKS_GENERATION_DDPM_H_

#include <cstdint>
#include <functional>
#include <vector>

#include <ATen/core/Tensor.h>

namespace gs::diffusion {

inline constexpr int64_t kTimesteps = 1000;

// abar(s) = cos^2(((s + 0.008) / 1.008) * pi / 2) for s in [0, 1].
double CosineAlphaBar(double s);

// Timesteps t = 0..T-1: beta_t = min(1 - abar((t + 1) / T) / abar(t / T), 0.999) and
// alpha_bar_t = prod_{i <= t} (1 - beta_i), in double precision.
struct NoiseSchedule {
  std::vector<double> betas;
  std::vector<double> alpha_bars;

  int64_t steps() const { return static_cast<int64_t>(betas.size()); }
};
NoiseSchedule CosineSchedule(int64_t timesteps = kTimesteps);

// x_t = sqrt(alpha_bar_t) x_0 + sqrt(1 - alpha_bar_t) eps, per sample: x0 and eps
// [B, ...] float, t [B] int64 in [0, T).
at::Tensor AddNoise(const NoiseSchedule& schedule, const at::Tensor& x0, const at::Tensor& t,
                    const at::Tensor& eps);

// The held-out loss's timestep grid: t_k = floor((k + 0.5) T / bins), k = 0..bins-1.
std::vector<int64_t> EvalTimesteps(int64_t timesteps, int64_t bins);

// The sampler's timesteps, evenly spaced as in the DDIM paper (diffusers' "leading"
// spacing with offset 1): t_i = i * floor(T / steps) + 1, i = 0..steps-1, so sampling
// starts at t = 901 for 10 steps of 1000. Not at T - 1: the cosine schedule leaves
// alpha_bar ~ 2e-9 there, and the x0 estimate (x - sqrt(1 - abar) eps) / sqrt(abar) turns
// any error of the predicted noise into saturated garbage that the later steps keep.
std::vector<int64_t> SamplerTimesteps(int64_t timesteps, int64_t steps);

// Predicted noise for x_t [B, ...] at timesteps t [B] (guidance, if any, inside).
using NoisePredictor = std::function<at::Tensor(const at::Tensor& x, const at::Tensor& t)>;

// DDIM (eta = 0) from x_{T-1} = `noise` down the sampler timesteps: at each step
// x0 = clamp((x - sqrt(1 - abar) eps) / sqrt(abar), -1, 1), eps = the noise that x0
// implies, (x - sqrt(abar) x0) / sqrt(1 - abar) (as diffusers' DDIM does), then
// x <- sqrt(abar_prev) x0 + sqrt(1 - abar_prev) eps, with abar_prev = 1 after the last
// step (so the result is the last x0 prediction).
at::Tensor DdimSample(const NoiseSchedule& schedule, const NoisePredictor& predict,
                      const at::Tensor& noise, int64_t steps);

}  // namespace gs::diffusion

#endif  // GS_TASKS_GENERATION_DDPM_H_
