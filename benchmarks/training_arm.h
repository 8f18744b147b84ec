// One task with one optimizer, stepped by the harness's own tasks::TrainingStep
// (learning-rate schedule, zero_grad, TrainLoss, backward, global gradient-norm clip,
// optimizer step), with each step timed. The benchmarks build two
// of these with the same seed (same initial weights, same batches) and alternate them.
#ifndef GS_BENCHMARKS_TRAINING_ARM_H_
#define GS_BENCHMARKS_TRAINING_ARM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "optimizers/optimizer.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/trainer.h"

namespace gs::benchmarks {

struct ArmConfig {
  std::string task;
  std::string preset = "quick";
  std::string optimizer = "adamw";
  std::optional<double> lr;        // unset: the preset's for the optimizer
  std::string smoothing = "none";  // none or any registered depth transform
  std::map<std::string, std::string> smoothing_options;  // its options, by name
  int64_t seed = 0;
  std::string data;  // the task's default data when empty
  // Caches shared between runs (a trained classifier, a supervised start); empty: the
  // harness's default, results/cache in the workspace.
  std::string cache_dir;
};

struct StepTimes {
  double step_seconds = 0.0;       // the whole step
  double optimizer_seconds = 0.0;  // opt.step() alone
  double loss = 0.0;               // the training loss of the step (before the update)
};

class TrainingArm {
 public:
  // Seeds the global generator with config.seed, sets the task up on the CPU, and
  // creates the optimizer with the preset's learning rate and weight decay. Bad
  // settings are InvalidArgument or NotFound (missing data).
  // `after_setup` (if given) runs between the task's Setup and the optimizer's creation
  // (the memory benchmark takes its baseline there).
  static absl::StatusOr<std::unique_ptr<TrainingArm>> Create(
      const ArmConfig& config, const std::function<void()>& after_setup = nullptr);

  // Step `step` (0-based) of the preset's schedule.
  StepTimes Step(int64_t step);

  tasks::Task& task() { return *task_; }
  DepthOptimizer& optimizer() { return *optimizer_; }
  const ArmConfig& config() const { return config_; }
  double lr() const { return lr_; }
  double weight_decay() const { return weight_decay_; }

 private:
  TrainingArm() = default;

  ArmConfig config_;
  std::unique_ptr<tasks::Task> task_;
  std::unique_ptr<DepthOptimizer> optimizer_;
  double lr_ = 0.0, weight_decay_ = 0.0;
};

// The timing tools' shared flags: --steps >= 1, --warmup >= 0, --threads >= 1;
// InvalidArgument naming the flag otherwise.
absl::Status CheckTimingFlags(int64_t steps, int64_t warmup, int64_t threads);

// The exit code of the contract for input a user can fix (a bad flag or file).
inline constexpr int kBadInput = tasks::kExitBadInput;

// Prints "error: <message>" and returns kBadInput.
int BadInput(const std::string& message);

// Sets the usage text and parses the command line with Abseil; InvalidArgument naming the
// first argument that is not a --flag.
absl::Status ParseToolCommandLine(int argc, char** argv, const char* usage);

// Where a tool keeps its scratch files: the --work_dir flag's value (relative to the
// workspace; created), or a fresh directory under /tmp named after `tool` when empty.
struct WorkDir {
  std::string path;
  bool temporary = false;  // the caller removes it at the end
};
absl::StatusOr<WorkDir> MakeWorkDir(const std::string& flag, const std::string& tool);

// Writes `report` to the --json flag's `path` (relative to the workspace) atomically and
// says where; returns the exit code (0, or 1 with a message naming --json).
int WriteJsonReport(const std::string& path, const nlohmann::json& report);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_TRAINING_ARM_H_
