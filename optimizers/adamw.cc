#include "optimizers/adamw.h"

#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/kernels.h"
#include "optimizers/status_macros.h"

namespace gs {
namespace {

kernels::AdamWHyper Hyper(const AdamWOptions& o, int64_t step) {
  return {o.beta1(), o.beta2(), o.eps(), 1.0 - std::pow(o.beta1(), static_cast<double>(step)),
          1.0 - std::pow(o.beta2(), static_cast<double>(step))};
}

}  // namespace

const OptionSchema& AdamWSchema() {
  static const OptionSchema* schema = new OptionSchema(
      StepOptions(1e-3, 1e-2)
          .Number("beta1", 0.9, Range::HalfOpen(0, 1), "decay of the gradient's moving average")
          .Tag("b1")
          .Number("beta2", 0.999, Range::HalfOpen(0, 1), "decay of the squared gradient's average")
          .Tag("b2")
          .Number("eps", 1e-8, Range::AtLeast(0), "added to sqrt(v_hat)")
          .Tag("eps"));
  return *schema;
}

void SetAdamWValues(const AdamWOptions& o, const std::string& prefix, OptionValues& v) {
  v.SetNumber(prefix + "lr", o.lr())
      .SetNumber(prefix + "beta1", o.beta1())
      .SetNumber(prefix + "beta2", o.beta2())
      .SetNumber(prefix + "eps", o.eps())
      .SetNumber(prefix + "weight_decay", o.weight_decay());
}

AdamWOptions AdamWFromValues(const OptionValues& v, const std::string& prefix) {
  return AdamWOptions()
      .lr(v.Number(prefix + "lr"))
      .beta1(v.Number(prefix + "beta1"))
      .beta2(v.Number(prefix + "beta2"))
      .eps(v.Number(prefix + "eps"))
      .weight_decay(v.Number(prefix + "weight_decay"));
}

OptionValues AdamW::option_values() const {
  OptionValues v(AdamWSchema());
  SetAdamWValues(options_, "", v);
  return v;
}

LrAndDecay AdamW::LrAndDecayFor(const Slot& slot) const {
  return {options_.lr(), slot.decays() ? options_.weight_decay() : 0.0};
}

void AdamW::InitState(const Slot& slot, SlotState& state) const {
  state["exp_avg"] = at::zeros_like(slot.param());
  state["exp_avg_sq"] = at::zeros_like(slot.param());
}

void AdamW::Direction(const Slot& /*slot*/, const at::Tensor& grad, SlotState& state, int64_t step,
                      at::Tensor& direction) {
  kernels::AdamWDirection(grad, state["exp_avg"], state["exp_avg_sq"], direction,
                          Hyper(options_, step));
}

void AdamW::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 double lr_scale) {
  kernels::AdamWStep(slot.param(), grad, state["exp_avg"], state["exp_avg_sq"],
                     Hyper(options_, step), options_.lr() * lr_scale,
                     LrAndDecayFor(slot).weight_decay);
}

bool AdamW::MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                      const DepthMix& mix, double lr_scale) {
  kernels::AdamWMixedStep(mix, slot.param(), grad, state.at("exp_avg"), state.at("exp_avg_sq"),
                          Hyper(options_, step), options_.lr() * lr_scale,
                          LrAndDecayFor(slot).weight_decay);
  return true;
}

GS_REGISTER_BASE_OPTIMIZER("adamw", AdamWSchema(),
                           [](const BaseOptimizerSpec&, const OptionValues& v)
                               -> absl::StatusOr<std::unique_ptr<BaseOptimizer>> {
                             return std::make_unique<AdamW>(AdamWFromValues(v, ""));
                           });

}  // namespace gs
