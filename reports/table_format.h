// The paper-style tables (main results, ablations, overhead, depth similarity) as one
// model rendered twice: Markdown (tables.md) and a LaTeX/booktabs fragment (tables.tex).
#ifndef GS_REPORTS_TABLE_FORMAT_H_
#define GS_REPORTS_TABLE_FORMAT_H_

#include <string>
#include <vector>

#include "reports/runs.h"
#include "reports/summary.h"
#include "reports/tuned.h"

namespace gs::reports {

// Cell text is plain UTF-8; "±", "↑", "↓", "†" and "–" are rendered per format.
struct Cell {
  std::string text;
  bool bold = false;
};

struct Table {
  std::string title;
  std::vector<std::string> header;
  std::string align;  // one of l/r per column
  std::vector<std::vector<Cell>> rows;
};

struct Section {
  std::string title;
  std::string note;  // said under the title (what the cells are, or why it is empty)
  std::vector<Table> tables;
};

// (0) per preset: each tuned arm at its chosen setting, against its baseline arm.
Section TunedTables(const TunedSummary& tuned);
// (1) per preset: rows tasks, column pairs per optimizer (baseline, +GS), the runs at the
// presets' learning rates (untuned).
Section MainTables(const Summary& summary);
// (2) every setting of a task/preset/optimizer that has more than the two main ones.
Section AblationTables(const Summary& summary);
// (2b) per task/preset with more than one depth transform: rows every transform setting
// (and none), columns the optimizers.
Section FamilyTables(const Summary& summary);
// (3) seconds per step with and without smoothing.
Section OverheadTable(const Summary& summary);
// (4) adjacent-block CKA and increment cosine at the end of training.
Section DepthTable(const Summary& summary);

std::vector<Section> AllTables(const Summary& summary, const TunedSummary& tuned = TunedSummary());

std::string RenderMarkdown(const std::vector<Section>& sections);
std::string RenderLatex(const std::vector<Section>& sections);

// Escapes LaTeX's special characters and spells the symbols above in math mode.
std::string LatexEscape(const std::string& text);

}  // namespace gs::reports

#endif  // GS_REPORTS_TABLE_FORMAT_H_
