// Running //benchmarks:suite as a real process from a test (suite_test, slurm_test).
#ifndef GS_TESTS_BENCHMARKS_SUITE_UTIL_H_
#define GS_TESTS_BENCHMARKS_SUITE_UTIL_H_

#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "benchmarks/subprocess.h"
#include "nlohmann/json.hpp"
#include "tests/benchmarks/process_util.h"

namespace gs::testing {

inline std::string WriteGrid(const std::string& name, const std::string& text) {
  const std::string path = Tmp(name + ".json");
  std::ofstream(path) << text;
  return path;
}

// Starts the suite with stdout and stderr in `log`; -1 when it cannot start.
inline pid_t StartSuite(const std::vector<std::string>& args, const std::string& log) {
  benchmarks::SpawnSpec spec;
  spec.argv = {Runfile("benchmarks/suite")};
  spec.argv.insert(spec.argv.end(), args.begin(), args.end());
  const int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  spec.stdout_fd = spec.stderr_fd = fd;
  const absl::StatusOr<pid_t> pid = benchmarks::SpawnProcess(spec);
  close(fd);
  return pid.ok() ? *pid : -1;
}

// 126, as a shell says, for a suite that could not start.
inline int WaitExit(pid_t pid) { return pid < 0 ? 126 : benchmarks::WaitForExit(pid); }

// A process's exit code and output (stdout and stderr).
struct Output {
  int code;
  std::string text;
};

inline Output RunSuite(const std::vector<std::string>& args) {
  static int counter = 0;
  const std::string log = Tmp("suite_" + std::to_string(counter++) + ".log");
  const int code = WaitExit(StartSuite(args, log));
  return {code, ReadText(log)};
}

// Polls `ready` every `poll` for up to `seconds`; its last answer.
inline bool WaitFor(const std::function<bool()>& ready, double seconds,
                    std::chrono::milliseconds poll = std::chrono::milliseconds(20)) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(poll);
  }
  return ready();
}

}  // namespace gs::testing

#endif  // GS_TESTS_BENCHMARKS_SUITE_UTIL_H_
