// Grid files (benchmarks/grids/*.json): which runs a suite invocation makes. A grid is a
// list of experiments, each the cross product of its tasks, presets, optimizers,
// smoothing settings, flag overrides (a list value sweeps) and seeds:
//
//   {"description": "...",
//    "experiments": [
//      {"tasks": ["vit_classification", "lm_pretrain"], "preset": "quick",
//       "optimizers": ["sgd", "adamw", "muon"],
//       "smoothing": [{"smoothing": "none"}, {"smoothing": "window", "alpha": 0.2},
//                     {"smoothing": "ema", "rho": 0.3, "direction": "backward"}],
//       "seeds": [0, 1, 2, 3, 4],
//       "flags": {"steps": 100, "lr_scale": [0.5, 1, 2]}}]}
//
// An experiment that tunes adds "tune": {"lr_scale": [0.25, 0.5, 1, 2, 4],
// "smoothing_alpha": [0.1, 0.2], "seeds": [100]} and gives no flags.lr_scale.
//
// tasks, preset, optimizers, smoothing and seeds are required; each takes a list or one
// value. A smoothing entry names a registered transform and any of its declared options
// (smoothing_alpha, window_radius, smoothing_kernel, smoothing_variant, smoothing_scope
// and smoothing_target spell alpha, radius, kernel, variant, scope and target, as the
// task flags do). "tune" makes every task x preset x optimizer x smoothing x flags of the
// experiment a tuned arm (TunedArm below; the protocol is benchmarks/tuning.h's), its
// "seeds" the evaluation seeds.
// Every mistake is InvalidArgument naming the file, the key path and what is allowed.
#ifndef GS_BENCHMARKS_GRID_H_
#define GS_BENCHMARKS_GRID_H_

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "optimizers/options.h"

namespace gs::benchmarks {

// One smoothing setting: a registered transform and the options the grid gave it.
struct Smoothing {
  std::string name = "none";
  std::map<std::string, std::string> given;  // option -> value as the grid wrote it
  OptionValues values;  // every option; the declared default where the grid gave none

  // The run tag, as the task binaries make it (RunConfig::SmoothingTag): "none",
  // "window-a0.2", "ema-rho0.1-backward".
  std::string Tag() const;
};

// One run: a task binary's flags and its directory under the results folder.
struct RunSpec {
  std::string task;
  std::string preset;
  std::string optimizer;
  Smoothing smoothing;
  int64_t seed = 0;
  // Flag overrides (lr, lr_scale, steps, eval_every, checkpoint_every, threads) in that
  // order, each with its value as the grid wrote it.
  std::vector<std::pair<std::string, std::string>> overrides;
  // <task>/<preset>/<optimizer>-<smoothing tag>[-<overrides tag>]/seed<k>, e.g.
  // lm_pretrain/quick/adamw-none-lr0.002-steps100/seed0.
  std::string dir;

  // The task binary's flags, less --out and --cache_dir (the runner adds them).
  std::vector<std::string> TaskArgs() const;
};

// One setting a tuned arm tries: a learning-rate multiplier and, for a smoothed arm,
// the values of the smoothing options the tune sweeps.
struct Candidate {
  // Its folder in the arm's: the swept options' tags and lr_scale, "a0.1-lr_scale0.5".
  std::string name;
  double lr_scale = 1.0;
  std::map<std::string, std::string> options;  // swept option -> value as passed
  RunSpec run;  // its runs' flags; seed and dir are set per run
};

// A tuned arm: one task x preset x optimizer x smoothing entry x flag combination of an
// experiment with "tune". Its candidates run on the tuning seeds first (stage 1); the
// best by the selection metric then runs on the evaluation seeds (stage 2).
struct TunedArm {
  // <task>/<preset>/<optimizer>-<smoothing>[-<flags>], the smoothing tag without the
  // swept options: "lm_pretrain/quick/adamw-none", "lm_pretrain/quick/adamw-window"
  // (alpha swept), "lm_pretrain/quick/adamw-window-a0.2" (alpha not swept).
  std::string name;
  std::string task, preset, optimizer;
  std::string smoothing;  // the smoothing entry's name: "none", "window"
  // The arm without smoothing that this one is compared with (same task, preset,
  // optimizer and flags, in the same experiment); "" for a baseline or when none.
  std::string baseline;
  std::vector<std::string> swept;  // the smoothing options the tune sweeps for this arm
  // Ordered by lr_scale, then the swept options' values (ascending): the order in which
  // ties between equally good candidates are broken.
  std::vector<Candidate> candidates;
  std::vector<int64_t> tuning_seeds, evaluation_seeds;

  // tune/<name>/<candidate>/seed<k>, and tuned/<name>/<candidate>/seed<k>.
  RunSpec Trial(size_t candidate, int64_t seed) const;
  RunSpec Evaluation(size_t candidate, int64_t seed) const;
  // Every candidate at every tuning seed, seeds slowest.
  std::vector<RunSpec> Trials() const;
  // tune/<name>/tuning.json, relative to the results folder.
  std::string TuningJsonPath() const;
};

struct Grid {
  std::string path;
  std::string description;
  std::vector<RunSpec> runs;     // untuned runs: unique directories, in expansion order
  std::vector<TunedArm> tuned;   // unique names, in expansion order
};

// What a grid may name: the suite's tasks (built or planned), the registered base
// optimizers and depth transforms, each transform with every option it takes (its own
// and those every transform has).
struct GridNames {
  std::vector<std::string> tasks;
  std::vector<std::string> optimizers;
  std::map<std::string, OptionSchema> transforms;
};

// Fills `names`' optimizers and transforms from a catalogue (a task binary's
// --list_optimizers --list_format=json); DataLoss when it is malformed.
absl::Status ReadCatalog(const std::string& json_text, GridNames* names);

// Parses and expands a grid. `path` names the file in messages. Within an experiment,
// seeds vary slowest, so an interrupted grid has every configuration at the first
// seeds. A run listed twice with the same flags is kept once; two different runs
// with one directory (say alpha 0.2 and 0.2000001) are an error.
absl::StatusOr<Grid> ParseGrid(const std::string& text, const std::string& path,
                               const GridNames& names);

// Reads and parses the grid file at `path`; messages and Grid::path name it `shown_as`
// when given (benchmarks/grids/demo.json rather than a runfiles path).
absl::StatusOr<Grid> LoadGrid(const std::string& path, const GridNames& names,
                              const std::string& shown_as = "");

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_GRID_H_
