// //benchmarks:pytorch_comparison as a real process on the smoke GPT: the ratios
// recomputed from the recorded step times of the two sides taking turns, and the PyTorch
// runs shown to get the environments they claim (the driver's BLAS kernels, and as given).
#include <algorithm>
#include <cstdlib>
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

double MedianOf(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  return n % 2 == 1 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

TEST(PytorchComparisonTest, TimesBothSidesByOneProtocol) {
  const std::string json = Tmp("comparison.json");
  const Result r = Shell(Runfile("benchmarks/pytorch_comparison") +
                         " --preset=smoke --tasks=lm_pretrain --steps=5 --warmup=1 --json=" + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("| lm_pretrain |"));
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded());
  ASSERT_EQ(report["results"].size(), 1u);
  const nlohmann::json& result = report["results"][0];
  const auto cpp = result["cpp"]["step_seconds"].get<std::vector<double>>();
  const auto matched = result["pytorch_matched"]["step_seconds"].get<std::vector<double>>();
  const auto env = result["pytorch_env"]["step_seconds"].get<std::vector<double>>();
  ASSERT_EQ(cpp.size(), 5u);
  ASSERT_EQ(matched.size(), 5u);
  ASSERT_EQ(env.size(), 5u);
  std::vector<double> pair_ratios;
  for (size_t i = 0; i < cpp.size(); ++i) pair_ratios.push_back(cpp[i] / matched[i]);
  ASSERT_EQ(result["pair_ratios"].size(), 5u);
  for (size_t i = 0; i < cpp.size(); ++i) {
    EXPECT_DOUBLE_EQ(result["pair_ratios"][i].get<double>(), pair_ratios[i]);
  }
  EXPECT_DOUBLE_EQ(result["ratio"]["median"].get<double>(), MedianOf(pair_ratios));
  // Five pairs: the 90% interval is [min, max] (coverage 1 - 2/32).
  EXPECT_DOUBLE_EQ(result["ratio"]["ci90_low"].get<double>(),
                   *std::min_element(pair_ratios.begin(), pair_ratios.end()));
  EXPECT_DOUBLE_EQ(result["cpp"]["median"].get<double>(), MedianOf(cpp));
  EXPECT_DOUBLE_EQ(result["pytorch_matched"]["median"].get<double>(), MedianOf(matched));
  EXPECT_DOUBLE_EQ(result["ratio_env"].get<double>(), MedianOf(cpp) / MedianOf(env));
  EXPECT_EQ(result["pytorch_env"]["threads"], 1);
  // The last run sees the test's environment, not the re-executed driver's.
  const char* given = std::getenv("OPENBLAS_CORETYPE");
  if (given == nullptr) {
    EXPECT_TRUE(result["pytorch_env"]["openblas_coretype"].is_null()) << result["pytorch_env"];
  } else {
    EXPECT_EQ(result["pytorch_env"]["openblas_coretype"], given);
  }
  // The matched runs get the driver's own kernels.
  const std::string kernels = report["blas_kernels"].get<std::string>();
  if (kernels != "unknown") {  // OpenBLAS behind libblas
    EXPECT_EQ(result["pytorch_matched"]["openblas_coretype"], kernels);
    EXPECT_EQ(result["pytorch_matched"]["blas_kernels"], kernels);
  }
}

TEST(PytorchComparisonTest, ReportsAReferenceThatEndsEarly) {
  // /bin/false starts and exits at once: the driver says so (exit 1) instead of hanging
  // on the pipe or dying of SIGPIPE.
  const Result r = Shell(Runfile("benchmarks/pytorch_comparison") +
                         " --python=/bin/false --preset=smoke --tasks=lm_pretrain --steps=1 --warmup=0");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("ended its output early")) << r.output;
}

TEST(PytorchComparisonTest, RefusesBadFlags) {
  Result r = Shell(Runfile("benchmarks/pytorch_comparison") + " --python=/no/such/python");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("--python=/no/such/python"));
  r = Shell(Runfile("benchmarks/pytorch_comparison") + " --warmup=-1");
  EXPECT_EQ(r.exit_code, 2);

}

}  // namespace
