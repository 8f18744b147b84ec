#include "optimizers/base_optimizer.h"

#include <ATen/ATen.h>

#include "optimizers/kernels.h"

namespace gs {

at::Tensor& Slot::scratch() {
  if (!scratch_.defined()) scratch_ = at::empty_like(param_);
  return scratch_;
}

void BaseOptimizer::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                         double lr_scale) {
  at::Tensor& direction = slot.scratch();
  Direction(slot, grad, state, step, direction);
  const StepRule rule = Rule(slot);
  kernels::ApplyUpdate(slot.param(), direction, rule.lr * lr_scale, rule.weight_decay);
}

Registry<BaseOptimizer, BaseOptimizerSpec>& BaseOptimizers() {
  static auto* registry = new Registry<BaseOptimizer, BaseOptimizerSpec>("base optimizer");
  return *registry;
}

absl::StatusOr<std::unique_ptr<BaseOptimizer>> CreateBaseOptimizer(
    absl::string_view name, const BaseOptimizerSpec& spec) {
  return BaseOptimizers().Create(name, spec);
}

}  // namespace gs
