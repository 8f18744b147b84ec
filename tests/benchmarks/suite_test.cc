// //benchmarks:suite end to end over the real task binaries (smoke presets): runs land in
// their directories and complete, a second invocation starts nothing, a bad grid or a
// missing task binary stops everything before it starts, failed runs are listed and do not
// stop the rest, SIGTERM and SIGKILL of the suite leave no task process behind and lose
// nothing, and a run another suite holds is waited for.
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/benchmarks/suite_util.h"

namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using ::testing::Not;

using gs::testing::Output;
using gs::testing::ReadJson;
using gs::testing::ReadText;
using gs::testing::RunSuite;
using gs::testing::StartSuite;
using gs::testing::Tmp;
using gs::testing::WaitExit;
using gs::testing::WaitFor;
using gs::testing::WriteGrid;

std::string Status(const std::string& dir) {
  const nlohmann::json run = ReadJson(dir + "/run.json");
  return run.is_object() ? run.value("status", "") : "";
}

bool LockFree(const std::string& dir) {
  const int fd = open((dir + "/suite.lock").c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return false;
  const bool free = flock(fd, LOCK_EX | LOCK_NB) == 0;
  close(fd);
  return free;
}

pid_t LockPid(const std::string& dir) { return std::atoi(ReadText(dir + "/suite.lock").c_str()); }

// A file's bytes and modification time, to show it was not written again.
std::string Stamp(const std::string& path) {
  struct stat st {};
  stat(path.c_str(), &st);
  return std::to_string(st.st_mtim.tv_sec) + "." + std::to_string(st.st_mtim.tv_nsec) + "\n" +
         ReadText(path);
}

int Count(const std::string& text, const std::string& part) {
  int n = 0;
  for (size_t at = text.find(part); at != std::string::npos; at = text.find(part, at + 1)) ++n;
  return n;
}

TEST(Suite, RunsEveryRunThenSkipsThemAndWritesTheReport) {
  const std::string results = Tmp("results_all");
  const std::string grid = WriteGrid("both_tasks", R"({"description": "test", "experiments": [
      {"tasks": ["vit_classification", "lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}, {"smoothing": "window", "smoothing_alpha": 0.2}],
       "seeds": [0], "flags": {"steps": 20}}]})");
  const std::vector<std::string> args = {"--grid=" + grid, "--results=" + results, "--jobs=2"};
  const Output first = RunSuite(args);
  ASSERT_EQ(first.code, 0) << first.text;
  EXPECT_THAT(first.text, HasSubstr("4 runs: 4 completed, 0 diverged, 0 skipped (done before), "
                                    "0 failed; 4 task processes started"));

  std::vector<std::string> files;
  for (const auto& [task, metric] : std::vector<std::pair<std::string, std::string>>{
           {"vit_classification", "test_accuracy"}, {"lm_pretrain", "test_loss"}}) {
    for (const std::string tag : {"none", "window-a0.2"}) {
      const std::string rel = task + "/smoke/adamw-" + tag + "-steps20/seed0";
      const std::string dir = results + "/" + rel;
      const nlohmann::json run = ReadJson(dir + "/run.json");
      ASSERT_TRUE(run.is_object()) << dir;
      EXPECT_EQ(run["status"], "completed");
      EXPECT_EQ(run["task"], task);
      EXPECT_EQ(run["optimizer"]["name"], "adamw");
      EXPECT_EQ(run["preset"], "smoke");
      EXPECT_EQ(run["seed"], 0);
      EXPECT_EQ(run["smoothing"]["tag"], tag) << "the task names its smoothing as the suite does";
      EXPECT_EQ(run["config"]["steps"], 20);
      EXPECT_EQ(run["primary_metric"]["name"], metric);
      EXPECT_THAT(first.text, HasSubstr("completed  " + rel + "  " + metric + " "));
      // The task's own progress goes to its log, after the suite's header.
      const std::string log = ReadText(dir + "/stderr.log");
      EXPECT_EQ(log.rfind("== suite ", 0), 0u) << log;
      EXPECT_THAT(log, HasSubstr("step 20/20"));
      EXPECT_THAT(first.text, Not(HasSubstr("step 20/20")));
      EXPECT_TRUE(LockFree(dir));
      for (const char* file : {"/run.json", "/metrics.jsonl", "/stderr.log"}) {
        files.push_back(dir + file);
      }
    }
  }
  EXPECT_TRUE(fs::is_directory(results + "/cache"));
  EXPECT_GT(fs::file_size(results + "/report/index.md"), 0u);
  EXPECT_THAT(first.text, HasSubstr("suite: report of 4 runs: " + results + "/report/index.md"));
  EXPECT_THAT(first.text, HasSubstr("tables: " + results + "/report/tables.md"));
  EXPECT_TRUE(fs::exists(results + "/report/tables.md"));
  // One summary row per task and smoothing setting (and the header).
  const std::string summary = ReadText(results + "/report/summary.csv");
  EXPECT_EQ(Count(summary, "\n"), 5) << summary;
  EXPECT_EQ(Count(summary, "\nlm_pretrain,smoke,adamw,"), 2) << summary;

  std::vector<std::string> before;
  for (const std::string& f : files) before.push_back(Stamp(f));
  const Output second = RunSuite(args);
  ASSERT_EQ(second.code, 0) << second.text;
  EXPECT_THAT(second.text, HasSubstr("4 runs; 4 already completed or diverged (skipped); 0 to run"));
  EXPECT_THAT(second.text, HasSubstr("0 task processes started"));
  for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(Stamp(files[i]), before[i]) << files[i];

  const Output list = RunSuite({"--grid=" + grid, "--results=" + results, "--list"});
  ASSERT_EQ(list.code, 0) << list.text;
  EXPECT_EQ(Count(list.text, "completed  " + results + "/"), 4) << list.text;
  EXPECT_THAT(list.text, HasSubstr("4 runs, 4 done (completed or diverged), 0 to run"));
}

TEST(Suite, BadGridsAndMissingTaskBinariesStopBeforeAnyRun) {
  const std::string results = Tmp("results_bad");
  const std::string bad = WriteGrid("bad", R"({"experiments": [{"tasks": ["lm_pretrain"],
      "preset": "smoke", "optimizers": ["lion"], "smoothing": [{"smoothing": "none"}],
      "seeds": [0]}]})");
  Output out = RunSuite({"--grid=" + bad, "--results=" + results});
  EXPECT_EQ(out.code, 2);
  EXPECT_THAT(out.text, HasSubstr(bad + ": experiments[0].optimizers[0]: unknown optimizer 'lion'"));
  EXPECT_FALSE(fs::exists(results));

  // A task grids may name whose binary is missing (here: a runfiles tree without the
  // diffusion binary, as for a task not yet built into the suite).
  const std::string runfiles = Tmp("runfiles_without_diffusion");
  const std::string real = std::string(std::getenv("TEST_SRCDIR")) + "/gradient_smoothing";
  fs::create_directories(runfiles + "/gradient_smoothing/tasks");
  fs::create_directory_symlink(real + "/benchmarks", runfiles + "/gradient_smoothing/benchmarks");
  for (const auto& entry : fs::directory_iterator(real + "/tasks")) {
    const std::string name = entry.path().filename().string();
    if (name.rfind("diffusion", 0) == 0) continue;
    fs::create_symlink(entry.path(), runfiles + "/gradient_smoothing/tasks/" + name);
  }
  setenv("RUNFILES_DIR", runfiles.c_str(), 1);
  const std::string planned = WriteGrid("planned", R"({"experiments": [{"tasks": ["lm_pretrain",
      "diffusion"], "preset": "smoke", "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"}],
      "seeds": [0]}]})");
  out = RunSuite({"--grid=" + planned, "--results=" + results});
  EXPECT_EQ(out.code, 2);
  EXPECT_THAT(out.text, HasSubstr("task binary for diffusion not found"));
  EXPECT_FALSE(fs::exists(results));
  // ... and --list still shows what the grid holds, and --filter leaves it out.
  out = RunSuite({"--grid=" + planned, "--results=" + results, "--list"});
  EXPECT_EQ(out.code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("new        " + results + "/diffusion/smoke/adamw-none/seed0"));
  unsetenv("RUNFILES_DIR");
  out = RunSuite({"--grid=quick", "--results=" + results, "--list", "--filter=diffusion/quick/muon-none/seed3"});
  EXPECT_EQ(out.code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("benchmarks/grids/quick.json: 1 runs, 0 done"));

  for (const std::vector<std::string>& flags : std::vector<std::vector<std::string>>{
           {"--grid=nope"}, {"--grid=smoke", "--jobs=0"}, {"--grid=smoke", "--filter=xyz"},
           {"--grid=smoke", "extra"}}) {
    std::vector<std::string> args = flags;
    args.push_back("--results=" + results);
    out = RunSuite(args);
    EXPECT_EQ(out.code, 2) << flags[0] << ": " << out.text;
    EXPECT_FALSE(fs::exists(results));
  }
}

TEST(Suite, StoppingOrKillingTheSuiteLeavesNoTaskProcessAndLosesNothing) {
  // Orphans of the suite become children of this test, which can then see how they died.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  const std::string results = Tmp("results_killed");
  const std::string grid = WriteGrid("seeds", R"({"experiments": [{"tasks": ["lm_pretrain"],
      "preset": "smoke", "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"}],
      "seeds": [0, 1, 2], "flags": {"steps": 20}}]})");
  const std::vector<std::string> args = {"--grid=" + grid, "--results=" + results, "--no_report"};
  auto dir = [&](int seed) {
    return results + "/lm_pretrain/smoke/adamw-none-steps20/seed" + std::to_string(seed);
  };

  // SIGTERM once seed 0 has completed and seed 1 is running.
  pid_t suite = StartSuite(args, Tmp("term.log"));
  ASSERT_TRUE(WaitFor([&] { return Status(dir(0)) == "completed" && Status(dir(1)) == "running"; },
                      240));
  const std::string seed0 = Stamp(dir(0) + "/run.json");
  const pid_t task1 = LockPid(dir(1));
  ASSERT_GT(task1, 0);
  // The task process itself holds its run's lock (as fd 3), so the lock outlives neither.
  EXPECT_EQ(fs::read_symlink("/proc/" + std::to_string(task1) + "/fd/3").string(),
            dir(1) + "/suite.lock");
  kill(suite, SIGTERM);
  EXPECT_EQ(WaitExit(suite), 1);
  EXPECT_THAT(ReadText(Tmp("term.log")), HasSubstr("stopped by"));
  EXPECT_TRUE(LockFree(dir(1)));
  EXPECT_EQ(kill(task1, 0), -1) << "the task process outlived the suite";
  EXPECT_EQ(errno, ESRCH);
  EXPECT_NE(Status(dir(1)), "completed");

  // SIGKILL once seed 1 has completed and seed 2 is running: the kernel kills the task.
  suite = StartSuite(args, Tmp("kill.log"));
  ASSERT_TRUE(WaitFor([&] { return Status(dir(1)) == "completed" && Status(dir(2)) == "running"; },
                      240));
  const std::string seed1 = Stamp(dir(1) + "/run.json");
  const pid_t task2 = LockPid(dir(2));
  ASSERT_GT(task2, 0);
  kill(suite, SIGKILL);
  EXPECT_EQ(WaitExit(suite), 128 + SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(task2, &status, 0), task2) << "the task process is not an orphan of the suite";
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
      << "the task process was not killed with the suite";
  EXPECT_TRUE(LockFree(dir(2)));
  EXPECT_THAT(ReadText(Tmp("kill.log")), HasSubstr("1 already completed or diverged (skipped)"));

  // Again: only seed 2 runs; the completed runs are not touched.
  const Output last = RunSuite(args);
  ASSERT_EQ(last.code, 0) << last.text;
  EXPECT_THAT(last.text, HasSubstr("3 runs; 2 already completed or diverged (skipped); 1 to run"));
  EXPECT_THAT(last.text, HasSubstr("3 runs: 1 completed, 0 diverged, 2 skipped (done before), "
                                   "0 failed; 1 task processes started"));
  EXPECT_EQ(Stamp(dir(0) + "/run.json"), seed0);
  EXPECT_EQ(Stamp(dir(1) + "/run.json"), seed1);
  for (int seed = 0; seed < 3; ++seed) EXPECT_EQ(Status(dir(seed)), "completed") << seed;
  // Seed 1 and 2 were started twice, seed 0 once.
  EXPECT_EQ(Count(ReadText(dir(0) + "/stderr.log"), "== suite "), 1);
  EXPECT_EQ(Count(ReadText(dir(1) + "/stderr.log"), "== suite "), 2);
  EXPECT_EQ(Count(ReadText(dir(2) + "/stderr.log"), "== suite "), 2);
}

TEST(Suite, FailedRunsAreListedAndDoNotStopTheRest) {
  const std::string results = Tmp("results_failed");
  const std::string grid = WriteGrid("mixed", R"({"experiments": [
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["sgd"],
       "smoothing": [{"smoothing": "none"}], "seeds": [0], "flags": {"lr": 1e12}},
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}], "seeds": [0, 1], "flags": {"steps": 20}}]})");
  const std::string diverges = results + "/lm_pretrain/smoke/sgd-none-lr1e+12/seed0";
  const std::string foreign = results + "/lm_pretrain/smoke/adamw-none-steps20/seed0";
  const std::string fine = results + "/lm_pretrain/smoke/adamw-none-steps20/seed1";
  // A directory holding another configuration's run: the task binary refuses it (exit 2).
  fs::create_directories(foreign);
  std::ofstream(foreign + "/run.json")
      << R"({"task": "lm_pretrain", "config": {"steps": 7}, "status": "running"})";
  const std::vector<std::string> args = {"--grid=" + grid, "--results=" + results};

  Output out = RunSuite(args);
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_THAT(out.text, HasSubstr("3 runs: 1 completed, 1 diverged, 0 skipped (done before), "
                                  "1 failed; 3 task processes started"));
  EXPECT_THAT(out.text, HasSubstr("diverged   lm_pretrain/smoke/sgd-none-lr1e+12/seed0"));
  EXPECT_THAT(out.text, HasSubstr("FAILED     lm_pretrain/smoke/adamw-none-steps20/seed0  "
                                  "exit code 2"));
  EXPECT_THAT(out.text, HasSubstr("failed: " + foreign + " (exit code 2); log: " + foreign +
                                  "/stderr.log"));
  EXPECT_THAT(ReadText(foreign + "/stderr.log"), HasSubstr("another configuration"));
  EXPECT_EQ(Status(diverges), "diverged");
  EXPECT_EQ(Status(fine), "completed");
  EXPECT_GT(fs::file_size(results + "/report/index.md"), 0u) << "the report comes all the same";

  // Diverged and completed runs are done; the failed one is tried again.
  out = RunSuite(args);
  EXPECT_EQ(out.code, 1) << out.text;
  EXPECT_THAT(out.text, HasSubstr("3 runs: 0 completed, 0 diverged, 2 skipped (done before), "
                                  "1 failed; 1 task processes started"));
}

TEST(Suite, ARunLockedByAnotherSuiteIsWaitedFor) {
  const std::string results = Tmp("results_shared");
  const std::string grid = WriteGrid("two", R"({"experiments": [{"tasks": ["lm_pretrain"],
      "preset": "smoke", "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"}],
      "seeds": [0, 1], "flags": {"steps": 20}}]})");
  const std::string held = results + "/lm_pretrain/smoke/adamw-none-steps20/seed0";
  const std::string other = results + "/lm_pretrain/smoke/adamw-none-steps20/seed1";
  fs::create_directories(held);
  const int fd = open((held + "/suite.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  ASSERT_EQ(flock(fd, LOCK_EX | LOCK_NB), 0);

  const std::string log = Tmp("shared.log");
  const pid_t suite = StartSuite({"--grid=" + grid, "--results=" + results, "--jobs=2",
                                  "--no_report"}, log);
  ASSERT_TRUE(WaitFor([&] {
    return Status(other) == "completed" &&
           ReadText(log).find("1 run(s) running elsewhere") != std::string::npos;
  }, 240)) << ReadText(log);
  EXPECT_FALSE(fs::exists(held + "/run.json")) << "a locked run was started";
  close(fd);
  EXPECT_EQ(WaitExit(suite), 0) << ReadText(log);
  EXPECT_EQ(Status(held), "completed");
  EXPECT_THAT(ReadText(log), HasSubstr("2 runs: 2 completed"));
}

// The tuned_smoke grid (benchmarks/grids/): two arms of GPT smoke runs, SGD without and
// with Window Smoothing, 4 candidates each on tuning seed 100, lr_scale 1e13 among them
// (it diverges at the second step), then the choice on evaluation seeds 0 and 1.
TEST(Suite, TunesOnTheTuningSeedsThenEvaluatesTheChoiceAndResumesEitherStage) {
  const std::string results = Tmp("results_tuned");
  const std::string base = "lm_pretrain/smoke/sgd-none-steps20";
  const std::string smoothed = "lm_pretrain/smoke/sgd-window-steps20";
  auto tuning = [&](const std::string& arm) {
    return ReadJson(results + "/tune/" + arm + "/tuning.json");
  };

  // A partial tune: one trial only. Both arms wait; nothing is evaluated.
  Output out = RunSuite({"--grid=tuned_smoke", "--results=" + results,
                         "--filter=" + base + "/lr_scale1/", "--no_report"});
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("1 runs: 1 completed, 0 diverged, 0 skipped"));
  EXPECT_THAT(out.text, HasSubstr("tune: " + base + ": waiting for 3 of 4 trials"));
  EXPECT_THAT(out.text, HasSubstr("tune: " + smoothed + ": waiting for 4 of 4 trials"));
  EXPECT_THAT(out.text, HasSubstr("stage 2 of 2: 0 evaluation runs"));
  EXPECT_EQ(tuning(base)["state"], "pending");
  EXPECT_FALSE(fs::exists(results + "/tuned"));

  // The rest, stopped once the first evaluation run is under way.
  const std::string log = Tmp("tuned_stopped.log");
  const pid_t suite = StartSuite({"--grid=tuned_smoke", "--results=" + results, "--no_report"}, log);
  std::string first_evaluation;
  ASSERT_TRUE(WaitFor([&] {
    const nlohmann::json t = tuning(base);
    if (!t.is_object() || t["state"] != "chosen") return false;
    first_evaluation = results + "/" + t["evaluation_runs"][0].get<std::string>();
    return Status(first_evaluation) == "running";
  }, 240)) << ReadText(log);
  kill(suite, SIGTERM);
  EXPECT_EQ(WaitExit(suite), 1);
  EXPECT_THAT(ReadText(log), HasSubstr(", 1 skipped (done before), 0 failed; 7 task processes started"));
  EXPECT_EQ(Status(first_evaluation), "running");

  // Again: no trial runs again; the evaluation finishes.
  out = RunSuite({"--grid=tuned_smoke", "--results=" + results, "--jobs=2"});
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("8 runs: 0 completed, 0 diverged, 8 skipped (done before), 0 failed; "
                                  "0 task processes started"));
  EXPECT_THAT(out.text, HasSubstr("stage 2 of 2: 4 evaluation runs"));
  EXPECT_THAT(out.text, HasSubstr("failed; 4 task processes started")) << "resumes the stopped one too";
  EXPECT_EQ(Count(ReadText(results + "/tune/" + base + "/lr_scale1/seed100/stderr.log"), "== suite "), 1);
  EXPECT_EQ(Count(ReadText(first_evaluation + "/stderr.log"), "== suite "), 2);

  // The choice, computed here from the trials' run.json files: the smallest final val_loss
  // of the completed trials, ties to the smaller lr_scale, then alpha.
  for (const std::string& arm : {base, smoothed}) {
    const nlohmann::json t = tuning(arm);
    ASSERT_EQ(t["state"], "chosen") << arm;
    EXPECT_EQ(t["selection_metric"]["name"], "val_loss");
    EXPECT_EQ(t["selection_metric"]["goal"], "min");
    std::tuple<double, double, double> best{1e300, 0, 0};
    std::string best_dir;
    int diverged = 0, trials = 0;
    for (const auto& entry : fs::directory_iterator(results + "/tune/" + arm)) {
      if (!entry.is_directory()) continue;
      const nlohmann::json run = ReadJson(entry.path().string() + "/seed100/run.json");
      ASSERT_TRUE(run.is_object()) << entry.path();
      ++trials;
      EXPECT_EQ(run["seed"], 100);
      EXPECT_EQ(run["selection_metric"]["name"], "val_loss");
      if (run["status"] == "diverged") {
        ++diverged;
        continue;
      }
      ASSERT_EQ(run["status"], "completed");
      const double alpha = run["config"]["smoothing_options"].value("alpha", 0.0);
      const std::tuple<double, double, double> key{run["final"]["val_loss"].get<double>(),
                                                   run["config"]["lr_scale"].get<double>(), alpha};
      if (key < best) {
        best = key;
        best_dir = entry.path().filename().string();
      }
    }
    EXPECT_EQ(trials, 4) << arm << ": both arms get the same number of trials";
    EXPECT_GE(diverged, arm == base ? 1 : 2) << arm << ": lr_scale 1e13 diverges";
    EXPECT_EQ(t["chosen"]["name"], best_dir) << arm;
    EXPECT_NE(t["chosen"]["lr_scale"], 1e13) << arm;
    int recorded_diverged = 0;
    for (const nlohmann::json& c : t["candidates"]) {
      if (c["trials"][0]["status"] == "diverged") {
        ++recorded_diverged;
        EXPECT_TRUE(c["value"].is_null());
        EXPECT_EQ(c["excluded"], "diverged (seed 100)");
      }
    }
    EXPECT_EQ(recorded_diverged, diverged);
    // The evaluation runs: the chosen setting on the fresh seeds.
    ASSERT_EQ(t["evaluation_runs"].size(), 2u);
    for (int seed = 0; seed < 2; ++seed) {
      const std::string dir = results + "/tuned/" + arm + "/" + best_dir + "/seed" + std::to_string(seed);
      EXPECT_EQ(t["evaluation_runs"][seed], "tuned/" + arm + "/" + best_dir + "/seed" + std::to_string(seed));
      const nlohmann::json run = ReadJson(dir + "/run.json");
      EXPECT_EQ(run["status"], "completed") << dir;
      EXPECT_EQ(run["seed"], seed);
      EXPECT_EQ(run["config"]["lr_scale"], std::get<1>(best));
      if (arm == smoothed) {
        EXPECT_EQ(run["smoothing"]["options"]["alpha"], std::get<2>(best));
      }
    }
  }

  // The report: a tuned row per arm (the tuning and tuned runs are not untuned rows), and
  // the sweep figure.
  const std::string tuned_csv = ReadText(results + "/report/tuned.csv");
  EXPECT_EQ(Count(tuned_csv, "\nlm_pretrain,smoke,sgd,"), 2) << tuned_csv;
  EXPECT_EQ(Count(tuned_csv, ",chosen,"), 2) << tuned_csv;
  EXPECT_THAT(ReadText(results + "/report/tables.md"), HasSubstr("### Tuned results, preset smoke"));
  EXPECT_EQ(Count(ReadText(results + "/report/summary.csv"), "\n"), 1) << "only the header";
  EXPECT_TRUE(fs::exists(results + "/report/figures/sweep_lm_pretrain_smoke.dat"));

  // On finished results: no run starts, tuning.json and the report stay byte for byte.
  std::vector<std::string> files = {results + "/tune/" + base + "/tuning.json",
                                    results + "/tune/" + smoothed + "/tuning.json"};
  for (const auto& entry : fs::recursive_directory_iterator(results + "/report")) {
    if (entry.is_regular_file()) files.push_back(entry.path().string());
  }
  std::vector<std::string> before;
  for (const std::string& f : files) before.push_back(ReadText(f));
  const std::string stamp = Stamp(files[0]);
  out = RunSuite({"--grid=tuned_smoke", "--results=" + results});
  ASSERT_EQ(out.code, 0) << out.text;
  EXPECT_THAT(out.text, HasSubstr("8 skipped (done before), 0 failed; 0 task processes started"));
  EXPECT_THAT(out.text, HasSubstr("4 skipped (done before), 0 failed; 0 task processes started"));
  for (size_t i = 0; i < files.size(); ++i) EXPECT_EQ(ReadText(files[i]), before[i]) << files[i];
  EXPECT_EQ(Stamp(files[0]), stamp) << "tuning.json rewritten";

  const Output list = RunSuite({"--grid=tuned_smoke", "--results=" + results, "--list"});
  ASSERT_EQ(list.code, 0) << list.text;
  EXPECT_THAT(list.text, HasSubstr("tuned      " + base + ": chose "));
  EXPECT_THAT(list.text, HasSubstr("12 runs, 12 done (completed or diverged), 0 to run"));
}

}  // namespace
