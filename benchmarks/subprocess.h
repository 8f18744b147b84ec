// Running the benchmarks' helper programs (the PyTorch reference, task binaries) as real
// processes with a chosen environment, and finding files in Bazel's runfiles.
#ifndef GS_BENCHMARKS_SUBPROCESS_H_
#define GS_BENCHMARKS_SUBPROCESS_H_

#include <optional>
#include <string>
#include <vector>

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

// This process's environment as "NAME=value" entries.
std::vector<std::string> CurrentEnvironment();

// `env` with `name` set to `value`, or removed when `value` is nullopt.
std::vector<std::string> WithVariable(std::vector<std::string> env, const std::string& name,
                                      const std::optional<std::string>& value);

// The path of `path` (relative to the workspace root) in this binary's runfiles (bazel
// run, bazel test, or bazel-bin/<binary> started directly), else under the current
// directory; NotFound naming where it looked.
absl::StatusOr<std::string> Runfile(const std::string& path);

// OPENBLAS_CORETYPE as the user's environment had it before tasks/blas.h's re-execution
// may have set it: call RememberBlasEnvironment() first thing in main (before
// UseFastBlasKernels), and OriginalBlasEnvironment() gives back that environment.
void RememberBlasEnvironment();
std::vector<std::string> OriginalBlasEnvironment();

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_SUBPROCESS_H_
