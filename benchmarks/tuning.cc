#include "benchmarks/tuning.h"

#include <cmath>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmarks/runner.h"
#include "tasks/harness/files.h"

namespace gs::benchmarks {
namespace {

using nlohmann::json;

// run.json's selection metric (name, goal), else its primary metric unless that is a
// test metric (test_*): no choice is ever made on a test metric. Empty when neither.
std::pair<std::string, std::string> SelectionMetric(const tasks::RunRecord& run) {
  const tasks::RecordedMetric& selection = run.selection_metric;
  if (!selection.name.empty() && !selection.goal.empty()) return {selection.name, selection.goal};
  const tasks::RecordedMetric& primary = run.primary_metric;
  if (primary.name.empty() || primary.goal.empty() || absl::StartsWith(primary.name, "test_")) {
    return {"", ""};
  }
  return {primary.name, primary.goal};
}

json OptionalNumber(const std::optional<double>& v) { return v ? json(*v) : json(); }

}  // namespace

int BestCandidate(const std::vector<std::optional<double>>& values, const std::string& goal) {
  int best = -1;
  for (size_t i = 0; i < values.size(); ++i) {
    if (!values[i]) continue;
    // Strictly better only: an equal value later in the order does not displace it.
    if (best < 0 || (goal == "max" ? *values[i] > *values[best] : *values[i] < *values[best])) {
      best = static_cast<int>(i);
    }
  }
  return best;
}

const char* ArmStateName(ArmState state) {
  switch (state) {
    case ArmState::kChosen:
      return "chosen";
    case ArmState::kNoneEligible:
      return "none_eligible";
    case ArmState::kPending:
      return "pending";
  }
  return "?";
}

ArmChoice ChooseCandidate(const TunedArm& arm, const std::string& results_dir) {
  ArmChoice choice;
  bool pending = false;
  for (size_t c = 0; c < arm.candidates.size(); ++c) {
    CandidateOutcome out;
    for (int64_t seed : arm.tuning_seeds) {
      const RunSpec trial = arm.Trial(c, seed);
      const RunState state = ReadRunState(results_dir + "/" + trial.dir);
      TrialOutcome t{seed, trial.dir, StatusName(state.status), std::nullopt};
      if (state.status == RunStatus::kNew || state.status == RunStatus::kPartial) pending = true;
      // A partial run says what it is: running (or stopped) or failed.
      if (state.status == RunStatus::kPartial && !state.recorded_status.empty()) {
        t.status = state.recorded_status;
      }
      if (state.status == RunStatus::kCompleted) {
        const auto [metric, goal] = SelectionMetric(*state.run);
        if (choice.metric.empty()) {
          choice.metric = metric;
          choice.goal = goal;
        }
        const json value = state.run->final.value(metric, json());
        // A trial scored by another metric (another build of the task) is not comparable.
        if (metric == choice.metric && value.is_number() && std::isfinite(value.get<double>())) {
          t.value = value.get<double>();
        }
      }
      out.trials.push_back(std::move(t));
    }
    double sum = 0.0;
    for (const TrialOutcome& t : out.trials) {
      const std::string seed = absl::StrCat(" (seed ", t.seed, ")");
      if (t.status == "diverged") {
        out.excluded = "diverged" + seed;
      } else if (t.status != "completed") {
        out.excluded = "not finished" + seed;
      } else if (choice.metric.empty()) {
        out.excluded =
            "no selection metric (none declared, and the primary is a test metric)" + seed;
      } else if (!t.value) {
        out.excluded = absl::StrCat("no final ", choice.metric, seed);
      }
      if (!out.excluded.empty()) break;
      sum += *t.value;
    }
    if (out.excluded.empty() && !out.trials.empty()) out.value = sum / out.trials.size();
    choice.candidates.push_back(std::move(out));
  }
  if (pending) return choice;
  std::vector<std::optional<double>> values;
  for (const CandidateOutcome& out : choice.candidates) values.push_back(out.value);
  choice.chosen = BestCandidate(values, choice.goal);
  choice.state = choice.chosen >= 0 ? ArmState::kChosen : ArmState::kNoneEligible;
  return choice;
}

nlohmann::json TuningJson(const TunedArm& arm, const ArmChoice& choice) {
  json candidates = json::array();
  for (size_t c = 0; c < arm.candidates.size(); ++c) {
    const Candidate& candidate = arm.candidates[c];
    const CandidateOutcome& out = choice.candidates.at(c);
    json trials = json::array();
    for (const TrialOutcome& t : out.trials) {
      trials.push_back({{"seed", t.seed},
                        {"dir", t.dir},
                        {"status", t.status},
                        {"value", OptionalNumber(t.value)}});
    }
    candidates.push_back({{"name", candidate.name},
                          {"lr_scale", candidate.lr_scale},
                          {"options", candidate.options},
                          {"value", OptionalNumber(out.value)},
                          {"excluded", out.excluded},
                          {"trials", trials}});
  }
  json chosen, evaluation = json::array();
  if (choice.state == ArmState::kChosen) {
    const Candidate& c = arm.candidates.at(choice.chosen);
    chosen = {{"name", c.name},
              {"lr_scale", c.lr_scale},
              {"options", c.options},
              {"value", OptionalNumber(choice.candidates[choice.chosen].value)}};
    for (int64_t seed : arm.evaluation_seeds)
      evaluation.push_back(arm.Evaluation(choice.chosen, seed).dir);
  }
  return {{"arm", arm.name},
          {"task", arm.task},
          {"preset", arm.preset},
          {"optimizer", arm.optimizer},
          {"smoothing", arm.smoothing},
          {"baseline", arm.baseline},
          {"swept", arm.swept},
          {"selection_metric", {{"name", choice.metric}, {"goal", choice.goal}}},
          {"rule", kTuningRule},
          {"tuning_seeds", arm.tuning_seeds},
          {"evaluation_seeds", arm.evaluation_seeds},
          {"state", ArmStateName(choice.state)},
          {"candidates", candidates},
          {"chosen", chosen},
          {"evaluation_runs", evaluation}};
}

absl::Status WriteTuningJson(const TunedArm& arm, const ArmChoice& choice,
                             const std::string& results_dir) {
  const std::string path = absl::StrCat(results_dir, "/", arm.TuningJsonPath());
  const std::string text = TuningJson(arm, choice).dump(2) + "\n";
  absl::StatusOr<std::string> old = tasks::ReadFile(path);
  if (old.ok() && *old == text) return absl::OkStatus();
  std::error_code error;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), error);
  if (error) return absl::PermissionDeniedError(absl::StrCat("cannot create the folder of ", path));
  return tasks::WriteFileAtomic(path, text);
}

std::string ChoiceText(const TunedArm& arm, const ArmChoice& choice) {
  switch (choice.state) {
    case ArmState::kChosen: {
      const CandidateOutcome& best = choice.candidates[choice.chosen];
      return absl::StrFormat(
          "%s: chose %s (%s %.6g, mean over %d tuning seed(s)); %d evaluation runs", arm.name,
          arm.candidates[choice.chosen].name, choice.metric, *best.value, best.trials.size(),
          arm.evaluation_seeds.size());
    }
    case ArmState::kNoneEligible:
      return absl::StrCat(arm.name,
                          ": every candidate diverged or lacks its selection metric; "
                          "this arm is not evaluated (see ",
                          arm.TuningJsonPath(), ")");
    case ArmState::kPending: {
      int waiting = 0, total = 0;
      for (const CandidateOutcome& c : choice.candidates) {
        for (const TrialOutcome& t : c.trials) {
          ++total;
          waiting += t.status != "completed" && t.status != "diverged";
        }
      }
      return absl::StrCat(arm.name, ": waiting for ", waiting, " of ", total,
                          " trials (not run, unfinished or failed); no choice yet");
    }
  }
  return arm.name;
}

}  // namespace gs::benchmarks
