// //tasks:rl_reasoning: the run contract, and the stage-1 cache (reused by a second run,
// rebuilt when corrupt, the same results either way). Every run starts a process that
// loads LibTorch, so the checks share as few runs as they can.
#include <sys/stat.h>

#include "tests/tasks/task_contract.h"

namespace gs::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(RlReasoning, TaskContract,
                         ::testing::Values(TaskParams{"rl_reasoning", "heldout_accuracy", "max",
                                                      {"heldout_accuracy", "initial_accuracy",
                                                       "mean_reward", "response_length",
                                                       "train_loss", "val_accuracy"},
                                                      "val_accuracy", "max"}));

struct timespec ModifiedAt(const std::string& path) {
  struct stat s {};
  EXPECT_EQ(stat(path.c_str(), &s), 0) << path;
  return s.st_mtim;
}

TEST(RlReasoningStageOne, CachedOnceReusedAndRebuiltWhenCorrupt) {
  const std::string cache = TempDir("own_cache");
  const std::string file = cache + "/rl_reasoning/smoke-seed0-sft-v1.pt";
  const std::string first = TempDir("cache_first"), second = TempDir("cache_second"),
                    third = TempDir("cache_third");

  Result r = RunTask("rl_reasoning", Args(first, {"--cache_dir=" + cache}));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("stage 1: trained and cached the supervised start"));
  ASSERT_TRUE(fs::exists(file));
  const std::string bytes = ReadText(file);
  const struct timespec built = ModifiedAt(file);

  // A second run (another arm: smoothing on) reuses the file without touching it.
  r = RunTask("rl_reasoning", Args(second, {"--cache_dir=" + cache, "--smoothing=window"}));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("stage 1: reusing the cached supervised start"));
  EXPECT_THAT(r.stderr_text, ::testing::Not(HasSubstr("stage 1: step")));
  const struct timespec reused = ModifiedAt(file);
  EXPECT_EQ(reused.tv_sec, built.tv_sec);
  EXPECT_EQ(reused.tv_nsec, built.tv_nsec);
  EXPECT_EQ(ReadText(file), bytes);
  const nlohmann::json a = ReadJson(first + "/run.json")["final"];
  const nlohmann::json b = ReadJson(second + "/run.json")["final"];
  EXPECT_EQ(a["initial_accuracy"], b["initial_accuracy"]);
  for (const char* key : {"heldout_accuracy", "initial_accuracy", "mean_reward"}) {
    EXPECT_GE(a[key].get<double>(), 0.0) << key;
    EXPECT_LE(a[key].get<double>(), 1.0) << key;
  }
  // Smoke answers are one or two digits plus the end token: 1..3 tokens.
  EXPECT_GE(a["response_length"].get<double>(), 1.0);
  EXPECT_LE(a["response_length"].get<double>(), 3.0);
  // Stage 1 stops at a validation accuracy of 0.2 or after 60 steps; either way the start
  // is well above guessing one of 19 sums.
  EXPECT_GT(a["initial_accuracy"].get<double>(), 0.1);

  // Corrupted: reported, rebuilt to the same bytes, and the run ends as the first did.
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(bytes.size() / 2));
    f.write("garbage!", 8);
  }
  r = RunTask("rl_reasoning", Args(third, {"--cache_dir=" + cache}));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("warning:"));
  EXPECT_THAT(r.stderr_text, HasSubstr("stage 1: trained and cached the supervised start"));
  EXPECT_EQ(ReadText(file), bytes);
  EXPECT_EQ(ReadJson(third + "/run.json")["final"], a);
  EXPECT_EQ(MetricsWithoutTimes(third), MetricsWithoutTimes(first));
}

TEST(RlReasoningFlags, ADataFileIsRefused) {
  Result r = RunTask("rl_reasoning", Args(TempDir("with_data"), {"--data=/tmp/numbers.txt"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("--data=/tmp/numbers.txt"));
  EXPECT_THAT(r.stderr_text, HasSubstr("reads no data file"));
}

}  // namespace
}  // namespace gs::testing
