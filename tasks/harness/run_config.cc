#include "tasks/harness/run_config.h"

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "optimizers/base_optimizer.h"
#include "optimizers/depth_transform.h"
#include "optimizers/options.h"
#include "optimizers/status_macros.h"
#include "tasks/harness/boundary.h"

ABSL_FLAG(std::string, optimizer, "adamw",
          "base optimizer: sgd | adamw | muon | any registered (--list_optimizers)");
ABSL_FLAG(std::string, optimizer_options, "",
          "the base optimizer's options, key=value,key=value (--list_optimizers)");
ABSL_FLAG(std::optional<double>, lr, std::nullopt, "learning rate (default: the preset's)");
// Text, so that a value that is not a number exits 2 with the contract's message.
ABSL_FLAG(std::string, lr_scale, "1",
          "multiplies the learning rate (--lr or the preset's): lr = base * lr_scale");
ABSL_FLAG(std::string, smoothing, "none",
          "depth transform: none | window | laplacian | ema | any registered");
ABSL_FLAG(std::string, smoothing_options, "",
          "the transform's options, key=value,key=value (--list_optimizers)");
// The transforms' most used options, each a spelling of --smoothing_options=<key>=...
ABSL_FLAG(std::optional<double>, smoothing_alpha, std::nullopt,
          "option alpha: window and laplacian strength in [0, 1] (default 0.2 and 0.1)");
ABSL_FLAG(std::optional<int64_t>, window_radius, std::nullopt, "option radius: an integer >= 1");
ABSL_FLAG(std::optional<std::string>, smoothing_kernel, std::nullopt,
          "option kernel: box | triangle | gaussian");
ABSL_FLAG(std::optional<std::string>, smoothing_variant, std::nullopt,
          "option variant: standard | norm | direction");
ABSL_FLAG(std::optional<std::string>, smoothing_scope, std::nullopt, "option scope: all | matrices");
ABSL_FLAG(std::optional<std::string>, smoothing_target, std::nullopt,
          "option target: update | gradient");
ABSL_FLAG(std::string, weight_decay_on, "matrices",
          "which parameters get weight decay: matrices (two or more dimensions) | all");
ABSL_FLAG(bool, list_optimizers, false,
          "print the registered base optimizers and depth transforms with their options");
ABSL_FLAG(std::string, list_format, "text", "the format of --list_optimizers: text | json");
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
ABSL_FLAG(double, dist_timeout, 30,
          "data parallel: seconds a collective waits for the other ranks before the run fails");
ABSL_FLAG(bool, verbose, false, "on an error, also print LibTorch's full message and stack trace");

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

std::string RunConfig::OptimizerTag() const {
  const std::string tag = optimizer_values.Tag();
  return tag.empty() ? optimizer : absl::StrCat(optimizer, "-", tag);
}

std::string RunConfig::SmoothingTag() const {
  if (smoothing == "none") return "none";
  const std::string tag = smoothing_values.Tag();
  return tag.empty() ? smoothing : absl::StrCat(smoothing, "-", tag);
}

nlohmann::json RunConfig::SmoothingJson() const {
  if (smoothing == "none") {
    return {{"name", "none"}, {"tag", "none"}, {"label", "none"},
            {"options", nlohmann::json::object()}};
  }
  const OptionDecl* strength = smoothing_values.schema().StrengthOption();
  const std::string label = smoothing_values.Label();
  return {{"name", smoothing},
          {"tag", SmoothingTag()},
          {"label", label.empty() ? smoothing : absl::StrCat(smoothing, " ", label)},
          {"strength", strength != nullptr ? strength->name : ""},
          {"options", smoothing_values.ToJson()}};
}

OptimizerConfig RunConfig::ToOptimizerConfig(double lr_value, double weight_decay,
                                             std::vector<std::string> chains) const {
  OptimizerConfig c;
  c.optimizer = optimizer;
  c.base.options = optimizer_options;
  c.base.lr = lr_value;
  // --optimizer_options=weight_decay=... replaces the preset's.
  if (!optimizer_options.count("weight_decay")) c.base.weight_decay = weight_decay;
  c.smoothing = smoothing;
  c.smoothing_options = smoothing_options;
  c.weight_decay_on = weight_decay_on;
  c.chains = std::move(chains);
  return c;
}

namespace {

// The spelling flags, each one option of --smoothing_options.
absl::Status AddSpelledOptions(std::map<std::string, std::string>& options) {
  std::vector<std::pair<std::string, std::string>> spelled;  // (flag, option=value)
  if (auto v = absl::GetFlag(FLAGS_smoothing_alpha)) spelled.push_back({"smoothing_alpha", "alpha=" + NumberText(*v)});
  if (auto v = absl::GetFlag(FLAGS_window_radius)) spelled.push_back({"window_radius", absl::StrCat("radius=", *v)});
  if (auto v = absl::GetFlag(FLAGS_smoothing_kernel)) spelled.push_back({"smoothing_kernel", "kernel=" + *v});
  if (auto v = absl::GetFlag(FLAGS_smoothing_variant)) spelled.push_back({"smoothing_variant", "variant=" + *v});
  if (auto v = absl::GetFlag(FLAGS_smoothing_scope)) spelled.push_back({"smoothing_scope", "scope=" + *v});
  if (auto v = absl::GetFlag(FLAGS_smoothing_target)) spelled.push_back({"smoothing_target", "target=" + *v});
  for (const auto& [flag, kv] : spelled) {
    const size_t eq = kv.find('=');
    const std::string key = kv.substr(0, eq);
    if (!options.emplace(key, kv.substr(eq + 1)).second) {
      return absl::InvalidArgumentError(absl::StrCat("--", flag, " and --smoothing_options both ",
                                                     "set option '", key, "'; give it once"));
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<RunConfig> ParseRunConfig(int argc, char** argv, const std::string& task) {
  absl::SetProgramUsageMessage(absl::StrCat("Trains the ", task,
                                            " task; see README.md for the flags."));
  GS_ASSIGN_OR_RETURN(std::vector<char*> rest, ParseCommandLineChecked(argc, argv));
  if (rest.size() > 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("unexpected argument '", rest[1], "'; every setting is a --flag"));
  }
  RunConfig c;
  c.task = task;
  if (absl::GetFlag(FLAGS_list_optimizers)) {
    c.list_optimizers = absl::GetFlag(FLAGS_list_format);
    GS_RETURN_IF_ERROR(OneOf("list_format", c.list_optimizers, {"text", "json"}));
    return c;
  }
  c.optimizer = absl::GetFlag(FLAGS_optimizer);
  c.lr = absl::GetFlag(FLAGS_lr);
  c.smoothing = absl::GetFlag(FLAGS_smoothing);
  c.weight_decay_on = absl::GetFlag(FLAGS_weight_decay_on);
  c.seed = absl::GetFlag(FLAGS_seed);
  c.preset = absl::GetFlag(FLAGS_preset);
  c.steps = absl::GetFlag(FLAGS_steps);
  c.eval_every = absl::GetFlag(FLAGS_eval_every);
  c.checkpoint_every = absl::GetFlag(FLAGS_checkpoint_every);
  c.threads = absl::GetFlag(FLAGS_threads);
  c.device = absl::GetFlag(FLAGS_device);
  c.data = absl::GetFlag(FLAGS_data);
  c.depth_every = absl::GetFlag(FLAGS_depth_every);
  c.verbose = absl::GetFlag(FLAGS_verbose);
  c.dist_timeout = absl::GetFlag(FLAGS_dist_timeout);

  // The optimizer and the transform with their options, each checked against its
  // declaration (the messages name the option and what is allowed).
  std::vector<std::string> optimizers = BaseOptimizers().Names();
  GS_RETURN_IF_ERROR(OneOf("optimizer", c.optimizer, optimizers));
  GS_ASSIGN_OR_RETURN(c.optimizer_options,
                      ParseOptionList("optimizer_options", absl::GetFlag(FLAGS_optimizer_options)));
  if (c.optimizer_options.count("lr")) {
    return absl::InvalidArgumentError(
        "--optimizer_options=lr=...: give the learning rate as --lr");
  }
  GS_ASSIGN_OR_RETURN(const OptionSchema* optimizer_schema, BaseOptimizers().Schema(c.optimizer));
  GS_ASSIGN_OR_RETURN(c.optimizer_values, optimizer_schema->Resolve(c.optimizer, c.optimizer_options));
  if (c.lr) {
    GS_RETURN_IF_ERROR(Check(std::isfinite(*c.lr) && *c.lr > 0, "lr", absl::StrCat(*c.lr),
                             "a finite number > 0"));
  }
  const std::string lr_scale = absl::GetFlag(FLAGS_lr_scale);
  GS_RETURN_IF_ERROR(Check(absl::SimpleAtod(lr_scale, &c.lr_scale) && std::isfinite(c.lr_scale) &&
                               c.lr_scale > 0,
                           "lr_scale", lr_scale, "a finite number > 0"));
  std::vector<std::string> transforms = DepthTransforms().Names();
  transforms.insert(transforms.begin(), "none");
  GS_RETURN_IF_ERROR(OneOf("smoothing", c.smoothing, transforms));
  GS_ASSIGN_OR_RETURN(c.smoothing_options,
                      ParseOptionList("smoothing_options", absl::GetFlag(FLAGS_smoothing_options)));
  GS_RETURN_IF_ERROR(AddSpelledOptions(c.smoothing_options));
  if (c.smoothing == "none" && !c.smoothing_options.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "smoothing option '", c.smoothing_options.begin()->first,
        "' is given but --smoothing=none; choose a transform (", absl::StrJoin(transforms, " | "), ")"));
  }
  GS_ASSIGN_OR_RETURN(OptionSchema smoothing_schema, SmoothingSchema(c.smoothing));
  GS_ASSIGN_OR_RETURN(c.smoothing_values,
                      smoothing_schema.Resolve(absl::StrCat("--smoothing=", c.smoothing),
                                               c.smoothing_options));
  GS_RETURN_IF_ERROR(OneOf("weight_decay_on", c.weight_decay_on, {"matrices", "all"}));
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
  GS_RETURN_IF_ERROR(Check(std::isfinite(c.dist_timeout) && c.dist_timeout >= 1, "dist_timeout",
                           absl::StrCat(c.dist_timeout), "a number of seconds >= 1"));
  const std::string cache_dir = absl::GetFlag(FLAGS_cache_dir);
  GS_RETURN_IF_ERROR(Check(!cache_dir.empty(), "cache_dir", cache_dir, "a directory"));

  std::string out = absl::GetFlag(FLAGS_out);
  if (out.empty()) {
    out = absl::StrCat("results/", task, "/", c.OptimizerTag(), "-", c.SmoothingTag(), "/seed", c.seed);
  }
  c.out = InWorkspace(out);
  c.cache_dir = InWorkspace(cache_dir);
  return c;
}

}  // namespace gs::tasks
