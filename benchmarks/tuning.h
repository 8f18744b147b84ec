// The tuning protocol (README.md, "Tuning"): which candidate of a tuned arm (grid.h's
// TunedArm) runs on the evaluation seeds. Every candidate ran on the tuning seeds
// (stage 1); the one with the best mean final selection metric over those seeds is
// chosen (stage 2). The selection metric is run.json's `selection_metric` (a `val`
// metric), or its `primary_metric` where a task declares none, unless that is a test
// metric (test_*): the test metrics a task reports are never chosen on. The choice is recorded in <results>/tune/<arm>/tuning.json.
#ifndef GS_BENCHMARKS_TUNING_H_
#define GS_BENCHMARKS_TUNING_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/grid.h"
#include "nlohmann/json.hpp"

namespace gs::benchmarks {

// The rule, as tuning.json and README.md state it.
inline constexpr char kTuningRule[] =
    "the candidate with the best mean final selection metric over the tuning seeds (goal-aware); "
    "a candidate with a seed that diverged or lacks the metric is never chosen; ties go to the "
    "smaller lr_scale, then the smaller values of the swept smoothing options; the arm waits "
    "while any trial is unfinished or failed";

struct TrialOutcome {
  int64_t seed = 0;
  std::string dir;  // relative to the results folder
  // new | completed | diverged, or a partial run's own status: running | failed (partial
  // when its run.json does not parse).
  std::string status;
  std::optional<double> value;  // its final selection metric, when completed with one
};

struct CandidateOutcome {
  std::vector<TrialOutcome> trials;  // one per tuning seed, in the arm's seed order
  std::optional<double> value;       // the mean over the seeds, when it may be chosen
  std::string excluded;              // why it may not be, when it may not: "diverged (seed 100)"
};

enum class ArmState {
  kChosen,        // a candidate is chosen
  kNoneEligible,  // every trial finished, and every candidate diverged or lacks the metric
  kPending,       // a trial is unfinished or failed: the suite runs it again first
};

struct ArmChoice {
  ArmState state = ArmState::kPending;
  int chosen = -1;                           // index into the arm's candidates when kChosen
  std::string metric, goal;                  // the selection metric ("" until a trial completed)
  std::vector<CandidateOutcome> candidates;  // in the arm's candidate order
};

// The index of the best of `values` for `goal` ("min" | "max") among those present; the
// earliest wins a tie (candidates are ordered for that: grid.h). -1 when none is present.
int BestCandidate(const std::vector<std::optional<double>>& values, const std::string& goal);

// Reads the arm's trials under `results_dir` and applies the rule.
ArmChoice ChooseCandidate(const TunedArm& arm, const std::string& results_dir);

// "chosen", "none_eligible", "pending".
const char* ArmStateName(ArmState state);

// tuning.json: the arm, its seeds, the metric and the rule, every candidate with its
// trials and value, and the choice with its evaluation runs (null until there is one).
nlohmann::json TuningJson(const TunedArm& arm, const ArmChoice& choice);

// Writes TuningJson to <results_dir>/<arm.TuningJsonPath()>, atomically, unless the file
// already holds exactly that (a rerun on finished results changes no file).
absl::Status WriteTuningJson(const TunedArm& arm, const ArmChoice& choice,
                             const std::string& results_dir);

// One line for the suite's output: "lm_pretrain/smoke/sgd-none: lr_scale1 (val_loss 2.31)".
std::string ChoiceText(const TunedArm& arm, const ArmChoice& choice);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_TUNING_H_
