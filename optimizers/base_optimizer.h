// Base optimizers: what turns a gradient into a per-parameter update direction D.
//
// A base optimizer works on slots: a depth stack ([L, ...], one chain slot across its
// blocks) or a singleton parameter. It computes D from the gradient and its own state
// and names the learning rate and decoupled weight decay of the slot; the optimizer
// facade (optimizer.h) may transform D along depth, then moves the parameters by
// p <- p * (1 - lr * wd) - lr * D'.
#ifndef GS_OPTIMIZERS_BASE_OPTIMIZER_H_
#define GS_OPTIMIZERS_BASE_OPTIMIZER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"
#include "optimizers/depth_mix.h"
#include "optimizers/options.h"
#include "optimizers/registry.h"

namespace gs {

// What one optimizer step updates.
class Slot {
 public:
  Slot(std::string name, at::Tensor param, int64_t depth)
      : name_(std::move(name)), param_(std::move(param)), depth_(depth) {}

  // "blocks.*.attn.qkv.weight" for a stack, the parameter's name for a singleton.
  const std::string& name() const { return name_; }
  // The stack [L, ...] or the singleton parameter's data.
  at::Tensor& param() { return param_; }
  const at::Tensor& param() const { return param_; }
  // L for a stack, 0 for a singleton.
  int64_t depth() const { return depth_; }
  bool in_chain() const { return depth_ > 0; }
  // Whether decoupled weight decay (SGD: its L2 term) applies to this slot; the
  // optimizer facade decides (by default only weights with two or more dimensions).
  bool decays() const { return decays_; }
  void set_decays(bool decays) { decays_ = decays; }
  // Dimensions of one block's parameter: 2 for a linear layer's weight.
  int64_t block_dim() const { return param_.dim() - (in_chain() ? 1 : 0); }
  // An update-sized buffer, allocated on first use and kept across steps.
  at::Tensor& scratch();

 private:
  std::string name_;
  at::Tensor param_;
  int64_t depth_;
  bool decays_ = true;
  at::Tensor scratch_;
};

// A base optimizer's per-slot state, by buffer name ("exp_avg", "momentum_buffer").
using SlotState = std::map<std::string, at::Tensor>;

// Learning rate and decoupled weight decay of a slot.
struct LrAndDecay {
  double lr;
  double weight_decay;
};

class BaseOptimizer {
 public:
  virtual ~BaseOptimizer() = default;

  virtual std::string name() const = 0;

  // Every declared option with its value (its registered declaration's options); an
  // optimizer that declares none may keep the default.
  virtual OptionValues option_values() const { return {}; }

  // Learning rate and decoupled weight decay of `slot`, before any schedule; the weight
  // decay is 0 where !slot.decays(). An optimizer whose weight decay is part of the
  // gradient (SGD) returns 0 here.
  virtual LrAndDecay LrAndDecayFor(const Slot& slot) const = 0;

  // Creates the state buffers of `slot` (called once, before its first step).
  virtual void InitState(const Slot& slot, SlotState& state) const = 0;

  // Writes the update direction D of `slot` into `direction` (param-shaped), updating
  // `state`. `step` counts the slot's steps from 1.
  virtual void Direction(const Slot& slot, const at::Tensor& grad, SlotState& state,
                         int64_t step, at::Tensor& direction) = 0;

  // A whole step for a slot whose direction is not transformed:
  // p <- p * (1 - lr * wd) - lr * D with {lr, wd} = LrAndDecayFor(slot), lr scaled by lr_scale.
  // Optimizers may override it with a fused loop that gives the same bits.
  virtual void Step(Slot& slot, const at::Tensor& grad, SlotState& state, int64_t step,
                    double lr_scale);

  // A whole step for a stack whose directions go through a depth mix that does not
  // depend on them: p_l <- p_l * (1 - lr * wd) - lr * sum_j w_lj D_j. Optimizers with
  // an element-wise D fuse it into one pass over memory and return true; the default
  // returns false without touching anything, and the caller runs Direction, the mix
  // and the update as separate passes (which a fused loop must match to the bit).
  virtual bool MixedStep(Slot& /*slot*/, const at::Tensor& /*grad*/, SlotState& /*state*/,
                         int64_t /*step*/, const DepthMix& /*mix*/, double /*lr_scale*/) {
    return false;
  }
};

// What a base optimizer is built from: its options by name (every base optimizer
// declares `lr` and `weight_decay` among them); `lr` and `weight_decay`, when set, are
// the same two options given as numbers (a preset's or --lr), and may not be given twice.
struct BaseOptimizerSpec {
  std::optional<double> lr;
  std::optional<double> weight_decay;
  std::map<std::string, std::string> options;

  // `options` with lr and weight_decay folded in; InvalidArgument if one is given twice.
  absl::StatusOr<std::map<std::string, std::string>> AllOptions() const;
};

Registry<BaseOptimizer, BaseOptimizerSpec>& BaseOptimizers();

absl::StatusOr<std::unique_ptr<BaseOptimizer>> CreateBaseOptimizer(
    absl::string_view name, const BaseOptimizerSpec& spec = {});

// The declaration of `lr` and `weight_decay` that every base optimizer starts from.
OptionSchema StepOptions(double lr, double weight_decay);

// Checks a base optimizer built in code (typed options) against its registered
// declaration: InvalidArgument naming the option and what is allowed.
absl::Status ValidateBaseOptimizer(const BaseOptimizer& base);

}  // namespace gs

// Registers `factory` (absl::StatusOr<std::unique_ptr<BaseOptimizer>>(const
// BaseOptimizerSpec&, const OptionValues&)) under `name`, with its options `schema`.
#define GS_REGISTER_BASE_OPTIMIZER(name, schema, factory)                              \
  [[maybe_unused]] static const bool GS_REGISTRY_CONCAT_(gs_base_optimizer_, __LINE__) = \
      ::gs::BaseOptimizers().Register(name, schema, factory)

#endif  // GS_OPTIMIZERS_BASE_OPTIMIZER_H_
