#include "reports/runs.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/files.h"
#include "tasks/harness/run_record.h"
#include "tasks/harness/run_status.h"

namespace gs::reports {

using tasks::ReadFile;
using tasks::WriteFileAtomic;
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// Config values that change neither what is trained nor how it is scored.
const std::set<std::string>& NonConfigKeys() {
  static const auto* keys = new std::set<std::string>{
      "seed", "threads", "device", "data", "eval_every", "checkpoint_every", "out"};
  return *keys;
}

std::string ValueText(const json& v) {
  return v.is_string() ? v.get<std::string>() : v.dump();
}

void Flatten(const json& j, const std::string& prefix, std::map<std::string, std::string>* out) {
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = prefix.empty() ? it.key() : absl::StrCat(prefix, ".", it.key());
    if (it->is_object()) {
      Flatten(*it, key, out);
    } else {
      (*out)[key] = ValueText(*it);
    }
  }
}

std::optional<double> Number(const json& j, const std::string& key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  const double v = it->get<double>();
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<std::string> String(const json& j, const std::string& key) {
  if (!j.is_object()) return std::nullopt;
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return std::nullopt;
  return it->get<std::string>();
}

// Keeps the last value logged for each step, in step order.
std::vector<CurvePoint> SortedCurve(std::map<int64_t, double> points) {
  std::vector<CurvePoint> curve;
  for (const auto& [step, value] : points) curve.push_back({step, value});
  return curve;
}

void ReadMetrics(const std::string& dir, const std::string& rel, Run* run,
                 std::vector<std::string>* warnings) {
  absl::StatusOr<std::string> text = ReadFile(dir + "/metrics.jsonl");
  if (!text.ok()) {
    warnings->push_back(absl::StrCat(rel, ": no metrics.jsonl; no curves for this run"));
    return;
  }
  std::map<int64_t, double> train, primary, selection;
  int line_number = 0, bad = 0;
  for (absl::string_view line : absl::StrSplit(*text, '\n')) {
    ++line_number;
    if (line.empty()) continue;
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number()) {
      ++bad;
      continue;
    }
    const int64_t step = j["step"].get<int64_t>();
    if (String(j, "split").value_or("") == "train") {
      if (auto v = Number(j, "train_loss")) train[step] = *v;
    }
    if (auto v = Number(j, run->metric)) primary[step] = *v;
    if (auto v = Number(j, run->selection_metric)) selection[step] = *v;
  }
  if (bad > 0) {
    warnings->push_back(
        absl::StrCat(rel, "/metrics.jsonl: ", bad, " malformed line(s) skipped"));
  }
  run->train_loss = SortedCurve(std::move(train));
  run->primary = SortedCurve(std::move(primary));
  run->selection = SortedCurve(std::move(selection));
}

void ReadDepth(const std::string& dir, const std::string& rel, Run* run,
               std::vector<std::string>* warnings) {
  const std::string path = dir + "/depth.json";
  if (!fs::exists(path)) return;
  absl::StatusOr<std::string> text = ReadFile(path);
  json j = json::parse(text.ok() ? *text : std::string(), nullptr, false);
  const std::string problem = absl::StrCat(rel, "/depth.json: ");
  if (j.is_discarded() || !j.is_object() || !j.contains("records") || !j["records"].is_array() ||
      j["records"].empty() || !j["records"].back().is_object() ||
      !j["records"].back().contains("chains") || !j["records"].back()["chains"].is_object()) {
    warnings->push_back(problem + "not a depth record (records[-1].chains missing); ignored");
    return;
  }
  // The last record is the end of training.
  for (const auto& [name, chain] : j["records"].back()["chains"].items()) {
    DepthChain c;
    c.name = name;
    c.mean_adjacent_cka = Number(chain, "mean_adjacent_cka");
    c.mean_increment_cosine = Number(chain, "mean_increment_cosine");
    if (chain.is_object() && chain.contains("cka") && chain["cka"].is_array()) {
      const json& m = chain["cka"];
      bool square = true;
      for (const json& row : m) {
        if (!row.is_array() || row.size() != m.size()) {
          square = false;
          break;
        }
        std::vector<double> values;
        for (const json& v : row) {
          if (!v.is_number()) {
            square = false;
            break;
          }
          values.push_back(v.get<double>());
        }
        c.cka.push_back(std::move(values));
      }
      if (!square) {
        c.cka.clear();
        warnings->push_back(absl::StrCat(problem, "chain '", name,
                                         "': cka is not a square matrix of numbers; ignored"));
      }
    }
    run->depth.push_back(std::move(c));
  }
}

std::string Relative(const fs::path& path, const fs::path& root) {
  const std::string rel = path.lexically_relative(root).generic_string();
  return rel.empty() ? "." : rel;
}

void Walk(const fs::path& dir, const fs::path& root, const std::set<fs::path>& skip,
          std::set<fs::path>* visited, RunSet* set) {
  const std::string rel = Relative(dir, root);
  std::error_code error;
  // Symbolic links may lead back up the tree; read each folder once.
  if (!visited->insert(fs::weakly_canonical(dir, error)).second) return;
  if (fs::exists(dir / "run.json", error)) {
    absl::StatusOr<Run> run = ReadRun(dir.string(), rel, &set->warnings);
    if (run.ok()) {
      set->runs.push_back(*std::move(run));
    } else {
      set->warnings.push_back(std::string(run.status().message()));
    }
    return;
  }
  std::vector<fs::path> subdirs;
  fs::directory_iterator it(dir, error);
  if (error) {
    set->warnings.push_back(absl::StrCat(rel, ": cannot be read (", error.message(), "); skipped"));
    return;
  }
  for (; it != fs::directory_iterator(); it.increment(error)) {
    if (error) break;
    if (!it->is_directory(error)) continue;
    const fs::path sub = it->path();
    if (dir == root && (sub.filename() == "report" || sub.filename() == "cache")) continue;
    if (skip.count(fs::weakly_canonical(sub, error))) continue;
    subdirs.push_back(sub);
  }
  if (subdirs.empty() && dir != root && !fs::exists(dir / "tuning.json", error)) {
    set->warnings.push_back(absl::StrCat(rel, ": no run.json, not a run directory; skipped"));
    return;
  }
  std::sort(subdirs.begin(), subdirs.end());
  for (const fs::path& sub : subdirs) Walk(sub, root, skip, visited, set);
}

}  // namespace

namespace {

// The fields every run.json has, and the status and goal it may hold, into `run`; an
// error naming what is missing or wrong.
absl::Status ReadRequired(const tasks::RunRecordRead& read, const std::string& rel, Run* run) {
  const tasks::RunRecord& r = read.record;
  std::vector<std::string> missing;
  auto need = [&](const std::string& field, bool present) {
    if (!present) missing.push_back(field);
  };
  need("task", read.Has("task"));
  need("preset", read.Has("preset"));
  // An object with its tag (a plain name in older run directories).
  need(read.Has("optimizer") ? "optimizer.tag" : "optimizer",
       read.Has("optimizer") && read.Has("optimizer.tag"));
  need("status", !read.status_text.empty() || read.Has("status"));
  need("smoothing.tag", String(r.smoothing, "tag").has_value());
  need("smoothing.name", String(r.smoothing, "name").has_value());
  need("primary_metric.name", read.Has("primary_metric.name"));
  need("primary_metric.goal", read.Has("primary_metric.goal"));
  need("seed", read.Has("seed"));
  need("config", read.Has("config"));
  if (!missing.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        rel, ": run.json lacks ", absl::StrJoin(missing, ", "), " (partial run); skipped"));
  }
  run->task = r.task;
  run->preset = r.preset;
  run->optimizer = r.optimizer_tag;
  run->smoothing = *String(r.smoothing, "tag");
  run->smoothing_name = *String(r.smoothing, "name");
  run->metric = r.primary_metric.name;
  run->goal = r.primary_metric.goal;
  run->seed = r.seed;
  if (read.status_text == tasks::RunStatusName(tasks::RunStatus::kRunning)) {
    return absl::InvalidArgumentError(absl::StrCat(rel, ": still running (partial run); skipped"));
  }
  if (!read.Has("status")) {
    return absl::InvalidArgumentError(absl::StrCat(rel, ": unknown status '", read.status_text,
                                                   "' (running|completed|diverged|failed); skipped"));
  }
  run->status = r.status;
  if (run->goal != "min" && run->goal != "max") {
    return absl::InvalidArgumentError(absl::StrCat(rel, ": primary_metric.goal is '", run->goal,
                                                   "', not min or max; skipped"));
  }
  return absl::OkStatus();
}

// The final values, the timing and the selection metric (the primary one where the run
// declares none).
absl::Status ReadOutcome(const tasks::RunRecord& r, const std::string& rel, Run* run) {
  const bool completed = run->status == tasks::RunStatus::kCompleted;
  if (completed) {
    run->value = Number(r.final, run->metric);
    if (!run->value) {
      return absl::InvalidArgumentError(absl::StrCat(
          rel, ": completed but final.", run->metric, " is missing or not a number (partial run); skipped"));
    }
  }
  if (r.seconds_per_step && std::isfinite(*r.seconds_per_step)) run->seconds_per_step = r.seconds_per_step;
  run->selection_metric = r.selection_metric.name.empty() ? run->metric : r.selection_metric.name;
  run->selection_goal = r.selection_metric.goal.empty() ? run->goal : r.selection_metric.goal;
  if (completed) run->selection_value = Number(r.final, run->selection_metric);
  return absl::OkStatus();
}

// Smoothing: the tag names the setting, the label shows it, and the options except the
// strength name its family.
void ReadSmoothing(const json& smoothing, Run* run) {
  run->smoothing_label = String(smoothing, "label").value_or(run->smoothing);
  if (run->smoothing_name == "none") {
    run->smoothing_family = "none";
    return;
  }
  run->strength_name = String(smoothing, "strength").value_or("");
  const json empty = json::object();
  const json& options = smoothing.contains("options") ? smoothing["options"] : empty;
  std::vector<std::string> family = {run->smoothing_name};
  for (const auto& [key, value] : options.items()) {
    if (key == run->strength_name) {
      run->strength = Number(options, key);
    } else {
      family.push_back(absl::StrCat(key, "=", ValueText(value)));
    }
  }
  run->smoothing_family = absl::StrJoin(family, " ");
}

// The config values that decide what is trained, flattened.
void ReadConfig(const json& config_json, Run* run) {
  std::map<std::string, std::string> config;
  Flatten(config_json, "", &config);
  for (const auto& [key, value] : config) {
    if (NonConfigKeys().count(key) || absl::StartsWith(key, "optimizer") ||
        absl::StartsWith(key, "smoothing") || key == "preset") {
      continue;
    }
    run->config[key] = value;
  }
}

}  // namespace

absl::StatusOr<Run> ReadRun(const std::string& dir, const std::string& rel,
                            std::vector<std::string>* warnings) {
  absl::StatusOr<std::string> text = ReadFile(dir + "/run.json");
  if (!text.ok()) return absl::InvalidArgumentError(absl::StrCat(rel, ": run.json cannot be read; skipped"));
  const tasks::RunRecordRead read = tasks::ParseRunRecord(*text);
  if (!read.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(rel, ": run.json is not valid JSON; skipped"));
  }
  Run run;
  run.path = rel;
  if (absl::Status s = ReadRequired(read, rel, &run); !s.ok()) return s;
  if (absl::Status s = ReadOutcome(read.record, rel, &run); !s.ok()) return s;
  ReadSmoothing(read.record.smoothing, &run);
  ReadConfig(read.record.config, &run);
  ReadMetrics(dir, rel, &run, warnings);
  ReadDepth(dir, rel, &run, warnings);
  return run;
}

absl::StatusOr<RunSet> ReadRuns(const std::string& results_dir,
                                const std::vector<std::string>& skip) {
  std::error_code error;
  const fs::path root = fs::path(results_dir).lexically_normal();
  if (!fs::is_directory(root, error)) {
    return absl::NotFoundError(absl::StrCat(results_dir, " is not a directory"));
  }
  fs::directory_iterator probe(root, error);
  if (error) {
    return absl::PermissionDeniedError(
        absl::StrCat(results_dir, " cannot be read: ", error.message()));
  }
  std::set<fs::path> skipped;
  for (const std::string& s : skip) skipped.insert(fs::weakly_canonical(s, error));
  RunSet set;
  std::set<fs::path> visited;
  Walk(root, root, skipped, &visited, &set);
  return set;
}

}  // namespace gs::reports
