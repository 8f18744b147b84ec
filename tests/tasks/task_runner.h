// Runs a task binary as a real subprocess (fork/exec), as users and the suite do, and
// reads its run directory.
#ifndef GS_TESTS_TASKS_TASK_RUNNER_H_
#define GS_TESTS_TASKS_TASK_RUNNER_H_

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "nlohmann/json.hpp"

namespace gs::testing {

inline std::string TaskBinary(const std::string& task) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/gradient_smoothing/tasks/" + task;
}

inline std::string TempDir(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

struct Result {
  int exit_code = -1;
  std::string stderr_text;
};

// Environment variables set for a child only: (name, value).
using Env = std::vector<std::pair<std::string, std::string>>;

// Starts `binary args...` with stderr captured to a file and `env` added to the
// environment; returns the pid.
inline pid_t Start(const std::string& binary, const std::vector<std::string>& args,
                   const std::string& stderr_path, const Env& env = {}) {
  const pid_t pid = fork();
  if (pid == 0) {
    for (const auto& [name, value] : env) setenv(name.c_str(), value.c_str(), 1);
    if (std::freopen(stderr_path.c_str(), "w", stderr) == nullptr) _exit(126);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline Result Wait(pid_t pid, const std::string& stderr_path) {
  int status = 0;
  waitpid(pid, &status, 0);
  Result r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.stderr_text = ReadText(stderr_path);
  return r;
}

inline Result RunTask(const std::string& task, const std::vector<std::string>& args,
                      const Env& env = {}) {
  static int counter = 0;
  const std::string log = TempDir("stderr_" + std::to_string(counter++) + ".txt");
  return Wait(Start(TaskBinary(task), args, log, env), log);
}

// Starts the task and kills it with SIGKILL once `ready()` holds (polling).
inline Result RunAndKillWhen(const std::string& task, const std::vector<std::string>& args,
                             const std::function<bool()>& ready) {
  const std::string log = TempDir("stderr_killed.txt");
  const pid_t pid = Start(TaskBinary(task), args, log);
  for (int i = 0; i < 6000 && !ready(); ++i) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) return {WEXITSTATUS(status), ReadText(log)};
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  kill(pid, SIGKILL);
  return Wait(pid, log);
}

inline nlohmann::json ReadJson(const std::string& path) {
  return nlohmann::json::parse(ReadText(path), nullptr, false);
}

// metrics.jsonl without the fields that may differ between identical runs.
inline std::string MetricsWithoutTimes(const std::string& out) {
  std::stringstream in(ReadText(out + "/metrics.jsonl"));
  std::string line, result;
  while (std::getline(in, line)) {
    nlohmann::json j = nlohmann::json::parse(line);
    for (auto it = j.begin(); it != j.end();) {
      const std::string key = it.key();
      const bool timing = key == "time_s" ||
                          (key.size() > 8 && key.compare(key.size() - 8, 8, "_seconds") == 0);
      it = timing ? j.erase(it) : std::next(it);
    }
    result += j.dump() + "\n";
  }
  return result;
}

}  // namespace gs::testing

#endif  // GS_TESTS_TASKS_TASK_RUNNER_H_
