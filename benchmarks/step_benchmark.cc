// The end-to-end training step of each task (forward, backward, gradient clip,
// optimizer step) with and without Window Smoothing, for each base optimizer, as a
// ratio measured in one process. Two instances of a task with the same seed (same
// initial weights, same batches) each get one optimizer (smoothing none / window) and
// their steps alternate, A B B A A B ..., so machine drift and cache state hit both arms
// alike. Reports the median seconds per step of each arm, the ratio of the medians, the
// median of the per-pair ratios with its 90% order-statistic confidence interval and
// its 5-95% spread, and the same for opt.step() alone (where the difference is).
//
//   bazel run //benchmarks:step_benchmark -- --steps=20 --json=results/step_benchmark.json
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "benchmarks/task_registry.h"
#include "benchmarks/timing_stats.h"
#include "benchmarks/training_arm.h"
#include "nlohmann/json.hpp"
#include "optimizers/kernels.h"
#include "tasks/harness/blas.h"
#include "tasks/harness/boundary.h"
#include "optimizers/options.h"
#include "tasks/harness/run_config.h"
#include "tasks/harness/run_dir.h"

// The task harness (//tasks:run_config, linked with the tasks) defines --preset, --steps,
// --threads, --seed, --smoothing_alpha, --window_radius and --cache_dir; this benchmark
// reads the same flags. --steps here is the timed steps per arm (default 20).
ABSL_DECLARE_FLAG(std::string, preset);
ABSL_DECLARE_FLAG(std::optional<int64_t>, steps);
ABSL_DECLARE_FLAG(int64_t, threads);
ABSL_DECLARE_FLAG(int64_t, seed);
ABSL_DECLARE_FLAG(std::optional<double>, smoothing_alpha);
ABSL_DECLARE_FLAG(std::optional<int64_t>, window_radius);
ABSL_DECLARE_FLAG(std::string, cache_dir);
ABSL_FLAG(std::vector<std::string>, tasks, {},
          "comma-separated tasks (default: every registered task)");
ABSL_FLAG(std::vector<std::string>, optimizers, std::vector<std::string>({"sgd", "adamw", "muon"}),
          "comma-separated base optimizers");
ABSL_FLAG(int64_t, warmup, 3, "untimed steps per arm before the timed ones (>= 0)");
ABSL_FLAG(std::string, json, "", "also write the results (every step time) to this JSON file");

namespace gs::benchmarks {
namespace {

struct ArmTimes {
  std::vector<double> step, optimizer, loss;
  nlohmann::json Json() const {
    return {{"step_seconds", step},
            {"optimizer_seconds", optimizer},
            {"losses", loss},
            {"median_step_seconds", Median(step)},
            {"median_optimizer_seconds", Median(optimizer)}};
  }
};

// Window Smoothing's settings: the flags, else the transform's defaults.
double Alpha() { return absl::GetFlag(FLAGS_smoothing_alpha).value_or(0.2); }
int64_t Radius() { return absl::GetFlag(FLAGS_window_radius).value_or(1); }

void Record(const StepTimes& t, ArmTimes& arm) {
  arm.step.push_back(t.step_seconds);
  arm.optimizer.push_back(t.optimizer_seconds);
  arm.loss.push_back(t.loss);
}

// Times one task x optimizer pair of arms; InvalidArgument/NotFound for bad settings.
absl::StatusOr<nlohmann::json> Measure(const std::string& task, const std::string& optimizer,
                                       int64_t steps, int64_t warmup) {
  ArmConfig config;
  config.task = task;
  config.preset = absl::GetFlag(FLAGS_preset);
  config.optimizer = optimizer;
  config.seed = absl::GetFlag(FLAGS_seed);
  config.cache_dir = absl::GetFlag(FLAGS_cache_dir);
  absl::StatusOr<std::unique_ptr<TrainingArm>> plain = TrainingArm::Create(config);
  if (!plain.ok()) return plain.status();
  config.smoothing = "window";
  config.smoothing_options = {{"alpha", NumberText(Alpha())}, {"radius", absl::StrCat(Radius())}};
  absl::StatusOr<std::unique_ptr<TrainingArm>> smoothed = TrainingArm::Create(config);
  if (!smoothed.ok()) return smoothed.status();

  ArmTimes a, b;
  for (int64_t step = 0; step < warmup + steps; ++step) {
    std::fprintf(stderr, "\r%s %s: step %lld/%lld   ", task.c_str(), optimizer.c_str(),
                 static_cast<long long>(step + 1), static_cast<long long>(warmup + steps));
    // A B, then B A: neither arm always runs first.
    StepTimes ta, tb;
    if (step % 2 == 0) {
      ta = (*plain)->Step(step);
      tb = (*smoothed)->Step(step);
    } else {
      tb = (*smoothed)->Step(step);
      ta = (*plain)->Step(step);
    }
    if (step >= warmup) {
      Record(ta, a);
      Record(tb, b);
    }
  }
  std::fprintf(stderr, "\n");
  return nlohmann::json{
      {"task", task},
      {"optimizer", optimizer},
      {"lr", (*plain)->lr()},
      {"weight_decay", (*plain)->weight_decay()},
      {"none", a.Json()},
      {"window", b.Json()},
      {"ratio_of_medians", Median(b.step) / Median(a.step)},
      {"paired_ratio", Summary(Ratios(a.step, b.step))},
      {"paired_difference_seconds", Summary(Differences(a.step, b.step))},
      {"optimizer_ratio_of_medians", Median(b.optimizer) / Median(a.optimizer)},
      {"optimizer_paired_ratio", Summary(Ratios(a.optimizer, b.optimizer))},
      {"optimizer_paired_difference_seconds", Summary(Differences(a.optimizer, b.optimizer))}};
}

std::string Interval(const nlohmann::json& s) {
  if (s["ci90_low"].is_null()) return absl::StrFormat("%.3f [n too small]", s["median"].get<double>());
  return absl::StrFormat("%.3f [%.3f, %.3f]", s["median"].get<double>(),
                         s["ci90_low"].get<double>(), s["ci90_high"].get<double>());
}

void PrintTable(const nlohmann::json& report) {
  std::printf("\nTraining step with / without Window Smoothing (alpha %g, radius %lld): preset %s, "
              "%lld timed steps per arm after %lld warm-up, %lld thread(s), %s BLAS kernels, "
              "%s optimizer kernels\n\n",
              report["smoothing"]["alpha"].get<double>(),
              static_cast<long long>(report["smoothing"]["radius"].get<int64_t>()),
              report["preset"].get<std::string>().c_str(),
              static_cast<long long>(report["steps"].get<int64_t>()),
              static_cast<long long>(report["warmup"].get<int64_t>()),
              static_cast<long long>(report["threads"].get<int64_t>()),
              report["blas_kernels"].get<std::string>().c_str(),
              report["optimizer_kernels"].get<std::string>().c_str());
  std::printf("| task | optimizer | step, none (ms) | step, window (ms) | ratio of medians | "
              "paired ratio, median [90%% CI] | paired ratio 5-95%% | opt.step, none (ms) | "
              "opt.step, window (ms) | opt.step ratio of medians | step difference (ms) | "
              "opt.step difference (ms) |\n");
  std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  for (const nlohmann::json& r : report["results"]) {
    const nlohmann::json& ratio = r["paired_ratio"];
    std::printf("| %s | %s | %.2f | %.2f | %.3f | %s | %.3f-%.3f | %.2f | %.2f | %.3f | %.2f | %.2f |\n",
                r["task"].get<std::string>().c_str(), r["optimizer"].get<std::string>().c_str(),
                1e3 * r["none"]["median_step_seconds"].get<double>(),
                1e3 * r["window"]["median_step_seconds"].get<double>(),
                r["ratio_of_medians"].get<double>(), Interval(ratio).c_str(),
                ratio["p05"].get<double>(), ratio["p95"].get<double>(),
                1e3 * r["none"]["median_optimizer_seconds"].get<double>(),
                1e3 * r["window"]["median_optimizer_seconds"].get<double>(),
                r["optimizer_ratio_of_medians"].get<double>(),
                1e3 * r["paired_difference_seconds"]["median"].get<double>(),
                1e3 * r["optimizer_paired_difference_seconds"]["median"].get<double>());
  }
  std::printf("\nDifferences are medians of per-pair differences (window - none); the step "
              "difference minus the opt.step difference is what smoothing costs outside the "
              "optimizer (nothing, by design).\n");
}

constexpr char kUsage[] =
    "Times the training step of each task with and without Window Smoothing, alternating "
    "two same-seed arms in one process; see benchmarks/README.md.";

int Main(int argc, char** argv) {
  if (absl::Status s = ParseToolCommandLine(argc, argv, kUsage); !s.ok()) {
    return BadInput(std::string(s.message()));
  }
  const int64_t steps = absl::GetFlag(FLAGS_steps).value_or(20), warmup = absl::GetFlag(FLAGS_warmup);
  const int64_t threads = absl::GetFlag(FLAGS_threads);
  if (absl::Status s = CheckTimingFlags(steps, warmup, threads); !s.ok()) {
    return BadInput(std::string(s.message()));
  }
  std::vector<std::string> task_names = absl::GetFlag(FLAGS_tasks);
  if (task_names.empty()) task_names = TaskNames();
  const std::vector<std::string> optimizers = absl::GetFlag(FLAGS_optimizers);
  if (optimizers.empty()) return BadInput("--optimizers: name at least one base optimizer");
  tasks::SetThreads(threads);

  nlohmann::json report = {
      {"benchmark", "step_benchmark"},
      {"preset", absl::GetFlag(FLAGS_preset)},
      {"steps", steps},
      {"warmup", warmup},
      {"threads", threads},
      {"seed", absl::GetFlag(FLAGS_seed)},
      {"smoothing", {{"alpha", Alpha()}, {"radius", Radius()}}},
      {"order", "alternating pairs: none then window on even steps, window then none on odd"},
      {"blas_kernels", tasks::BlasCoreName()},
      {"optimizer_kernels", kernels::InstructionSet()},
      {"versions", tasks::Versions()},
      {"results", nlohmann::json::array()}};
  for (const std::string& task : task_names) {
    for (const std::string& optimizer : optimizers) {
      absl::StatusOr<nlohmann::json> result = Measure(task, optimizer, steps, warmup);
      if (!result.ok()) {
        std::fprintf(stderr, "error: %s %s: %s\n", task.c_str(), optimizer.c_str(),
                     std::string(result.status().message()).c_str());
        return tasks::ExitCodeFor(result.status());
      }
      report["results"].push_back(*result);
    }
  }
  PrintTable(report);
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    if (int code = WriteJsonReport(path, report); code != 0) return code;
  }
  return 0;
}

}  // namespace
}  // namespace gs::benchmarks

int main(int argc, char** argv) {
  gs::tasks::UseFastBlasKernels(argv);  // as the task binaries do (tasks/harness/blas.h)
  gs::tasks::KeepFreedMemoryForReuse();
  return gs::benchmarks::Main(argc, argv);
}
