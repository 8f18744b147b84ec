// benchmarks/runner: ReadRunState reads a run directory's run.json into the state the
// suite acts on: new without one, partial when it is torn or says running or failed.
#include <filesystem>
#include <fstream>
#include <string>

#include "benchmarks/runner.h"
#include "gtest/gtest.h"

namespace gs::benchmarks {
namespace {

namespace fs = std::filesystem;

// A fresh run directory under the test's temporary folder, holding `run_json` unless
// that is empty.
std::string RunDir(const std::string& name, const std::string& run_json) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = std::string(tmp != nullptr ? tmp : "/tmp") + "/" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  if (!run_json.empty()) std::ofstream(dir + "/run.json") << run_json;
  return dir;
}

TEST(ReadRunState, EachRecordedStatus) {
  EXPECT_EQ(ReadRunState(RunDir("none", "")).status, RunStatus::kNew);
  EXPECT_EQ(ReadRunState(RunDir("garbage", "/no/such")).status, RunStatus::kPartial);
  EXPECT_EQ(ReadRunState("/nonexistent/run").status, RunStatus::kNew);
  EXPECT_EQ(ReadRunState(RunDir("torn", "{\"task\": ")).status, RunStatus::kPartial);
  EXPECT_EQ(ReadRunState(RunDir("running", R"({"status": "running"})")).status, RunStatus::kPartial);
  EXPECT_EQ(ReadRunState(RunDir("failed", R"({"status": "failed"})")).status, RunStatus::kPartial);
  EXPECT_EQ(ReadRunState(RunDir("completed", R"({"status": "completed"})")).status,
            RunStatus::kCompleted);
  EXPECT_EQ(ReadRunState(RunDir("diverged", R"({"status": "diverged"})")).status,
            RunStatus::kDiverged);
  EXPECT_EQ(ReadRunState(RunDir("odd", R"({"status": 3})")).status, RunStatus::kPartial);
}

TEST(ReadRunState, KeepsTheParsedRunJson) {
  const RunState state = ReadRunState(RunDir("kept", R"({"status": "completed", "seed": 4})"));
  ASSERT_TRUE(state.run.has_value());
  EXPECT_EQ(state.run->seed, 4);
  EXPECT_FALSE(ReadRunState(RunDir("torn2", "{")).run.has_value());
}

TEST(StatusName, NamesEveryState) {
  EXPECT_STREQ(StatusName(RunStatus::kNew), "new");
  EXPECT_STREQ(StatusName(RunStatus::kPartial), "partial");
  EXPECT_STREQ(StatusName(RunStatus::kCompleted), "completed");
  EXPECT_STREQ(StatusName(RunStatus::kDiverged), "diverged");
}

}  // namespace
}  // namespace gs::benchmarks
