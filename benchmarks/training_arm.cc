#include "benchmarks/training_arm.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include <torch/torch.h>

#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/task_registry.h"
#include "optimizers/torch_module.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/files.h"
#include "tasks/harness/run_config.h"

namespace gs::benchmarks {

using Clock = std::chrono::steady_clock;

absl::StatusOr<std::unique_ptr<TrainingArm>> TrainingArm::Create(
    const ArmConfig& config, const std::function<void()>& after_setup) {
  absl::StatusOr<std::unique_ptr<tasks::Task>> task = NewTask(config.task);
  if (!task.ok()) return task.status();
  std::unique_ptr<TrainingArm> arm(new TrainingArm());
  arm->config_ = config;
  arm->task_ = std::move(*task);

  tasks::RunConfig run;
  run.task = config.task;
  run.optimizer = config.optimizer;
  run.lr = config.lr;
  run.smoothing = config.smoothing;
  run.smoothing_options = config.smoothing_options;
  run.seed = config.seed;
  run.preset = config.preset;
  run.data = config.data;
  run.device = "cpu";
  run.cache_dir = tasks::InWorkspace(config.cache_dir.empty() ? "results/cache" : config.cache_dir);
  if (config.preset != "smoke" && config.preset != "quick" && config.preset != "paper") {
    return absl::InvalidArgumentError(
        absl::StrCat("--preset=", config.preset, ": allowed are smoke, quick, paper"));
  }
  // As the harness does: the global generator is seeded before Setup builds the model.
  torch::manual_seed(static_cast<uint64_t>(config.seed));
  if (absl::Status s = arm->task_->Setup(run); !s.ok()) return s;
  if (after_setup) after_setup();

  // The harness's own lookup (the preset's lr and weight decay unless set).
  absl::StatusOr<tasks::HyperParameters> hp =
      tasks::ResolveHyperParameters(arm->task_->recipe(), run);
  if (!hp.ok()) return hp.status();
  arm->lr_ = hp->lr;
  arm->weight_decay_ = hp->weight_decay;
  auto optimizer =
      CreateOptimizer(NamedParameters(arm->task_->model()),
                      run.ToOptimizerConfig(arm->lr_, arm->weight_decay_, arm->task_->chains()));
  if (!optimizer.ok()) return optimizer.status();
  arm->optimizer_ = std::move(*optimizer);
  return arm;
}

StepTimes TrainingArm::Step(int64_t step) {
  const Clock::time_point start = Clock::now();
  StepTimes times;
  times.loss = tasks::TrainingStep(*task_, *optimizer_, step, task_->recipe().steps,
                                   &times.optimizer_seconds);
  times.step_seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return times;
}

absl::Status CheckTimingFlags(int64_t steps, int64_t warmup, int64_t threads) {
  if (steps < 1) return absl::InvalidArgumentError(absl::StrCat("--steps=", steps, ": must be >= 1"));
  if (warmup < 0) return absl::InvalidArgumentError(absl::StrCat("--warmup=", warmup, ": must be >= 0"));
  if (threads < 1) return absl::InvalidArgumentError(absl::StrCat("--threads=", threads, ": must be >= 1"));
  return absl::OkStatus();
}

int BadInput(const std::string& message) { return tasks::PrintError(tasks::kExitBadInput, message); }

absl::Status ParseToolCommandLine(int argc, char** argv, const char* usage) {
  absl::SetProgramUsageMessage(usage);
  absl::StatusOr<std::vector<char*>> parsed = tasks::ParseCommandLineChecked(argc, argv);
  if (!parsed.ok()) return parsed.status();
  const std::vector<char*>& rest = *parsed;
  if (rest.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", rest[1], "'; every setting is a --flag"));
  }
  return absl::OkStatus();
}

absl::StatusOr<WorkDir> MakeWorkDir(const std::string& flag, const std::string& tool) {
  if (!flag.empty()) {
    WorkDir dir{tasks::InWorkspace(flag), false};
    std::error_code error;
    std::filesystem::create_directories(dir.path, error);
    if (error) {
      return absl::InvalidArgumentError(absl::StrCat("--work_dir=", flag, ": ", error.message()));
    }
    return dir;
  }
  std::string pattern = absl::StrCat("/tmp/gs_", tool, ".XXXXXX");
  if (mkdtemp(pattern.data()) == nullptr) {
    return absl::InternalError("cannot create a directory under /tmp");
  }
  return WorkDir{pattern, true};
}

int WriteJsonReport(const std::string& path, const nlohmann::json& report) {
  const std::string resolved = tasks::InWorkspace(path);
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(resolved).parent_path(), error);
  if (absl::Status s = tasks::WriteFileAtomic(resolved, report.dump(2) + "\n"); !s.ok()) {
    std::fprintf(stderr, "error: --json=%s: %s\n", path.c_str(), std::string(s.message()).c_str());
    return 1;
  }
  std::printf("wrote %s\n", resolved.c_str());
  return 0;
}

}  // namespace gs::benchmarks
