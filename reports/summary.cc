#include "reports/summary.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"

namespace gs::reports {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string Canonical(const std::map<std::string, std::string>& config) {
  std::string s;
  for (const auto& [k, v] : config) absl::StrAppend(&s, k, "=", v, "\n");
  return s;
}

// The keys whose values differ from `base` (a key missing on either side counts).
std::string Overrides(const std::map<std::string, std::string>& config,
                      const std::map<std::string, std::string>& base) {
  std::set<std::string> keys;
  for (const auto& [k, v] : config) keys.insert(k);
  for (const auto& [k, v] : base) keys.insert(k);
  std::vector<std::string> parts;
  for (const std::string& k : keys) {
    auto a = config.find(k), b = base.find(k);
    if (a == config.end()) {
      parts.push_back(absl::StrCat(k, "=(unset)"));
    } else if (b == base.end() || a->second != b->second) {
      parts.push_back(absl::StrCat(k, "=", a->second));
    }
  }
  return absl::StrJoin(parts, " ");
}

// The runs a row collects: the same task, preset, optimizer, overrides, metric and
// smoothing setting. The ranks put presets and optimizers in display order.
struct RowKey {
  std::string task;
  int preset_rank;
  std::string preset;
  int optimizer_rank;
  std::string optimizer, overrides, metric, goal, smoothing;

  // Everything but the smoothing setting, in sort order.
  auto Head() const {
    return std::tie(task, preset_rank, preset, optimizer_rank, optimizer, overrides, metric, goal);
  }
  bool operator<(const RowKey& o) const {
    return std::tie(task, preset_rank, preset, optimizer_rank, optimizer, overrides, metric, goal,
                    smoothing) < std::tie(o.task, o.preset_rank, o.preset, o.optimizer_rank,
                                          o.optimizer, o.overrides, o.metric, o.goal, o.smoothing);
  }
};

}  // namespace

int PresetRank(const std::string& preset) {
  if (preset == "smoke") return 0;
  if (preset == "quick") return 1;
  if (preset == "paper") return 2;
  return 3;
}

int OptimizerRank(const std::string& optimizer) {
  if (optimizer == "sgd") return 0;
  if (optimizer == "adamw") return 1;
  if (optimizer == "muon") return 2;
  return 3;
}

bool SmoothingLess(const std::string& a, const std::string& b) {
  auto rank = [](const std::string& s) { return s == "none" ? 0 : s == kDefaultSmoothingTag ? 1 : 2; };
  return std::make_pair(rank(a), a) < std::make_pair(rank(b), b);
}

std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
  std::string quoted = "\"";
  for (char c : s) {
    if (c == '"') quoted += '"';
    quoted += c;
  }
  return quoted + "\"";
}

std::string OptimizerName(const std::string& optimizer) {
  if (optimizer == "sgd") return "SGD";
  if (optimizer == "adamw") return "AdamW";
  if (optimizer == "muon") return "Muon";
  return optimizer;
}

std::string FormatNumber(double v) {
  if (std::isnan(v)) return "";
  std::string text;
  for (int precision = 1; precision <= 17; ++precision) {
    text = absl::StrFormat("%.*g", precision, v);
    if (std::strtod(text.c_str(), nullptr) == v) break;
  }
  return text;
}

std::optional<Interval> RangeOf(const std::string& quantity) {
  if (absl::EndsWith(quantity, "accuracy") || absl::EndsWith(quantity, "cka")) {
    return Interval{0.0, 1.0};
  }
  if (absl::EndsWith(quantity, "cosine")) return Interval{-1.0, 1.0};
  return std::nullopt;
}

std::optional<Interval> BoundedInterval95(const std::vector<double>& x,
                                          const std::string& quantity) {
  std::optional<Interval> ci = ConfidenceInterval95(x);
  const std::optional<Interval> range = RangeOf(quantity);
  if (ci && range) ci = Clamp(*ci, *range);
  return ci;
}

void FillStatistics(Row* row) {
  row->seeds.clear();
  row->values.clear();
  for (const Run* r : row->runs) {
    if (r->status != tasks::RunStatus::kCompleted) continue;
    row->seeds.push_back(r->seed);
    row->values.push_back(*r->value);
  }
  row->n = static_cast<int>(row->values.size());
  row->mean = row->n > 0 ? Mean(row->values) : kNaN;
  row->std = SampleStd(row->values);
  row->ci95 = BoundedInterval95(row->values, row->metric);
}

void CompareWithBaseline(Row* row, const Row& base) {
  if (row->n > 0 && base.n > 0) row->delta = row->mean - base.mean;
  std::optional<TTest> test;
  if (row->n >= 2 && base.n >= 2 && row->seeds == base.seeds) {
    test = PairedTTest(row->values, base.values);  // both in seed order
    row->test = "paired";
  } else {
    test = WelchTTest(row->values, base.values);
    row->test = "welch";
  }
  if (test) {
    row->p_value = test->p;
  } else {
    row->test.clear();
  }
}

std::string FormatNumber(const std::optional<double>& v) {
  return v ? FormatNumber(*v) : std::string();
}

Summary Summarize(const std::vector<Run>& runs) {
  Summary summary;
  // The most common configuration per task/preset/optimizer is the reference that
  // overrides are named against (ties: the smallest canonical form, for determinism).
  std::map<std::tuple<std::string, std::string, std::string>, std::map<std::string, int>> counts;
  for (const Run& r : runs) ++counts[{r.task, r.preset, r.optimizer}][Canonical(r.config)];
  std::map<std::tuple<std::string, std::string, std::string>, std::string> reference;
  for (const auto& [key, configs] : counts) {
    auto best = configs.begin();
    for (auto it = configs.begin(); it != configs.end(); ++it) {
      if (it->second > best->second) best = it;
    }
    reference[key] = best->first;
  }
  std::map<std::string, const Run*> example;  // canonical config -> a run having it
  for (const Run& r : runs) example.emplace(Canonical(r.config), &r);

  std::map<RowKey, Row> rows;
  std::map<std::pair<RowKey, int64_t>, const Run*> seen;
  for (const Run& r : runs) {
    const std::string& ref = reference[{r.task, r.preset, r.optimizer}];
    const std::string overrides = Overrides(r.config, example.at(ref)->config);
    // Sort key: display order first, names for ties.
    const RowKey key{r.task,      PresetRank(r.preset), r.preset, OptimizerRank(r.optimizer),
                     r.optimizer, overrides,            r.metric, r.goal, r.smoothing};
    if (auto [it, inserted] = seen.emplace(std::make_pair(key, r.seed), &r); !inserted) {
      summary.warnings.push_back(absl::StrCat(r.path, ": the same configuration and seed as ",
                                              it->second->path, "; skipped"));
      continue;
    }
    Row& row = rows[key];
    row.task = r.task;
    row.preset = r.preset;
    row.optimizer = r.optimizer;
    row.smoothing = r.smoothing;
    row.smoothing_name = r.smoothing_name;
    row.smoothing_label = r.smoothing_label;
    row.metric = r.metric;
    row.goal = r.goal;
    row.overrides = overrides;
    row.runs.push_back(&r);
    if (r.status == tasks::RunStatus::kDiverged) ++row.n_diverged;
    if (r.status == tasks::RunStatus::kFailed) ++row.n_failed;
  }

  std::vector<std::pair<RowKey, Row>> ordered(rows.begin(), rows.end());
  std::sort(ordered.begin(), ordered.end(), [](const auto& a, const auto& b) {
    const RowKey& x = a.first;
    const RowKey& y = b.first;
    if (x.Head() != y.Head()) return x.Head() < y.Head();
    return SmoothingLess(x.smoothing, y.smoothing);
  });
  std::map<RowKey, int> index;
  for (auto& [key, row] : ordered) {
    std::sort(row.runs.begin(), row.runs.end(),
              [](const Run* a, const Run* b) { return a->seed < b->seed; });
    FillStatistics(&row);
    index[key] = static_cast<int>(summary.rows.size());
    summary.rows.push_back(std::move(row));
  }
  for (const auto& [key, i] : index) {
    Row& row = summary.rows[i];
    if (row.smoothing == "none") continue;
    RowKey base_key = key;
    base_key.smoothing = "none";
    auto it = index.find(base_key);
    if (it == index.end()) continue;
    row.baseline = it->second;
    CompareWithBaseline(&row, summary.rows[it->second]);
  }
  return summary;
}

std::string SummaryCsv(const Summary& summary) {
  std::string csv =
      "task,preset,optimizer,smoothing,metric,goal,n,n_diverged,n_failed,mean,std,ci95_low,"
      "ci95_high,delta,p_value,overrides\n";
  for (const Row& r : summary.rows) {
    std::vector<std::string> fields = {
        r.task, r.preset, r.optimizer, r.smoothing, r.metric, r.goal,
        absl::StrCat(r.n), absl::StrCat(r.n_diverged), absl::StrCat(r.n_failed),
        FormatNumber(r.mean), FormatNumber(r.std),
        r.ci95 ? FormatNumber(r.ci95->low) : "", r.ci95 ? FormatNumber(r.ci95->high) : "",
        FormatNumber(r.delta), FormatNumber(r.p_value), r.overrides};
    for (std::string& f : fields) f = CsvField(f);
    absl::StrAppend(&csv, absl::StrJoin(fields, ","), "\n");
  }
  return csv;
}

}  // namespace gs::reports
