// //benchmarks:suite --launcher=slurm against a real one-node Slurm cluster, started on
// this machine by tools/slurm/start_local_cluster.sh (root, Debian's slurm-wlm and munge):
// the smoke grid runs as Slurm jobs and its report matches --launcher=local's, a job
// cancelled part-way is submitted again by the next suite run (and only it), and a suite
// killed while its jobs are queued reattaches to them without submitting any twice. Skips,
// saying why, where the cluster cannot be started.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/benchmarks/suite_util.h"

namespace {

using ::testing::HasSubstr;

using gs::testing::Output;
using gs::testing::ReadText;
using gs::testing::RunSuite;
using gs::testing::StartSuite;
using gs::testing::Tmp;
using gs::testing::WaitExit;
using gs::testing::WriteGrid;

using gs::testing::Runfile;

Output Shell(const std::string& command) {
  static int counter = 0;
  const std::string log = Tmp("shell_" + std::to_string(counter++) + ".log");
  const int status = std::system((command + " >" + log + " 2>&1").c_str());
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), ReadText(log)};
}

// Slurm's state changes slowly: polled every 100 ms.
bool WaitFor(const std::function<bool()>& ready, double seconds) {
  return gs::testing::WaitFor(ready, seconds, std::chrono::milliseconds(100));
}

std::string JobId(const std::string& run_dir) {
  const nlohmann::json job = nlohmann::json::parse(ReadText(run_dir + "/slurm_job.json"), nullptr, false);
  return job.is_object() ? job.value("job_id", "") : "";
}

// "JobState=..." of scontrol's record of a job ("" when Slurm does not know it).
std::string JobState(const std::string& id) {
  const Output out = Shell("scontrol -o show job " + id);
  const size_t at = out.text.find("JobState=");
  if (out.code != 0 || at == std::string::npos) return "";
  return out.text.substr(at + 9, out.text.find(' ', at) - at - 9);
}

// sacct's state of a job's allocation ("" when the accounting database does not hold it).
std::string AccountedState(const std::string& id) {
  const Output out = Shell("sacct -n -X -P --format=State -j " + id);
  if (out.code != 0) return "";
  return out.text.substr(0, out.text.find('\n'));
}

// The report's tables without the Overhead section (measured seconds per step, which
// differ between any two runs of one grid).
std::string TablesWithoutTimings(const std::string& path) {
  const std::string text = ReadText(path);
  const size_t from = text.find("## Overhead");
  if (from == std::string::npos) return text;
  const size_t to = text.find("\n## ", from + 1);
  return text.substr(0, from) + (to == std::string::npos ? "" : text.substr(to + 1));
}

class SlurmTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (geteuid() != 0) {
      skip_ = "needs root to start a one-node Slurm cluster (tools/slurm/start_local_cluster.sh)";
      return;
    }
    const Output out = Shell(Runfile("tools/slurm/start_local_cluster.sh"));
    if (out.code != 0) skip_ = "cannot start a one-node Slurm cluster: " + out.text;
  }
  void SetUp() override {
    if (!skip_.empty()) GTEST_SKIP() << "Slurm test not run: " << skip_;
  }
  static std::string skip_;
};
std::string SlurmTest::skip_;

TEST_F(SlurmTest, BadSettingsExitTwoWithSlurmsMessageBeforeSubmitting) {
  const std::string results = Tmp("results_bad");
  const Output out = RunSuite({"--grid=smoke", "--results=" + results, "--launcher=slurm",
                               "--slurm_partition=no_such_partition"});
  EXPECT_EQ(out.code, 2) << out.text;
  EXPECT_THAT(out.text, HasSubstr("invalid partition specified: no_such_partition"));
  EXPECT_THAT(out.text, ::testing::Not(HasSubstr("submitted")));
  const Output none = RunSuite({"--grid=smoke", "--results=" + results, "--launcher=slurm",
                                "--slurm_time=not-a-time"});
  EXPECT_EQ(none.code, 2) << none.text;
}

TEST_F(SlurmTest, SmokeGridRunsAsJobsAndItsReportMatchesTheLocalOne) {
  const std::string local = Tmp("results_local");
  const std::string slurm = Tmp("results_slurm");
  const Output here = RunSuite({"--grid=smoke", "--results=" + local, "--jobs=2"});
  ASSERT_EQ(here.code, 0) << here.text;
  const Output there = RunSuite({"--grid=smoke", "--results=" + slurm, "--launcher=slurm"});
  ASSERT_EQ(there.code, 0) << there.text;
  EXPECT_THAT(there.text, HasSubstr("26 Slurm jobs submitted, 0 reattached"));
  EXPECT_THAT(there.text, HasSubstr("26 runs: 26 completed, 0 diverged, 0 skipped"));

  // Every run was a Slurm job, which Slurm (scontrol) and its accounting (sacct) record
  // as completed.
  const Output list = Shell("cd " + local + " && find . -name run.json | sort");
  std::istringstream runs(list.text);
  int jobs = 0;
  for (std::string line; std::getline(runs, line);) {
    if (line.find("/report/") != std::string::npos) continue;
    const std::string dir = slurm + "/" + line.substr(2, line.size() - 2 - 9);
    const std::string id = JobId(dir);
    ASSERT_FALSE(id.empty()) << dir;
    EXPECT_EQ(JobState(id), "COMPLETED") << dir << " job " << id;
    EXPECT_EQ(AccountedState(id), "COMPLETED") << dir << " job " << id << " in sacct";
    EXPECT_EQ(ReadText(dir + "/slurm_exit_code"), "0\n") << dir;
    ++jobs;
  }
  EXPECT_EQ(jobs, 26);

  for (const char* file : {"summary.csv", "index.md", "tuned.csv"}) {
    EXPECT_EQ(ReadText(slurm + "/report/" + file), ReadText(local + "/report/" + file)) << file;
  }
  EXPECT_FALSE(ReadText(slurm + "/report/summary.csv").empty());
  EXPECT_EQ(TablesWithoutTimings(slurm + "/report/tables.md"),
            TablesWithoutTimings(local + "/report/tables.md"));

  // Run again: nothing is submitted.
  const Output again = RunSuite({"--grid=smoke", "--results=" + slurm, "--launcher=slurm"});
  ASSERT_EQ(again.code, 0) << again.text;
  EXPECT_THAT(again.text, HasSubstr("0 Slurm jobs submitted, 0 reattached"));
  EXPECT_THAT(again.text, HasSubstr("26 skipped (done before)"));
}

TEST_F(SlurmTest, CancelledJobIsSubmittedAgainByTheNextSuiteAndOnlyItRuns) {
  const std::string results = Tmp("results_cancel");
  const std::string grid = WriteGrid("cancel", R"({"experiments": [
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}], "seeds": [0, 1], "flags": {"steps": 1500}}]})");
  const std::vector<std::string> args = {"--grid=" + grid, "--results=" + results,
                                         "--launcher=slurm"};
  const std::string target = results + "/lm_pretrain/smoke/adamw-none-steps1500/seed1";
  const std::string log = Tmp("cancel_first.log");
  const pid_t suite = StartSuite(args, log);
  ASSERT_TRUE(WaitFor([&] { return !JobId(target).empty() && JobState(JobId(target)) == "RUNNING"; }, 120))
      << ReadText(log);
  const std::string cancelled = JobId(target);
  std::this_thread::sleep_for(std::chrono::seconds(1));  // part-way
  ASSERT_EQ(Shell("scancel " + cancelled).code, 0);
  const int code = WaitExit(suite);
  const std::string first = ReadText(log);
  ASSERT_EQ(code, 1) << first;
  EXPECT_THAT(first, HasSubstr("Slurm job " + cancelled + " CANCELLED"));
  EXPECT_THAT(first, HasSubstr("1 completed, 0 diverged, 0 skipped (done before), 1 failed"));
  EXPECT_THAT(first, HasSubstr("log: " + target + "/stderr.log"));

  const Output second = RunSuite(args);
  ASSERT_EQ(second.code, 0) << second.text;
  EXPECT_THAT(second.text, HasSubstr("1 Slurm jobs submitted, 0 reattached"));
  EXPECT_THAT(second.text, HasSubstr("1 completed, 0 diverged, 1 skipped (done before), 0 failed"));
  EXPECT_THAT(second.text, HasSubstr("submitted  lm_pretrain/smoke/adamw-none-steps1500/seed1"));
  EXPECT_NE(JobId(target), cancelled);
  EXPECT_EQ(JobState(JobId(target)), "COMPLETED");
}

TEST_F(SlurmTest, KilledSuiteReattachesToQueuedJobsWithoutSubmittingThemTwice) {
  // Its own folder name: Slurm remembers the jobs of earlier test runs for an hour.
  const std::string results = Tmp("results_reattach_" + std::to_string(getpid()));
  // --exclusive: one job on the node at a time, so the others wait in the queue.
  const std::string grid = WriteGrid("reattach", R"({"experiments": [
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}], "seeds": [0, 1, 2], "flags": {"steps": 300}}]})");
  const std::vector<std::string> args = {"--grid=" + grid, "--results=" + results,
                                         "--launcher=slurm", "--slurm_extra=--exclusive"};
  std::vector<std::string> dirs;
  for (int seed = 0; seed < 3; ++seed) {
    dirs.push_back(results + "/lm_pretrain/smoke/adamw-none-steps300/seed" + std::to_string(seed));
  }
  const std::string log = Tmp("reattach_first.log");
  const pid_t suite = StartSuite(args, log);
  ASSERT_TRUE(WaitFor([&] {
    for (const std::string& d : dirs) {
      if (JobId(d).empty()) return false;
    }
    return true;
  }, 60)) << ReadText(log);
  std::map<std::string, std::string> ids;
  int queued = 0;
  for (const std::string& d : dirs) {
    ids[d] = JobId(d);
    queued += JobState(ids[d]) == "PENDING";
  }
  EXPECT_GE(queued, 1);
  kill(suite, SIGKILL);
  WaitExit(suite);

  const Output second = RunSuite(args);
  ASSERT_EQ(second.code, 0) << second.text;
  EXPECT_THAT(second.text, HasSubstr("0 Slurm jobs submitted"));
  EXPECT_THAT(second.text, HasSubstr("attached"));
  for (const std::string& d : dirs) {
    EXPECT_EQ(JobId(d), ids[d]) << d;
    EXPECT_EQ(JobState(ids[d]), "COMPLETED") << d;
  }
  // Slurm knows exactly three jobs of these runs.
  const Output named = Shell("squeue -h --states=all -o '%o' | grep -c '" + results + "/'");
  EXPECT_EQ(named.text, "3\n");
}

TEST_F(SlurmTest, NoWaitSubmitsAndExitsAndALaterRunCollectsAndReports) {
  const std::string results = Tmp("results_no_wait_" + std::to_string(getpid()));
  const std::string grid = WriteGrid("no_wait", R"({"experiments": [
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}], "seeds": [0, 1], "flags": {"steps": 20}}]})");
  const std::vector<std::string> args = {"--grid=" + grid, "--results=" + results,
                                         "--launcher=slurm"};
  std::vector<std::string> with_no_wait = args;
  with_no_wait.push_back("--no_wait");
  const Output submitted = RunSuite(with_no_wait);
  ASSERT_EQ(submitted.code, 0) << submitted.text;
  EXPECT_THAT(submitted.text, HasSubstr("2 Slurm jobs submitted"));
  EXPECT_THAT(submitted.text, HasSubstr("run the same command again to collect"));
  EXPECT_TRUE(ReadText(results + "/report/summary.csv").empty());

  const Output collected = RunSuite(args);
  ASSERT_EQ(collected.code, 0) << collected.text;
  EXPECT_THAT(collected.text, HasSubstr("0 Slurm jobs submitted"));
  EXPECT_THAT(collected.text, HasSubstr("suite: report of 2 runs"));
  EXPECT_FALSE(ReadText(results + "/report/summary.csv").empty());
}

}  // namespace
