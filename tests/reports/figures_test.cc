// //reports:figures with the real gnuplot (Debian's gnuplot-nox): images drawn, data
// files hold medians/bands, means and CKA averages worked out by hand from
// tests/reports/results_tree.h, scripts re-plot on their own, and a missing or failing
// gnuplot is a warning.
#include "reports/figures.h"

#include <cmath>
#include <cstdlib>
#include <sstream>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/summary.h"
#include "tests/reports/results_tree.h"

namespace gs::reports {
namespace {

namespace fs = std::filesystem;
using ::gs::testing::ReadText;
using ::gs::testing::TempDir;
using ::testing::HasSubstr;

const std::vector<reports::Run>& ExampleRuns() {
  static const auto* runs = [] {
    const std::string root = TempDir("figures_results");
    gs::testing::WriteExampleTree(root);
    return new std::vector<reports::Run>(ReadRuns(root)->runs);
  }();
  return *runs;
}

const std::string kGsName = "window-a0.2";

TEST(Figures, DrawnWithGnuplot) {
  const std::string gnuplot = FindGnuplot();
  ASSERT_FALSE(gnuplot.empty()) << "gnuplot is missing: apt-get install gnuplot-nox";
  const std::string out = TempDir("drawn");
  absl::StatusOr<FigureSet> set = WriteFigures(Summarize(ExampleRuns()), out, gnuplot);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_TRUE(set->warnings.empty()) << ::testing::PrintToString(set->warnings);
  std::vector<std::string> names;
  for (const Figure& f : set->figures) {
    names.push_back(f.png);
    EXPECT_TRUE(f.drawn);
    const std::string png = ReadText(out + "/" + f.png);
    ASSERT_GT(png.size(), 8u) << f.png;
    EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8)) << f.png;
    EXPECT_THAT(ReadText(out + "/" + f.svg), HasSubstr("<svg")) << f.svg;
    EXPECT_TRUE(fs::exists(out + "/" + f.data));
    EXPECT_TRUE(fs::exists(out + "/" + f.script));
  }
  // Curves per task/preset (training loss and the primary metric), one alpha ablation
  // (only ViT/AdamW has two alphas), one heatmap pair (only ViT/AdamW has depth.json).
  EXPECT_EQ(names, (std::vector<std::string>{
                       "figures/curve_train_loss_lm_pretrain_quick.png",
                       "figures/curve_val_loss_lm_pretrain_quick.png",
                       "figures/curve_train_loss_vit_classification_quick.png",
                       "figures/curve_test_accuracy_vit_classification_quick.png",
                       "figures/alpha_vit_classification_quick.png",
                       "figures/depth_cka_vit_classification_quick_adamw_blocks_" + kGsName + ".png"}));
  for (const auto& entry : fs::directory_iterator(out + "/figures")) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
}

TEST(Figures, DataFilesHoldHandComputedValues) {
  const std::string out = TempDir("data");
  ASSERT_TRUE(WriteFigures(Summarize(ExampleRuns()), out, "").ok());
  const std::string curve = ReadText(out + "/figures/curve_test_accuracy_vit_classification_quick.dat");
  // AdamW at step 600: seeds {0.80, 0.82, 0.84}: median 0.82, band 0.80 to 0.84; at 200
  // each is a third of that: median 0.273333333, band 0.266666667 to 0.28.
  EXPECT_THAT(curve, HasSubstr("# AdamW (none)\n200 0.273333333 0.266666667 0.28\n"));
  EXPECT_THAT(curve, HasSubstr("600 0.82 0.8 0.84\n"));
  // SGD +GS: only the completed seeds {0.75, 0.77} (median of two is their mean).
  EXPECT_THAT(curve, HasSubstr("# SGD +GS (" + kGsName + ")\n200 0.253333333 0.25 0.256666667\n"
                               "400 0.506666667 0.5 0.513333333\n600 0.76 0.75 0.77\n"));
  // Training loss 2 - 1.5 step / 600 + seed / 100 at step 100: {1.75, 1.76, 1.77}.
  EXPECT_THAT(ReadText(out + "/figures/curve_train_loss_vit_classification_quick.dat"),
              HasSubstr("# AdamW (none)\n100 1.76 1.75 1.77\n"));
  // Alpha: the baseline at 0 (mean 0.82, CI 0.82 -+ 0.0496828), 0.1 (mean 0.825,
  // CI 0.825 -+ 12.706205 * 0.005), 0.2 (mean 0.85, CI 0.85 -+ 4.302653 * sqrt(0.0007/3)).
  const std::string alpha = ReadText(out + "/figures/alpha_vit_classification_quick.dat");
  const std::string head =
      "# AdamW window alpha=*\n# alpha mean ci95_low ci95_high n\n";
  ASSERT_EQ(alpha.substr(0, head.size()), head);
  std::istringstream in(alpha.substr(head.size()));
  const double expected[3][5] = {
      {0, 0.82, 0.82 - 4.302653 * 0.02 / std::sqrt(3.0), 0.82 + 4.302653 * 0.02 / std::sqrt(3.0), 3},
      {0.1, 0.825, 0.825 - 12.706205 * 0.005, 0.825 + 12.706205 * 0.005, 2},
      {0.2, 0.85, 0.85 - 4.302653 * std::sqrt(0.0007 / 3), 0.85 + 4.302653 * std::sqrt(0.0007 / 3), 3}};
  for (const auto& row : expected) {
    for (double want : row) {
      double got = -1;
      in >> got;
      EXPECT_NEAR(got, want, 2e-6);
    }
  }
  std::string rest;
  in >> rest;
  EXPECT_EQ(rest, "");
  // Heatmap: mean over seeds of cka[0][1] = {0.90, 0.92, 0.94} -> 0.92 and of
  // cka[0][2] = {0.81, 0.8464, 0.8836} -> 2.54 / 3 = 0.846666667 (baseline panel first).
  const std::string heat =
      ReadText(out + "/figures/depth_cka_vit_classification_quick_adamw_blocks_" + kGsName + ".dat");
  EXPECT_THAT(heat, HasSubstr("# AdamW: row col cka\n0 0 1\n0 1 0.92\n0 2 0.846666667\n"));
  // +GS {0.95, 0.96, 0.97}: 0.96 and (0.9025 + 0.9216 + 0.9409) / 3 = 0.9216667.
  EXPECT_THAT(heat, HasSubstr("\n\n# AdamW +GS: row col cka\n0 0 1\n0 1 0.96\n0 2 0.921666667\n"));
}

TEST(Figures, ScriptsReplotOnTheirOwn) {
  const std::string gnuplot = FindGnuplot();
  ASSERT_FALSE(gnuplot.empty());
  const std::string out = TempDir("replot");
  absl::StatusOr<FigureSet> set = WriteFigures(Summarize(ExampleRuns()), out, "");
  ASSERT_TRUE(set.ok());
  const Figure& f = set->figures.back();
  EXPECT_FALSE(fs::exists(out + "/" + f.png));
  const std::string command = "cd '" + out + "/figures' && '" + gnuplot + "' '" +
                              fs::path(f.script).filename().string() + "' 2>/dev/null";
  ASSERT_EQ(std::system(command.c_str()), 0);
  EXPECT_EQ(ReadText(out + "/" + f.png).substr(0, 4), "\x89PNG");
  EXPECT_THAT(ReadText(out + "/" + f.svg), HasSubstr("<svg"));
}

TEST(Figures, MissingOrFailingGnuplotIsAWarning) {
  const std::string out = TempDir("no_gnuplot");
  absl::StatusOr<FigureSet> set = WriteFigures(Summarize(ExampleRuns()), out, "");
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->warnings.size(), 1u);
  EXPECT_THAT(set->warnings[0], HasSubstr("gnuplot-nox"));
  for (const Figure& f : set->figures) {
    EXPECT_FALSE(f.drawn);
    EXPECT_TRUE(fs::exists(out + "/" + f.data));
    EXPECT_TRUE(fs::exists(out + "/" + f.script));
    EXPECT_FALSE(fs::exists(out + "/" + f.png));
  }

  set = WriteFigures(Summarize(ExampleRuns()), TempDir("false_gnuplot"), "/bin/false");
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->warnings.size(), set->figures.size());
  EXPECT_THAT(set->warnings[0], HasSubstr("gnuplot exited with 1"));
}

TEST(Figures, AFigureThatIsGoneFromTheResultsIsRemoved) {
  const std::string out = TempDir("stale");
  ASSERT_TRUE(WriteFigures(Summarize(ExampleRuns()), out, FindGnuplot()).ok());
  const std::string alpha = out + "/figures/alpha_vit_classification_quick";
  ASSERT_TRUE(fs::exists(alpha + ".png"));
  gs::testing::WriteText(out + "/figures/my_notes.txt", "kept");
  // Without the alpha 0.1 runs there is a single alpha: no alpha figure any more.
  std::vector<reports::Run> fewer;
  for (const reports::Run& r : ExampleRuns()) {
    if (r.strength != 0.1) fewer.push_back(r);
  }
  absl::StatusOr<FigureSet> set = WriteFigures(Summarize(fewer), out, FindGnuplot());
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->figures.size(), 5u);
  for (const char* ext : {".png", ".svg", ".dat", ".gp"}) EXPECT_FALSE(fs::exists(alpha + ext));
  EXPECT_TRUE(fs::exists(out + "/figures/curve_train_loss_lm_pretrain_quick.png"));
  EXPECT_EQ(ReadText(out + "/figures/my_notes.txt"), "kept");
}

TEST(Figures, NothingToDrawWritesNothing) {
  const std::string out = TempDir("nothing");
  absl::StatusOr<FigureSet> set = WriteFigures(Summary{}, out, FindGnuplot());
  ASSERT_TRUE(set.ok());
  EXPECT_TRUE(set->figures.empty());
  EXPECT_FALSE(fs::exists(out + "/figures"));
}

}  // namespace
}  // namespace gs::reports
