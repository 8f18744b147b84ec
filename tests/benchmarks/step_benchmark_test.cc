// //benchmarks:step_benchmark as a real process on the smoke preset: its statistics
// recomputed here from the step times it records, the two arms shown to start from the
// same weights and batches, and bad flags refused.
#include <algorithm>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/benchmarks/process_util.h"

namespace {

using ::gs::testing::ReadJson;
using ::gs::testing::Result;
using ::gs::testing::Runfile;
using ::gs::testing::Shell;
using ::gs::testing::Tmp;
using ::testing::HasSubstr;

std::string Binary() { return Runfile("benchmarks/step_benchmark"); }

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

TEST(StepBenchmarkTest, MeasuresTwoSameSeedArmsAndReportsTheirRatio) {
  const std::string json = Tmp("step.json");
  const Result r = Shell(Binary() + " --preset=smoke --tasks=lm_pretrain --optimizers=adamw,sgd "
                         "--steps=6 --warmup=0 --json=" + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("| lm_pretrain | adamw |"));
  EXPECT_THAT(r.output, HasSubstr("| lm_pretrain | sgd |"));
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded());
  EXPECT_EQ(report["steps"], 6);
  EXPECT_FALSE(report["blas_kernels"].get<std::string>().empty());
  ASSERT_EQ(report["results"].size(), 2u);
  for (const nlohmann::json& result : report["results"]) {
    const auto none = result["none"]["step_seconds"].get<std::vector<double>>();
    const auto window = result["window"]["step_seconds"].get<std::vector<double>>();
    const auto none_opt = result["none"]["optimizer_seconds"].get<std::vector<double>>();
    const auto window_opt = result["window"]["optimizer_seconds"].get<std::vector<double>>();
    ASSERT_EQ(none.size(), 6u);
    ASSERT_EQ(window.size(), 6u);
    for (size_t i = 0; i < none.size(); ++i) {
      EXPECT_GT(none_opt[i], 0.0);
      EXPECT_LT(none_opt[i], none[i]);  // opt.step() is part of the step
      EXPECT_LT(window_opt[i], window[i]);
    }
    EXPECT_DOUBLE_EQ(result["none"]["median_step_seconds"].get<double>(), MedianOf(none));
    EXPECT_DOUBLE_EQ(result["ratio_of_medians"].get<double>(), MedianOf(window) / MedianOf(none));
    std::vector<double> ratios;
    for (size_t i = 0; i < none.size(); ++i) ratios.push_back(window[i] / none[i]);
    EXPECT_DOUBLE_EQ(result["paired_ratio"]["median"].get<double>(), MedianOf(ratios));
    // n = 6 at 90%: k = 1, the interval is [min, max] of the per-pair ratios.
    EXPECT_DOUBLE_EQ(result["paired_ratio"]["ci90_low"].get<double>(), *std::min_element(ratios.begin(), ratios.end()));
    EXPECT_DOUBLE_EQ(result["paired_ratio"]["ci90_high"].get<double>(), *std::max_element(ratios.begin(), ratios.end()));
    EXPECT_DOUBLE_EQ(result["optimizer_ratio_of_medians"].get<double>(), MedianOf(window_opt) / MedianOf(none_opt));
    // Same seed: the first step's loss (before any update) is the same in both arms;
    // after one smoothed update the losses part.
    const auto none_loss = result["none"]["losses"].get<std::vector<double>>();
    const auto window_loss = result["window"]["losses"].get<std::vector<double>>();
    EXPECT_EQ(none_loss[0], window_loss[0]);
    EXPECT_NE(none_loss[2], window_loss[2]);
  }
}

TEST(StepBenchmarkTest, RefusesBadFlags) {
  Result r = Shell(Binary() + " --steps=0");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--steps=0"));
  r = Shell(Binary() + " --preset=smoke --tasks=no_such_task --steps=1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("unknown task 'no_such_task'"));
  r = Shell(Binary() + " --preset=smoke --tasks=lm_pretrain --optimizers=no_such --steps=1");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("no_such"));
}

}  // namespace
