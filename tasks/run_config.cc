#include "tasks/run_config.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "optimizers/base_optimizer.h"
#include "optimizers/status_macros.h"

ABSL_FLAG(std::string, optimizer, "adamw", "base optimizer: sgd | adamw | muon | any registered");
ABSL_FLAG(std::optional<double>, lr, std::nullopt, "learning rate (default: the preset's)");
ABSL_FLAG(std::string, smoothing, "none", "none | window");
ABSL_FLAG(double, smoothing_alpha, 0.2, "smoothing strength in [0, 1]");
ABSL_FLAG(int64_t, window_radius, 1, "window radius, an integer >= 1");
ABSL_FLAG(std::string, smoothing_kernel, "box", "box | triangle | gaussian");
ABSL_FLAG(std::string, smoothing_variant, "standard", "standard | norm | direction");
ABSL_FLAG(std::string, smoothing_scope, "all", "all | matrices");
ABSL_FLAG(std::string, smoothing_target, "update", "update | gradient");
ABSL_FLAG(int64_t, seed, 0, "seed of every random draw");
ABSL_FLAG(std::string, preset, "quick", "smoke | quick | paper");
ABSL_FLAG(std::optional<int64_t>, steps, std::nullopt, "training steps (default: the preset's)");
ABSL_FLAG(std::optional<int64_t>, eval_every, std::nullopt, "evaluate every N steps");
ABSL_FLAG(std::optional<int64_t>, checkpoint_every, std::nullopt, "checkpoint every N steps");
ABSL_FLAG(std::string, out, "",
          "run directory (default results/<task>/<optimizer>-<smoothing>/seed<k>; relative "
          "paths resolve against the workspace)");
ABSL_FLAG(int64_t, threads, 1, "intra-op and BLAS threads");
ABSL_FLAG(std::string, device, "cpu", "cpu | cuda");
ABSL_FLAG(std::string, data, "", "a data file instead of the task's default");
ABSL_FLAG(std::string, cache_dir, "results/cache",
          "caches shared between runs (relative paths resolve against the workspace)");
ABSL_FLAG(int64_t, depth_every, 0,
          "also record the depth analysis every N steps (0: only at the end)");

namespace gs::tasks {
namespace {

absl::Status OneOf(const char* flag, const std::string& value,
                   const std::vector<std::string>& allowed) {
  if (std::find(allowed.begin(), allowed.end(), value) != allowed.end()) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("--", flag, "=", value, " is not allowed; use ",
                                                 absl::StrJoin(allowed, " | ")));
}

absl::Status Check(bool ok, const char* flag, const std::string& value, const char* allowed) {
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("--", flag, "=", value, " is not allowed; use ", allowed));
}

}  // namespace

std::string UserWorkspace() {
  const char* dir = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  return dir != nullptr ? std::string(dir) : std::filesystem::current_path().string();
}

std::string InWorkspace(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(UserWorkspace()) / p;
  return p.lexically_normal().string();
}

std::string RunConfig::SmoothingTag() const {
  if (smoothing == "none") return "none";
  return absl::StrCat(smoothing, "-a", absl::StrCat(smoothing_alpha), "-r", window_radius, "-",
                      smoothing_kernel, "-", smoothing_variant, "-", smoothing_scope, "-",
                      smoothing_target);
}

nlohmann::json RunConfig::SmoothingJson() const {
  return {{"smoothing", smoothing},         {"smoothing_alpha", smoothing_alpha},
          {"window_radius", window_radius}, {"smoothing_kernel", smoothing_kernel},
          {"smoothing_variant", smoothing_variant}, {"smoothing_scope", smoothing_scope},
          {"smoothing_target", smoothing_target},   {"tag", SmoothingTag()}};
}

OptimizerConfig RunConfig::ToOptimizerConfig(double lr_value,
                                             std::vector<std::string> chains) const {
  OptimizerConfig c;
  c.optimizer = optimizer;
  c.base.lr = lr_value;
  c.smoothing = smoothing;
  c.transform.alpha = smoothing_alpha;
  c.transform.radius = window_radius;
  c.transform.kernel = smoothing_kernel;
  c.transform.variant = smoothing_variant;
  c.scope = smoothing_scope;
  c.target = smoothing_target;
  c.chains = std::move(chains);
  return c;
}

absl::StatusOr<RunConfig> ParseRunConfig(int argc, char** argv, const std::string& task) {
  absl::SetProgramUsageMessage(absl::StrCat("Trains the ", task,
                                            " task; see README.md for the flags."));
  std::vector<char*> rest = absl::ParseCommandLine(argc, argv);
  if (rest.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", rest[1], "'; every setting is a --flag"));
  }
  RunConfig c;
  c.task = task;
  c.optimizer = absl::GetFlag(FLAGS_optimizer);
  c.lr = absl::GetFlag(FLAGS_lr);
  c.smoothing = absl::GetFlag(FLAGS_smoothing);
  c.smoothing_alpha = absl::GetFlag(FLAGS_smoothing_alpha);
  c.window_radius = absl::GetFlag(FLAGS_window_radius);
  c.smoothing_kernel = absl::GetFlag(FLAGS_smoothing_kernel);
  c.smoothing_variant = absl::GetFlag(FLAGS_smoothing_variant);
  c.smoothing_scope = absl::GetFlag(FLAGS_smoothing_scope);
  c.smoothing_target = absl::GetFlag(FLAGS_smoothing_target);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.preset = absl::GetFlag(FLAGS_preset);
  c.steps = absl::GetFlag(FLAGS_steps);
  c.eval_every = absl::GetFlag(FLAGS_eval_every);
  c.checkpoint_every = absl::GetFlag(FLAGS_checkpoint_every);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.device = absl::GetFlag(FLAGS_device);
  c.data = absl::GetFlag(FLAGS_data);
  c.depth_every = absl::GetFlag(FLAGS_depth_every);

  const std::vector<std::string> optimizers = BaseOptimizers().Names();
  GS_RETURN_IF_ERROR(OneOf("optimizer", c.optimizer, optimizers));
  if (c.lr) {
    GS_RETURN_IF_ERROR(Check(std::isfinite(*c.lr) && *c.lr > 0, "lr", absl::StrCat(*c.lr),
                             "a finite number > 0"));
  }
  GS_RETURN_IF_ERROR(OneOf("smoothing", c.smoothing, {"none", "window"}));
  GS_RETURN_IF_ERROR(Check(c.smoothing_alpha >= 0 && c.smoothing_alpha <= 1, "smoothing_alpha",
                           absl::StrCat(c.smoothing_alpha), "a number in [0, 1]"));
  GS_RETURN_IF_ERROR(Check(c.window_radius >= 1, "window_radius",
                           absl::StrCat(c.window_radius), "an integer >= 1"));
  GS_RETURN_IF_ERROR(OneOf("smoothing_kernel", c.smoothing_kernel, {"box", "triangle", "gaussian"}));
  GS_RETURN_IF_ERROR(
      OneOf("smoothing_variant", c.smoothing_variant, {"standard", "norm", "direction"}));
  GS_RETURN_IF_ERROR(OneOf("smoothing_scope", c.smoothing_scope, {"all", "matrices"}));
  GS_RETURN_IF_ERROR(OneOf("smoothing_target", c.smoothing_target, {"update", "gradient"}));
  GS_RETURN_IF_ERROR(OneOf("preset", c.preset, {"smoke", "quick", "paper"}));
  if (c.steps) {
    GS_RETURN_IF_ERROR(Check(*c.steps >= 1, "steps", absl::StrCat(*c.steps), "an integer >= 1"));
  }
  if (c.eval_every) {
    GS_RETURN_IF_ERROR(Check(*c.eval_every >= 1, "eval_every", absl::StrCat(*c.eval_every),
                             "an integer >= 1"));
  }
  if (c.checkpoint_every) {
    GS_RETURN_IF_ERROR(Check(*c.checkpoint_every >= 1, "checkpoint_every",
                             absl::StrCat(*c.checkpoint_every), "an integer >= 1"));
  }
  GS_RETURN_IF_ERROR(Check(c.threads >= 1 && c.threads <= 1024, "threads",
                           absl::StrCat(c.threads), "an integer in [1, 1024]"));
  GS_RETURN_IF_ERROR(OneOf("device", c.device, {"cpu", "cuda"}));
  GS_RETURN_IF_ERROR(Check(c.depth_every >= 0, "depth_every", absl::StrCat(c.depth_every),
                           "an integer >= 0"));
  const std::string cache_dir = absl::GetFlag(FLAGS_cache_dir);
  GS_RETURN_IF_ERROR(Check(!cache_dir.empty(), "cache_dir", cache_dir, "a directory"));

  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    out = absl::StrCat("results/", task, "/", c.optimizer, "-", c.SmoothingTag(), "/seed", c.seed);
  }
  c.out = InWorkspace(out);
  c.cache_dir = InWorkspace(cache_dir);
  return c;
}

}  // namespace gs::tasks
