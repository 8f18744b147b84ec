// The run contract every task keeps (README.md), as value-parameterised
// tests over a task binary on its smoke preset: contract fields, determinism, alpha = 0,
// resume after SIGKILL, corrupt checkpoints, bad flags, divergence. Each task's test
// instantiates them (INSTANTIATE_TEST_SUITE_P) and adds its data checks.
#ifndef GS_TESTS_TASKS_TASK_CONTRACT_H_
#define GS_TESTS_TASKS_TASK_CONTRACT_H_

#include <fcntl.h>
#include <sys/file.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/tasks/task_runner.h"

namespace gs::testing {

using ::testing::HasSubstr;
namespace fs = std::filesystem;


std::vector<std::string> Args(const std::string& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--preset=smoke", "--out=" + out,
                                "--cache_dir=" + TempDir("cache")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

struct TaskParams {
  std::string task;
  std::string primary;  // the primary metric's name
  std::string goal;     // min | max
  std::vector<std::string> final_keys;
  // The selection metric (a `val` metric, goal max or min); empty: the task declares
  // none and selection falls back to the primary metric.
  std::string selection = "";
  std::string selection_goal = "";
};

class TaskContract : public ::testing::TestWithParam<TaskParams> {
 protected:
  // One uninterrupted run shared by the tests that compare against it.
  const std::string& Reference() {
    static const std::string out = [this] {
      const std::string dir = TempDir("reference");
      Result r = RunTask(GetParam().task, Args(dir));
      EXPECT_EQ(r.exit_code, 0) << r.stderr_text;
      return dir;
    }();
    return out;
  }
};

TEST_P(TaskContract, CompletesWithEveryContractField) {
  nlohmann::json run = ReadJson(Reference() + "/run.json");
  ASSERT_FALSE(run.is_discarded());
  for (const char* key : {"task", "optimizer", "smoothing", "seed", "preset", "config", "status",
                          "primary_metric", "final", "steps", "wall_seconds", "versions"}) {
    EXPECT_TRUE(run.contains(key)) << key;
  }
  EXPECT_EQ(run["task"], GetParam().task);
  EXPECT_EQ(run["status"], "completed");
  EXPECT_EQ(run["primary_metric"]["name"], GetParam().primary);
  EXPECT_EQ(run["primary_metric"]["goal"], GetParam().goal);
  for (const char* key : {"name", "tag", "label", "options"}) {
    EXPECT_TRUE(run["smoothing"].contains(key)) << "smoothing." << key;
  }
  // The optimizer with every option it ran with, the preset's lr and weight decay too.
  EXPECT_EQ(run["optimizer"]["name"], "adamw");
  EXPECT_EQ(run["optimizer"]["tag"], "adamw");
  for (const char* key : {"lr", "weight_decay", "beta1", "beta2", "eps"}) {
    EXPECT_TRUE(run["optimizer"]["options"].contains(key)) << "optimizer.options." << key;
  }
  EXPECT_EQ(run["optimizer"]["options"]["lr"], run["config"]["lr"]);
  EXPECT_EQ(run["config"]["weight_decay_on"], "matrices");
  for (const std::string& key : GetParam().final_keys) {
    EXPECT_TRUE(run["final"].contains(key)) << key;
    EXPECT_TRUE(run["final"][key].is_number()) << key;
  }
  // The selection metric: declared, in final, and logged on the val split only, never
  // the reported metric itself.
  const bool own_selection = !GetParam().selection.empty();
  const std::string selection = own_selection ? GetParam().selection : GetParam().primary;
  EXPECT_EQ(run["selection_metric"]["name"], selection);
  EXPECT_EQ(run["selection_metric"]["goal"],
            own_selection ? GetParam().selection_goal : GetParam().goal);
  EXPECT_TRUE(run["final"][selection].is_number()) << selection;
  if (own_selection) {
    EXPECT_NE(selection, GetParam().primary);
  }
  EXPECT_EQ(run["config"]["lr_scale"], 1.0);
  EXPECT_TRUE(run["versions"].contains("libtorch"));
  std::ifstream metrics(Reference() + "/metrics.jsonl");
  std::string line;
  int lines = 0;
  while (std::getline(metrics, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("step") && j.contains("split") && j.contains("time_s")) << line;
    if (own_selection && j.contains(selection)) {
      EXPECT_EQ(j["split"], "val") << line;
    }
    if (own_selection && j.value("split", "") == "val") {
      EXPECT_FALSE(j.contains(GetParam().primary)) << line;
    }
    ++lines;
  }
  EXPECT_GE(lines, 4);
  EXPECT_GT(run["seconds_per_step"].get<double>(), 0.0);
}

TEST_P(TaskContract, RecordsTheDepthAnalysisAtTheEnd) {
  nlohmann::json depth = ReadJson(Reference() + "/depth.json");
  ASSERT_TRUE(depth.is_object()) << "no depth.json";
  EXPECT_EQ(depth["task"], GetParam().task);
  ASSERT_FALSE(depth["records"].empty());
  const nlohmann::json& last = depth["records"].back();
  EXPECT_EQ(last["step"], ReadJson(Reference() + "/run.json")["steps"]);
  ASSERT_FALSE(last["chains"].empty());
  for (const auto& [chain, record] : last["chains"].items()) {
    const size_t blocks = record["blocks"].get<size_t>();
    EXPECT_GE(blocks, 2u) << chain;
    ASSERT_EQ(record["cka"].size(), blocks) << chain;
    for (size_t i = 0; i < blocks; ++i) {
      ASSERT_EQ(record["cka"][i].size(), blocks);
      EXPECT_DOUBLE_EQ(record["cka"][i][i].get<double>(), 1.0);
      for (size_t j = 0; j < blocks; ++j) {
        const double c = record["cka"][i][j].get<double>();
        EXPECT_TRUE(c >= 0.0 && c <= 1.0 + 1e-12) << chain << " " << i << "," << j << ": " << c;
        EXPECT_DOUBLE_EQ(c, record["cka"][j][i].get<double>());
      }
    }
    EXPECT_EQ(record["increment_cosine"].size(), blocks - 1) << chain;
  }
}

TEST_P(TaskContract, ASecondProcessInTheSameRunDirectoryIsRefused) {
  // The lock a running task holds on its directory, taken here by the test itself.
  const std::string out = TempDir("locked");
  fs::create_directories(out);
  const int fd = open((out + "/run.lock").c_str(), O_RDWR | O_CREAT, 0644);
  ASSERT_EQ(flock(fd, LOCK_EX), 0);
  Result r = RunTask(GetParam().task, Args(out));
  close(fd);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("another process is training in this directory"));
  EXPECT_FALSE(fs::exists(out + "/run.json"));
}

TEST_P(TaskContract, SameSeedSameBytesOtherSeedOtherResults) {
  const std::string again = TempDir("again"), other = TempDir("other_seed");
  ASSERT_EQ(RunTask(GetParam().task, Args(again)).exit_code, 0);
  ASSERT_EQ(RunTask(GetParam().task, Args(other, {"--seed=1"})).exit_code, 0);
  EXPECT_EQ(MetricsWithoutTimes(again), MetricsWithoutTimes(Reference()));
  EXPECT_EQ(ReadJson(again + "/run.json")["final"], ReadJson(Reference() + "/run.json")["final"]);
  EXPECT_EQ(ReadText(again + "/depth.json"), ReadText(Reference() + "/depth.json"));
  EXPECT_NE(MetricsWithoutTimes(other), MetricsWithoutTimes(Reference()));
}

TEST_P(TaskContract, AlphaZeroIsNoSmoothingToTheBit) {
  const std::string zero = TempDir("alpha0"), smoothed = TempDir("alpha02");
  ASSERT_EQ(RunTask(GetParam().task, Args(zero, {"--smoothing=window", "--smoothing_alpha=0"})).exit_code, 0);
  ASSERT_EQ(RunTask(GetParam().task, Args(smoothed, {"--smoothing=window", "--smoothing_alpha=0.2"})).exit_code, 0);
  EXPECT_EQ(MetricsWithoutTimes(zero), MetricsWithoutTimes(Reference()));
  EXPECT_NE(MetricsWithoutTimes(smoothed), MetricsWithoutTimes(Reference()));
}

TEST_P(TaskContract, ResumesAfterSigkillToTheSameFinal) {
  const std::string out = TempDir("killed");
  Result killed = RunAndKillWhen(GetParam().task, Args(out), [&] {
    return fs::exists(out + "/checkpoint/step_000000020.json");
  });
  EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << killed.stderr_text;
  EXPECT_EQ(ReadJson(out + "/run.json")["status"], "running");
  Result resumed = RunTask(GetParam().task, Args(out));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.stderr_text;
  EXPECT_THAT(resumed.stderr_text, HasSubstr("resuming from the checkpoint at step"));
  EXPECT_EQ(ReadJson(out + "/run.json")["final"], ReadJson(Reference() + "/run.json")["final"]);
  EXPECT_EQ(MetricsWithoutTimes(out), MetricsWithoutTimes(Reference()));
  EXPECT_EQ(ReadText(out + "/depth.json"), ReadText(Reference() + "/depth.json"));
  // Completed: not trained again.
  Result again = RunTask(GetParam().task, Args(out));
  EXPECT_EQ(again.exit_code, 0);
  EXPECT_THAT(again.stderr_text, HasSubstr("already completed"));
}

TEST_P(TaskContract, CorruptCheckpointIsReportedAndAnEarlierOneUsed) {
  const std::string out = TempDir("corrupt_checkpoint");
  RunAndKillWhen(GetParam().task, Args(out), [&] { return fs::exists(out + "/checkpoint/step_000000030.json"); });
  ASSERT_TRUE(fs::exists(out + "/checkpoint/step_000000030.pt"));
  {
    std::fstream f(out + "/checkpoint/step_000000030.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    f.write("garbage!", 8);
  }
  Result resumed = RunTask(GetParam().task, Args(out));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.stderr_text;
  EXPECT_THAT(resumed.stderr_text, HasSubstr("step_000000030.pt is missing or corrupt"));
  EXPECT_THAT(resumed.stderr_text, HasSubstr("resuming from the checkpoint at step 20"));
  EXPECT_EQ(ReadJson(out + "/run.json")["final"], ReadJson(Reference() + "/run.json")["final"]);
}

TEST_P(TaskContract, BadInputExitsTwoAndNamesTheProblem) {
  Result r = RunTask(GetParam().task, Args(TempDir("bad1"), {"--optimizer=adam"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("--optimizer=adam"));
  EXPECT_THAT(r.stderr_text, HasSubstr("adamw"));
  r = RunTask(GetParam().task, Args(TempDir("bad2"), {"--smoothing=window", "--smoothing_alpha=-0.1"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("option alpha=-0.1 is not allowed"));
  EXPECT_THAT(r.stderr_text, HasSubstr("[0, 1]"));
  // A value absl's own parser rejects is bad input too, named in one line.
  r = RunTask(GetParam().task, Args(TempDir("bad3"), {"--seed=abc"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.stderr_text, "error: --seed=abc is not allowed; use an integer\n");

  // A run directory holding another configuration is refused and left as it was.
  const std::string before = ReadText(Reference() + "/run.json");
  r = RunTask(GetParam().task, Args(Reference(), {"--seed=5"}));
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("another configuration"));
  EXPECT_EQ(ReadText(Reference() + "/run.json"), before);
}

TEST_P(TaskContract, LrScaleMultipliesTheLearningRate) {
  const double preset_lr = ReadJson(Reference() + "/run.json")["config"]["lr"].get<double>();
  const std::string scaled = TempDir("lr_scale2"), given = TempDir("lr_scale_of_lr");
  Result r = RunTask(GetParam().task, Args(scaled, {"--lr_scale=2", "--steps=1"}));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  nlohmann::json run = ReadJson(scaled + "/run.json");
  EXPECT_EQ(run["config"]["lr_scale"], 2.0);
  EXPECT_EQ(run["config"]["lr"].get<double>(), 2 * preset_lr);
  EXPECT_EQ(run["optimizer"]["options"]["lr"], run["config"]["lr"]);
  r = RunTask(GetParam().task, Args(given, {"--lr=0.01", "--lr_scale=0.25", "--steps=1"}));
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(ReadJson(given + "/run.json")["config"]["lr"].get<double>(), 0.01 * 0.25);
  for (const char* bad : {"0", "-1", "inf", "nan", "abc", ""}) {
    r = RunTask(GetParam().task, Args(TempDir("bad_lr_scale"), {std::string("--lr_scale=") + bad}));
    EXPECT_EQ(r.exit_code, 2) << bad;
    EXPECT_THAT(r.stderr_text, HasSubstr(std::string("--lr_scale=") + bad +
                                         " is not allowed; use a finite number > 0"))
        << bad;
    EXPECT_FALSE(fs::exists(TempDir("bad_lr_scale") + "/run.json"));
  }
}

TEST_P(TaskContract, DivergenceIsRecordedAndExitsThree) {
  const std::string out = TempDir("diverged");
  Result r = RunTask(GetParam().task, Args(out, {"--optimizer=sgd", "--lr=1e12"}));
  EXPECT_EQ(r.exit_code, 3) << r.stderr_text;
  nlohmann::json run = ReadJson(out + "/run.json");
  EXPECT_EQ(run["status"], "diverged");
  EXPECT_TRUE(run.contains("diverged_at_step"));
}

}  // namespace gs::testing

#endif  // GS_TESTS_TASKS_TASK_CONTRACT_H_
