// The report's figures: training curves, primary-metric curves, the alpha ablation,
// depth-similarity heatmaps and the tuned arms' learning-rate sweeps. Each figure's data
// file and gnuplot script are written
// next to it (re-plot with `gnuplot <name>.gp` in that folder); gnuplot runs as a
// subprocess with its cairo terminals (PNG and SVG).
#ifndef GS_REPORTS_FIGURES_H_
#define GS_REPORTS_FIGURES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "reports/summary.h"
#include "reports/tuned.h"

namespace gs::reports {

struct Figure {
  std::string title;
  // Paths relative to the output folder.
  std::string png, svg, data, script;
  bool drawn = false;  // false when gnuplot is missing or failed
};

struct FigureSet {
  std::vector<Figure> figures;
  std::vector<std::string> warnings;
};

// The gnuplot on PATH, else /usr/bin/gnuplot; "" when there is none.
std::string FindGnuplot();

// Writes every figure of `summary` into `out_dir`/figures. With `gnuplot` empty or
// failing, the data and scripts are still written and a warning says why there are no
// images. Errors only when the folder cannot be written.
absl::StatusOr<FigureSet> WriteFigures(const Summary& summary, const std::string& out_dir,
                                       const std::string& gnuplot,
                                       const TunedSummary& tuned = TunedSummary());

}  // namespace gs::reports

#endif  // GS_REPORTS_FIGURES_H_
