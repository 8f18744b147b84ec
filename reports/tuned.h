// The report's tuned section: every tuned arm the suite recorded (its tuning.json under
// <results>/tune/, written by benchmarks/tuning.h), with its chosen setting, the
// statistics of its evaluation runs and its steps to target.
#ifndef GS_REPORTS_TUNED_H_
#define GS_REPORTS_TUNED_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "reports/runs.h"
#include "reports/summary.h"

namespace gs::reports {

struct TunedCandidate {
  std::string name;  // "a0.1-lr_scale0.5"
  double lr_scale = 1.0;
  std::map<std::string, std::string> options;  // swept smoothing option -> value
  std::optional<double> value;                 // mean final selection metric over the tuning seeds
  std::string excluded;                        // why it could not be chosen ("diverged (seed 100)")
};

struct TunedRow {
  std::string arm;  // "lm_pretrain/quick/adamw-window-a0.2"
  std::string task, preset, optimizer, smoothing;
  std::string baseline_arm;  // "" for a baseline
  std::string state;         // chosen | none_eligible | pending
  std::string selection_metric, selection_goal;
  std::vector<int64_t> tuning_seeds;
  std::vector<TunedCandidate> candidates;
  int chosen = -1;  // index into candidates
  // The chosen setting's evaluation runs: the reported (primary) metric, n, mean, std,
  // interval, and delta and p against the baseline arm's evaluation runs.
  Row row;
  int baseline = -1;  // index of the baseline arm's row, -1 if none
  // The baseline's median final selection metric over its evaluation seeds, and the step
  // of the first evaluation at which this arm's median selection metric reaches it (a
  // baseline: its last evaluation); nullopt when never reached or unknown.
  std::optional<double> target;
  std::optional<int64_t> steps_to_target;
};

struct TunedSummary {
  std::vector<TunedRow> rows;  // by task, preset, optimizer, baseline first
  std::vector<std::string> warnings;
};

// Reads every tuning.json under <results_dir>/tune; `runs` (every run read under
// results_dir, paths relative to it) must outlive the summary.
TunedSummary SummarizeTuned(const std::string& results_dir, const std::vector<Run>& runs);

// The median over `curves` at each step any of them has, in step order.
std::vector<CurvePoint> MedianCurve(const std::vector<const std::vector<CurvePoint>*>& curves);

// The first step of `curve` whose value reaches `target` (>= for goal max, <= for min).
std::optional<int64_t> FirstStepReaching(const std::vector<CurvePoint>& curve, double target,
                                         const std::string& goal);

// tuned.csv: one row per arm, numbers at full precision.
std::string TunedCsv(const TunedSummary& tuned);

// "AdamW", "AdamW window-a0.2" (the arm's name after its optimizer), for figures.
std::string ArmTitle(const TunedRow& row);

}  // namespace gs::reports

#endif  // GS_REPORTS_TUNED_H_
