// //reports:table_format: table structure, goal-aware bold, significance marks, values
// worked out by hand from tests/reports/results_tree.h, and LaTeX escaping.
#include "reports/table_format.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/summary.h"
#include "tests/reports/results_tree.h"

namespace gs::reports {
namespace {

using ::gs::testing::TempDir;
using ::testing::HasSubstr;

const std::vector<reports::Run>& ExampleRuns() {
  static const auto* runs = [] {
    const std::string root = TempDir("tables_results");
    gs::testing::WriteExampleTree(root);
    return new std::vector<reports::Run>(ReadRuns(root)->runs);
  }();
  return *runs;
}

int Count(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

TEST(Tables, LatexEscape) {
  EXPECT_EQ(LatexEscape("a_b & 50% $x #1 {y} ~ ^ \\ < > |"),
            "a\\_b \\& 50\\% \\$x \\#1 \\{y\\} \\textasciitilde{} \\textasciicircum{} "
            "\\textbackslash{} \\textless{} \\textgreater{} \\textbar{}");
  EXPECT_EQ(LatexEscape("0.85 ± 0.02 (3)† ↑ ↓ – Δ"),
            "0.85 $\\pm$ 0.02 (3)$^\\dagger$ $\\uparrow$ $\\downarrow$ -- $\\Delta$");
}

TEST(Tables, MainTableMarkdown) {
  const std::string md = RenderMarkdown(AllTables(Summarize(ExampleRuns())));
  EXPECT_THAT(md, HasSubstr("## Main results, untuned (preset learning rates)\n"));
  EXPECT_THAT(md, HasSubstr("### Main results (untuned), preset quick\n\n"
                            "| Task | SGD | +GS | AdamW | +GS | Muon | +GS |\n"
                            "|:--|--:|--:|--:|--:|--:|--:|\n"));
  // LM (val_loss, lower is better): +GS 1.46 beats 1.5233 and is significant (Welch
  // p = 0.035 < 0.05). ViT (higher is better): AdamW +GS 0.85 is the best of the row and
  // significant (paired p = 0.035); SGD +GS has p = 0.156: no mark. Std has two digits.
  EXPECT_THAT(md, HasSubstr("| lm_pretrain (val_loss ↓) | – | – | 1.523 ± 0.025 (3) | "
                            "**1.46 ± 0.01 (3)†** | – | – |\n"));
  EXPECT_THAT(md, HasSubstr("| vit_classification (test_accuracy ↑) | 0.72 ± 0.028 (2) | "
                            "0.76 ± 0.014 (2) | 0.82 ± 0.02 (3) | **0.85 ± 0.026 (3)†** | "
                            "0.79 (1) | – |\n"));
  EXPECT_EQ(Count(md, "### Main results"), 1);
}

TEST(Tables, AblationOverheadAndDepth) {
  const std::string md = RenderMarkdown(AllTables(Summarize(ExampleRuns())));
  // Only ViT/AdamW has more than none and the default +GS (alpha 0.1 and an lr override).
  EXPECT_EQ(Count(md, "### vit_classification / quick / AdamW (test_accuracy ↑)"), 1);
  EXPECT_EQ(Count(md, "### vit_classification / quick / SGD"), 0);
  EXPECT_EQ(Count(md, "### lm_pretrain / quick / AdamW"), 0);
  EXPECT_THAT(md, HasSubstr("| window alpha=0.2 | – | 0.85 ± 0.026 (3) | "
                            "0 | 0 | +0.03 | 0.0351 (paired) |\n"));
  EXPECT_THAT(md, HasSubstr("| none | lr=0.002 | 0.785 ± 0.0071 (2) | 0 | 0 | – | – |\n"));
  // Overhead: (0.40 + 0.42 + 0.41)/3 = 0.41 without, (0.43 + 0.44 + 0.45)/3 = 0.44 with;
  // ratio 0.44 / 0.41 = 1.0732.
  EXPECT_THAT(md, HasSubstr("| vit_classification | quick | AdamW | "
                            "window alpha=0.2 | 0.41 | 0.44 | 1.073 |\n"));
  // Depth: CKA {0.90, 0.92, 0.94}: 0.92 -+ 4.302653 * 0.02 / sqrt 3 = [0.8703, 0.9697];
  // {0.95, 0.96, 0.97}: 0.96 -+ 4.302653 * 0.01 / sqrt 3 = [0.9352, 0.9848].
  EXPECT_THAT(md, HasSubstr("| vit_classification | quick | AdamW | none | blocks | 3 | "
                            "0.92 [0.8703, 0.9697] | 0.1 [0.1, 0.1] |\n"));
  EXPECT_THAT(md, HasSubstr("| window alpha=0.2 | blocks | 3 | "
                            "0.96 [0.9352, 0.9848] | 0.3 [0.3, 0.3] |\n"));
}

TEST(Tables, LatexStructure) {
  const std::string tex = RenderLatex(AllTables(Summarize(ExampleRuns())));
  // Main, one ablation, overhead, depth: four tables, each a complete booktabs tabular.
  EXPECT_EQ(Count(tex, "\\begin{tabular}"), 4);
  EXPECT_EQ(Count(tex, "\\end{tabular}"), 4);
  EXPECT_EQ(Count(tex, "\\toprule"), 4);
  EXPECT_EQ(Count(tex, "\\midrule"), 4);
  EXPECT_EQ(Count(tex, "\\bottomrule"), 4);
  EXPECT_EQ(Count(tex, "\\begin{table}"), Count(tex, "\\end{table}"));
  EXPECT_THAT(tex, HasSubstr("\\begin{tabular}{lrrrrrr}\n\\toprule\n"
                             "Task & SGD & +GS & AdamW & +GS & Muon & +GS \\\\\n\\midrule\n"));
  EXPECT_THAT(tex, HasSubstr("vit\\_classification (test\\_accuracy $\\uparrow$) & "
                             "0.72 $\\pm$ 0.028 (2) & 0.76 $\\pm$ 0.014 (2) & "
                             "0.82 $\\pm$ 0.02 (3) & \\textbf{0.85 $\\pm$ 0.026 (3)$^\\dagger$} & "
                             "0.79 (1) & -- \\\\\n"));
  // No raw specials outside commands: every '_' and '%' in a table line is escaped.
  for (size_t at = tex.find('_'); at != std::string::npos; at = tex.find('_', at + 1)) {
    EXPECT_EQ(tex[at - 1], '\\') << tex.substr(at - 20, 40);
  }
  // Braces balance.
  EXPECT_EQ(Count(tex, "{") - Count(tex, "\\{"), Count(tex, "}") - Count(tex, "\\}"));
}

reports::Run Make(const std::string& optimizer, const std::string& smoothing, int seed,
                  const std::string& status, double value) {
  reports::Run r;
  r.path = optimizer + smoothing + std::to_string(seed);
  r.task = "t";
  r.preset = "smoke";
  r.optimizer = optimizer;
  r.smoothing = smoothing;
  r.seed = seed;
  r.status = *tasks::ParseRunStatus(status);
  r.metric = "loss";
  r.goal = "min";
  if (status == "completed") r.value = value;
  return r;
}

TEST(Tables, OtherOptimizersAndEmptyCells) {
  // SGD without smoothing only diverged; lion (a registered optimizer) comes after the
  // standard three, and SGD +GS (1.0) is the row's best for a min goal.
  const std::vector<reports::Run> runs = {
      Make("sgd", "none", 0, "diverged", 0), Make("sgd", kDefaultSmoothingTag, 0, "completed", 1.0),
      Make("lion", "none", 0, "completed", 2.0), Make("lion", "none", 1, "failed", 0)};
  const std::string md = RenderMarkdown({MainTables(Summarize(runs))});
  EXPECT_THAT(md, HasSubstr("| Task | SGD | +GS | lion | +GS |\n"));
  EXPECT_THAT(md, HasSubstr("| t (loss ↓) | – (0; 1 diverged) | **1 (1)** | 2 (1) | – |\n"));
}

TEST(Tables, EmptySummary) {
  const std::string md = RenderMarkdown(AllTables(Summary{}));
  EXPECT_THAT(md, HasSubstr("No completed or counted runs."));
  EXPECT_THAT(md, HasSubstr("No completed run has a depth.json."));
  const std::string tex = RenderLatex(AllTables(Summary{}));
  EXPECT_EQ(Count(tex, "\\begin{tabular}"), 0);
}

}  // namespace
}  // namespace gs::reports
