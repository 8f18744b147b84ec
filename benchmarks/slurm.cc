#include "benchmarks/slurm.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmarks/launch.h"
#include "benchmarks/subprocess.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/duration.h"

namespace gs::benchmarks {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

// Writes `text` to `path` through a temporary file, so readers see all of it or none.
bool WriteAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return false;
  }
  return std::rename(tmp.c_str(), path.c_str()) == 0;
}

// Single-quoted for bash.
std::string Quote(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\'') {
      out += "'\\''";
    } else {
      out += c;
    }
  }
  return out + "'";
}

bool OnPath(const std::string& command) {
  const char* path = std::getenv("PATH");
  for (absl::string_view dir : absl::StrSplit(path == nullptr ? "" : path, ':')) {
    if (dir.empty()) continue;
    if (access(absl::StrCat(dir, "/", command).c_str(), X_OK) == 0) return true;
  }
  return false;
}

// States squeue shows for a job that has not ended.
bool Active(const std::string& state) {
  static const std::set<std::string> kActive = {
      "PENDING",  "RUNNING",  "CONFIGURING", "COMPLETING", "SUSPENDED", "REQUEUED",
      "REQUEUE_HOLD", "REQUEUE_FED", "RESIZING", "STOPPED", "SIGNALING", "STAGE_OUT",
      "RESV_DEL_HOLD"};
  return kActive.count(state) > 0;
}

// Every job squeue knows (ended ones too, while Slurm keeps them): id -> state. nullopt
// when squeue fails (the controller does not answer): the caller keeps what it knew.
std::optional<std::map<std::string, std::string>> JobStates() {
  const ProcessResult out = CaptureOutput({"squeue", "-h", "--states=all", "-o", "%i|%T"});
  if (out.exit_code != 0) return std::nullopt;
  std::map<std::string, std::string> states;
  for (absl::string_view line : absl::StrSplit(out.output, '\n', absl::SkipEmpty())) {
    std::vector<std::string> parts = absl::StrSplit(line, '|');
    if (parts.size() != 2) continue;
    states[std::string(absl::StripAsciiWhitespace(parts[0]))] =
        std::string(absl::StripAsciiWhitespace(parts[1]));
  }
  return states;
}

// An ended job's state and exit code from scontrol ("ExitCode=<code>:<signal>").
void EndedJob(const std::string& id, std::string* state, int* exit_code) {
  const ProcessResult out = CaptureOutput({"scontrol", "-o", "show", "job", id});
  if (out.exit_code != 0) return;
  for (absl::string_view field : absl::StrSplit(out.output, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (absl::ConsumePrefix(&field, "JobState=")) {
      *state = std::string(field);
    } else if (absl::ConsumePrefix(&field, "ExitCode=")) {
      std::vector<std::string> parts = absl::StrSplit(field, ':');
      int code = 0, sig = 0;
      if (parts.size() == 2 && absl::SimpleAtoi(parts[0], &code) && absl::SimpleAtoi(parts[1], &sig)) {
        *exit_code = sig != 0 ? 128 + sig : code;
      }
    }
  }
}

struct Job {
  size_t index;
  std::string id;
  std::string state;  // last seen
  Clock::time_point seen;  // when this suite started following it
  std::optional<Clock::time_point> running_since;
};

// The job script of a run: the task's command line, its exit code written last.
std::string JobScript(const RunSpec& run, const std::vector<std::string>& args,
                      const std::string& exit_file) {
  std::vector<std::string> quoted;
  for (const std::string& a : args) quoted.push_back(Quote(a));
  return absl::StrCat(
      "#!/bin/bash\n"
      "# ", run.dir, ": written by the suite (--launcher=slurm), submitted with sbatch.\n"
      "echo \"== suite: Slurm job ${SLURM_JOB_ID} on $(hostname) at $(date -u +%Y-%m-%dT%H:%M:%SZ): ",
      absl::StrJoin(args, " "), "\"\n",
      absl::StrJoin(quoted, " "), " </dev/null\n"
      "code=$?\n"
      "echo \"$code\" > ", Quote(exit_file + ".tmp"), " && mv -f ", Quote(exit_file + ".tmp"), " ",
      Quote(exit_file), "\n"
      "exit $code\n");
}

// The job id slurm_job.json records for an earlier submission of the run in `dir`, or "".
std::string PreviousJob(const std::string& dir) {
  const nlohmann::json record =
      nlohmann::json::parse(ReadText(dir + "/slurm_job.json"), nullptr, false);
  if (record.is_object() && record.value("job_id", nlohmann::json()).is_string()) {
    return record["job_id"].get<std::string>();
  }
  return "";
}

class SlurmSuite : public Launch {
 public:
  SlurmSuite(const std::vector<RunSpec>& runs, const RunnerOptions& options,
             const SlurmOptions& slurm)
      : Launch(runs, options), slurm_(slurm) {}

  SuiteResult Run(int* in_flight);

 private:
  std::string Counts() const override;
  enum class Submitted { kSubmitted, kAttached, kDone, kLocked, kFailed };
  // Submits run i, or follows its job when one is still queued or running.
  Submitted Submit(size_t i, const std::map<std::string, std::string>& states);
  bool Attach(size_t i, const std::string& previous, const std::map<std::string, std::string>& states);
  Submitted SubmitJob(size_t i, const std::string& previous);
  // Submits the runs of `pending`; those another suite holds go to `locked`.
  void SubmitAll(const std::vector<size_t>& pending, const std::map<std::string, std::string>& states,
                 std::vector<size_t>& locked);
  // The jobs `states` no longer shows active, finished.
  void FinishEnded(const std::map<std::string, std::string>& states);
  void Finish(const Job& job);
  void Summarize(int* in_flight);

  const SlurmOptions& slurm_;
  std::vector<Job> jobs_;
  int attached_ = 0;
};

std::string SlurmSuite::Counts() const {
  int queued = 0, running = 0;
  for (const Job& j : jobs_) (j.state == "RUNNING" || j.state == "COMPLETING") ? ++running : ++queued;
  std::string eta = "?";
  if (const std::optional<double> mean_seconds = MeanSeconds()) {
    const double mean = *mean_seconds;
    double work = 0.0;
    for (const Job& j : jobs_) {
      const double ran =
          j.running_since ? std::chrono::duration<double>(Clock::now() - *j.running_since).count() : 0.0;
      work += std::max(0.0, mean - ran);
    }
    eta = tasks::FormatDuration(work / std::max(1, running));
  }
  return absl::StrCat("queued ", queued, ", running ", running, ", failed ", result_.failed,
                      ", skipped ", result_.skipped, ", ETA ", eta);
}

SlurmSuite::Submitted SlurmSuite::Submit(size_t i, const std::map<std::string, std::string>& states) {
  const std::string dir = Dir(i);
  std::error_code error;
  fs::create_directories(dir, error);
  if (error) {
    Fail(i, 1, "cannot create the run directory: " + error.message());
    return Submitted::kFailed;
  }
  // suite.lock while deciding and submitting.
  const SuiteLock lock = TakeSuiteLock(dir);
  if (lock.state == SuiteLock::State::kOpenFailed) {
    Fail(i, 1, lock.error);
    return Submitted::kFailed;
  }
  if (lock.state != SuiteLock::State::kTaken) return Submitted::kLocked;
  struct Unlock {
    int fd;
    ~Unlock() { close(fd); }
  } unlock{lock.fd};

  const RunStatus status = ReadRunState(dir).status;
  if (status == RunStatus::kCompleted || status == RunStatus::kDiverged) return Submitted::kDone;
  const std::string previous = PreviousJob(dir);
  if (!previous.empty() && Attach(i, previous, states)) return Submitted::kAttached;
  return SubmitJob(i, previous);
}

// A job of an earlier suite still queued or running: follow it.
bool SlurmSuite::Attach(size_t i, const std::string& previous,
                        const std::map<std::string, std::string>& states) {
  const auto it = states.find(previous);
  if (it == states.end() || !Active(it->second)) return false;
  jobs_.push_back({i, previous, it->second, Clock::now(), std::nullopt});
  if (it->second == "RUNNING") jobs_.back().running_since = Clock::now();
  ++attached_;
  RunLine(i, "attached   ", absl::StrCat("  (Slurm job ", previous, ", ", it->second, ")"));
  return true;
}

SlurmSuite::Submitted SlurmSuite::SubmitJob(size_t i, const std::string& previous) {
  const RunSpec& run = runs_[i];
  const std::string dir = Dir(i);
  const std::string exit_file = dir + "/slurm_exit_code";
  const std::string script = JobScript(run, TaskCommand(run, options_, dir), exit_file);
  const std::string script_path = dir + "/slurm_job.sh";
  std::remove(exit_file.c_str());
  if (!WriteAtomically(script_path, script) || chmod(script_path.c_str(), 0755) != 0) {
    Fail(i, 1, absl::StrCat("cannot write ", script_path));
    return Submitted::kFailed;
  }
  std::vector<std::string> sbatch = {"sbatch", "--parsable", "--job-name=gs:" + run.dir,
                                     absl::StrCat("--cpus-per-task=", RunCpus(run)),
                                     "--output=" + dir + "/stderr.log", "--open-mode=append"};
  for (std::string& a : SbatchSettings(slurm_)) sbatch.push_back(std::move(a));
  sbatch.push_back(script_path);
  const ProcessResult out = CaptureOutput(sbatch);
  // --parsable prints "<id>" or "<id>;<cluster>".
  const std::string id = std::string(absl::StripAsciiWhitespace(
      std::vector<std::string>(absl::StrSplit(out.output, ';')).front()));
  int64_t numeric = 0;
  if (out.exit_code != 0 || !absl::SimpleAtoi(id, &numeric)) {
    Fail(i, out.exit_code, absl::StrCat("sbatch failed: ", absl::StripAsciiWhitespace(out.output)));
    return Submitted::kFailed;
  }
  nlohmann::json job = {
      {"job_id", id},
      {"submitted", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone())}};
  if (!previous.empty()) job["previous_job_id"] = previous;
  WriteAtomically(dir + "/slurm_job.json", job.dump(2) + "\n");
  jobs_.push_back({i, id, "PENDING", Clock::now(), std::nullopt});
  ++result_.started;
  RunLine(i, "submitted  ", absl::StrCat("  (Slurm job ", id,
                                         previous.empty() ? "" : absl::StrCat(", after job ", previous, " ended"),
                                         ")"));
  return Submitted::kSubmitted;
}

void SlurmSuite::Finish(const Job& job) {
  const std::string dir = Dir(job.index);
  std::string state = job.state;
  int code = -1;
  // The job script writes the exit code last; give a shared filesystem a moment.
  const std::string exit_file = dir + "/slurm_exit_code";
  for (int tries = 0; tries < 20 && access(exit_file.c_str(), R_OK) != 0; ++tries) {
    if (Active(state) || state.empty()) break;
    Sleep(0.1);
  }
  int from_script = 0;
  const bool have_code = absl::SimpleAtoi(absl::StripAsciiWhitespace(ReadText(exit_file)), &from_script);
  EndedJob(job.id, &state, &code);
  if (have_code) code = from_script;
  const double seconds =
      std::chrono::duration<double>(Clock::now() - job.running_since.value_or(job.seen)).count();
  std::string reason = absl::StrCat("Slurm job ", job.id, " ", state.empty() ? "ended" : state);
  if (code >= 0) {
    absl::StrAppend(&reason, code > 128 && !have_code ? absl::StrCat(", killed by signal ", code - 128)
                                                      : absl::StrCat(", exit code ", code));
  }
  Ended(job.index, code, code < 0 ? 1 : code, reason, seconds);
}

void SlurmSuite::SubmitAll(const std::vector<size_t>& pending,
                           const std::map<std::string, std::string>& states,
                           std::vector<size_t>& locked) {
  for (size_t i : pending) {
    if (StopSignals::Received() != 0) break;
    switch (Submit(i, states)) {
      case Submitted::kDone:
        ++result_.skipped;
        RunLine(i, "skipped    ", "  (finished elsewhere)");
        break;
      case Submitted::kLocked:
        locked.push_back(i);
        break;
      case Submitted::kFailed:
        RunLine(i, "FAILED     ", "  " + result_.failures.back().reason);
        break;
      case Submitted::kSubmitted:
      case Submitted::kAttached:
        break;
    }
  }
}

void SlurmSuite::FinishEnded(const std::map<std::string, std::string>& states) {
  std::vector<Job> ended;
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const auto found = states.find(it->id);
    const std::string state = found == states.end() ? "" : found->second;
    it->state = state;
    if (Active(state)) {
      if (state == "RUNNING" && !it->running_since) it->running_since = Clock::now();
      ++it;
    } else {
      ended.push_back(*it);
      it = jobs_.erase(it);
    }
  }
  for (const Job& job : ended) Finish(job);
}

SuiteResult SlurmSuite::Run(int* in_flight) {
  std::vector<size_t> pending = SkipFinished();
  Line(absl::StrCat("suite: ", runs_.size(), " runs; ", result_.skipped,
                    " already completed or diverged (skipped); ", pending.size(),
                    " to run as Slurm jobs"));
  std::map<std::string, std::string> states;
  if (!pending.empty()) {
    std::optional<std::map<std::string, std::string>> now = JobStates();
    if (!now) {
      for (size_t i : pending) Fail(i, 1, "squeue failed: cannot see the cluster's jobs");
      pending.clear();
    } else {
      states = std::move(*now);
    }
  }
  std::vector<size_t> locked;
  Clock::time_point last_status = Clock::now();
  while (StopSignals::Received() == 0) {
    SubmitAll(pending, states, locked);
    pending.clear();
    if (!slurm_.wait || (jobs_.empty() && locked.empty())) break;
    Sleep(slurm_.poll_seconds);
    if (StopSignals::Received() != 0) break;
    // Runs another suite held: looked at again (their lock is usually free by now).
    pending.swap(locked);
    std::optional<std::map<std::string, std::string>> now = JobStates();
    if (!now) continue;  // the controller did not answer: try again
    states = std::move(*now);
    FinishEnded(states);
    if (Clock::now() - last_status > std::chrono::seconds(1)) {
      StatusLine();
      last_status = Clock::now();
    }
  }
  Summarize(in_flight);
  return result_;
}

void SlurmSuite::Summarize(int* in_flight) {
  if (in_flight != nullptr) *in_flight = static_cast<int>(jobs_.size());
  if (const int signal = StopSignals::Received(); signal != 0) {
    result_.signal = signal;
    Line(absl::StrCat("suite: ", strsignal(signal), ": ", jobs_.size(),
                      " Slurm job(s) keep their places; run the suite again to reattach"));
  } else if (!slurm_.wait) {
    Line(absl::StrCat("suite: --no_wait: ", jobs_.size(), " Slurm job(s) queued or running (",
                      result_.started, " submitted now, ", attached_,
                      " already); run the same command again to collect them and report"));
  }
  Line(absl::StrCat("suite: ", result_.started, " Slurm jobs submitted, ", attached_,
                    " reattached"));
}

}  // namespace

int RunCpus(const RunSpec& run) {
  for (const auto& [key, value] : run.overrides) {
    int threads = 0;
    if (key == "threads" && absl::SimpleAtoi(value, &threads) && threads > 0) return threads;
  }
  return 1;
}

std::vector<std::string> SbatchSettings(const SlurmOptions& slurm) {
  std::vector<std::string> args;
  if (!slurm.partition.empty()) args.push_back("--partition=" + slurm.partition);
  if (!slurm.time.empty()) args.push_back("--time=" + slurm.time);
  if (slurm.gpus_per_run > 0) args.push_back(absl::StrCat("--gres=gpu:", slurm.gpus_per_run));
  for (absl::string_view a : absl::StrSplit(slurm.extra, absl::ByAnyChar(" \t\n"), absl::SkipEmpty())) {
    args.emplace_back(a);
  }
  return args;
}

absl::Status CheckSlurm(const SlurmOptions& slurm, int cpus) {
  for (const char* command : {"sbatch", "squeue", "scontrol"}) {
    if (!OnPath(command)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "--launcher=slurm: ", command, " not found on PATH (Slurm's client commands, "
          "Debian's slurm-client; tools/slurm/start_local_cluster.sh starts a one-node cluster)"));
    }
  }
  if (slurm.gpus_per_run < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("--slurm_gpus_per_run=", slurm.gpus_per_run, " is negative"));
  }
  std::vector<std::string> args = {"sbatch", "--test-only", absl::StrCat("--cpus-per-task=", cpus)};
  for (std::string& a : SbatchSettings(slurm)) args.push_back(std::move(a));
  args.push_back("--wrap=true");
  const ProcessResult out = CaptureOutput(args);
  if (out.exit_code != 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--launcher=slurm: Slurm refuses these settings (", absl::StrJoin(args, " "), "): ",
        absl::StripAsciiWhitespace(out.output)));
  }
  return absl::OkStatus();
}

SuiteResult RunAllSlurm(const std::vector<RunSpec>& runs, const RunnerOptions& options,
                        const SlurmOptions& slurm, int* in_flight) {
  StopSignals stop_signals;
  return SlurmSuite(runs, options, slurm).Run(in_flight);
}

}  // namespace gs::benchmarks
