#include "reports/report.h"

#include <filesystem>
#include <set>
#include <system_error>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "reports/figures.h"
#include "tasks/harness/files.h"
#include "reports/runs.h"
#include "reports/summary.h"
#include "reports/table_format.h"
#include "reports/tuned.h"

namespace gs::reports {

using tasks::ReadFile;
using tasks::WriteFileAtomic;
namespace {

namespace fs = std::filesystem;

std::string Index(const ReportSummary& report, const std::vector<Figure>& figures) {
  std::string md = absl::StrCat(
      "# Gradient Smoothing benchmark report\n\n", report.runs_read,
      " run(s) read (completed, diverged and failed; running and broken ones are skipped and "
      "listed under Warnings).\n\n## Tables\n\n",
      "- [summary.csv](summary.csv): one row per task, preset, optimizer, configuration and "
      "smoothing setting of the untuned runs, with n, mean, std, 95% CI, delta and p-value\n",
      "- [tuned.csv](tuned.csv): one row per tuned arm: the chosen setting, its evaluation "
      "runs' statistics and steps to target\n",
      "- [tables.md](tables.md): tuned results, main results (untuned), ablations, overhead and "
      "depth similarity\n",
      "- [tables.tex](tables.tex): the same tables as a LaTeX fragment (booktabs)\n",
      "\n## Figures\n");
  if (figures.empty()) md += "\nNo figures (no completed run has curves or depth data).\n";
  for (const Figure& f : figures) {
    absl::StrAppend(&md, "\n### ", f.title, "\n\n");
    if (f.drawn) {
      absl::StrAppend(&md, "![", f.title, "](", f.png, ")\n\n[PNG](", f.png, ") · [SVG](", f.svg,
                      ") · ");
    } else {
      md += "Not drawn (see Warnings). ";
    }
    absl::StrAppend(&md, "[data](", f.data, ") · [gnuplot script](", f.script, ")\n");
  }
  md += "\n## Warnings\n\n";
  if (report.warnings.empty()) md += "None.\n";
  for (const std::string& w : report.warnings) absl::StrAppend(&md, "- ", w, "\n");
  return md;
}

// A write that failed: PermissionDenied names the output directory; other causes (a
// full disk) keep their code and say which file.
absl::Status Unwritable(const std::string& out_dir, const absl::Status& s) {
  if (s.ok() || s.code() != absl::StatusCode::kPermissionDenied) return s;
  return absl::PermissionDeniedError(
      absl::StrCat("output directory ", out_dir, " is not writable: ", s.message()));
}

}  // namespace

absl::StatusOr<ReportSummary> WriteReport(const std::string& results_dir,
                                          const std::string& out_dir) {
  absl::StatusOr<RunSet> runs = ReadRuns(results_dir, {out_dir});
  if (!runs.ok()) {
    return absl::Status(runs.status().code(),
                        absl::StrCat("results directory: ", runs.status().message()));
  }
  std::error_code error;
  fs::create_directories(out_dir, error);
  if (error || !fs::is_directory(out_dir)) {
    return absl::PermissionDeniedError(absl::StrCat("output directory ", out_dir,
                                                    " cannot be created: ", error.message()));
  }
  // Tuning trials (tune/) and tuned evaluation runs (tuned/) are the tuned section's;
  // the other tables are of the untuned runs.
  std::vector<Run> untuned;
  for (const Run& r : runs->runs) {
    if (!absl::StartsWith(r.path, "tune/") && !absl::StartsWith(r.path, "tuned/")) {
      untuned.push_back(r);
    }
  }
  const Summary summary = Summarize(untuned);
  const TunedSummary tuned = SummarizeTuned(results_dir, runs->runs);

  ReportSummary report;
  for (const Row& r : summary.rows) report.runs_read += static_cast<int>(r.runs.size());
  for (const Run& r : runs->runs) report.runs_read += absl::StartsWith(r.path, "tune") ? 1 : 0;
  std::set<std::string> seen;
  auto warn = [&](const std::vector<std::string>& warnings) {
    for (const std::string& w : warnings) {
      if (seen.insert(w).second) report.warnings.push_back(w);
    }
  };
  warn(runs->warnings);
  warn(summary.warnings);
  warn(tuned.warnings);

  auto write = [&](const std::string& name, const std::string& contents) -> absl::Status {
    absl::Status s = WriteFileAtomic(absl::StrCat(out_dir, "/", name), contents);
    return Unwritable(out_dir, s);
  };
  if (absl::Status s = write("summary.csv", SummaryCsv(summary)); !s.ok()) return s;
  if (absl::Status s = write("tuned.csv", TunedCsv(tuned)); !s.ok()) return s;
  const std::vector<Section> tables = AllTables(summary, tuned);
  if (absl::Status s = write("tables.md", RenderMarkdown(tables)); !s.ok()) return s;
  if (absl::Status s = write("tables.tex", RenderLatex(tables)); !s.ok()) return s;
  absl::StatusOr<FigureSet> figures = WriteFigures(summary, out_dir, FindGnuplot(), tuned);
  if (!figures.ok()) return Unwritable(out_dir, figures.status());
  warn(figures->warnings);
  report.index_path = absl::StrCat(out_dir, "/index.md");
  if (absl::Status s = write("index.md", Index(report, figures->figures)); !s.ok()) return s;
  return report;
}

}  // namespace gs::reports
