// //reports:summary over the example tree (tests/reports/results_tree.h): every number
// below is worked out by hand from the values written there.
#include "reports/summary.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reports/results_tree.h"

namespace gs::reports {
namespace {

using ::gs::testing::TempDir;
using ::testing::HasSubstr;

constexpr double kPi = 3.14159265358979323846;
constexpr double kT975_2 = 4.302653;  // t_{0.975, 2} from a printed table
constexpr double kT975_1 = 12.706205;

const std::vector<reports::Run>& ExampleRuns() {
  static const auto* runs = [] {
    const std::string root = TempDir("summary_results");
    gs::testing::WriteExampleTree(root);
    return new std::vector<reports::Run>(ReadRuns(root)->runs);
  }();
  return *runs;
}

const Row& Find(const Summary& s, const std::string& task, const std::string& optimizer,
                const std::string& smoothing, const std::string& overrides = "") {
  for (const Row& r : s.rows) {
    if (r.task == task && r.optimizer == optimizer && r.smoothing == smoothing &&
        r.overrides == overrides) {
      return r;
    }
  }
  static const Row missing;
  ADD_FAILURE() << "no row " << task << " " << optimizer << " " << smoothing << " " << overrides;
  return missing;
}

const std::string kGs = "window-a0.2";

Interval RawInterval(const std::vector<double>& x) { return *ConfidenceInterval95(x); }

TEST(Summary, RowsInOrder) {
  const Summary s = Summarize(ExampleRuns());
  std::vector<std::string> keys;
  for (const Row& r : s.rows) {
    keys.push_back(r.task + " " + r.optimizer + " " + r.smoothing + " " + r.overrides);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "lm_pretrain adamw none ",
                      "lm_pretrain adamw " + kGs + " ",
                      "vit_classification sgd none ",
                      "vit_classification sgd " + kGs + " ",
                      "vit_classification adamw none ",
                      "vit_classification adamw " + kGs + " ",
                      "vit_classification adamw window-a0.1 ",
                      "vit_classification adamw none lr=0.002",
                      "vit_classification muon none ",
                  }));
  EXPECT_TRUE(s.warnings.empty());
}

TEST(Summary, MeanStdIntervalDeltaAndPairedTest) {
  const Summary s = Summarize(ExampleRuns());
  // AdamW none {0.80, 0.82, 0.84}: mean 0.82, deviations -0.02, 0, 0.02, variance
  // 0.0008 / 2 = 0.0004, std 0.02; CI 0.82 -+ 4.302653 * 0.02 / sqrt(3) = 0.82 -+ 0.0496828.
  const Row& none = Find(s, "vit_classification", "adamw", "none");
  EXPECT_EQ(none.n, 3);
  EXPECT_NEAR(none.mean, 0.82, 1e-12);
  EXPECT_NEAR(none.std, 0.02, 1e-12);
  ASSERT_TRUE(none.ci95.has_value());
  EXPECT_NEAR(none.ci95->low, 0.82 - kT975_2 * 0.02 / std::sqrt(3.0), 1e-6);
  EXPECT_NEAR(none.ci95->high, 0.82 + kT975_2 * 0.02 / std::sqrt(3.0), 1e-6);
  EXPECT_FALSE(none.delta.has_value());
  EXPECT_FALSE(none.p_value.has_value());

  // AdamW +GS {0.83, 0.84, 0.88}: mean 0.85, deviations -0.02, -0.01, 0.03, variance
  // 0.0014 / 2 = 0.0007. Delta 0.03. Same seeds 0,1,2, so paired: differences
  // {0.03, 0.02, 0.04}, mean 0.03, sd 0.01, t = 0.03 / (0.01 / sqrt 3) = sqrt(27), dof 2:
  // p = 1 - t / sqrt(2 + t^2) = 1 - sqrt(27 / 29).
  const Row& gs = Find(s, "vit_classification", "adamw", kGs);
  EXPECT_EQ(gs.n, 3);
  EXPECT_NEAR(gs.mean, 0.85, 1e-12);
  EXPECT_NEAR(gs.std, std::sqrt(0.0007), 1e-12);
  ASSERT_TRUE(gs.delta.has_value());
  EXPECT_NEAR(*gs.delta, 0.03, 1e-12);
  EXPECT_EQ(gs.test, "paired");
  ASSERT_TRUE(gs.p_value.has_value());
  EXPECT_NEAR(*gs.p_value, 1 - std::sqrt(27.0 / 29.0), 1e-9);

  // SGD +GS: seeds 0,1 completed {0.75, 0.77}, seed 2 diverged, seed 3 failed: n 2;
  // mean 0.76, std sqrt(0.0002) = 0.0141421; CI 0.76 -+ 12.706205 * 0.01.
  // Baseline {0.70, 0.74} on the same seeds: differences {0.05, 0.03}, mean 0.04,
  // sd sqrt(0.0002), t = 0.04 / 0.01 = 4, dof 1: p = 1 - 2 atan(4) / pi.
  const Row& sgd = Find(s, "vit_classification", "sgd", kGs);
  EXPECT_EQ(sgd.n, 2);
  EXPECT_EQ(sgd.n_diverged, 1);
  EXPECT_EQ(sgd.n_failed, 1);
  EXPECT_EQ(sgd.runs.size(), 4u);
  EXPECT_NEAR(sgd.mean, 0.76, 1e-12);
  EXPECT_NEAR(sgd.std, std::sqrt(0.0002), 1e-12);
  EXPECT_NEAR(sgd.ci95->low, 0.76 - kT975_1 * 0.01, 1e-6);
  EXPECT_NEAR(*sgd.delta, 0.04, 1e-12);
  EXPECT_EQ(sgd.test, "paired");
  EXPECT_NEAR(*sgd.p_value, 1 - 2 * std::atan(4.0) / kPi, 1e-9);
}

TEST(Summary, WelchWhenSeedsDiffer) {
  const Summary s = Summarize(ExampleRuns());
  // LM none {1.50, 1.52, 1.55} (seeds 0,1,2): mean 4.57/3, deviations -0.07/3, -0.01/3,
  // 0.08/3, variance (0.0049 + 0.0001 + 0.0064) / 9 / 2 = 0.0114 / 18.
  // LM +GS {1.45, 1.47, 1.46} (seeds 0,1,3): mean 1.46, variance 0.0002 / 2 = 0.0001.
  // Seeds differ: Welch. se^2 = (0.0114/18 + 0.0001) / 3, t = (1.46 - 4.57/3) / se,
  // dof = se^4 / ((0.0114/54)^2 / 2 + (0.0001/3)^2 / 2).
  const Row& gs = Find(s, "lm_pretrain", "adamw", kGs);
  const double va = 0.0114 / 18 / 3, vb = 0.0001 / 3;
  const double t = (1.46 - 4.57 / 3) / std::sqrt(va + vb);
  const double dof = (va + vb) * (va + vb) / (va * va / 2 + vb * vb / 2);
  EXPECT_NEAR(*gs.delta, 1.46 - 4.57 / 3, 1e-12);
  EXPECT_EQ(gs.test, "welch");
  EXPECT_NEAR(*gs.p_value, StudentTTwoSidedP(t, dof), 1e-12);
  EXPECT_NEAR(dof, 2.6162, 1e-3);  // sanity of the arithmetic above
  // The LM rows are goal min; the p-value is below 0.05 here (t = -4.05).
  EXPECT_EQ(gs.goal, "min");
  EXPECT_LT(*gs.p_value, 0.05);

  // Alpha 0.1 (seeds 0,1) against none (seeds 0,1,2): Welch, delta 0.825 - 0.82.
  const Row& a01 = Find(s, "vit_classification", "adamw", "window-a0.1");
  EXPECT_NEAR(*a01.delta, 0.005, 1e-12);
  EXPECT_EQ(a01.test, "welch");
}

TEST(Summary, OverridesSeparateConfigurations) {
  const Summary s = Summarize(ExampleRuns());
  // lr 0.002 differs from AdamW's most common lr (0.004): its own row, no baseline.
  const Row& low = Find(s, "vit_classification", "adamw", "none", "lr=0.002");
  EXPECT_EQ(low.n, 2);
  EXPECT_NEAR(low.mean, 0.785, 1e-12);
  EXPECT_EQ(low.baseline, -1);
  // SGD's lr 0.2 and Muon's 0.02 are their own most common configurations.
  EXPECT_EQ(Find(s, "vit_classification", "sgd", "none").overrides, "");
  const Row& muon = Find(s, "vit_classification", "muon", "none");
  EXPECT_EQ(muon.n, 1);
  EXPECT_TRUE(std::isnan(muon.std));
  EXPECT_FALSE(muon.ci95.has_value());
}

TEST(Summary, CsvHasTheContractColumnsAndHandValues) {
  const std::string csv = SummaryCsv(Summarize(ExampleRuns()));
  std::istringstream in(csv);
  std::string header, first;
  std::getline(in, header);
  std::getline(in, first);
  EXPECT_EQ(header,
            "task,preset,optimizer,smoothing,metric,goal,n,n_diverged,n_failed,mean,std,ci95_low,"
            "ci95_high,delta,p_value,overrides");
  // LM none: mean 1.523333, std sqrt(0.0114/18) = 0.0251661, CI half width
  // 4.302653 * 0.0251661 / sqrt(3) = 0.0625162: [1.46082, 1.58585]; no delta, no p. The
  // numbers are at full precision: each reads back as the row's own double.
  const Summary s = Summarize(ExampleRuns());
  const Row& lm = Find(s, "lm_pretrain", "adamw", "none");
  std::vector<std::string> f;
  std::stringstream fields(first);
  for (std::string field; std::getline(fields, field, ',');) f.push_back(field);
  f.resize(16);
  EXPECT_EQ(first.substr(0, first.find(",1.5")), "lm_pretrain,quick,adamw,none,val_loss,min,3,0,0");
  EXPECT_NEAR(std::stod(f[9]), 1.5233333333, 1e-9);
  EXPECT_NEAR(std::stod(f[10]), 0.0251661148, 1e-9);
  EXPECT_NEAR(std::stod(f[11]), 1.46082, 1e-5);
  EXPECT_NEAR(std::stod(f[12]), 1.58585, 1e-5);
  EXPECT_EQ(std::stod(f[9]), lm.mean);
  EXPECT_EQ(std::stod(f[10]), lm.std);
  EXPECT_EQ(std::stod(f[11]), lm.ci95->low);
  EXPECT_EQ(std::stod(f[12]), lm.ci95->high);
  EXPECT_EQ(f[13] + f[14] + f[15], "");
  EXPECT_THAT(csv, HasSubstr("\nvit_classification,quick,sgd," + kGs +
                             ",test_accuracy,max,2,1,1,0.76,0.01414213562373"));
  EXPECT_THAT(csv, HasSubstr(",lr=0.002\n"));
  EXPECT_THAT(csv, HasSubstr("\nvit_classification,quick,muon,none,test_accuracy,max,1,0,0,0.79,,,,,,\n"));
}

TEST(Summary, NumbersForFilesAreFullPrecisionAndShortest) {
  for (double v : {0.1, 1.0 / 3.0, 0.8495, 2.0 / 3.0 * 1e-300, 123456789.123456789, -1.5e300,
                   5e-324, 0.0}) {
    const std::string text = FormatNumber(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
  EXPECT_EQ(FormatNumber(0.1), "0.1");
  EXPECT_EQ(FormatNumber(0.8495), "0.8495");
  EXPECT_EQ(FormatNumber(1.0 / 3.0), "0.3333333333333333");
  EXPECT_EQ(FormatNumber(std::nan("")), "");
  EXPECT_EQ(FormatNumber(std::optional<double>()), "");
}

TEST(Summary, IntervalsOfBoundedQuantitiesStayInTheirRange) {
  // Accuracies 0.98 and 1.0: mean 0.99, s = 0.0141421, t(1) = 12.706205, half width
  // 0.127062: [0.862938, 1.117062] unbounded, cut at 1.
  const std::optional<Interval> raw = ConfidenceInterval95({0.98, 1.0});
  ASSERT_TRUE(raw);
  EXPECT_NEAR(raw->high, 0.99 + kT975_1 * 0.01, 1e-6);
  std::optional<Interval> ci = BoundedInterval95({0.98, 1.0}, "test_accuracy");
  ASSERT_TRUE(ci);
  EXPECT_NEAR(ci->low, 0.99 - kT975_1 * 0.01, 1e-6);
  EXPECT_EQ(ci->high, 1.0);
  ci = BoundedInterval95({0.02, 0.0}, "val_accuracy");
  EXPECT_EQ(ci->low, 0.0);
  EXPECT_NEAR(ci->high, 0.01 + kT975_1 * 0.01, 1e-6);
  ci = BoundedInterval95({0.95, 0.99}, "cka");
  EXPECT_EQ(ci->high, 1.0);
  ci = BoundedInterval95({-0.99, -0.9}, "cosine");
  EXPECT_EQ(ci->low, -1.0);
  ci = BoundedInterval95({1.5, 1.6}, "val_loss");  // unbounded: as computed
  EXPECT_EQ(ci->low, RawInterval({1.5, 1.6}).low);
  EXPECT_FALSE(RangeOf("val_loss"));
  EXPECT_FALSE(RangeOf("frechet_distance"));
  // An interval wholly outside the range collapses onto its nearer end.
  const Interval outside = Clamp({1.2, 1.4}, {0, 1});
  EXPECT_EQ(outside.low, 1.0);
  EXPECT_EQ(outside.high, 1.0);
}

reports::Run Plain(int seed, double value) {
  reports::Run r;
  r.path = "r" + std::to_string(seed);
  r.task = "t";
  r.preset = "quick";
  r.optimizer = "adamw";
  r.smoothing = "none";
  r.seed = seed;
  r.status = tasks::RunStatus::kCompleted;
  r.metric = "m";
  r.goal = "min";
  r.value = value;
  return r;
}

TEST(Summary, DuplicateSeedsAreCountedOnce) {
  std::vector<reports::Run> runs = {Plain(0, 1.0), Plain(1, 2.0), Plain(1, 5.0)};
  runs[2].path = "copy/r1";
  const Summary s = Summarize(runs);
  ASSERT_EQ(s.rows.size(), 1u);
  EXPECT_EQ(s.rows[0].n, 2);
  EXPECT_DOUBLE_EQ(s.rows[0].mean, 1.5);
  EXPECT_THAT(s.warnings, ::testing::ElementsAre(
                              "copy/r1: the same configuration and seed as r1; skipped"));
}

TEST(Summary, CsvQuotesFieldsThatNeedIt) {
  std::vector<reports::Run> runs = {Plain(0, 1.0), Plain(1, 2.0), Plain(2, 3.0)};
  runs[2].config["note"] = "a,\"b\"";
  const std::string csv = SummaryCsv(Summarize(runs));
  EXPECT_THAT(csv, HasSubstr(",\"note=a,\"\"b\"\"\"\n"));
}

}  // namespace
}  // namespace gs::reports
