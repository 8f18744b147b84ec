// The training harness every task binary shares: flags, run directory, learning-rate
// schedule, gradient clipping, divergence, evaluation, checkpoints and resume. A task
// supplies data, model, training loss and evaluation; RunTask does the rest.
#ifndef GS_TASKS_HARNESS_TRAINER_H_
#define GS_TASKS_HARNESS_TRAINER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/boundary.h"  // the exit codes RunTask returns
#include "tasks/harness/depth_analysis.h"
#include "tasks/harness/ranks.h"
#include "tasks/harness/run_config.h"

namespace gs {
class DepthOptimizer;
}  // namespace gs

namespace gs::tasks {

struct PrimaryMetric {
  std::string name;  // a key of the evaluation, e.g. "test_accuracy"
  std::string goal;  // "min" | "max"
};

// Everything a task's preset fixes about training, besides the model and the data: the
// step counts and intervals, the learning-rate schedule's shape, clipping, the
// per-optimizer learning rates and weight decays, and the weights' moving average. The
// step counts are set by name:
//   TrainingRecipe().Steps(1700).EvalEvery(425).CheckpointEvery(425).LogEvery(25).Warmup(100)
struct TrainingRecipe {
  int64_t steps = 100;
  int64_t eval_every = 50;
  int64_t checkpoint_every = 50;
  int64_t log_every = 10;
  int64_t warmup = 10;          // linear warm-up steps, then cosine decay
  double final_lr_fraction = 0.1;  // the cosine ends at this fraction of the peak
  double clip = 1.0;            // global gradient-norm clip; 0 turns it off
  std::map<std::string, double> lr;  // default learning rate per base optimizer
  // Weight decay per base optimizer, as each defines it: decoupled for AdamW and Muon,
  // an L2 term in the gradient for SGD (so a much smaller number). Others get 0.
  std::map<std::string, double> weight_decay;
  // Decay of an exponential moving average of the weights (tasks/harness/weight_ema.h),
  // updated after every optimizer step (so after smoothing); 0: none. With one, every
  // evaluation also calls Task::EvaluateAveraged with the averages in the model.
  double weight_ema = 0.0;

  TrainingRecipe& Steps(int64_t n) { steps = n; return *this; }
  TrainingRecipe& EvalEvery(int64_t n) { eval_every = n; return *this; }
  TrainingRecipe& CheckpointEvery(int64_t n) { checkpoint_every = n; return *this; }
  TrainingRecipe& LogEvery(int64_t n) { log_every = n; return *this; }
  TrainingRecipe& Warmup(int64_t n) { warmup = n; return *this; }
};

// A generator for the random draws of one stream of a run (an epoch's order, a step's
// batch): seeded from (seed, stream) alone, so a resumed run draws the same.
at::Generator StreamGenerator(int64_t seed, uint64_t stream);

// The learning-rate multiplier at `step` (0-based) of `total`.
double LrScale(const TrainingRecipe& recipe, int64_t step, int64_t total);

class Task {
 public:
  virtual ~Task() = default;

  // The task's name, as in //tasks:<name> and run.json's `task`.
  virtual std::string name() const = 0;
  virtual PrimaryMetric primary() const = 0;
  // The metric hyperparameters are chosen on (README.md, "Tuning"): one of a `val` split,
  // held out from training and disjoint from what primary() reports.
  virtual PrimaryMetric selection() const { return primary(); }
  virtual std::vector<std::string> chains() const { return {"blocks"}; }

  // Loads data and builds the model for config.preset on config.device (the global
  // generator is seeded with the seed before); batches go to that device. User-caused problems (missing or corrupt data) are
  // NotFound or InvalidArgument.
  virtual absl::Status Setup(const RunConfig& config) = 0;
  virtual const TrainingRecipe& recipe() const = 0;
  virtual torch::nn::Module& model() = 0;
  // Preset settings worth recording in run.json's config (model size, batch, ...).
  virtual nlohmann::json Describe() const = 0;

  // The mean training loss of this rank's share (ranks().ShareOf) of the global batch of
  // `step` (0-based): the batch is a function of the seed and the step only, so a
  // resumed run, and any number of ranks, see the same batches.
  virtual at::Tensor TrainLoss(int64_t step) = 0;

  // The batch TrainLoss(step) trains on, as "inputs" and "targets" on the CPU, for tools
  // that replay a step elsewhere (the PyTorch reference in benchmarks/). Empty: the task
  // does not offer it.
  virtual std::map<std::string, at::Tensor> TrainBatch(int64_t /*step*/) { return {}; }

  // Extra statistics of the step TrainLoss just computed (e.g. mean_reward); the trainer
  // averages them between log lines like train_loss and writes the means into the train
  // lines of metrics.jsonl and the last ones into run.json's final.
  virtual std::map<std::string, double> StepStats() { return {}; }

  // Metrics by split ("val", "test"), each a flat object of numbers; `final` at the
  // end of training only (the place for costly metrics such as samples). Every rank
  // calls it and gets the same metrics (a task may evaluate its share of a set and sum
  // over ranks); only ranks().is_main() writes files.
  virtual std::map<std::string, nlohmann::json> Evaluate(bool final) = 0;

  // The same for the weights' moving average (TrainingRecipe::weight_ema), whose values the
  // model's parameters hold during the call; names must differ from Evaluate's (by
  // convention they contain `ema`). Called right after Evaluate.
  virtual std::map<std::string, nlohmann::json> EvaluateAveraged(bool /*final*/) {
    return {};
  }

  // The residual streams of every chain's blocks on a fixed probe batch (the same inputs
  // in every run of a preset), for depth.json; called under NoGradGuard in eval mode,
  // on the main rank only. Empty: the task records no depth analysis.
  virtual std::map<std::string, ChainTrace> ProbeDepth() { return {}; }

  // The processes this run trains on, set by the harness before Setup.
  const Ranks& ranks() const { return ranks_; }
  void set_ranks(Ranks ranks) { ranks_ = std::move(ranks); }

 private:
  Ranks ranks_;
};

// What a run trains with: the preset's step counts and learning rate unless flags
// override them, the learning rate times --lr_scale, the weight decay from
// --optimizer_options or the preset.
struct HyperParameters {
  int64_t steps = 0, eval_every = 0, checkpoint_every = 0;
  double lr = 0.0, weight_decay = 0.0;
};

// InvalidArgument when neither --lr nor the preset gives the optimizer a learning rate.
absl::StatusOr<HyperParameters> ResolveHyperParameters(const TrainingRecipe& recipe,
                                                       const RunConfig& config);

// run.json's `config`: every value the run trains with, which a resume must match.
nlohmann::json ConfigJson(const Task& task, const RunConfig& config, const HyperParameters& hp);

// One training step as every run takes it: the learning-rate multiplier of `step` of
// `total`, zero_grad, Task::TrainLoss, then, for a finite loss only, backward, the
// gradients averaged over ranks, the global gradient-norm clip and the optimizer step.
// Returns the loss of the global batch (the mean over ranks; non-finite: the run
// diverged and nothing was updated). `optimizer_seconds`, when given, receives the time of
// the optimizer step alone.
double TrainingStep(Task& task, DepthOptimizer& optimizer, int64_t step, int64_t total,
                    double* optimizer_seconds = nullptr);

// The ranks the launcher's environment describes (RANK, WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT, as torchrun sets them), joined; one process without it.
absl::StatusOr<Ranks> JoinRanks(const RunConfig& config);

// Runs `task` under the flags in argv (data parallel when the environment says so);
// returns the contract's exit code.
int RunTask(Task& task, int argc, char** argv);

// LibTorch's intra-op threads and OpenBLAS's own pool (LibTorch's setting does not reach it).
void SetThreads(int64_t threads);

// A task binary's main: RunTask, which for --device=cpu first picks the fast BLAS
// kernels and the allocator setting (tasks/harness/blas.h).
int TaskMain(std::unique_ptr<Task> task, int argc, char** argv);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_TRAINER_H_
