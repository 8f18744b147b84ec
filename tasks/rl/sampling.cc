#include "tasks/rl/sampling.h"

#include <torch/torch.h>

namespace gs::rl {

at::Tensor SampleTokens(const at::Tensor& logits, double temperature, at::Generator& generator) {
  TORCH_CHECK(logits.dim() == 2 && temperature > 0, "SampleTokens: logits [N, V], temperature > 0");
  const at::Tensor probs = torch::softmax(logits.to(torch::kCPU, torch::kDouble) / temperature, -1);
  const at::Tensor cdf = probs.cumsum(-1);
  const at::Tensor u = torch::rand({logits.size(0), 1}, generator, torch::kDouble);
  const at::Tensor threshold = u * cdf.slice(1, cdf.size(1) - 1);
  const at::Tensor index = (cdf <= threshold).sum(-1).clamp_max(logits.size(1) - 1);
  return index.to(logits.device(), torch::kLong);
}

Completions Generate(const LogitsFn& logits_fn, const at::Tensor& prompts, int64_t max_new,
                     int64_t end_token, int64_t pad_token, double temperature,
                     at::Generator* generator) {
  TORCH_CHECK(prompts.dim() == 2 && max_new >= 1, "Generate: prompts [N, T0], max_new >= 1");
  TORCH_CHECK(temperature == 0 || generator != nullptr, "Generate: sampling needs a generator");
  const int64_t n = prompts.size(0);
  const auto long_options = torch::TensorOptions().dtype(torch::kLong).device(prompts.device());
  Completions out;
  out.tokens = torch::full({n, max_new}, pad_token, long_options);
  out.mask = torch::zeros({n, max_new}, torch::TensorOptions().device(prompts.device()));
  at::Tensor done = torch::zeros({n}, long_options.dtype(torch::kBool));
  at::Tensor sequence = prompts;
  for (int64_t t = 0; t < max_new; ++t) {
    const at::Tensor last = logits_fn(sequence).select(1, sequence.size(1) - 1);
    if (!torch::isfinite(last).all().item<bool>()) {
      out.finite = false;
      return out;
    }
    at::Tensor next = temperature == 0 ? last.argmax(-1) : SampleTokens(last, temperature, *generator);
    // Rows that already ended keep padding and stay out of the mask.
    next = torch::where(done, torch::full_like(next, pad_token), next);
    out.tokens.select(1, t).copy_(next);
    out.mask.select(1, t).copy_(done.logical_not().to(out.mask.scalar_type()));
    done = done.logical_or(next == end_token);
    if (done.all().item<bool>()) break;
    sequence = torch::cat({sequence, next.unsqueeze(1)}, 1);
  }
  return out;
}

}  // namespace gs::rl
