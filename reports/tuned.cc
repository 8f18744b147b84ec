#include "reports/tuned.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "reports/stats.h"
#include "tasks/harness/files.h"

namespace gs::reports {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string Text(const json& j, const std::string& key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : std::string();
}

std::optional<double> Number(const json& j, const std::string& key) {
  if (!j.contains(key) || !j[key].is_number()) return std::nullopt;
  return j[key].get<double>();
}

std::string OptionsText(const std::map<std::string, std::string>& options) {
  std::vector<std::string> parts;
  for (const auto& [k, v] : options) parts.push_back(absl::StrCat(k, "=", v));
  return absl::StrJoin(parts, " ");
}

// One tuning.json as a row (its evaluation runs not yet attached); an error names why
// the file is skipped.
absl::StatusOr<TunedRow> ReadTuning(const std::string& path, const std::string& rel,
                                    std::vector<std::string>* evaluation) {
  absl::StatusOr<std::string> text = tasks::ReadFile(path);
  const json j = json::parse(text.ok() ? *text : std::string(), nullptr, false);
  TunedRow row;
  if (j.is_object()) {
    row.arm = Text(j, "arm");
    row.task = Text(j, "task");
    row.preset = Text(j, "preset");
    row.optimizer = Text(j, "optimizer");
    row.smoothing = Text(j, "smoothing");
    row.baseline_arm = Text(j, "baseline");
    row.state = Text(j, "state");
  }
  if (row.arm.empty() || row.task.empty() || row.state.empty() || !j.contains("candidates") ||
      !j["candidates"].is_array()) {
    return absl::InvalidArgumentError(
        absl::StrCat(rel, ": not a tuning.json of the suite; skipped"));
  }
  if (j.contains("selection_metric") && j["selection_metric"].is_object()) {
    row.selection_metric = Text(j["selection_metric"], "name");
    row.selection_goal = Text(j["selection_metric"], "goal");
  }
  if (j.contains("tuning_seeds") && j["tuning_seeds"].is_array()) {
    for (const json& s : j["tuning_seeds"]) {
      if (s.is_number_integer()) row.tuning_seeds.push_back(s.get<int64_t>());
    }
  }
  const std::string chosen =
      j.contains("chosen") && j["chosen"].is_object() ? Text(j["chosen"], "name") : "";
  for (const json& c : j["candidates"]) {
    if (!c.is_object()) continue;
    TunedCandidate candidate;
    candidate.name = Text(c, "name");
    candidate.lr_scale = Number(c, "lr_scale").value_or(1.0);
    if (c.contains("options") && c["options"].is_object()) {
      for (const auto& [k, v] : c["options"].items()) {
        candidate.options[k] = v.is_string() ? v.get<std::string>() : v.dump();
      }
    }
    candidate.value = Number(c, "value");
    candidate.excluded = Text(c, "excluded");
    if (!chosen.empty() && candidate.name == chosen)
      row.chosen = static_cast<int>(row.candidates.size());
    row.candidates.push_back(std::move(candidate));
  }
  if (row.state == "chosen" && row.chosen < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat(rel, ": its chosen candidate is not among its candidates; skipped"));
  }
  if (j.contains("evaluation_runs") && j["evaluation_runs"].is_array()) {
    for (const json& e : j["evaluation_runs"]) {
      if (e.is_string()) evaluation->push_back(e.get<std::string>());
    }
  }
  return row;
}

}  // namespace

std::vector<CurvePoint> MedianCurve(const std::vector<const std::vector<CurvePoint>*>& curves) {
  std::map<int64_t, std::vector<double>> at;
  for (const std::vector<CurvePoint>* curve : curves) {
    for (const CurvePoint& p : *curve) at[p.step].push_back(p.value);
  }
  std::vector<CurvePoint> median;
  for (const auto& [step, values] : at) median.push_back({step, Median(values)});
  return median;
}

std::optional<int64_t> FirstStepReaching(const std::vector<CurvePoint>& curve, double target,
                                         const std::string& goal) {
  for (const CurvePoint& p : curve) {
    if (goal == "max" ? p.value >= target : p.value <= target) return p.step;
  }
  return std::nullopt;
}

std::string ArmTitle(const TunedRow& row) {
  const std::string prefix = absl::StrCat(row.task, "/", row.preset, "/", row.optimizer, "-");
  std::string rest = row.arm.rfind(prefix, 0) == 0 ? row.arm.substr(prefix.size()) : row.arm;
  if (rest == "none") return OptimizerName(row.optimizer);
  if (rest.rfind("none-", 0) == 0) rest = rest.substr(5);
  return absl::StrCat(OptimizerName(row.optimizer), " ", rest);
}

TunedSummary SummarizeTuned(const std::string& results_dir, const std::vector<Run>& runs) {
  TunedSummary tuned;
  const fs::path root = fs::path(results_dir) / "tune";
  std::error_code error;
  if (!fs::is_directory(root, error)) return tuned;
  std::vector<fs::path> files;
  for (auto it = fs::recursive_directory_iterator(root, error);
       !error && it != fs::recursive_directory_iterator(); it.increment(error)) {
    if (it->path().filename() == "tuning.json" && it->is_regular_file(error))
      files.push_back(it->path());
  }
  std::sort(files.begin(), files.end());  // the walk's order is the file system's
  std::map<std::string, const Run*> by_path;
  for (const Run& r : runs) by_path[r.path] = &r;

  std::vector<std::pair<TunedRow, std::vector<std::string>>> read;
  for (const fs::path& file : files) {
    const std::string rel = file.lexically_relative(results_dir).generic_string();
    std::vector<std::string> evaluation;
    absl::StatusOr<TunedRow> row = ReadTuning(file.string(), rel, &evaluation);
    if (!row.ok()) {
      tuned.warnings.push_back(std::string(row.status().message()));
      continue;
    }
    read.push_back({*std::move(row), std::move(evaluation)});
  }
  std::sort(read.begin(), read.end(), [](const auto& a, const auto& b) {
    auto key = [](const TunedRow& r) {
      return std::make_tuple(r.task, PresetRank(r.preset), r.preset, OptimizerRank(r.optimizer),
                             r.optimizer, r.smoothing != "none", r.arm);
    };
    return key(a.first) < key(b.first);
  });
  for (auto& [row, evaluation] : read) {
    int missing = 0;
    for (const std::string& dir : evaluation) {
      auto it = by_path.find(dir);
      if (it == by_path.end()) {
        ++missing;
        continue;
      }
      row.row.runs.push_back(it->second);
    }
    if (missing > 0) {
      tuned.warnings.push_back(absl::StrCat(row.arm, ": ", missing, " of ", evaluation.size(),
                                            " evaluation runs not read (not run or not finished)"));
    }
    std::sort(row.row.runs.begin(), row.row.runs.end(),
              [](const Run* a, const Run* b) { return a->seed < b->seed; });
    Row& r = row.row;
    r.task = row.task;
    r.preset = row.preset;
    r.optimizer = row.optimizer;
    if (!r.runs.empty()) {
      const Run& first = *r.runs.front();
      r.smoothing = first.smoothing;
      r.smoothing_name = first.smoothing_name;
      r.smoothing_label = first.smoothing_label;
      r.metric = first.metric;
      r.goal = first.goal;
    }
    for (const Run* run : r.runs) {
      if (run->status == tasks::RunStatus::kDiverged) ++r.n_diverged;
      if (run->status == tasks::RunStatus::kFailed) ++r.n_failed;
    }
    FillStatistics(&r);
    tuned.rows.push_back(std::move(row));
  }

  for (size_t i = 0; i < tuned.rows.size(); ++i) {
    TunedRow& row = tuned.rows[i];
    for (size_t j = 0; j < tuned.rows.size(); ++j) {
      if (!row.baseline_arm.empty() && tuned.rows[j].arm == row.baseline_arm)
        row.baseline = static_cast<int>(j);
    }
  }
  for (TunedRow& row : tuned.rows) {
    const TunedRow& base = row.baseline >= 0 ? tuned.rows[row.baseline] : row;
    std::vector<double> finals;
    for (const Run* run : base.row.runs) {
      if (run->status == tasks::RunStatus::kCompleted && run->selection_value)
        finals.push_back(*run->selection_value);
    }
    std::vector<const std::vector<CurvePoint>*> curves;
    for (const Run* run : row.row.runs) {
      if (run->status == tasks::RunStatus::kCompleted) curves.push_back(&run->selection);
    }
    if (row.baseline >= 0) CompareWithBaseline(&row.row, base.row);
    // A target needs a baseline: this arm's, or the arm itself when it is one.
    if (row.baseline < 0 && row.smoothing != "none") continue;
    if (finals.empty() || curves.empty()) continue;
    row.target = Median(finals);
    const std::vector<CurvePoint> median = MedianCurve(curves);
    if (row.baseline < 0) {
      // The baseline: the target is its own final value, reached at its last evaluation.
      if (!median.empty()) row.steps_to_target = median.back().step;
    } else {
      row.steps_to_target = FirstStepReaching(median, *row.target, row.selection_goal);
    }
  }
  return tuned;
}

std::string TunedCsv(const TunedSummary& tuned) {
  std::string csv =
      "task,preset,optimizer,arm,state,lr_scale,options,tuning_metric,tuning_goal,tuning_value,"
      "metric,goal,n,n_diverged,n_failed,mean,std,ci95_low,ci95_high,delta,p_value,test,target,"
      "steps_to_target\n";
  for (const TunedRow& t : tuned.rows) {
    const Row& r = t.row;
    const TunedCandidate* c = t.chosen >= 0 ? &t.candidates[t.chosen] : nullptr;
    std::vector<std::string> fields = {t.task,
                                       t.preset,
                                       t.optimizer,
                                       t.arm,
                                       t.state,
                                       c ? FormatNumber(c->lr_scale) : "",
                                       c ? OptionsText(c->options) : "",
                                       t.selection_metric,
                                       t.selection_goal,
                                       c ? FormatNumber(c->value) : "",
                                       r.metric,
                                       r.goal,
                                       absl::StrCat(r.n),
                                       absl::StrCat(r.n_diverged),
                                       absl::StrCat(r.n_failed),
                                       FormatNumber(r.mean),
                                       FormatNumber(r.std),
                                       r.ci95 ? FormatNumber(r.ci95->low) : "",
                                       r.ci95 ? FormatNumber(r.ci95->high) : "",
                                       FormatNumber(r.delta),
                                       FormatNumber(r.p_value),
                                       r.test,
                                       FormatNumber(t.target),
                                       t.steps_to_target ? absl::StrCat(*t.steps_to_target) : ""};
    for (std::string& f : fields) f = CsvField(f);
    absl::StrAppend(&csv, absl::StrJoin(fields, ","), "\n");
  }
  return csv;
}

}  // namespace gs::reports
