// Reads run directories (the contract in README.md: run.json, metrics.jsonl,
// optional depth.json) under a results folder. Broken, partial and foreign folders
// become warnings, never errors.
#ifndef GS_REPORTS_RUNS_H_
#define GS_REPORTS_RUNS_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "tasks/harness/run_status.h"

namespace gs::reports {

struct CurvePoint {
  int64_t step;
  double value;
};

// One chain of repeated blocks in the last record of depth.json.
struct DepthChain {
  std::string name;
  std::vector<std::vector<double>> cka;  // L x L linear CKA; empty when absent
  std::optional<double> mean_adjacent_cka;
  std::optional<double> mean_increment_cosine;
};

struct Run {
  std::string path;  // relative to the results folder
  std::string task, preset;
  std::string optimizer;  // the optimizer's tag: its name, and its options off their defaults
  std::string smoothing;  // the tag; "none" when off
  std::string smoothing_name;   // the transform ("window", "ema"); "none" when off
  std::string smoothing_label;  // for tables: "window alpha=0.2", "ema rho=0.3 direction=backward"
  // The transform's strength option (alpha, rho) and its value, when it has one.
  std::string strength_name;
  std::optional<double> strength;
  // The smoothing settings except the strength ("none" when off): runs that differ only
  // in strength share it, which is what a strength ablation plots.
  std::string smoothing_family;
  int64_t seed = 0;
  // completed | diverged | failed (running runs are not read)
  tasks::RunStatus status = tasks::RunStatus::kCompleted;
  std::string metric, goal;
  std::optional<double> value;  // the final primary metric of a completed run
  // The metric tuning selects on (run.json's selection_metric; the primary metric where
  // the run declares none) and its final value.
  std::string selection_metric, selection_goal;
  std::optional<double> selection_value;
  std::optional<double> seconds_per_step;
  // The configuration that decides what is trained, flattened ("lr" -> "0.004",
  // "task.width" -> "64"): every config value except the seed, the optimizer and
  // smoothing settings (they are in the tags) and settings that only change logging or
  // resources.
  std::map<std::string, std::string> config;
  std::vector<CurvePoint> train_loss;  // metrics.jsonl train lines
  std::vector<CurvePoint> primary;     // metrics.jsonl lines holding the primary metric
  std::vector<CurvePoint> selection;   // ... and the selection metric
  std::vector<DepthChain> depth;       // empty without depth.json
};

struct RunSet {
  std::vector<Run> runs;  // in path order
  std::vector<std::string> warnings;
};

// Every folder under `results_dir` holding run.json is a run directory (not descended
// into). Folders named `report` or `cache` directly under it and folders in `skip` are
// ignored; a folder holding a tuned arm's tuning.json is not warned about. Errors only
// when `results_dir` is not a readable folder.
absl::StatusOr<RunSet> ReadRuns(const std::string& results_dir,
                                const std::vector<std::string>& skip = {});

// Reads one run directory; an error's message says why it is skipped. A run that is
// still running is an error too (it is counted nowhere). Problems that leave the run
// usable (a malformed metrics line, a broken depth.json) are appended to `warnings`.
absl::StatusOr<Run> ReadRun(const std::string& dir, const std::string& relative_path,
                            std::vector<std::string>* warnings);

}  // namespace gs::reports

#endif  // GS_REPORTS_RUNS_H_
