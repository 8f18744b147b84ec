#include "benchmarks/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace gs::benchmarks {
namespace {

constexpr char kWorkspace[] = "gradient_smoothing";
// Set once, before any re-execution: "unset" or "set:<value>".
constexpr char kRemembered[] = "GS_ENV_OPENBLAS_CORETYPE";

// The whole text of a log file ("" if unreadable).
std::string ReadLog(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Starts argv with environment env: stderr (and stdout when stdout_fd < 0) to a fresh
// log_path, stdin from stdin_fd when >= 0. The pid of the child.
absl::StatusOr<pid_t> Spawn(const std::vector<std::string>& argv,
                            const std::vector<std::string>& env, const std::string& log_path,
                            int stdin_fd, int stdout_fd) {
  if (argv.empty()) return absl::InvalidArgumentError("no program to run");
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return absl::InternalError(absl::StrCat("cannot write ", log_path));
  const pid_t pid = fork();
  if (pid == 0) {
    if (stdin_fd >= 0) dup2(stdin_fd, 0);
    dup2(stdout_fd >= 0 ? stdout_fd : log, 1);
    dup2(log, 2);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  ::close(log);
  if (pid < 0) return absl::InternalError("fork failed");
  return pid;
}

int ExitCode(int status) { return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status); }

}  // namespace

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         const std::string& log_path) {
  absl::StatusOr<pid_t> pid = Spawn(argv, env, log_path, -1, -1);
  if (!pid.ok()) return pid.status();
  int status = 0;
  waitpid(*pid, &status, 0);
  ProcessResult result;
  result.exit_code = ExitCode(status);
  result.output = ReadLog(log_path);
  if (result.exit_code == 127 && !std::filesystem::exists(argv[0])) {
    return absl::NotFoundError(absl::StrCat(argv[0], " does not exist"));
  }
  return result;
}

absl::StatusOr<std::unique_ptr<LineProcess>> LineProcess::Start(
    const std::vector<std::string>& argv, const std::vector<std::string>& env,
    const std::string& log_path) {
  if (!argv.empty() && !std::filesystem::exists(argv[0])) {
    return absl::NotFoundError(absl::StrCat(argv[0], " does not exist"));
  }
  int to_child[2], from_child[2];
  if (pipe2(to_child, O_CLOEXEC) != 0) return absl::InternalError("pipe failed");
  if (pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    return absl::InternalError("pipe failed");
  }
  signal(SIGPIPE, SIG_IGN);
  absl::StatusOr<pid_t> pid = Spawn(argv, env, log_path, to_child[0], from_child[1]);
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (!pid.ok()) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return pid.status();
  }
  return std::unique_ptr<LineProcess>(
      new LineProcess(*pid, fdopen(to_child[1], "w"), fdopen(from_child[0], "r"), log_path));
}

LineProcess::~LineProcess() {
  if (pid_ > 0) {
    kill(pid_, SIGKILL);
    Finish();
  }
}

absl::Status LineProcess::WriteLine(const std::string& line) {
  if (in_ == nullptr || std::fprintf(in_, "%s\n", line.c_str()) < 0 || std::fflush(in_) != 0) {
    return absl::InternalError(absl::StrCat("the process logging to ", log_path_,
                                            " no longer reads its input"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> LineProcess::ReadLine() {
  char* buffer = nullptr;
  size_t size = 0;
  const ssize_t n = out_ == nullptr ? -1 : getline(&buffer, &size, out_);
  std::string line = n > 0 ? std::string(buffer, n) : std::string();
  std::free(buffer);
  if (n <= 0) {
    return absl::InternalError(absl::StrCat("the process ended its output early; its log (",
                                            log_path_, "):\n", ReadLog(log_path_)));
  }
  if (!line.empty() && line.back() == '\n') line.pop_back();
  return line;
}

int LineProcess::Finish() {
  if (in_ != nullptr) std::fclose(in_);
  if (out_ != nullptr) std::fclose(out_);
  in_ = out_ = nullptr;
  int status = 0;
  if (pid_ > 0) waitpid(pid_, &status, 0);
  pid_ = -1;
  return ExitCode(status);
}

std::vector<std::string> CurrentEnvironment() {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  return env;
}

std::vector<std::string> WithVariable(std::vector<std::string> env, const std::string& name,
                                      const std::optional<std::string>& value) {
  const std::string prefix = name + "=";
  std::vector<std::string> out;
  for (std::string& e : env) {
    if (!absl::StartsWith(e, prefix)) out.push_back(std::move(e));
  }
  if (value) out.push_back(prefix + *value);
  return out;
}

absl::StatusOr<std::string> Runfile(const std::string& path) {
  std::vector<std::string> roots;
  for (const char* var : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(var)) roots.push_back(absl::StrCat(dir, "/", kWorkspace));
  }
  std::error_code error;
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) roots.push_back(absl::StrCat(self.string(), ".runfiles/", kWorkspace));
  roots.push_back(std::filesystem::current_path(error).string());
  std::vector<std::string> tried;
  for (const std::string& root : roots) {
    const std::string candidate = root + "/" + path;
    if (std::filesystem::exists(candidate)) return candidate;
    tried.push_back(candidate);
  }
  return absl::NotFoundError(absl::StrCat(path, " not found (looked at ", absl::StrJoin(tried, ", "), ")"));
}

void RememberBlasEnvironment() {
  if (std::getenv(kRemembered) != nullptr) return;
  const char* value = std::getenv("OPENBLAS_CORETYPE");
  setenv(kRemembered, value == nullptr ? "unset" : absl::StrCat("set:", value).c_str(), 1);
}

std::vector<std::string> OriginalBlasEnvironment() {
  std::vector<std::string> env = CurrentEnvironment();
  const char* remembered = std::getenv(kRemembered);
  std::optional<std::string> original;
  if (remembered == nullptr) {
    if (const char* value = std::getenv("OPENBLAS_CORETYPE")) original = value;
  } else if (absl::StartsWith(remembered, "set:")) {
    original = std::string(remembered + 4);
  }
  env = WithVariable(std::move(env), "OPENBLAS_CORETYPE", original);
  env = WithVariable(std::move(env), "GS_BLAS_REEXEC", std::nullopt);
  return WithVariable(std::move(env), kRemembered, std::nullopt);
}

}  // namespace gs::benchmarks
