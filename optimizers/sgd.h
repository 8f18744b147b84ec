// SGD with momentum, Nesterov and weight decay, as torch::optim::SGD defines them.
#ifndef GS_OPTIMIZERS_SGD_H_
#define GS_OPTIMIZERS_SGD_H_

#include <torch/arg.h>

#include "optimizers/base_optimizer.h"
#include "optimizers/kernels.h"

namespace gs {

struct SGDOptions {
  TORCH_ARG(double, lr) = 0.1;
  TORCH_ARG(double, momentum) = 0.9;
  TORCH_ARG(double, dampening) = 0.0;
  // L2 weight decay added to the gradient (torch's definition), so it is part of D.
  TORCH_ARG(double, weight_decay) = 0.0;
  TORCH_ARG(bool, nesterov) = false;
};

// g' = g + wd * p; buf = momentum * buf + (1 - dampening) * g' (buf = g' at step 1);
// D = nesterov ? g' + momentum * buf : buf; p <- p - lr * D.
class SGD : public BaseOptimizer {
 public:
  explicit SGD(SGDOptions options = {}) : options_(options) {}

  std::string name() const override { return "sgd"; }
  OptionValues option_values() const override;
  LrAndDecay LrAndDecayFor(const Slot&) const override { return {options_.lr(), 0.0}; }
  void InitState(const Slot& slot, SlotState& state) const override;
  bool MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 const DepthMix& mix, double lr_scale) override;
  void Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 at::Tensor& direction) override;
  void Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
            double lr_scale) override;

  const SGDOptions& options() const { return options_; }

 private:
  kernels::SgdHyper Hyper(const Slot& slot, int64_t step) const;
  SGDOptions options_;
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_SGD_H_
