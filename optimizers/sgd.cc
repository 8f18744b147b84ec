#include "optimizers/sgd.h"

#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/kernels.h"
#include "optimizers/status_macros.h"

namespace gs {

namespace {

const OptionSchema& SgdSchema() {
  static const OptionSchema* schema = new OptionSchema(
      StepOptions(0.1, 0.0)
          .Number("momentum", 0.9, Range::HalfOpen(0, 1), "momentum factor")
          .Tag("m")
          .Number("dampening", 0.0, Range::Closed(0, 1), "dampening of the momentum")
          .Tag("damp")
          .Bool("nesterov", false, "Nesterov momentum"));
  return *schema;
}

absl::StatusOr<std::unique_ptr<BaseOptimizer>> FromValues(const BaseOptimizerSpec&,
                                                         const OptionValues& v) {
  SGDOptions o;
  o.lr(v.Number("lr"))
      .weight_decay(v.Number("weight_decay"))
      .momentum(v.Number("momentum"))
      .dampening(v.Number("dampening"))
      .nesterov(v.Bool("nesterov"));
  GS_RETURN_IF_ERROR(Require(!o.nesterov() || (o.momentum() > 0.0 && o.dampening() == 0.0),
                             "sgd", "nesterov=true needs momentum > 0 and dampening = 0"));
  return std::make_unique<SGD>(o);
}

}  // namespace

OptionValues SGD::option_values() const {
  OptionValues v(SgdSchema());
  v.SetNumber("lr", options_.lr())
      .SetNumber("weight_decay", options_.weight_decay())
      .SetNumber("momentum", options_.momentum())
      .SetNumber("dampening", options_.dampening())
      .SetBool("nesterov", options_.nesterov());
  return v;
}

void SGD::InitState(const Slot& slot, SlotState& state) const {
  if (options_.momentum() != 0.0) state["momentum_buffer"] = at::zeros_like(slot.param());
}

// At step 1 the momentum buffer starts as the gradient, as torch's does.
kernels::SgdHyper SGD::Hyper(const Slot& slot, int64_t step) const {
  return {options_.momentum(), options_.dampening(), slot.decays() ? options_.weight_decay() : 0.0,
          options_.nesterov(), step == 1};
}

void SGD::Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                    at::Tensor& direction) {
  at::Tensor none;  // no buffer without momentum
  at::Tensor& buf = options_.momentum() != 0.0 ? state.at("momentum_buffer") : none;
  kernels::SgdDirection(slot.param(), grad, buf, direction, Hyper(slot, step));
}

void SGD::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
               double lr_scale) {
  at::Tensor none;
  at::Tensor& buf = options_.momentum() != 0.0 ? state.at("momentum_buffer") : none;
  kernels::SgdStep(slot.param(), grad, buf, Hyper(slot, step), options_.lr() * lr_scale);
}

bool SGD::MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                    const DepthMix& mix, double lr_scale) {
  at::Tensor none;
  at::Tensor& buf = options_.momentum() != 0.0 ? state.at("momentum_buffer") : none;
  kernels::SgdMixedStep(mix, slot.param(), grad, buf, Hyper(slot, step), options_.lr() * lr_scale);
  return true;
}

GS_REGISTER_BASE_OPTIMIZER("sgd", SgdSchema(), FromValues);

}  // namespace gs
