// Runs a grid's runs as separate processes of their task binaries, `jobs` at a time.
//
// Each run's directory is <results>/<run.dir>. A run whose run.json says completed or
// diverged is skipped without starting a process; any other (never started, running
// when interrupted, failed) is started again, and the task binary resumes from its
// checkpoint. While a run's process lives, <run dir>/suite.lock is held with an exclusive
// flock, by the suite and by the process itself (it inherits the descriptor as fd 3), so
// two suites on one results folder never run one run twice at once: a run locked
// elsewhere is put aside, retried once nothing else is left to start, and then waited for
// (it usually ends completed and is skipped). The file holds the pid of the process.
//
// Task processes write their stdout and stderr to <run dir>/stderr.log (appended, after a
// header line naming the command). They die with the suite: SIGINT or SIGTERM to the
// suite stops them (SIGTERM, then SIGKILL after a grace period) before it returns, and
// each child asks the kernel for SIGKILL when the suite dies (PR_SET_PDEATHSIG), which
// covers a SIGKILL of the suite.
#ifndef GS_BENCHMARKS_RUNNER_H_
#define GS_BENCHMARKS_RUNNER_H_

#include <cstdio>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "benchmarks/grid.h"
#include "tasks/harness/run_record.h"

namespace gs::benchmarks {

enum class RunStatus {
  kNew,        // no run.json
  kPartial,    // run.json says running or failed: starting it again resumes or retries it
  kCompleted,
  kDiverged,
};

struct RunState {
  RunStatus status = RunStatus::kNew;
  std::optional<tasks::RunRecord> run;  // run.json, when it is a JSON object
  std::string recorded_status;          // its status as spelled, "" when it has none
};

// Reads <run_dir>/run.json; a file that does not parse counts as partial (the task binary
// reports it).
RunState ReadRunState(const std::string& run_dir);

// "new", "partial", "completed", "diverged".
const char* StatusName(RunStatus status);

// "test_accuracy 0.8123" from run.json's primary_metric and final, or "" without one;
// with the selection metric where it is another: "... (selection: val_accuracy 0.8201)".
std::string PrimaryMetricText(const RunState& state);

struct RunnerOptions {
  std::string results_dir;  // absolute
  int jobs = 1;
  // The task binary of a task (checked to exist before RunAll).
  std::function<std::string(const std::string& task)> task_binary;
  std::FILE* progress = stderr;
};

struct Failure {
  std::string dir;     // absolute run directory
  int exit_code = 0;   // 128 + signal number for a process killed by a signal
  std::string reason;  // "exit code 1", "killed by signal 9", ...
  std::string log;     // the run's stderr.log
};

struct SuiteResult {
  int total = 0;
  int completed = 0;  // ran now and completed
  int diverged = 0;   // ran now and diverged
  int skipped = 0;    // already completed or diverged (by an earlier or another suite)
  int failed = 0;
  int started = 0;    // task processes started
  std::vector<Failure> failures;
  int signal = 0;  // the SIGINT or SIGTERM that stopped the suite early; 0 if none
};

// Runs `runs`; handles SIGINT and SIGTERM while it runs (previous handlers are restored).
SuiteResult RunAll(const std::vector<RunSpec>& runs, const RunnerOptions& options);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_RUNNER_H_
