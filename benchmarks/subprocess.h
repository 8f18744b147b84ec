// Running other programs as real processes (task binaries, the PyTorch reference, Slurm's
// commands, gnuplot), and finding files in Bazel's runfiles: the one place the suite, the
// benchmarks and the reports fork, exec and look for runfiles.
#ifndef GS_BENCHMARKS_SUBPROCESS_H_
#define GS_BENCHMARKS_SUBPROCESS_H_

#include <sys/types.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gs::benchmarks {

// How a child process starts. Everything is prepared before fork, so the child makes only
// async-signal-safe calls: the callers (the suite) may have threads.
struct SpawnSpec {
  std::vector<std::string> argv;  // argv[0] a path, or a name on PATH with search_path
  bool search_path = false;
  // "NAME=value" entries; nullopt keeps this process's environment.
  std::optional<std::vector<std::string>> env;
  std::string dir;  // working directory, "" for ours; exit code 126 when it cannot be entered
  // Descriptors for its stdin, stdout and stderr; -1 leaves ours.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
  // One more descriptor it inherits: `pass_fd` becomes its `pass_fd_as`.
  int pass_fd = -1, pass_fd_as = -1;
  // SIGKILL when this process dies (PR_SET_PDEATHSIG); not started when it already has.
  bool die_with_parent = false;
  bool default_stop_signals = false;  // SIGINT and SIGTERM back to their default actions
  bool report_exec_failure = false;   // "cannot execute <argv[0]>: <why>" on its stderr
};

// Starts `spec`: the pid of the child (which exits 127 when it cannot execute argv[0]).
// An error only when there is nothing to run or fork fails.
absl::StatusOr<pid_t> SpawnProcess(const SpawnSpec& spec);

// The contract's exit code of a waitpid status: 128 + signal number when killed by one.
int ExitCodeOf(int wait_status);

// Waits for `pid` (through EINTR): its exit code as ExitCodeOf says it.
int WaitForExit(pid_t pid);

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv (argv[0] a path) with environment `env` ("NAME=value" entries), its stdout
// and stderr written to `log_path`, and waits for it. An error only when it cannot start.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         const std::string& log_path);

// Runs argv (argv[0] looked up on PATH) with stdin from /dev/null and collects its stdout
// and stderr; exit code 127 with the reason in `output` when it cannot start.
ProcessResult CaptureOutput(const std::vector<std::string>& argv);

// A process this one talks to in lines: its stdin and stdout are pipes to us, its stderr
// goes to a log file. Lets two programs take turns step by step (lockstep timing). The
// destructor kills a process still running. Writing to one that has died is an error, not
// a SIGPIPE: Start ignores SIGPIPE for this whole process.
class LineProcess {
 public:
  static absl::StatusOr<std::unique_ptr<LineProcess>> Start(const std::vector<std::string>& argv,
                                                            const std::vector<std::string>& env,
                                                            const std::string& log_path);
  ~LineProcess();
  LineProcess(const LineProcess&) = delete;
  LineProcess& operator=(const LineProcess&) = delete;

  absl::Status WriteLine(const std::string& line);
  // The next line without its newline; an error naming the log at end of output.
  absl::StatusOr<std::string> ReadLine();
  // Closes its stdin and waits: the exit code (128 + signal when killed by one).
  int Finish();

 private:
  LineProcess(int pid, FILE* in, FILE* out, std::string log_path)
      : pid_(pid), in_(in), out_(out), log_path_(std::move(log_path)) {}
  int pid_;
  FILE* in_;   // its stdin
  FILE* out_;  // its stdout
  std::string log_path_;
};

// This process's environment as "NAME=value" entries.
std::vector<std::string> CurrentEnvironment();

// `env` with `name` set to `value`, or removed when `value` is nullopt.
std::vector<std::string> WithVariable(std::vector<std::string> env, const std::string& name,
                                      const std::optional<std::string>& value);

// The workspace's folder in a runfiles tree: <runfiles>/gradient_smoothing/...
inline constexpr char kRunfilesWorkspace[] = "gradient_smoothing";

// The runfiles root: $RUNFILES_DIR, $TEST_SRCDIR (under bazel test), or the .runfiles
// folder beside the binary (argv0 when given, then /proc/self/exe). "" when none exists.
std::string FindRunfilesDir(const char* argv0);

// The path of `path` (relative to the workspace root) in this binary's runfiles (bazel
// run, bazel test, or bazel-bin/<binary> started directly), else under the current
// directory; NotFound naming where it looked.
absl::StatusOr<std::string> Runfile(const std::string& path);

// OPENBLAS_CORETYPE as the user's environment had it before tasks/harness/blas.h's re-execution
// may have set it: call RememberBlasEnvironment() first thing in main (before
// UseFastBlasKernels), and OriginalBlasEnvironment() gives back that environment.
void RememberBlasEnvironment();
std::vector<std::string> OriginalBlasEnvironment();

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_SUBPROCESS_H_
