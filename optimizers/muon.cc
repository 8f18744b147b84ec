#include "optimizers/muon.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/status_macros.h"

namespace gs {

absl::StatusOr<std::unique_ptr<BaseOptimizer>> Muon::FromSpec(const BaseOptimizerSpec& spec) {
  MuonOptions o;
  if (spec.lr) o.lr(*spec.lr);
  if (spec.weight_decay) o.weight_decay(*spec.weight_decay);
  SpecOptions options("muon", spec.options);
  std::string scale = "reference";  // the option's name, parsed below
  GS_RETURN_IF_ERROR(options.Get("momentum", &o.momentum()));
  GS_RETURN_IF_ERROR(options.Get("nesterov", &o.nesterov()));
  GS_RETURN_IF_ERROR(options.Get("ns_steps", &o.ns_steps()));
  GS_RETURN_IF_ERROR(options.Get("scale", &scale, {"reference", "match_adamw"}));
  GS_RETURN_IF_ERROR(options.Get("batched", &o.batched()));
  o.scale(scale == "match_adamw" ? MuonScale::kMatchAdamW : MuonScale::kReference);
  AdamWOptions& adamw = o.adamw();
  if (o.scale() == MuonScale::kMatchAdamW) adamw.lr(o.lr()).weight_decay(o.weight_decay());
  GS_RETURN_IF_ERROR(options.Get("adamw_lr", &adamw.lr()));
  GS_RETURN_IF_ERROR(options.Get("adamw_beta1", &adamw.beta1()));
  GS_RETURN_IF_ERROR(options.Get("adamw_beta2", &adamw.beta2()));
  GS_RETURN_IF_ERROR(options.Get("adamw_eps", &adamw.eps()));
  GS_RETURN_IF_ERROR(options.Get("adamw_weight_decay", &adamw.weight_decay()));
  GS_RETURN_IF_ERROR(options.Finish());
  GS_RETURN_IF_ERROR(RequireNonNegative("muon", "lr", o.lr()));
  GS_RETURN_IF_ERROR(Require(o.momentum() >= 0.0 && o.momentum() < 1.0, "muon", "momentum",
                             o.momentum(), "[0, 1)"));
  GS_RETURN_IF_ERROR(
      Require(o.ns_steps() >= 1, "muon", "ns_steps", o.ns_steps(), "an integer >= 1"));
  GS_RETURN_IF_ERROR(RequireNonNegative("muon", "weight_decay", o.weight_decay()));
  GS_RETURN_IF_ERROR(ValidateAdamWOptions(adamw, "muon's adamw"));
  return std::make_unique<Muon>(o);
}

StepRule Muon::Rule(const Slot& slot) const {
  if (!UsesMuon(slot)) return adamw_.Rule(slot);
  return {options_.lr(), options_.weight_decay()};
}

void Muon::InitState(const Slot& slot, SlotState& state) const {
  if (!UsesMuon(slot)) {
    adamw_.InitState(slot, state);
    return;
  }
  state["momentum_buffer"] = at::zeros_like(slot.param());
}

void Muon::Direction(const Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                     at::Tensor& direction) {
  if (!UsesMuon(slot)) {
    adamw_.Direction(slot, grad, state, step, direction);
    return;
  }
  at::Tensor& buf = state.at("momentum_buffer");
  const double beta = options_.momentum();
  buf.lerp_(grad, 1.0 - beta);
  const at::Tensor u = options_.nesterov() ? grad.lerp(buf, beta) : buf;

  const int64_t rows = u.size(1), cols = u.size(2);
  const double scale =
      options_.scale() == MuonScale::kReference
          ? std::sqrt(std::max(1.0, static_cast<double>(rows) / static_cast<double>(cols)))
          : 0.2 * std::sqrt(static_cast<double>(std::max(rows, cols)));
  if (options_.batched()) {
    at::mul_out(direction, NewtonSchulz(u, options_.ns_steps(), &Workspace(u)), scale);
  } else {
    NewtonSchulzWorkspace& ws = Workspace(u[0]);
    for (int64_t l = 0; l < u.size(0); ++l) {
      at::Tensor out = direction[l];
      at::mul_out(out, NewtonSchulzPlain(u[l], options_.ns_steps(), &ws), scale);
    }
  }
}

NewtonSchulzWorkspace& Muon::Workspace(const at::Tensor& matrices) {
  return workspaces_[matrices.sizes().vec()];
}

void Muon::Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                double lr_scale) {
  if (!UsesMuon(slot)) {
    adamw_.Step(slot, grad, state, step, lr_scale);
    return;
  }
  BaseOptimizer::Step(slot, grad, state, step, lr_scale);
}

bool Muon::MixedStep(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                     const DepthMix& mix, double lr_scale) {
  // Newton-Schulz couples a matrix's elements: only the AdamW part fuses.
  return !UsesMuon(slot) && adamw_.MixedStep(slot, grad, state, step, mix, lr_scale);
}

GS_REGISTER_BASE_OPTIMIZER("muon", Muon::FromSpec);

}  // namespace gs
