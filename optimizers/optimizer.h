// The optimizer users hold: a base optimizer over depth stacks, with an optional depth
// transform (Gradient Smoothing) between the base optimizer's directions and the
// parameter update. LibTorch habits: options with chainable setters, step(),
// zero_grad(), save/load of the whole state.
//
//   auto opt = gs::DepthOptimizer::Create(
//       named_parameters, std::make_unique<gs::AdamW>(gs::AdamWOptions().lr(1e-3)),
//       std::make_unique<gs::WindowSmoothing>(gs::WindowSmoothingOptions().alpha(0.2)));
//   loss.backward(); (*opt)->step(); (*opt)->zero_grad();
//
// Each step, for every depth group in scope: D = base direction of the group's stacked
// gradient, D' = T(D), and W_l <- W_l * (1 - lr * wd) - lr * D'_l, where wd is the base
// optimizer's decoupled weight decay (never transformed). With target `gradient` the
// raw gradients are transformed instead, before the base optimizer sees them. Other
// parameters (singletons, out-of-scope groups) take the base optimizer's plain step.
//
// Data parallel: with a communicator of N > 1 ranks (options().communicator()), the
// harness calls AverageGradients() after backward; step() then shards every depth stack
// along depth (ZeRO-1, optimizers/sharding.h): rank r keeps the state of, computes the
// directions of and updates its own blocks only, reads the neighbour directions its mix
// needs from their owners, and gathers every rank's updated blocks. Singletons stay
// replicated. The result equals the one-process step bit for bit (see
// tests/optimizers/sharded_step_test.cc).
#ifndef GS_OPTIMIZERS_OPTIMIZER_H_
#define GS_OPTIMIZERS_OPTIMIZER_H_

#include <memory>
#include <string>
#include <vector>

#include <torch/arg.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "optimizers/base_optimizer.h"
#include "optimizers/depth_stack.h"
#include "optimizers/depth_transform.h"
#include "optimizers/sharding.h"

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace gs {

class Communicator;

enum class SmoothingScope {
  kAll,       // every block parameter: weights, biases, norm gains
  kMatrices,  // only the 2-D weights of the blocks' linear layers
};

enum class SmoothingTarget {
  kUpdate,    // the base optimizer's directions (the paper's method)
  kGradient,  // raw gradients, before the base optimizer sees them
};

enum class SmoothingDecay {
  kSeparate,  // decoupled weight decay is applied as the base optimizer defines it
  kSmoothed,  // the whole change D + wd * W goes through the transform (the authors'
              // code does so for its Muon groups)
};

enum class WeightDecayOn {
  kMatrices,  // only parameters with two or more dimensions per block (nanoGPT's rule)
  kAll,       // every parameter, biases and norm gains too
};

struct DepthOptimizerOptions {
  // Prefixes of the model's chains of repeated blocks (`<chain>.<i>.<slot>`).
  TORCH_ARG(std::vector<std::string>, chains) = std::vector<std::string>{"blocks"};
  TORCH_ARG(SmoothingScope, scope) = SmoothingScope::kAll;
  TORCH_ARG(SmoothingTarget, target) = SmoothingTarget::kUpdate;
  TORCH_ARG(SmoothingDecay, decay) = SmoothingDecay::kSeparate;
  TORCH_ARG(WeightDecayOn, weight_decay_on) = WeightDecayOn::kMatrices;
  // The ranks of a data-parallel job; null (or one rank) is one process, untouched.
  TORCH_ARG(std::shared_ptr<Communicator>, communicator) = nullptr;
};

class DepthOptimizer {
 public:
  // Finds the depth groups of `params`, stacks them (the module's parameters become
  // views of the stacks), and returns the optimizer; `transform` may be null. Options of
  // `base` and `transform` outside their declared ranges are InvalidArgument.
  static absl::StatusOr<std::unique_ptr<DepthOptimizer>> Create(
      const std::vector<NamedTensor>& params, std::unique_ptr<BaseOptimizer> base,
      std::unique_ptr<DepthTransform> transform = nullptr,
      DepthOptimizerOptions options = {});

  // With N > 1 ranks, a collective: every rank calls it, with the same gradients.
  void step();
  // Zeroes gradients in place (the stacks' gradients stay where autograd writes).
  void zero_grad();
  // Averages the gradients over the ranks: one all-reduce per depth stack and one
  // bucket for the singletons (per dtype); a singleton with a gradient on any rank gets
  // one on every rank. A collective; nothing without a communicator or with one rank.
  void AverageGradients();
  // Bytes of optimizer state this rank holds: about 1/N of the stacks' plus the
  // singletons'.
  int64_t state_bytes() const;

  // Multiplies every learning rate (a schedule's factor; 1 by default).
  void set_lr_scale(double scale) { lr_scale_ = scale; }
  double lr_scale() const { return lr_scale_; }
  int64_t step_count() const { return step_count_; }

  const BaseOptimizer& base() const { return *base_; }
  const DepthTransform* transform() const { return transform_.get(); }
  const DepthOptimizerOptions& options() const { return options_; }
  const std::vector<DepthStack>& stacks() const { return stacks_; }
  size_t num_slots() const { return entries_.size(); }
  // Slot i over the whole stack; its state covers this rank's blocks only when sharded.
  const Slot& slot(size_t i) const { return entries_[i].slot; }
  const SlotState& state(size_t i) const { return entries_[i].state; }
  // This rank's blocks of slot i's stack: all of them in one process (none for a
  // singleton).
  BlockRange owned_blocks(size_t i) const { return entries_[i].owned; }
  // Whether slot i's direction (or gradient) goes through the transform.
  bool transformed(size_t i) const { return entries_[i].transformed; }

  // The whole optimizer state: step counts and every state buffer, by slot name. When
  // sharded, a collective that gathers every rank's blocks: the archive is the one a
  // single process writes.
  void save(torch::serialize::OutputArchive& archive) const;
  // Restores what save wrote; the slots must match (names and shapes) and the base
  // optimizer must be the same one, else InvalidArgument and nothing changes. When
  // sharded, keeps this rank's blocks of the whole state (so N ranks load what one
  // process saved, and the reverse).
  absl::Status load(torch::serialize::InputArchive& archive);
  // save/load through a file; Save writes a temporary file and renames it. With a
  // communicator every rank calls Save (it gathers) and rank 0 alone writes.
  absl::Status Save(const std::string& path) const;
  absl::Status Load(const std::string& path);

 private:
  struct Entry {
    explicit Entry(Slot s) : slot(std::move(s)) {}
    Slot slot;
    SlotState state;
    int64_t steps = 0;
    int64_t stack = -1;   // index into stacks_, or -1 for a singleton
    at::Tensor variable;  // a singleton's parameter (its .grad() is read each step)
    bool transformed = false;
    std::optional<DepthMix> fixed_mix;  // the transform's mix when it depends on depth only
    at::Tensor transformed_grad;  // target=gradient: the smoothed gradient buffer
    // Sharded stacks: this rank's blocks, the slot over them that the base optimizer
    // steps, and the halo exchange of a fixed mix with its buffer.
    BlockRange owned;
    std::optional<Slot> shard;
    std::optional<HaloPlan> halo;
    at::Tensor exchange;
  };

  DepthOptimizer() = default;

  bool sharded() const;
  void InitShard(Entry& e);
  void StepShard(Entry& e, int tag);
  void TransformedShardUpdate(Entry& e, int tag);

  std::unique_ptr<BaseOptimizer> base_;
  std::unique_ptr<DepthTransform> transform_;
  DepthOptimizerOptions options_;
  std::vector<DepthStack> stacks_;
  std::vector<Entry> entries_;
  double lr_scale_ = 1.0;
  int64_t step_count_ = 0;
};

// The options every depth transform has besides its own: scope, target and decay.
const OptionSchema& CommonSmoothingOptions();

// The whole declaration of `--smoothing=<name>`: the transform's own options followed
// by the common ones; InvalidArgument naming the registered transforms for an unknown
// name. For "none", no options.
absl::StatusOr<OptionSchema> SmoothingSchema(absl::string_view name);

// Everything a task's flags say about its optimizer, by registered names.
struct OptimizerConfig {
  std::string optimizer = "adamw";   // a registered base optimizer
  BaseOptimizerSpec base;
  std::string smoothing = "none";    // "none" or a registered depth transform
  // The transform's options and the common ones (scope, target, decay), by name.
  std::map<std::string, std::string> smoothing_options;
  std::string weight_decay_on = "matrices";  // matrices | all
  std::vector<std::string> chains = {"blocks"};
  // The ranks of a data-parallel job (DepthOptimizerOptions::communicator).
  std::shared_ptr<Communicator> communicator;
};

absl::StatusOr<std::unique_ptr<DepthOptimizer>> CreateOptimizer(
    const std::vector<NamedTensor>& params, const OptimizerConfig& config);

}  // namespace gs

#endif  // GS_OPTIMIZERS_OPTIMIZER_H_
