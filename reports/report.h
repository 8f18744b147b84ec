// The whole report from a results folder: summary.csv, tuned.csv, tables.md, tables.tex,
// figures and index.md. The suite runner calls WriteReport after a grid; //reports:tables is
// its command line.
#ifndef GS_REPORTS_REPORT_H_
#define GS_REPORTS_REPORT_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace gs::reports {

struct ReportSummary {
  int runs_read = 0;                   // run directories aggregated
  std::vector<std::string> warnings;   // broken/partial/foreign folders skipped, etc.
  std::string index_path;              // <out>/index.md
};

// Reads every run under results_dir and writes summary.csv, tuned.csv, tables.md, tables.tex,
// figures
// (PNG + SVG via gnuplot) and index.md into out_dir. Broken or partial runs are warnings,
// never errors; errors are only for an unreadable results_dir or an unwritable out_dir.
absl::StatusOr<ReportSummary> WriteReport(const std::string& results_dir, const std::string& out_dir);

}  // namespace gs::reports

#endif  // GS_REPORTS_REPORT_H_
