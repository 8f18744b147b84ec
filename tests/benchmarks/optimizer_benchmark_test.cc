// //benchmarks:optimizer_benchmark as a real process on its small parameter set (width
// 128): the paired benchmarks run, and the targets they feed are printed from their
// counters (the median per-pair ratio), with the ratio of separate medians beside them.
#include <regex>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/benchmarks/process_util.h"

namespace {

using ::gs::testing::Result;
using ::gs::testing::Runfile;
using ::gs::testing::Shell;

// The value printed on the target line that starts with `what` under "width 128:".
double TargetValue(const std::string& output, const std::string& what) {
  const size_t width = output.find(" width 128:");
  if (width == std::string::npos) return -1;
  std::smatch m;
  const std::string rest = output.substr(width);
  const std::regex line("\n  " + std::regex_replace(what, std::regex(R"([()/+])"), R"(\$&)") +
                        R"( +([0-9.]+)  \()");
  return std::regex_search(rest, m, line) ? std::stod(m[1]) : -1;
}

TEST(OptimizerBenchmarkTest, PairedTargetsComeFromThePairedRuns) {
  const Result r = Shell(Runfile("benchmarks/optimizer_benchmark") +
                         " --benchmark_filter='(Paired|MuonBatched|MuonPerLayer)/128'"
                         " --benchmark_min_time=0.2");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, ::testing::HasSubstr("BM_MuonPaired/128"));
  const double window = TargetValue(r.output, "AdamW + Window Smoothing / AdamW, paired (overhead = value - 1)");
  const double muon = TargetValue(r.output, "Muon per-layer NS / batched NS (speed-up), paired");
  const double muon_medians = TargetValue(r.output, "Muon per-layer NS / batched NS, ratio of medians");
  // Smoothing adds work; the two Newton-Schulz paths differ by well under 10x.
  EXPECT_GT(window, 1.0) << r.output;
  EXPECT_LT(window, 3.0) << r.output;
  EXPECT_GT(muon, 0.1) << r.output;
  EXPECT_LT(muon, 10.0) << r.output;
  EXPECT_GT(muon_medians, 0.0) << r.output;
}

}  // namespace
