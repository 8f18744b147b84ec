// The command-line contract every task binary keeps (../shared/DESIGN.md), parsed once
// into a RunConfig. Bad values are InvalidArgument naming the flag and what is allowed
// (the binaries exit 2 on them).
#ifndef GS_TASKS_RUN_CONFIG_H_
#define GS_TASKS_RUN_CONFIG_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "optimizers/optimizer.h"

namespace gs::tasks {

struct RunConfig {
  std::string task;
  std::string optimizer = "adamw";
  std::optional<double> lr;  // unset: the preset's learning rate for the optimizer
  std::string smoothing = "none";
  double smoothing_alpha = 0.2;
  int64_t window_radius = 1;
  std::string smoothing_kernel = "box";
  std::string smoothing_variant = "standard";
  std::string smoothing_scope = "all";
  std::string smoothing_target = "update";
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

  // "none", or every smoothing setting: "window-a0.2-r1-box-standard-all-update".
  std::string SmoothingTag() const;
  // The smoothing flags as an object (run.json's `smoothing`).
  nlohmann::json SmoothingJson() const;
  // The optimizer library's view of the flags.
  OptimizerConfig ToOptimizerConfig(double lr, std::vector<std::string> chains) const;
};

// Parses argv with absl flags for `task` and checks every value. `workspace` resolves a
// relative --out (and the default results/<task>/<optimizer>-<tag>/seed<k>): the user's
// workspace under `bazel run`, else the current directory.
absl::StatusOr<RunConfig> ParseRunConfig(int argc, char** argv, const std::string& task);

// BUILD_WORKSPACE_DIRECTORY under `bazel run`, else the current directory.
std::string UserWorkspace();

// `path` if absolute, else under UserWorkspace().
std::string InWorkspace(const std::string& path);

}  // namespace gs::tasks

#endif  // GS_TASKS_RUN_CONFIG_H_
