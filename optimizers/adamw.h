// AdamW (Loshchilov & Hutter): bias-corrected Adam direction, decoupled weight decay.
#ifndef GS_OPTIMIZERS_ADAMW_H_
#define GS_OPTIMIZERS_ADAMW_H_

#include <torch/arg.h>

#include "absl/status/status.h"
#include "optimizers/base_optimizer.h"

namespace gs {

struct AdamWOptions {
  TORCH_ARG(double, lr) = 1e-3;
  TORCH_ARG(double, beta1) = 0.9;
  TORCH_ARG(double, beta2) = 0.999;
  TORCH_ARG(double, eps) = 1e-8;
  TORCH_ARG(double, weight_decay) = 1e-2;
};

// AdamW's options as declared (StepOptions plus beta1, beta2, eps), and the typed
// options to and from values; `prefix` names them inside another optimizer's
// declaration (Muon's "adamw_").
const OptionSchema& AdamWSchema();
void SetAdamWValues(const AdamWOptions& options, const std::string& prefix, OptionValues& values);
AdamWOptions AdamWFromValues(const OptionValues& values, const std::string& prefix);

// D = m_hat / (sqrt(v_hat) + eps) with m, v the EMAs of g and g^2 ("exp_avg",
// "exp_avg_sq", as torch names them); p <- p * (1 - lr * wd) - lr * D.
class AdamW : public BaseOptimizer {
 public:
  explicit AdamW(AdamWOptions options = {}) : options_(options) {}

  std::string name() const override { return "adamw"; }
  OptionValues option_values() const override;
  LrAndDecay LrAndDecayFor(const Slot& slot) const override;
  void InitState(const Slot& slot, SlotState& state) const override;
  bool MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 const DepthMix& mix, double lr_scale) override;
  void Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 at::Tensor& direction) override;
  void Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
            double lr_scale) override;

  const AdamWOptions& options() const { return options_; }

 private:
  AdamWOptions options_;
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_ADAMW_H_
