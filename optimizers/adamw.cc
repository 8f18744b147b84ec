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

absl::Status ValidateAdamWOptions(const AdamWOptions& o, absl::string_view what) {
  GS_RETURN_IF_ERROR(RequireNonNegative(what, "lr", o.lr()));
  GS_RETURN_IF_ERROR(Require(o.beta1() >= 0.0 && o.beta1() < 1.0, what, "beta1", o.beta1(), "[0, 1)"));
  GS_RETURN_IF_ERROR(Require(o.beta2() >= 0.0 && o.beta2() < 1.0, what, "beta2", o.beta2(), "[0, 1)"));
  GS_RETURN_IF_ERROR(RequireNonNegative(what, "eps", o.eps()));
  return RequireNonNegative(what, "weight_decay", o.weight_decay());
}

absl::StatusOr<std::unique_ptr<BaseOptimizer>> AdamW::FromSpec(const BaseOptimizerSpec& spec) {
  AdamWOptions o;
  if (spec.lr) o.lr(*spec.lr);
  if (spec.weight_decay) o.weight_decay(*spec.weight_decay);
  SpecOptions options("adamw", spec.options);
  GS_RETURN_IF_ERROR(options.Get("beta1", &o.beta1()));
  GS_RETURN_IF_ERROR(options.Get("beta2", &o.beta2()));
  GS_RETURN_IF_ERROR(options.Get("eps", &o.eps()));
  GS_RETURN_IF_ERROR(options.Finish());
  GS_RETURN_IF_ERROR(ValidateAdamWOptions(o, "adamw"));
  return std::make_unique<AdamW>(o);
}

StepRule AdamW::Rule(const Slot&) const { return {options_.lr(), options_.weight_decay()}; }

void AdamW::InitState(const Slot& slot, SlotState& state) const {
  state["exp_avg"] = at::zeros_like(slot.param());
  state["exp_avg_sq"] = at::zeros_like(slot.param());
}

void AdamW::Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                      at::Tensor& direction) {
  kernels::AdamWDirection(grad, state["exp_avg"], state["exp_avg_sq"], direction,
                          Hyper(options_, step));
}

void AdamW::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                 double lr_scale) {
  kernels::AdamWStep(slot.param(), grad, state["exp_avg"], state["exp_avg_sq"],
                     Hyper(options_, step), options_.lr() * lr_scale, options_.weight_decay());
}

bool AdamW::MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                      const DepthMix& mix, double lr_scale) {
  kernels::AdamWMixedStep(mix, slot.param(), grad, state.at("exp_avg"), state.at("exp_avg_sq"),
                          Hyper(options_, step), options_.lr() * lr_scale,
                          options_.weight_decay());
  return true;
}

GS_REGISTER_BASE_OPTIMIZER("adamw", AdamW::FromSpec);

}  // namespace gs
