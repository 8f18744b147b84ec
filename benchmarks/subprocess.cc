#include "benchmarks/subprocess.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

extern char** environ;

namespace gs::benchmarks {
namespace {

constexpr const char* kWorkspace = kRunfilesWorkspace;
// Set once, before any re-execution: "unset" or "set:<value>".
constexpr char kRemembered[] = "GS_ENV_OPENBLAS_CORETYPE";

// Where a runfiles tree may be, in the order they are tried: the variables Bazel sets,
// then the .runfiles folder beside argv0 (when given) and beside this executable.
std::vector<std::string> RunfilesRoots(const char* argv0) {
  std::vector<std::string> roots;
  for (const char* variable : {"RUNFILES_DIR", "TEST_SRCDIR"}) {
    if (const char* dir = std::getenv(variable)) roots.push_back(dir);
  }
  std::error_code error;
  if (argv0 != nullptr && std::filesystem::is_directory(std::string(argv0) + ".runfiles", error)) {
    roots.push_back(std::filesystem::absolute(std::string(argv0) + ".runfiles", error).string());
  }
  const std::filesystem::path self = std::filesystem::read_symlink("/proc/self/exe", error);
  if (!error) roots.push_back(self.string() + ".runfiles");
  return roots;
}

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
  const int log = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (log < 0) return absl::InternalError(absl::StrCat("cannot write ", log_path));
  SpawnSpec spec;
  spec.argv = argv;
  spec.env = env;
  spec.stdin_fd = stdin_fd;
  spec.stdout_fd = stdout_fd >= 0 ? stdout_fd : log;
  spec.stderr_fd = log;
  absl::StatusOr<pid_t> pid = SpawnProcess(spec);
  ::close(log);
  return pid;
}

// `from` as descriptor `to` of the child, inherited across exec.
void Redirect(int from, int to) {
  if (from < 0) return;
  if (from == to) {
    fcntl(to, F_SETFD, 0);
  } else {
    dup2(from, to);
  }
}

std::vector<char*> CStrings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  for (const std::string& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// The child's side of SpawnProcess: async-signal-safe calls only.
[[noreturn]] void ExecChild(const SpawnSpec& spec, pid_t parent, const std::vector<char*>& args,
                            std::vector<char*>* envp) {
  if (spec.die_with_parent) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(1);
  }
  if (!spec.dir.empty() && chdir(spec.dir.c_str()) != 0) _exit(126);
  if (spec.default_stop_signals) {
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
  }
  Redirect(spec.stdin_fd, 0);
  Redirect(spec.stdout_fd, 1);
  Redirect(spec.stderr_fd, 2);
  Redirect(spec.pass_fd, spec.pass_fd_as);
  if (envp == nullptr) {
    (spec.search_path ? execvp : execv)(args[0], args.data());
  } else {
    (spec.search_path ? execvpe : execve)(args[0], args.data(), envp->data());
  }
  if (spec.report_exec_failure) {
    const std::string message =
        absl::StrCat("cannot execute ", args[0], ": ", std::strerror(errno), "\n");
    (void)!write(2, message.data(), message.size());
  }
  _exit(127);
}

}  // namespace

absl::StatusOr<pid_t> SpawnProcess(const SpawnSpec& spec) {
  if (spec.argv.empty()) return absl::InvalidArgumentError("no program to run");
  const std::vector<char*> args = CStrings(spec.argv);
  std::optional<std::vector<char*>> envp;
  if (spec.env) envp = CStrings(*spec.env);
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid == 0) ExecChild(spec, parent, args, envp ? &*envp : nullptr);
  if (pid < 0) return absl::InternalError(absl::StrCat("fork failed: ", std::strerror(errno)));
  return pid;
}

int ExitCodeOf(int status) {
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

int WaitForExit(pid_t pid) {
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return ExitCodeOf(status);
}

ProcessResult CaptureOutput(const std::vector<std::string>& argv) {
  ProcessResult result;
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    result.output = absl::StrCat("pipe: ", std::strerror(errno));
    return result;
  }
  const int null_fd = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  SpawnSpec spec;
  spec.argv = argv;
  spec.search_path = true;
  spec.stdin_fd = null_fd;
  spec.stdout_fd = spec.stderr_fd = fds[1];
  spec.default_stop_signals = true;
  spec.report_exec_failure = true;
  absl::StatusOr<pid_t> pid = SpawnProcess(spec);
  ::close(fds[1]);
  if (null_fd >= 0) ::close(null_fd);
  if (!pid.ok()) {
    ::close(fds[0]);
    result.output = absl::StrCat("fork: ", std::strerror(errno));
    return result;
  }
  char buffer[4096];
  for (;;) {
    const ssize_t n = read(fds[0], buffer, sizeof buffer);
    if (n > 0) {
      result.output.append(buffer, n);
    } else if (n < 0 && errno == EINTR) {
      continue;
    } else {
      break;
    }
  }
  ::close(fds[0]);
  result.exit_code = WaitForExit(*pid);
  return result;
}

absl::StatusOr<ProcessResult> RunProcess(const std::vector<std::string>& argv,
                                         const std::vector<std::string>& env,
                                         const std::string& log_path) {
  absl::StatusOr<pid_t> pid = Spawn(argv, env, log_path, -1, -1);
  if (!pid.ok()) return pid.status();
  ProcessResult result;
  result.exit_code = WaitForExit(*pid);
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
  const int code = pid_ > 0 ? WaitForExit(pid_) : 0;
  pid_ = -1;
  return code;
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

std::string FindRunfilesDir(const char* argv0) {
  for (const std::string& root : RunfilesRoots(argv0)) {
    std::error_code error;
    if (std::filesystem::is_directory(absl::StrCat(root, "/", kWorkspace), error)) return root;
  }
  return "";
}

absl::StatusOr<std::string> Runfile(const std::string& path) {
  std::vector<std::string> roots;
  for (const std::string& root : RunfilesRoots(nullptr)) roots.push_back(absl::StrCat(root, "/", kWorkspace));
  std::error_code error;
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
