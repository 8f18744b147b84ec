// tasks/harness/checkpoint: a saved checkpoint restores, the newest good one wins, a
// corrupt one is reported and the previous one taken, and only the two newest are kept.
#include "tasks/harness/checkpoint.h"

#include <torch/torch.h>

#include <filesystem>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "gtest/gtest.h"
#include "tasks/harness/files.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;

std::string FreshDir(const std::string& name) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  fs::remove_all(dir);
  return dir;
}

absl::Status SaveValue(Checkpointer& c, int64_t step, double value) {
  return c.Save(step, [&](torch::serialize::OutputArchive& archive) {
    archive.write("value", c10::IValue(value));
  });
}

// The restored step and value; -1 for none.
std::pair<int64_t, double> Restore(Checkpointer& c, std::vector<std::string>* warnings) {
  double value = -1;
  const std::optional<int64_t> step = c.RestoreLatest(
      [&](torch::serialize::InputArchive& archive) {
        c10::IValue v;
        archive.read("value", v);
        value = v.toDouble();
        return absl::OkStatus();
      },
      [&](const std::string& w) { warnings->push_back(w); });
  return {step.value_or(-1), value};
}

TEST(Checkpointer, NoneToRestoreInAnEmptyDirectory) {
  Checkpointer c(FreshDir("empty") + "/checkpoint");
  std::vector<std::string> warnings;
  EXPECT_EQ(Restore(c, &warnings).first, -1);
  EXPECT_TRUE(warnings.empty());
}

TEST(Checkpointer, RestoresTheNewestAndKeepsTwo) {
  const std::string dir = FreshDir("newest") + "/checkpoint";
  Checkpointer c(dir);
  for (int64_t step : {10, 20, 30}) ASSERT_TRUE(SaveValue(c, step, step * 0.5).ok());
  std::vector<std::string> warnings;
  EXPECT_EQ(Restore(c, &warnings), std::make_pair(int64_t{30}, 15.0));
  EXPECT_TRUE(warnings.empty());
  EXPECT_FALSE(fs::exists(c.ArchivePath(10)));
  EXPECT_TRUE(fs::exists(c.ArchivePath(20)));
  EXPECT_TRUE(fs::exists(c.ArchivePath(30)));
}

TEST(Checkpointer, ACorruptArchiveIsReportedAndThePreviousOneTaken) {
  Checkpointer c(FreshDir("corrupt") + "/checkpoint");
  ASSERT_TRUE(SaveValue(c, 10, 1.0).ok());
  ASSERT_TRUE(SaveValue(c, 20, 2.0).ok());
  ASSERT_TRUE(WriteFileAtomic(c.ArchivePath(20), "not an archive").ok());
  std::vector<std::string> warnings;
  EXPECT_EQ(Restore(c, &warnings), std::make_pair(int64_t{10}, 1.0));
  ASSERT_EQ(warnings.size(), 1u);
}

TEST(Checkpointer, AFailingRestoreFallsBackToTheOlderOne) {
  Checkpointer c(FreshDir("failing") + "/checkpoint");
  ASSERT_TRUE(SaveValue(c, 10, 1.0).ok());
  ASSERT_TRUE(SaveValue(c, 20, 2.0).ok());
  std::vector<std::string> warnings;
  int calls = 0;
  const std::optional<int64_t> step = c.RestoreLatest(
      [&](torch::serialize::InputArchive&) {
        return ++calls == 1 ? absl::FailedPreconditionError("refused") : absl::OkStatus();
      },
      [&](const std::string& w) { warnings.push_back(w); });
  EXPECT_EQ(step, 10);
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(warnings.size(), 1u);
}

}  // namespace
}  // namespace gs::tasks
