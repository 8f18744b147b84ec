#include "benchmarks/runner.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <variant>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "benchmarks/launch.h"
#include "benchmarks/subprocess.h"
#include "tasks/harness/duration.h"
#include "tasks/harness/run_status.h"

namespace gs::benchmarks {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The descriptor a task process holds its run's lock on.
constexpr int kChildLockFd = 3;
// How long stopped task processes get between SIGTERM and SIGKILL.
constexpr auto kStopGrace = std::chrono::seconds(10);

enum class Begun { kStarted, kDone, kElsewhere, kFailed };

struct Child {
  pid_t pid;
  size_t index;
  int lock_fd;
  Clock::time_point start;
};

class Suite : public Launch {
 public:
  Suite(const std::vector<RunSpec>& runs, const RunnerOptions& options) : Launch(runs, options) {}

  SuiteResult Run();

 private:
  Begun Begin(size_t i);
  std::variant<int, Begun> LockRun(size_t i);
  absl::StatusOr<pid_t> StartTask(size_t i, int lock_fd);
  void Finish(pid_t pid, int wait_status);
  void Stop();
  std::string Counts() const override;

  std::deque<size_t> pending_;
  std::vector<size_t> elsewhere_;
  std::vector<Child> children_;
};

std::string Suite::Counts() const {
  std::string eta = "?";
  if (const std::optional<double> mean_seconds = MeanSeconds()) {
    const double mean = *mean_seconds;
    double work = mean * static_cast<double>(pending_.size() + elsewhere_.size());
    for (const Child& c : children_) {
      work += std::max(0.0, mean - std::chrono::duration<double>(Clock::now() - c.start).count());
    }
    eta = tasks::FormatDuration(work / options_.jobs);
  }
  return absl::StrCat("running ", children_.size(), ", failed ", result_.failed, ", skipped ",
                      result_.skipped, ", ETA ", eta);
}

// Takes the run's suite.lock: its descriptor, or how Begin ends when it cannot.
std::variant<int, Begun> Suite::LockRun(size_t i) {
  std::error_code error;
  fs::create_directories(Dir(i), error);
  if (error) {
    Fail(i, 1, "cannot create the run directory: " + error.message());
    return Begun::kFailed;
  }
  const SuiteLock lock = TakeSuiteLock(Dir(i));
  switch (lock.state) {
    case SuiteLock::State::kTaken:
      return lock.fd;
    case SuiteLock::State::kHeld:
      return Begun::kElsewhere;
    case SuiteLock::State::kOpenFailed:
    case SuiteLock::State::kLockFailed:
      break;
  }
  Fail(i, 1, lock.error);
  return Begun::kFailed;
}

// The task process of run i, its output appended to stderr.log after a header line.
absl::StatusOr<pid_t> Suite::StartTask(size_t i, int lock_fd) {
  const std::string dir = Dir(i);
  std::vector<std::string> args = TaskCommand(runs_[i], options_, dir);

  const std::string log_path = dir + "/stderr.log";
  const int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  const int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (log_fd < 0 || null_fd < 0) {
    const std::string message = absl::StrCat("cannot open ", log_path, ": ", std::strerror(errno));
    if (log_fd >= 0) close(log_fd);
    if (null_fd >= 0) close(null_fd);
    return absl::InternalError(message);
  }
  const std::string header =
      absl::StrCat("== suite ", absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::Now(), absl::UTCTimeZone()),
                   ": ", absl::StrJoin(args, " "), "\n");
  (void)!write(log_fd, header.data(), header.size());

  SpawnSpec spec;
  spec.argv = std::move(args);
  spec.stdin_fd = null_fd;
  spec.stdout_fd = spec.stderr_fd = log_fd;
  // The process holds its run's lock too, so the lock is free only once it is gone.
  spec.pass_fd = lock_fd;
  spec.pass_fd_as = kChildLockFd;
  // Die with the suite, even when it is SIGKILLed; if it already died, do not start.
  spec.die_with_parent = true;
  spec.default_stop_signals = true;
  spec.report_exec_failure = true;
  absl::StatusOr<pid_t> pid = SpawnProcess(spec);
  close(log_fd);
  close(null_fd);
  return pid;
}

Begun Suite::Begin(size_t i) {
  const std::variant<int, Begun> locked = LockRun(i);
  if (const Begun* outcome = std::get_if<Begun>(&locked)) return *outcome;
  const int lock_fd = std::get<int>(locked);
  // Another suite may have finished it between the first look and the lock.
  const RunStatus status = ReadRunState(Dir(i)).status;
  if (status == RunStatus::kCompleted || status == RunStatus::kDiverged) {
    close(lock_fd);
    return Begun::kDone;
  }
  absl::StatusOr<pid_t> pid = StartTask(i, lock_fd);
  if (!pid.ok()) {
    Fail(i, 1, std::string(pid.status().message()));
    close(lock_fd);
    return Begun::kFailed;
  }
  const std::string pid_text = absl::StrCat(*pid, "\n");
  if (ftruncate(lock_fd, 0) == 0) (void)!pwrite(lock_fd, pid_text.data(), pid_text.size(), 0);
  children_.push_back({*pid, i, lock_fd, Clock::now()});
  ++result_.started;
  RunLine(i, "start      ");
  return Begun::kStarted;
}

void Suite::Finish(pid_t pid, int wait_status) {
  auto it = std::find_if(children_.begin(), children_.end(),
                         [pid](const Child& c) { return c.pid == pid; });
  if (it == children_.end()) return;
  const Child child = *it;
  children_.erase(it);
  close(child.lock_fd);
  const double seconds = std::chrono::duration<double>(Clock::now() - child.start).count();
  const int code = ExitCodeOf(wait_status);
  if (StopSignals::Received() != 0 && code != 0 && code != 3) return;  // stopped by us: not a failure
  const std::string reason = WIFEXITED(wait_status)
                                 ? absl::StrCat("exit code ", code)
                                 : absl::StrCat("killed by signal ", WTERMSIG(wait_status));
  Ended(child.index, code, code, reason, seconds);
}

void Suite::Stop() {
  Line(absl::StrCat("suite: ", strsignal(StopSignals::Received()), ": stopping ", children_.size(),
                    " task process(es); run the suite again to finish"));
  for (const Child& c : children_) kill(c.pid, SIGTERM);
  const Clock::time_point deadline = Clock::now() + kStopGrace;
  while (!children_.empty()) {
    int status = 0;
    const pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      Finish(pid, status);
      continue;
    }
    if (pid < 0 && errno == ECHILD) break;
    if (Clock::now() > deadline) {
      for (const Child& c : children_) kill(c.pid, SIGKILL);
    }
    Sleep(0.05);
  }
  for (const Child& c : children_) close(c.lock_fd);
  children_.clear();
}

SuiteResult Suite::Run() {
  for (size_t i : SkipFinished()) pending_.push_back(i);
  Line(absl::StrCat("suite: ", runs_.size(), " runs; ", result_.skipped,
                    " already completed or diverged (skipped); ", pending_.size(),
                    " to run, ", options_.jobs, " at a time"));

  Clock::time_point last_status = Clock::now();
  Clock::time_point last_retry = Clock::now();
  bool told_waiting = false;
  while (StopSignals::Received() == 0) {
    while (children_.size() < static_cast<size_t>(options_.jobs) && !pending_.empty() &&
           StopSignals::Received() == 0) {
      const size_t i = pending_.front();
      pending_.pop_front();
      switch (Begin(i)) {
        case Begun::kDone:
          ++result_.skipped;
          RunLine(i, "skipped    ", "  (finished elsewhere)");
          break;
        case Begun::kElsewhere:
          elsewhere_.push_back(i);
          break;
        case Begun::kFailed:
          RunLine(i, "FAILED     ", "  " + result_.failures.back().reason);
          break;
        case Begun::kStarted:
          break;
      }
    }
    if (children_.empty() && pending_.empty() && elsewhere_.empty()) break;
    // Runs another suite holds: retried once nothing else is left to start.
    if (pending_.empty() && !elsewhere_.empty() &&
        children_.size() < static_cast<size_t>(options_.jobs)) {
      if (!told_waiting) {
        std::vector<std::string> dirs;
        for (size_t i : elsewhere_) dirs.push_back(runs_[i].dir);
        Line(absl::StrCat("suite: waiting for ", elsewhere_.size(),
                          " run(s) running elsewhere (their suite.lock is held): ",
                          absl::StrJoin(dirs, ", ")));
        told_waiting = true;
      }
      if (Clock::now() - last_retry > std::chrono::seconds(1)) {
        pending_.insert(pending_.end(), elsewhere_.begin(), elsewhere_.end());
        elsewhere_.clear();
        last_retry = Clock::now();
        continue;
      }
    }
    int status = 0;
    const pid_t pid = children_.empty() ? 0 : waitpid(-1, &status, WNOHANG);
    if (pid > 0) {
      Finish(pid, status);
      continue;
    }
    if (Clock::now() - last_status > std::chrono::seconds(1)) {
      StatusLine();
      last_status = Clock::now();
    }
    Sleep(0.1);
  }
  if (StopSignals::Received() != 0) {
    Stop();
    result_.signal = StopSignals::Received();
  }
  return result_;
}

}  // namespace

RunState ReadRunState(const std::string& run_dir) {
  RunState state;
  std::ifstream in(run_dir + "/run.json");
  if (!in) return state;
  std::stringstream text;
  text << in.rdbuf();
  state.status = RunStatus::kPartial;
  tasks::RunRecordRead read = tasks::ParseRunRecord(text.str());
  if (!read.ok()) return state;
  state.run = std::move(read.record);
  state.recorded_status = read.status_text;
  if (read.Has("status") && state.run->status == tasks::RunStatus::kCompleted) {
    state.status = RunStatus::kCompleted;
  }
  if (read.Has("status") && state.run->status == tasks::RunStatus::kDiverged) {
    state.status = RunStatus::kDiverged;
  }
  return state;
}

const char* StatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kNew:
      return "new";
    case RunStatus::kPartial:
      return "partial";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kDiverged:
      return "diverged";
  }
  return "?";
}

namespace {

// "<name> <value>" of run.json's final for `metric`; "" without.
std::string FinalMetricText(const tasks::RunRecord& run, const tasks::RecordedMetric& metric) {
  if (metric.name.empty()) return "";
  const nlohmann::json value = run.final.value(metric.name, nlohmann::json());
  if (!value.is_number()) return "";
  return absl::StrFormat("%s %.6g", metric.name, value.get<double>());
}

}  // namespace

std::string PrimaryMetricText(const RunState& state) {
  if (!state.run) return "";
  const std::string primary = FinalMetricText(*state.run, state.run->primary_metric);
  const std::string selection = FinalMetricText(*state.run, state.run->selection_metric);
  if (primary.empty() || selection.empty() || selection == primary) return primary;
  return absl::StrCat(primary, " (selection: ", selection, ")");
}

SuiteResult RunAll(const std::vector<RunSpec>& runs, const RunnerOptions& options) {
  StopSignals stop_signals;
  return Suite(runs, options).Run();
}

}  // namespace gs::benchmarks
