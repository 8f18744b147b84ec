// The command-line contract every task binary keeps (README.md, "Running a task"), parsed once
// into a RunConfig. Bad values are InvalidArgument naming the flag and what is allowed
// (the binaries exit 2 on them).
#ifndef GS_TASKS_HARNESS_RUN_CONFIG_H_
#define GS_TASKS_HARNESS_RUN_CONFIG_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "optimizers/optimizer.h"
#include "tasks/harness/workspace.h"

namespace gs::tasks {

struct RunConfig {
  std::string task;
  std::string optimizer = "adamw";  // a registered base optimizer
  // --optimizer_options as given (lr comes from --lr or the preset, never from here).
  std::map<std::string, std::string> optimizer_options;
  std::optional<double> lr;  // unset: the preset's learning rate for the optimizer
  // Multiplies that learning rate (--lr or the preset's): grids tune it relative to the
  // preset, so a re-tuned preset does not leave absolute rates stale.
  double lr_scale = 1.0;
  std::string smoothing = "none";  // "none" or a registered depth transform
  // --smoothing_options and the flags that spell them (--smoothing_alpha, ...), as given.
  std::map<std::string, std::string> smoothing_options;
  // Every option of the base optimizer (lr and weight_decay at the declared defaults,
  // which the preset replaces) and of the transform with its value.
  OptionValues optimizer_values, smoothing_values;
  std::string weight_decay_on = "matrices";  // matrices | all
  int64_t seed = 0;
  std::string preset = "quick";
  std::optional<int64_t> steps;
  std::optional<int64_t> eval_every;
  std::optional<int64_t> checkpoint_every;
  std::string out;   // resolved to an absolute path
  int64_t threads = 1;
  std::string device = "cpu";
  std::string data;  // a data file instead of the task's default, where the task has one
  // Where caches shared between runs live (a trained classifier, a supervised start);
  // resolved to an absolute path, default <workspace>/results/cache.
  std::string cache_dir;
  // Record depth.json every N steps too (0: only at the end of training).
  int64_t depth_every = 0;
  // Data parallel (tasks/harness/ranks.h): how long a collective waits for the other
  // ranks. Not part of the run's configuration, nor is the world size: a run resumes
  // under another.
  double dist_timeout = 30.0;
  // --verbose: errors also print LibTorch's full message with its stack trace. Not part
  // of the run's configuration.
  bool verbose = false;
  // --list_optimizers: print the registered optimizers and transforms ("text" or
  // "json") instead of training; empty otherwise.
  std::string list_optimizers;

  // "adamw", or the name and its options off their defaults: "adamw-b20.99".
  std::string OptimizerTag() const;
  // "none", or the name, its strength and its other options off their defaults:
  // "window-a0.2", "ema-rho0.1-backward".
  std::string SmoothingTag() const;
  // run.json's `smoothing`: name, tag, label, the strength option's name, and options
  // (every option with its value).
  nlohmann::json SmoothingJson() const;
  // The optimizer library's view of the flags, with the preset's lr and weight decay.
  OptimizerConfig ToOptimizerConfig(double lr, double weight_decay,
                                    std::vector<std::string> chains) const;
};

// Parses argv with absl flags for `task` and checks every value. `workspace` resolves a
// relative --out (and the default results/<task>/<optimizer>-<tag>/seed<k>): the user's
// workspace under `bazel run`, else the current directory.
absl::StatusOr<RunConfig> ParseRunConfig(int argc, char** argv, const std::string& task);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_RUN_CONFIG_H_
