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

std::string SummaryCsv(const Summary& summary);

// %.6g, or "" for NaN / nullopt.
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
