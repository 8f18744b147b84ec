// //benchmarks:memory_benchmark as a real process on the smoke GPT: it runs the task
// binary and its own measuring child for both arms, and its budget is the hand-counted
// bytes of the depth groups.
#include <string>

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

TEST(MemoryBenchmarkTest, MeasuresBothArmsAgainstTheDepthGroupBudget) {
  const std::string json = Tmp("memory.json");
  const Result r = Shell(Runfile("benchmarks/memory_benchmark") +
                         " --preset=smoke --tasks=lm_pretrain --steps=2 --repeats=1 --json=" + json);
  ASSERT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("| lm_pretrain | adamw |"));
  const nlohmann::json report = ReadJson(json);
  ASSERT_FALSE(report.is_discarded());
  ASSERT_EQ(report["results"].size(), 1u);
  const nlohmann::json& result = report["results"][0];
  // Smoke GPT: 6 blocks of width 32; a block holds norm1 and norm2 (2 x 2 x 32), qkv
  // (96 x 32 + 96), proj (32 x 32 + 32), fc (128 x 32 + 128), mlp proj (32 x 128 + 32):
  // 12704 floats, so 6 x 12704 x 4 bytes in 12 depth groups.
  EXPECT_EQ(result["budget_bytes"].get<double>(), 6 * 12704 * 4);
  EXPECT_EQ(result["window"]["depth_groups"], 12);
  for (const char* arm : {"none", "window"}) {
    const nlohmann::json& measured = result[arm]["repeats"][0];
    EXPECT_TRUE(measured["peak_reset"].get<bool>());
    EXPECT_GT(measured["run_json_peak_resident_bytes"].get<double>(), 0);
    EXPECT_GT(measured["setup_resident_bytes"].get<double>(), 0);
    EXPECT_GE(measured["training_peak_bytes"].get<double>(), 0);
  }
  EXPECT_DOUBLE_EQ(result["training_peak_difference_bytes"].get<double>(),
                   result["window"]["training_peak_bytes"].get<double>() -
                       result["none"]["training_peak_bytes"].get<double>());
}

TEST(MemoryBenchmarkTest, RefusesAnUnknownTask) {
  const Result r = Shell(Runfile("benchmarks/memory_benchmark") + " --tasks=no_such_task");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.output, HasSubstr("unknown task 'no_such_task'"));
}

}  // namespace
