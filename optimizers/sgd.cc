#include "optimizers/sgd.h"

#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/kernels.h"
#include "optimizers/status_macros.h"

namespace gs {

absl::StatusOr<std::unique_ptr<BaseOptimizer>> SGD::FromSpec(const BaseOptimizerSpec& spec) {
  SGDOptions o;
  if (spec.lr) o.lr(*spec.lr);
  if (spec.weight_decay) o.weight_decay(*spec.weight_decay);
  SpecOptions options("sgd", spec.options);
  GS_RETURN_IF_ERROR(options.Get("momentum", &o.momentum()));
  GS_RETURN_IF_ERROR(options.Get("dampening", &o.dampening()));
  GS_RETURN_IF_ERROR(options.Get("nesterov", &o.nesterov()));
  GS_RETURN_IF_ERROR(options.Finish());
  GS_RETURN_IF_ERROR(RequireNonNegative("sgd", "lr", o.lr()));
  GS_RETURN_IF_ERROR(
      Require(o.momentum() >= 0.0 && o.momentum() < 1.0, "sgd", "momentum", o.momentum(), "[0, 1)"));
  GS_RETURN_IF_ERROR(Require(o.dampening() >= 0.0 && o.dampening() <= 1.0, "sgd", "dampening",
                             o.dampening(), "[0, 1]"));
  GS_RETURN_IF_ERROR(RequireNonNegative("sgd", "weight_decay", o.weight_decay()));
  if (o.nesterov() && (o.momentum() <= 0.0 || o.dampening() != 0.0)) {
    return absl::InvalidArgumentError(
        "sgd nesterov=true needs momentum > 0 and dampening = 0");
  }
  return std::make_unique<SGD>(o);
}

void SGD::InitState(const Slot& slot, SlotState& state) const {
  if (options_.momentum() != 0.0) state["momentum_buffer"] = at::zeros_like(slot.param());
}

// At step 1 the momentum buffer starts as the gradient, as torch's does.
kernels::SgdHyper SGD::Hyper(int64_t step) const {
  return {options_.momentum(), options_.dampening(), options_.weight_decay(),
          options_.nesterov(), step == 1};
}

void SGD::Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                    at::Tensor& direction) {
  at::Tensor none;  // no buffer without momentum
  at::Tensor& buf = options_.momentum() != 0.0 ? state.at("momentum_buffer") : none;
  kernels::SgdDirection(slot.param(), grad, buf, direction, Hyper(step));
}

void SGD::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
               double lr_scale) {
  at::Tensor none;
  at::Tensor& buf = options_.momentum() != 0.0 ? state.at("momentum_buffer") : none;
  kernels::SgdStep(slot.param(), grad, buf, Hyper(step), options_.lr() * lr_scale);
}

bool SGD::MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                    const DepthMix& mix, double lr_scale) {
  at::Tensor none;
  at::Tensor& buf = options_.momentum() != 0.0 ? state.at("momentum_buffer") : none;
  kernels::SgdMixedStep(mix, slot.param(), grad, buf, Hyper(step), options_.lr() * lr_scale);
  return true;
}

GS_REGISTER_BASE_OPTIMIZER("sgd", SGD::FromSpec);

}  // namespace gs
