#include "optimizers/muon.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "optimizers/status_macros.h"

namespace gs {

namespace {

const OptionSchema& MuonSchema() {
  static const OptionSchema* schema = [] {
    // The AdamW part's options, renamed adamw_*, with the reference setup's defaults.
    OptionSchema adamw;
    for (OptionDecl d : AdamWSchema().decls()) {
      d.name = "adamw_" + d.name;
      d.tag = "adamw_" + d.tag;
      d.help = "the AdamW part's " + d.help.substr(0, d.help.find(" ("));
      d.names_run = true;
      d.default_text = d.name == "adamw_lr"      ? NumberText(3e-4)
                       : d.name == "adamw_beta2" ? NumberText(0.95)
                       : d.name == "adamw_eps"   ? NumberText(1e-10)
                       : d.name == "adamw_weight_decay" ? NumberText(0.0)
                                                       : d.default_text;
      adamw.Add(std::move(d));
    }
    return new OptionSchema(
        StepOptions(0.02, 0.0)
            .Number("momentum", 0.95, Range::HalfOpen(0, 1), "decay of the momentum buffer")
            .Tag("m")
            .Bool("nesterov", true, "Nesterov momentum")
            .Integer("ns_steps", 5, Range::AtLeast(1), "Newton-Schulz iterations")
            .Tag("ns")
            .Choice("scale", "reference", {"reference", "match_adamw"},
                    "update scale: sqrt(max(1, rows/cols)), or 0.2 sqrt(max(rows, cols)) "
                    "(the AdamW part then shares lr and weight_decay)")
            .Bool("batched", true, "Newton-Schulz over the whole stack at once")
            .Unnamed()
            .Extend(adamw));
  }();
  return *schema;
}

absl::StatusOr<std::unique_ptr<BaseOptimizer>> FromValues(const BaseOptimizerSpec& spec,
                                                         const OptionValues& v) {
  MuonOptions o;
  o.lr(v.Number("lr"))
      .weight_decay(v.Number("weight_decay"))
      .momentum(v.Number("momentum"))
      .nesterov(v.Bool("nesterov"))
      .ns_steps(v.Integer("ns_steps"))
      .scale(v.Choice("scale") == "match_adamw" ? MuonScale::kMatchAdamW : MuonScale::kReference)
      .batched(v.Bool("batched"))
      .adamw(AdamWFromValues(v, "adamw_"));
  // With match_adamw the AdamW part shares Muon's lr and weight decay unless told otherwise.
  if (o.scale() == MuonScale::kMatchAdamW) {
    if (!spec.options.count("adamw_lr")) o.adamw().lr(o.lr());
    if (!spec.options.count("adamw_weight_decay")) o.adamw().weight_decay(o.weight_decay());
  }
  return std::make_unique<Muon>(o);
}

}  // namespace

OptionValues Muon::option_values() const {
  OptionValues v(MuonSchema());
  v.SetNumber("lr", options_.lr())
      .SetNumber("weight_decay", options_.weight_decay())
      .SetNumber("momentum", options_.momentum())
      .SetBool("nesterov", options_.nesterov())
      .SetInteger("ns_steps", options_.ns_steps())
      .SetChoice("scale", options_.scale() == MuonScale::kMatchAdamW ? "match_adamw" : "reference")
      .SetBool("batched", options_.batched());
  SetAdamWValues(options_.adamw(), "adamw_", v);
  return v;
}

LrAndDecay Muon::LrAndDecayFor(const Slot& slot) const {
  if (!UsesMuon(slot)) return adamw_.LrAndDecayFor(slot);
  return {options_.lr(), slot.decays() ? options_.weight_decay() : 0.0};
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

GS_REGISTER_BASE_OPTIMIZER("muon", MuonSchema(), FromValues);

}  // namespace gs
