#include "benchmarks/launch.h"

#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace gs::benchmarks {
namespace {

volatile sig_atomic_t g_stop_signal = 0;
void OnStopSignal(int signal) { g_stop_signal = signal; }

}  // namespace

StopSignals::StopSignals() {
  g_stop_signal = 0;
  struct sigaction action {};
  action.sa_handler = OnStopSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = 0;  // no SA_RESTART: a signal cuts sleeps short
  sigaction(SIGINT, &action, &old_int_);
  sigaction(SIGTERM, &action, &old_term_);
}

StopSignals::~StopSignals() {
  sigaction(SIGINT, &old_int_, nullptr);
  sigaction(SIGTERM, &old_term_, nullptr);
}

int StopSignals::Received() { return g_stop_signal; }

void Sleep(double seconds) {
  timespec t{static_cast<time_t>(seconds),
             static_cast<long>((seconds - static_cast<time_t>(seconds)) * 1e9)};
  nanosleep(&t, nullptr);
}

SuiteLock TakeSuiteLock(const std::string& dir) {
  SuiteLock lock;
  const int fd = open((dir + "/suite.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    lock.error = absl::StrCat("cannot open suite.lock: ", std::strerror(errno));
    return lock;
  }
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int e = errno;
    close(fd);
    lock.state = e == EWOULDBLOCK ? SuiteLock::State::kHeld : SuiteLock::State::kLockFailed;
    lock.error = absl::StrCat("cannot lock suite.lock: ", std::strerror(e));
    return lock;
  }
  lock.state = SuiteLock::State::kTaken;
  lock.fd = fd;
  return lock;
}

std::vector<std::string> TaskCommand(const RunSpec& run, const RunnerOptions& options,
                                     const std::string& dir) {
  std::vector<std::string> args = {options.task_binary(run.task)};
  for (std::string& a : run.TaskArgs()) args.push_back(std::move(a));
  args.push_back("--out=" + dir);
  args.push_back("--cache_dir=" + options.results_dir + "/cache");
  return args;
}

Launch::Launch(const std::vector<RunSpec>& runs, const RunnerOptions& options)
    : runs_(runs), options_(options), out_(options.progress), tty_(isatty(fileno(out_))) {
  result_.total = static_cast<int>(runs.size());
}

void Launch::Fail(size_t i, int code, const std::string& reason) {
  ++result_.failed;
  result_.failures.push_back({Dir(i), code, reason, Dir(i) + "/stderr.log"});
}

void Launch::Line(const std::string& text) {
  if (status_shown_) std::fputs("\r\033[K", out_);
  status_shown_ = false;
  std::fprintf(out_, "%s\n", text.c_str());
  std::fflush(out_);
}

void Launch::RunLine(size_t i, const std::string& what, const std::string& rest) {
  Line(absl::StrCat("[", Done(), "/", result_.total, "] ", what, runs_[i].dir, rest));
}

void Launch::StatusLine() {
  if (!tty_) return;
  std::fprintf(out_, "\r\033[K[%d/%d] %s", Done(), result_.total, Counts().c_str());
  std::fflush(out_);
  status_shown_ = true;
}

std::vector<size_t> Launch::SkipFinished() {
  std::vector<size_t> pending;
  for (size_t i = 0; i < runs_.size(); ++i) {
    const RunStatus status = ReadRunState(Dir(i)).status;
    if (status == RunStatus::kCompleted || status == RunStatus::kDiverged) {
      ++result_.skipped;
    } else {
      pending.push_back(i);
    }
  }
  return pending;
}

void Launch::Ended(size_t i, int code, int fail_code, std::string reason, double seconds) {
  const RunState state = ReadRunState(Dir(i));
  std::string what, metric = PrimaryMetricText(state);
  if (code == 0 && state.status == RunStatus::kCompleted) {
    ++result_.completed;
    what = "completed";
  } else if (code == 3 && state.status == RunStatus::kDiverged) {
    ++result_.diverged;
    what = "diverged ";
  } else {
    if (code == 0 || code == 3) absl::StrAppend(&reason, " but run.json says ", StatusName(state.status));
    Fail(i, fail_code, reason);
    what = "FAILED   ";
    metric = reason;
  }
  seconds_sum_ += seconds;
  ++seconds_count_;
  Line(absl::StrFormat("[%d/%d] %s  %s  %s  %.1f s  (%s)", Done(), result_.total, what,
                       runs_[i].dir, metric, seconds, Counts()));
}

std::optional<double> Launch::MeanSeconds() const {
  if (seconds_count_ == 0) return std::nullopt;
  return seconds_sum_ / seconds_count_;
}

}  // namespace gs::benchmarks
