#include "optimizers/base_optimizer.h"

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/kernels.h"
#include "optimizers/status_macros.h"

namespace gs {

at::Tensor& Slot::scratch() {
  if (!scratch_.defined()) scratch_ = at::empty_like(param_);
  return scratch_;
}

void BaseOptimizer::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                         double lr_scale) {
  at::Tensor& direction = slot.scratch();
  Direction(slot, grad, state, step, direction);
  const LrAndDecay rule = LrAndDecayFor(slot);
  kernels::ApplyUpdate(slot.param(), direction, rule.lr * lr_scale, rule.weight_decay);
}

Registry<BaseOptimizer, BaseOptimizerSpec>& BaseOptimizers() {
  static auto* registry = new Registry<BaseOptimizer, BaseOptimizerSpec>("base optimizer");
  return *registry;
}

absl::StatusOr<std::map<std::string, std::string>> BaseOptimizerSpec::AllOptions() const {
  std::map<std::string, std::string> all = options;
  for (const auto& [key, value] : {std::pair{"lr", lr}, std::pair{"weight_decay", weight_decay}}) {
    if (!value) continue;
    if (!all.emplace(key, NumberText(*value)).second) {
      return absl::InvalidArgumentError(
          absl::StrCat("base optimizer option '", key, "' is given twice"));
    }
  }
  return all;
}

absl::StatusOr<std::unique_ptr<BaseOptimizer>> CreateBaseOptimizer(
    absl::string_view name, const BaseOptimizerSpec& spec) {
  BaseOptimizerSpec complete;
  GS_ASSIGN_OR_RETURN(complete.options, spec.AllOptions());
  return BaseOptimizers().Create(name, complete);
}

OptionSchema StepOptions(double lr, double weight_decay) {
  return OptionSchema()
      .Number("lr", lr, Range::AtLeast(0), "learning rate (a preset's or --lr)")
      .Unnamed()
      .Number("weight_decay", weight_decay, Range::AtLeast(0),
              "weight decay, as this optimizer defines it (a preset's)")
      .Unnamed();
}

absl::Status ValidateBaseOptimizer(const BaseOptimizer& base) {
  absl::StatusOr<const OptionSchema*> schema = BaseOptimizers().Schema(base.name());
  const OptionValues values = base.option_values();
  if (!schema.ok() || values.schema().decls().empty()) return absl::OkStatus();
  return (*schema)->Validate(base.name(), values);
}

}  // namespace gs
