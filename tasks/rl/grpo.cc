#include "tasks/rl/grpo.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"

namespace gs::rl {

absl::StatusOr<AdvantageMode> ParseAdvantageMode(const std::string& name) {
  if (name == "centered") return AdvantageMode::kCentered;
  if (name == "normalized") return AdvantageMode::kNormalized;
  return absl::InvalidArgumentError(
      absl::StrCat("advantage mode '", name, "' is not one of: centered, normalized"));
}

at::Tensor GroupAdvantages(const at::Tensor& rewards, AdvantageMode mode, double eps) {
  TORCH_CHECK(rewards.dim() == 2, "GroupAdvantages: rewards must be [P, G]");
  at::Tensor centered = rewards - rewards.mean(1, /*keepdim=*/true);
  if (mode == AdvantageMode::kCentered) return centered;
  TORCH_CHECK(rewards.size(1) >= 2, "GroupAdvantages: normalised advantages need G >= 2");
  return centered / (rewards.std(1, /*unbiased=*/true, /*keepdim=*/true) + eps);
}

at::Tensor TokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens) {
  return torch::log_softmax(logits, -1).gather(-1, tokens.unsqueeze(-1)).squeeze(-1);
}

at::Tensor KlEstimate(const at::Tensor& logp, const at::Tensor& ref_logp) {
  const at::Tensor d = ref_logp - logp;
  return torch::exp(d) - d - 1;
}

at::Tensor GrpoLoss(const at::Tensor& logp, const at::Tensor& mask, const at::Tensor& advantages,
                    int64_t l_max, const at::Tensor& ref_logp, double beta) {
  TORCH_CHECK(logp.dim() == 3 && mask.sizes() == logp.sizes(), "GrpoLoss: logp, mask [P, G, L]");
  TORCH_CHECK(advantages.dim() == 2 && advantages.size(0) == logp.size(0) &&
                  advantages.size(1) == logp.size(1),
              "GrpoLoss: advantages [P, G]");
  const int64_t g = logp.size(1);
  at::Tensor per_token = -advantages.unsqueeze(-1) * logp;
  if (beta != 0.0) {
    TORCH_CHECK(ref_logp.defined(), "GrpoLoss: beta != 0 needs the reference log probs");
    per_token = per_token + beta * KlEstimate(logp, ref_logp);
  }
  const at::Tensor per_group = (per_token * mask).sum({1, 2}) / static_cast<double>(g * l_max);
  return per_group.mean();
}

}  // namespace gs::rl
