// GRPO's arithmetic, free of any model: group-relative advantages, per-token log
// probabilities, the k3 KL estimate and the Dr. GRPO surrogate loss. Shapes: P prompts,
// G samples per prompt, L = the completion budget (max new tokens).
#ifndef GS_TASKS_RL_GRPO_H_
#define GS_TASKS_RL_GRPO_H_

#include <cstdint>
#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace gs::rl {

enum class AdvantageMode {
  kCentered,    // Dr. GRPO: A = r - mean(r) over the group
  kNormalized,  // the original GRPO: A = (r - mean(r)) / (std(r) + eps), std unbiased
};

// "centered" | "normalized"; InvalidArgument otherwise.
absl::StatusOr<AdvantageMode> ParseAdvantageMode(const std::string& name);

// rewards [P, G] -> advantages [P, G]. The normalised form divides by the unbiased
// standard deviation plus eps (TRL's GRPO uses 1e-4), which needs G >= 2.
at::Tensor GroupAdvantages(const at::Tensor& rewards, AdvantageMode mode, double eps = 1e-4);

// log softmax(logits)[token]: logits [..., V], tokens [...] (int64) -> [...].
at::Tensor TokenLogProbs(const at::Tensor& logits, const at::Tensor& tokens);

// Per-token KL estimate to a reference policy, k3 = exp(d) - d - 1 with
// d = ref_logp - logp: non-negative, unbiased for KL(pi || ref) under samples of pi.
at::Tensor KlEstimate(const at::Tensor& logp, const at::Tensor& ref_logp);

// The Dr. GRPO loss. logp, mask: [P, G, L] (mask 1 on completion tokens, 0 after the end
// token); advantages [P, G]. Per prompt group p:
//   loss_p = sum_{g,t} mask * (-A_pg * logp_pgt + beta * k3_pgt) / (G * l_max)
// and the loss is the mean over groups. One gradient step per batch, so the importance
// ratio is 1 and its gradient is that of logp. ref_logp may be undefined when beta == 0.
at::Tensor GrpoLoss(const at::Tensor& logp, const at::Tensor& mask, const at::Tensor& advantages,
                    int64_t l_max, const at::Tensor& ref_logp = {}, double beta = 0.0);

}  // namespace gs::rl

#endif  // GS_TASKS_RL_GRPO_H_
