// Muon (Keller Jordan's reference muon.py; Moonlight's scale rule as an option).
//
// The 2-D weights of the repeated blocks get Muon: Nesterov momentum as an EMA,
// orthogonalised by Newton-Schulz over the whole [L, m, n] stack at once, scaled.
// Everything else (biases, norm gains, embeddings, the output head) gets AdamW with
// the reference auxiliary settings, betas (0.9, 0.95), eps 1e-10.
#ifndef GS_OPTIMIZERS_MUON_H_
#define GS_OPTIMIZERS_MUON_H_

#include <torch/arg.h>

#include <map>
#include <vector>

#include "optimizers/adamw.h"
#include "optimizers/base_optimizer.h"
#include "optimizers/newton_schulz.h"

namespace gs {

enum class MuonScale {
  kReference,   // sqrt(max(1, rows / cols))
  kMatchAdamW,  // 0.2 * sqrt(max(rows, cols)): update RMS about 0.2, AdamW's lr and wd
};

struct MuonOptions {
  TORCH_ARG(double, lr) = 0.02;
  TORCH_ARG(double, momentum) = 0.95;
  TORCH_ARG(bool, nesterov) = true;
  TORCH_ARG(int64_t, ns_steps) = 5;
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(MuonScale, scale) = MuonScale::kReference;
  // Newton-Schulz over the whole stack with the symmetric BLAS products (NewtonSchulz);
  // false loops over the blocks with muon.py's three general matmuls per iteration
  // (NewtonSchulzPlain), the baseline of //benchmarks:optimizer_benchmark. Both give the
  // same result up to rounding.
  TORCH_ARG(bool, batched) = true;
  TORCH_ARG(AdamWOptions, adamw) =
      AdamWOptions().lr(3e-4).beta1(0.9).beta2(0.95).eps(1e-10).weight_decay(0.0);
};

class Muon : public BaseOptimizer {
 public:
  explicit Muon(MuonOptions options = {}) : options_(options), adamw_(options.adamw()) {}

  // Registered options: lr, weight_decay (Muon's), momentum, nesterov, ns_steps, scale
  // (reference | match_adamw), batched, and the AdamW part's as adamw_lr, adamw_beta1,
  // adamw_beta2, adamw_eps, adamw_weight_decay. With scale=match_adamw the AdamW part
  // shares lr and weight_decay unless adamw_lr / adamw_weight_decay say otherwise.
  OptionValues option_values() const override;

  // True for the slots Muon handles: 2-D weights of the repeated blocks.
  static bool UsesMuon(const Slot& slot) { return slot.in_chain() && slot.block_dim() == 2; }

  std::string name() const override { return "muon"; }
  LrAndDecay LrAndDecayFor(const Slot& slot) const override;
  void InitState(const Slot& slot, SlotState& state) const override;
  bool MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 const DepthMix& mix, double lr_scale) override;
  void Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 at::Tensor& direction) override;
  void Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
            double lr_scale) override;

  const MuonOptions& options() const { return options_; }

 private:
  // Newton-Schulz buffers by matrix shape, shared by slots of one shape.
  NewtonSchulzWorkspace& Workspace(const at::Tensor& matrices);

  MuonOptions options_;
  AdamW adamw_;
  std::map<std::vector<int64_t>, NewtonSchulzWorkspace> workspaces_;
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_MUON_H_
