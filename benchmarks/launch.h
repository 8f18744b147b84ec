// What the local runner (runner.cc) and the Slurm launcher (slurm.cc) share: the stop
// signals, each run's suite.lock, the task command line, and the progress lines and
// tally of a suite's runs.
#ifndef GS_BENCHMARKS_LAUNCH_H_
#define GS_BENCHMARKS_LAUNCH_H_

#include <signal.h>

#include <cstdio>
#include <string>
#include <vector>

#include "benchmarks/grid.h"
#include "benchmarks/runner.h"

namespace gs::benchmarks {

// Catches SIGINT and SIGTERM while it lives (without SA_RESTART: a signal cuts sleeps
// short) and puts the previous handlers back after.
class StopSignals {
 public:
  StopSignals();
  ~StopSignals();
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;
  // The signal caught, 0 while none.
  static int Received();

 private:
  struct sigaction old_int_ {}, old_term_{};
};

// Sleeps; a signal cuts it short, as wanted.
void Sleep(double seconds);

// <run dir>/suite.lock, taken without waiting: another suite (local or Slurm) on the same
// results folder never runs or submits the run at the same time.
struct SuiteLock {
  enum class State { kTaken, kHeld, kOpenFailed, kLockFailed };
  State state = State::kOpenFailed;
  int fd = -1;        // kTaken: the caller closes it
  std::string error;  // kOpenFailed, kLockFailed
};
SuiteLock TakeSuiteLock(const std::string& dir);

// The task binary's command line for `run` in its directory `dir`.
std::vector<std::string> TaskCommand(const RunSpec& run, const RunnerOptions& options,
                                     const std::string& dir);

// The progress lines and the tally of a launcher's runs.
class Launch {
 protected:
  Launch(const std::vector<RunSpec>& runs, const RunnerOptions& options);
  virtual ~Launch() = default;

  // The counts after "[done/total] " on the status line and at the end of each run's line.
  virtual std::string Counts() const = 0;

  std::string Dir(size_t i) const { return options_.results_dir + "/" + runs_[i].dir; }
  int Done() const {
    return result_.completed + result_.diverged + result_.skipped + result_.failed;
  }
  void Fail(size_t i, int code, const std::string& reason);
  // A line of its own, over the status line.
  void Line(const std::string& text);
  // "[done/total] <what> <run dir><rest>".
  void RunLine(size_t i, const std::string& what, const std::string& rest = "");
  // On a terminal, one line rewritten in place.
  void StatusLine();
  // Runs already completed or diverged count as skipped; the others are returned.
  std::vector<size_t> SkipFinished();
  // Run i ended with exit code `code` after `seconds`: completed or diverged when its
  // run.json agrees, else a failure for `reason` (recorded with `fail_code`).
  void Ended(size_t i, int code, int fail_code, std::string reason, double seconds);
  // The mean time of the runs this launcher finished; nullopt before the first.
  std::optional<double> MeanSeconds() const;

  const std::vector<RunSpec>& runs_;
  const RunnerOptions& options_;
  SuiteResult result_;

 private:
  std::FILE* out_;
  const bool tty_;
  bool status_shown_ = false;
  double seconds_sum_ = 0.0;
  int seconds_count_ = 0;
};

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_LAUNCH_H_
