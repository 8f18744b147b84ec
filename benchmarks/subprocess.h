// Running the benchmarks' helper programs (the PyTorch reference, task binaries) as real
// processes with a chosen environment, and finding files in Bazel's runfiles.
#ifndef GS_BENCHMARKS_SUBPROCESS_H_
#define GS_BENCHMARKS_SUBPROCESS_H_

#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gs::benchmarks {

struct ProcessResult {
  int exit_code = -1;  // 128 + signal when killed by one
  std::string output;  // stdout and stderr, interleaved
};

// Runs argv (argv[0] a path) with environment `env` ("NAME=value" entries), its stdout
// and stderr written to `log_path`, and waits for it. An error only when it cannot start.
absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         const std::string& log_path);

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
