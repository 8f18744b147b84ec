// Harness pieces on their own: the learning-rate multiplier against its closed form,
// atomic writes and CRC-32 against the standard check value, the advisory lock, and
// metrics.jsonl kept up to a step.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "tasks/harness/files.h"
#include "tasks/harness/run_dir.h"
#include "tasks/harness/trainer.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir != nullptr ? dir : "/tmp") + "/" + name;
}

TEST(LrScale, LinearWarmupThenCosineToTheFinalFraction) {
  TrainingRecipe s;
  s.warmup = 10;
  s.final_lr_fraction = 0.1;
  const int64_t total = 110;
  for (int64_t step = 0; step < 10; ++step) {
    EXPECT_DOUBLE_EQ(LrScale(s, step, total), (step + 1) / 10.0) << step;
  }
  // After warm-up: f + (1 - f) (1 + cos(pi p)) / 2 with p = (step - warmup) / (total - warmup).
  const double pi = std::acos(-1.0);
  for (int64_t step : {10, 35, 60, 85, 109}) {
    const double p = (step - 10) / 100.0;
    EXPECT_NEAR(LrScale(s, step, total), 0.1 + 0.9 * 0.5 * (1 + std::cos(pi * p)), 1e-15) << step;
  }
  EXPECT_DOUBLE_EQ(LrScale(s, 10, total), 1.0);
  EXPECT_NEAR(LrScale(s, 60, total), 0.55, 1e-15);  // half-way: the mean of 1 and 0.1
  EXPECT_NEAR(LrScale(s, 110, total), 0.1, 1e-15);  // the cosine's end
}

TEST(Files, AtomicWriteReadBackAndCrc32CheckValue) {
  const std::string path = TempPath("atomic.txt");
  ASSERT_TRUE(WriteFileAtomic(path, "first").ok());
  ASSERT_TRUE(WriteFileAtomic(path, "second").ok());
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(*text, "second");
  EXPECT_FALSE(fs::exists(path + ".tmp"));
  EXPECT_EQ(ReadFile(TempPath("missing.txt")).status().code(), absl::StatusCode::kNotFound);
  // The CRC-32 (IEEE) check value of the ASCII digits 1..9.
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);
  EXPECT_EQ(Crc32(""), 0u);
}

TEST(FileLock, OneHolderAtATimeAndFreedWhenDestroyed) {
  const std::string path = TempPath("run.lock");
  {
    absl::StatusOr<FileLock> first = FileLock::Acquire(path, /*wait=*/false);
    ASSERT_TRUE(first.ok()) << first.status();
    // flock locks belong to an open file: a second open, even in this process, is refused.
    absl::StatusOr<FileLock> second = FileLock::Acquire(path, /*wait=*/false);
    EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
  }
  EXPECT_TRUE(FileLock::Acquire(path, /*wait=*/false).ok());
}

TEST(MetricsLog, FlushesOneObjectPerLineAndReloadsUpToAStep) {
  const std::string path = TempPath("metrics.jsonl");
  {
    MetricsLog log(path);
    for (int64_t step : {10, 20, 30}) log.Add({{"step", step}, {"split", "train"}, {"train_loss", step * 0.5}});
    ASSERT_TRUE(log.Flush().ok());
  }
  absl::StatusOr<std::string> text = ReadFile(path);
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(std::count(text->begin(), text->end(), '\n'), 3);

  MetricsLog resumed(path);
  ASSERT_TRUE(resumed.LoadUpTo(20).ok());
  ASSERT_EQ(resumed.lines().size(), 2u);
  EXPECT_EQ(resumed.lines()[1]["step"], 20);
  EXPECT_EQ(resumed.lines()[1]["train_loss"], 10.0);

  ASSERT_TRUE(WriteFileAtomic(path, "{\"step\": 1}\nnot json\n").ok());
  const absl::Status bad = MetricsLog(path).LoadUpTo(5);
  EXPECT_EQ(bad.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(std::string(bad.message()).find("malformed line"), std::string::npos);
}

}  // namespace
}  // namespace gs::tasks
