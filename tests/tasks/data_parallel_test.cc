// Data parallel over real processes and real Gloo on loopback: 2 ranks started by
// torchrun (Debian's python3-torch) train what one process trains, write one run
// directory, resume across world sizes, and end by themselves when a rank dies.
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/optimizers/free_port.h"
#include "tests/tasks/task_runner.h"

namespace gs::testing {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;


int counter = 0;
std::string NextLog() { return TempDir("dp_stderr_" + std::to_string(counter++) + ".txt"); }

// torchrun --standalone --nproc_per_node=n --no_python <task> args (torchrun's own
// rendezvous; the workers' MASTER_PORT is its choice). --redirects=1 --tee=1 leave the
// output as it is; Debian 12's torchrun (torch 1.13 on Python 3.11) fails on their
// default of 0 (README.md, "Data parallel").
Result Torchrun(int n, const std::string& task, const std::vector<std::string>& args) {
  std::vector<std::string> all = {"-m", "torch.distributed.run", "--standalone",
                                  "--nproc_per_node=" + std::to_string(n), "--redirects=1",
                                  "--tee=1", "--no_python", TaskBinary(task)};
  all.insert(all.end(), args.begin(), args.end());
  const std::string log = NextLog();
  return Wait(Start("/usr/bin/python3", all, log, {{"OMP_NUM_THREADS", "1"}}), log);
}

// The ranks of a job started by the environment alone (no launcher to clean up).
std::vector<pid_t> StartRanks(int n, const std::string& task, const std::vector<std::string>& args,
                              std::vector<std::string>& logs) {
  const std::string port = std::to_string(FreePort());
  std::vector<pid_t> pids;
  logs.clear();
  for (int r = 0; r < n; ++r) {
    logs.push_back(NextLog());
    pids.push_back(Start(TaskBinary(task), args, logs.back(),
                         {{"RANK", std::to_string(r)}, {"LOCAL_RANK", std::to_string(r)},
                          {"WORLD_SIZE", std::to_string(n)}, {"MASTER_ADDR", "127.0.0.1"},
                          {"MASTER_PORT", port}}));
  }
  return pids;
}

// The train_loss of every logged step.
std::map<int64_t, double> TrainLosses(const std::string& out) {
  std::map<int64_t, double> losses;
  std::stringstream in(ReadText(out + "/metrics.jsonl"));
  std::string line;
  while (std::getline(in, line)) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j["split"] == "train") losses[j["step"].get<int64_t>()] = j["train_loss"].get<double>();
  }
  return losses;
}

void ExpectClose(double a, double b, double tolerance, const std::string& what) {
  EXPECT_LE(std::abs(a - b), tolerance * std::max(1.0, std::abs(b))) << what << ": " << a << " vs " << b;
}

// Finals agree within 1e-4 (relative, absolute below 1).
void ExpectSameFinal(const std::string& out, const std::string& reference) {
  const nlohmann::json a = ReadJson(out + "/run.json")["final"];
  const nlohmann::json b = ReadJson(reference + "/run.json")["final"];
  ASSERT_EQ(a.size(), b.size()) << a.dump() << " vs " << b.dump();
  for (const auto& [name, value] : b.items()) {
    if (!value.is_number()) continue;
    ExpectClose(a[name].get<double>(), value.get<double>(), 1e-4, out + " final " + name);
  }
}

struct Case {
  std::string task;
  std::vector<std::string> flags;
  std::string name;
};

class TwoRanksTrainLikeOneProcess : public ::testing::TestWithParam<Case> {};

TEST_P(TwoRanksTrainLikeOneProcess, LossesAndFinalsAgree) {
  const Case& c = GetParam();
  const std::string one = TempDir("one_" + c.name), two = TempDir("two_" + c.name);
  std::vector<std::string> flags = c.flags;
  flags.push_back("--preset=smoke");
  std::vector<std::string> one_flags = flags, two_flags = flags;
  one_flags.push_back("--out=" + one);
  two_flags.push_back("--out=" + two);
  const Result single = RunTask(c.task, one_flags);
  ASSERT_EQ(single.exit_code, 0) << single.stderr_text;
  const Result ranks = Torchrun(2, c.task, two_flags);
  ASSERT_EQ(ranks.exit_code, 0) << ranks.stderr_text;

  const std::map<int64_t, double> a = TrainLosses(two), b = TrainLosses(one);
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [step, loss] : b) {
    ExpectClose(a.at(step), loss, 1e-5, c.name + " train_loss at step " + std::to_string(step));
  }
  ExpectSameFinal(two, one);
  const nlohmann::json run = ReadJson(two + "/run.json");
  EXPECT_EQ(run["world_size"], 2);
  EXPECT_EQ(run["backend"], "gloo");
  EXPECT_EQ(ReadJson(one + "/run.json")["world_size"], 1);
}

std::vector<Case> Cases() {
  std::vector<Case> cases;
  for (const std::string task : {"lm_pretrain", "vit_classification", "diffusion", "rl_reasoning"}) {
    cases.push_back({task, {"--optimizer=adamw"}, task + "_adamw"});
    cases.push_back({task, {"--optimizer=adamw", "--smoothing=window"}, task + "_adamw_window"});
    cases.push_back({task, {"--optimizer=muon"}, task + "_muon"});
    cases.push_back({task, {"--optimizer=muon", "--smoothing=window"}, task + "_muon_window"});
  }
  return cases;
}

INSTANTIATE_TEST_SUITE_P(SmokePresets, TwoRanksTrainLikeOneProcess, ::testing::ValuesIn(Cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return info.param.name; });

TEST(DataParallelTest, TwoRanksTwiceGiveTheSameBytes) {
  const std::string a = TempDir("twice_a"), b = TempDir("twice_b");
  for (const std::string& out : {a, b}) {
    const Result r = Torchrun(2, "lm_pretrain", {"--preset=smoke", "--optimizer=muon",
                                                 "--smoothing=window", "--out=" + out});
    ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  }
  EXPECT_EQ(MetricsWithoutTimes(a), MetricsWithoutTimes(b));
  EXPECT_EQ(ReadJson(a + "/run.json")["final"], ReadJson(b + "/run.json")["final"]);
}

// Polls until `out` holds a checkpoint at `step` (the checkpointer's manifest).
bool WaitForCheckpoint(const std::string& out, int step, const std::vector<pid_t>& pids) {
  const Clock::time_point deadline = Clock::now() + std::chrono::seconds(300);
  while (Clock::now() < deadline) {
    std::error_code error;
    char manifest[32];
    std::snprintf(manifest, sizeof(manifest), "step_%09d.json", step);
    if (fs::exists(out + "/checkpoint/" + manifest, error)) return true;
    for (pid_t pid : pids) {
      if (waitpid(pid, nullptr, WNOHANG) == pid) return false;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

const std::vector<std::string> kResumable = {"--preset=smoke", "--optimizer=muon",
                                             "--smoothing=window", "--checkpoint_every=10"};

std::vector<std::string> With(std::vector<std::string> flags, const std::string& out) {
  flags.push_back("--out=" + out);
  return flags;
}

TEST(DataParallelTest, ALostRankEndsTheOthersByThemselvesNamingIt) {
  const std::string out = TempDir("lost_rank");
  std::vector<std::string> logs;
  std::vector<pid_t> pids = StartRanks(2, "lm_pretrain", With(kResumable, out), logs);
  ASSERT_TRUE(WaitForCheckpoint(out, 10, pids)) << ReadText(logs[0]) << ReadText(logs[1]);
  kill(pids[1], SIGKILL);
  const Clock::time_point killed = Clock::now();
  const Result survivor = Wait(pids[0], logs[0]);
  const double seconds = std::chrono::duration<double>(Clock::now() - killed).count();
  Wait(pids[1], logs[1]);
  EXPECT_NE(survivor.exit_code, 0);
  EXPECT_LT(seconds, 60.0);
  EXPECT_THAT(survivor.stderr_text, ::testing::HasSubstr("rank 1 stopped answering"));
  EXPECT_EQ(ReadJson(out + "/run.json")["status"], "failed");
}

TEST(DataParallelTest, AKilledJobResumesToTheSameFinal) {
  const std::string whole = TempDir("uninterrupted"), killed = TempDir("killed_job");
  ASSERT_EQ(Torchrun(2, "lm_pretrain", With(kResumable, whole)).exit_code, 0);
  std::vector<std::string> logs;
  std::vector<pid_t> pids = StartRanks(2, "lm_pretrain", With(kResumable, killed), logs);
  ASSERT_TRUE(WaitForCheckpoint(killed, 20, pids)) << ReadText(logs[0]);
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (size_t r = 0; r < pids.size(); ++r) Wait(pids[r], logs[r]);
  const Result again = Torchrun(2, "lm_pretrain", With(kResumable, killed));
  ASSERT_EQ(again.exit_code, 0) << again.stderr_text;
  EXPECT_THAT(again.stderr_text, ::testing::HasSubstr("resuming from the checkpoint"));
  EXPECT_EQ(ReadJson(killed + "/run.json")["final"], ReadJson(whole + "/run.json")["final"]);
}

// A checkpoint written by `first` ranks, resumed by `second`, ends as one process does.
void ResumeAcrossWorldSizes(int first, int second, const std::string& name) {
  const std::string reference = TempDir(name + "_reference"), out = TempDir(name);
  ASSERT_EQ(RunTask("lm_pretrain", With(kResumable, reference)).exit_code, 0);
  std::vector<std::string> logs;
  std::vector<pid_t> pids = StartRanks(first, "lm_pretrain", With(kResumable, out), logs);
  ASSERT_TRUE(WaitForCheckpoint(out, 20, pids)) << ReadText(logs[0]);
  for (pid_t pid : pids) kill(pid, SIGKILL);
  for (size_t r = 0; r < pids.size(); ++r) Wait(pids[r], logs[r]);
  const Result resumed = second == 1 ? RunTask("lm_pretrain", With(kResumable, out))
                                     : Torchrun(second, "lm_pretrain", With(kResumable, out));
  ASSERT_EQ(resumed.exit_code, 0) << resumed.stderr_text;
  EXPECT_THAT(resumed.stderr_text, ::testing::HasSubstr("resuming from the checkpoint"));
  ExpectSameFinal(out, reference);
  EXPECT_EQ(ReadJson(out + "/run.json")["world_size"], second);
}

TEST(DataParallelTest, TwoRankCheckpointResumesInOneProcess) { ResumeAcrossWorldSizes(2, 1, "two_to_one"); }
TEST(DataParallelTest, OneProcessCheckpointResumesOnTwoRanks) { ResumeAcrossWorldSizes(1, 2, "one_to_two"); }

TEST(DataParallelTest, AWorldSizeThatDoesNotDivideTheBatchIsBadInput) {
  const Result r = Torchrun(3, "lm_pretrain", {"--preset=smoke", "--out=" + TempDir("three")});
  EXPECT_NE(r.exit_code, 0);
  EXPECT_THAT(r.stderr_text, ::testing::HasSubstr("WORLD_SIZE=3 does not divide the preset's batch (8)"));
}

}  // namespace
}  // namespace gs::testing
