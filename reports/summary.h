// Groups runs into the rows of summary.csv (task x preset x optimizer x configuration x
// smoothing setting) with their statistics, and writes the CSV.
#ifndef GS_REPORTS_SUMMARY_H_
#define GS_REPORTS_SUMMARY_H_

#include <optional>
#include <string>
#include <vector>

#include "reports/runs.h"
#include "reports/stats.h"

namespace gs::reports {

// The suite's default smoothing setting: the "+GS" columns of the main table.
inline constexpr char kDefaultSmoothingTag[] = "window-a0.2";

struct Row {
  std::string task, preset, optimizer, smoothing, metric, goal;
  std::string smoothing_name;   // run.json's smoothing.name: "window", "none"
  std::string smoothing_label;  // run.json's smoothing.label: "window alpha=0.2"
  // Config values that set these runs apart from the most common configuration of the
  // same task/preset/optimizer ("lr=0.002 steps=50"); empty for the most common one.
  std::string overrides;
  int n = 0;  // completed runs
  int n_diverged = 0;
  int n_failed = 0;
  std::vector<const Run*> runs;      // every counted run (any status), in seed order
  std::vector<int64_t> seeds;        // completed runs' seeds, ascending
  std::vector<double> values;        // their primary metric, in the same order
  double mean = 0, std = 0;          // NaN when not computable
  std::optional<Interval> ci95;
  std::optional<double> delta;       // mean minus the smoothing-`none` row's mean
  std::optional<double> p_value;     // versus the `none` row
  std::string test;                  // "paired" | "welch" | ""
  int baseline = -1;                 // index of the `none` row, -1 if none
};

struct Summary {
  std::vector<Row> rows;  // in the order of summary.csv
  std::vector<std::string> warnings;
};

// `runs` must outlive the summary (rows point into it).
Summary Summarize(const std::vector<Run>& runs);

// A row's statistics from its runs: the completed ones' seeds and values of the metric
// (Run::value), n, mean, std and the 95% interval (cut to the metric's range).
void FillStatistics(Row* row);
// delta, p_value and test of `row` against `base`, the same optimizer without
// smoothing: a paired t-test by seed when both ran the same seeds (n >= 2), else Welch's.
void CompareWithBaseline(Row* row, const Row& base);

// The values a quantity can take, by its name: [0, 1] for an accuracy (a name ending in
// "accuracy") and a CKA ("cka"), [-1, 1] for a cosine; nullopt when unbounded.
std::optional<Interval> RangeOf(const std::string& quantity);
// ConfidenceInterval95(x), cut to RangeOf(quantity).
std::optional<Interval> BoundedInterval95(const std::vector<double>& x,
                                          const std::string& quantity);

std::string SummaryCsv(const Summary& summary);

// A CSV field, quoted when it holds a comma, quote or line break.
std::string CsvField(const std::string& s);

// "SGD", "AdamW", "Muon"; other optimizers by their name.
std::string OptimizerName(const std::string& optimizer);

// Full precision for files other programs read (the shortest text that reads back as the
// same double), or "" for NaN / nullopt. Tables round for display on their own.
std::string FormatNumber(double v);
std::string FormatNumber(const std::optional<double>& v);

// Display order: smoke, quick, paper, then other presets.
int PresetRank(const std::string& preset);
// Display order: sgd, adamw, muon, then other names alphabetically.
int OptimizerRank(const std::string& optimizer);
// none, the default tag, then other tags alphabetically.
bool SmoothingLess(const std::string& a, const std::string& b);

}  // namespace gs::reports

#endif  // GS_REPORTS_SUMMARY_H_
