// //reports:tuned and the tuned parts of the tables, figures and report, over the tuned
// tree of tests/reports/results_tree.h: every expected number below is worked out by hand
// from the values written there.
#include "reports/tuned.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "reports/figures.h"
#include "reports/report.h"
#include "reports/table_format.h"
#include "tests/reports/results_tree.h"

namespace gs::reports {
namespace {

using ::gs::testing::ReadText;
using ::gs::testing::TempDir;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr double kT975_2 = 4.302653;  // t_{0.975, 2} from a printed table

const std::string& Root() {
  static const std::string root = [] {
    const std::string dir = TempDir("tuned_results");
    gs::testing::WriteTunedTree(dir);
    return dir;
  }();
  return root;
}

const std::vector<Run>& AllRuns() {
  static const auto* runs = new std::vector<Run>(ReadRuns(Root())->runs);
  return *runs;
}

const TunedSummary& Tuned() {
  static const auto* tuned = new TunedSummary(SummarizeTuned(Root(), AllRuns()));
  return *tuned;
}

// Two-sided p of Student's t with 2 degrees of freedom in closed form: 1 - t / sqrt(t^2 + 2).
double P2(double t) { return 1.0 - std::fabs(t) / std::sqrt(t * t + 2.0); }

TEST(MedianCurve, MediansPerStepAndTheFirstStepReachingATarget) {
  const std::vector<CurvePoint> a = {{10, 1.0}, {20, 0.5}}, b = {{10, 3.0}, {20, 0.7}, {30, 0.2}};
  const std::vector<CurvePoint> median = MedianCurve({&a, &b});
  ASSERT_EQ(median.size(), 3u);
  EXPECT_EQ(median[0].step, 10);
  EXPECT_DOUBLE_EQ(median[0].value, 2.0);
  EXPECT_DOUBLE_EQ(median[1].value, 0.6);
  EXPECT_DOUBLE_EQ(median[2].value, 0.2);  // one seed logged step 30
  EXPECT_EQ(FirstStepReaching(median, 0.6, "min"), 20);
  EXPECT_EQ(FirstStepReaching(median, 0.1, "min"), std::nullopt);
  EXPECT_EQ(FirstStepReaching(median, 2.0, "max"), 10);
  EXPECT_EQ(FirstStepReaching(median, 2.5, "max"), std::nullopt);
}

TEST(Tuned, RowsChoicesStatisticsAndStepsToTarget) {
  const TunedSummary& t = Tuned();
  EXPECT_TRUE(t.warnings.empty()) << ::testing::PrintToString(t.warnings);
  ASSERT_EQ(t.rows.size(), 4u);
  const TunedRow &base = t.rows[0], &gs = t.rows[1], &strong = t.rows[2], &muon = t.rows[3];
  EXPECT_EQ(base.arm, "vit_classification/quick/adamw-none");
  EXPECT_EQ(gs.arm, "vit_classification/quick/adamw-window-a0.2");
  EXPECT_EQ(strong.arm, "vit_classification/quick/adamw-window-a0.4");
  EXPECT_EQ(muon.arm, "vit_classification/quick/muon-none");

  // The baseline at lr_scale 2: test 0.80, 0.82, 0.84; target: the median of its final
  // val_accuracy {0.84, 0.86, 0.85} = 0.85, its own steps to target its last evaluation.
  EXPECT_EQ(base.candidates[base.chosen].lr_scale, 2.0);
  EXPECT_EQ(base.row.n, 3);
  EXPECT_EQ(base.row.metric, "test_accuracy");
  EXPECT_NEAR(base.row.mean, 0.82, 1e-12);
  EXPECT_NEAR(base.row.std, 0.02, 1e-12);
  EXPECT_NEAR(base.row.ci95->low, 0.82 - kT975_2 * 0.02 / std::sqrt(3.0), 1e-6);
  EXPECT_EQ(base.baseline, -1);
  EXPECT_FALSE(base.row.p_value);
  EXPECT_DOUBLE_EQ(*base.target, 0.85);
  EXPECT_EQ(base.steps_to_target, 600);

  // +GS at lr_scale 1: test 0.83, 0.84, 0.88 (mean 0.85, std sqrt(0.0007)); paired
  // differences 0.03, 0.02, 0.04: t = 0.03 / (0.01 / sqrt 3). Median val_accuracy per
  // step: 0.75 (200), 0.85 (400): the target is reached at 400.
  EXPECT_EQ(gs.candidates[gs.chosen].lr_scale, 1.0);
  EXPECT_EQ(gs.baseline, 0);
  EXPECT_NEAR(gs.row.mean, 0.85, 1e-12);
  EXPECT_NEAR(gs.row.std, std::sqrt(0.0007), 1e-12);
  EXPECT_NEAR(*gs.row.delta, 0.03, 1e-12);
  EXPECT_EQ(gs.row.test, "paired");
  EXPECT_NEAR(*gs.row.p_value, P2(0.03 / (0.01 / std::sqrt(3.0))), 1e-6);
  EXPECT_EQ(gs.steps_to_target, 400);
  EXPECT_EQ(gs.row.smoothing_label, "window alpha=0.2");

  // alpha 0.4: medians 0.61, 0.71, 0.81: never 0.85. Differences -0.10, -0.11, -0.12.
  EXPECT_EQ(strong.steps_to_target, std::nullopt);
  EXPECT_DOUBLE_EQ(*strong.target, 0.85);
  EXPECT_NEAR(*strong.row.p_value, P2(-0.11 / (0.01 / std::sqrt(3.0))), 1e-6);

  // Every candidate diverged: no choice, no runs, no target.
  EXPECT_EQ(muon.state, "none_eligible");
  EXPECT_EQ(muon.chosen, -1);
  EXPECT_EQ(muon.row.n, 0);
  EXPECT_FALSE(muon.target);
  EXPECT_EQ(muon.candidates[0].excluded, "diverged (seed 100)");
}

TEST(Tuned, CsvAtFullPrecision) {
  const std::string csv = TunedCsv(Tuned());
  std::istringstream in(csv);
  std::string header, base, gs;
  std::getline(in, header);
  std::getline(in, base);
  std::getline(in, gs);
  EXPECT_EQ(header,
            "task,preset,optimizer,arm,state,lr_scale,options,tuning_metric,tuning_goal,"
            "tuning_value,metric,goal,n,n_diverged,n_failed,mean,std,ci95_low,ci95_high,delta,"
            "p_value,test,target,steps_to_target");
  EXPECT_THAT(base, HasSubstr("vit_classification,quick,adamw,vit_classification/quick/adamw-none,"
                              "chosen,2,,val_accuracy,max,0.86,test_accuracy,max,3,0,0,"));
  EXPECT_THAT(base, HasSubstr(",,,,0.85,600"));
  std::vector<std::string> f;
  std::stringstream fields(gs);
  for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
  ASSERT_EQ(f.size(), 24u) << gs;
  EXPECT_EQ(f[5], "1");
  EXPECT_EQ(std::strtod(f[15].c_str(), nullptr), Tuned().rows[1].row.mean);
  EXPECT_EQ(std::strtod(f[16].c_str(), nullptr), Tuned().rows[1].row.std);
  EXPECT_EQ(std::strtod(f[20].c_str(), nullptr), *Tuned().rows[1].row.p_value);
  EXPECT_EQ(f[21], "paired");
  EXPECT_EQ(f[23], "400");
  EXPECT_THAT(csv, HasSubstr("vit_classification/quick/muon-none,none_eligible,,,val_accuracy,max,,"
                             ",,0,0,0,,,,,,,,,\n"));
}

TEST(Tuned, TablesShowEachArmAtItsOwnSettingBesideTheUntunedOnes) {
  const std::string md = RenderMarkdown(AllTables(Summary(), Tuned()));
  EXPECT_THAT(md, HasSubstr("## Tuned results\n"));
  EXPECT_THAT(md,
              HasSubstr("### Tuned results, preset quick\n\n"
                        "| Task | Optimizer | Smoothing | lr_scale | Selected on (tuning seeds) | "
                        "Mean ± std (n) | 95% CI | Δ | p | Steps to target |\n"));
  // CI: 0.82 +- 4.302653 * 0.02 / sqrt 3 = [0.7703, 0.8697]; +GS: 0.85 +- 0.065723.
  EXPECT_THAT(
      md, HasSubstr("| vit_classification (test_accuracy ↑) | AdamW | none | 2 | "
                    "val_accuracy 0.86 | 0.82 ± 0.02 (3) | [0.7703, 0.8697] | – | – | 600 |\n"));
  EXPECT_THAT(md,
              HasSubstr("| vit_classification (test_accuracy ↑) | AdamW | window alpha=0.2 | 1 | "
                        "val_accuracy 0.87 | **0.85 ± 0.026 (3)†** | [0.7843, 0.9157] | +0.03 | "
                        "0.0351 (paired) | 400 |\n"));
  EXPECT_THAT(md,
              HasSubstr("| AdamW | window alpha=0.4 | 1 | val_accuracy 0.8 | 0.71 ± 0.01 (3)† | "));
  EXPECT_THAT(md, HasSubstr(" | -0.11 | "));
  EXPECT_THAT(
      md, HasSubstr("| vit_classification | Muon | none | – | – | – (every candidate diverged) | "
                    "– | – | – | – |\n"));
  EXPECT_THAT(md, HasSubstr("## Main results, untuned (preset learning rates)\n"));
  EXPECT_LT(md.find("## Tuned results"), md.find("## Main results"));
  EXPECT_THAT(RenderMarkdown(AllTables(Summary())), HasSubstr("No tuned arms"));
}

TEST(Tuned, TheSweepFigureHasOneLinePerArmAndTheChosenPoints) {
  const std::string out = TempDir("sweep");
  absl::StatusOr<FigureSet> set = WriteFigures(Summary(), out, "", Tuned());
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->figures.size(), 1u);
  EXPECT_EQ(set->figures[0].data, "figures/sweep_vit_classification_quick.dat");
  EXPECT_EQ(ReadText(out + "/figures/sweep_vit_classification_quick.dat"),
            "# AdamW\n# lr_scale val_accuracy\n0.5 0.8\n1 0.83\n2 0.86\n"
            "# lr_scale 4: diverged (seed 100)\n"
            "\n\n# AdamW window-a0.2\n# lr_scale val_accuracy\n0.5 0.84\n1 0.87\n2 0.85\n"
            "# lr_scale 4: diverged (seed 100)\n"
            "\n\n# AdamW window-a0.4\n# lr_scale val_accuracy\n1 0.8\n"
            "# Muon: no candidate to draw\n# lr_scale 1: diverged (seed 100)\n"
            "# lr_scale 2: diverged (seed 100)\n"
            "\n\n# chosen\n# lr_scale val_accuracy\n2 0.86\n1 0.87\n1 0.8\n");
  const std::string script = ReadText(out + "/figures/sweep_vit_classification_quick.gp");
  EXPECT_THAT(script, HasSubstr("set logscale x 2\n"));
  EXPECT_THAT(
      script,
      HasSubstr("index 2 using 1:2 with linespoints lw 2 pt 7 lc 3 title \"AdamW window-a0.4\""));
  EXPECT_THAT(script, HasSubstr("index 3 using 1:2 with points pt 6 ps 3"));
  const std::string gnuplot = FindGnuplot();
  if (!gnuplot.empty()) {
    absl::StatusOr<FigureSet> drawn =
        WriteFigures(Summary(), TempDir("sweep_drawn"), gnuplot, Tuned());
    ASSERT_TRUE(drawn.ok());
    EXPECT_TRUE(drawn->warnings.empty()) << ::testing::PrintToString(drawn->warnings);
    EXPECT_TRUE(drawn->figures[0].drawn);
  }
}

TEST(Tuned, TheReportKeepsTuningAndTunedRunsOutOfTheUntunedTables) {
  const std::string out = TempDir("tuned_report");
  absl::StatusOr<ReportSummary> report = WriteReport(Root(), out);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->warnings.empty()) << ::testing::PrintToString(report->warnings);
  // 1 untuned run, 9 evaluation runs, 1 trial.
  EXPECT_EQ(report->runs_read, 11);
  const std::string summary = ReadText(out + "/summary.csv");
  EXPECT_EQ(std::count(summary.begin(), summary.end(), '\n'), 2) << summary;
  EXPECT_THAT(summary,
              HasSubstr("\nvit_classification,quick,adamw,none,test_accuracy,max,1,0,0,0.81,"));
  EXPECT_EQ(ReadText(out + "/tuned.csv"), TunedCsv(Tuned()));
  const std::string index = ReadText(out + "/index.md");
  EXPECT_THAT(index, HasSubstr("[tuned.csv](tuned.csv)"));
  EXPECT_THAT(index, HasSubstr("figures/sweep_vit_classification_quick"));
  EXPECT_THAT(ReadText(out + "/tables.md"), Not(HasSubstr("No tuned arms")));
}

}  // namespace
}  // namespace gs::reports
