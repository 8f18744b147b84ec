// //reports:tables as a real subprocess: flags, exit codes, messages, and relative paths
// resolved against the workspace as under `bazel run`.
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reports/results_tree.h"

namespace gs::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

struct Result {
  int exit_code = -1;
  std::string out, err;
};

// Runs the binary with `args`; `workspace`, when set, becomes BUILD_WORKSPACE_DIRECTORY.
Result RunTables(const std::vector<std::string>& args, const std::string& workspace = "") {
  static int counter = 0;
  const std::string stem = TempDir("tables_" + std::to_string(counter++));
  const std::string binary = std::string(std::getenv("TEST_SRCDIR")) + "/gradient_smoothing/reports/tables";
  const pid_t pid = fork();
  if (pid == 0) {
    if (!std::freopen((stem + ".out").c_str(), "w", stdout) ||
        !std::freopen((stem + ".err").c_str(), "w", stderr)) {
      _exit(125);
    }
    if (workspace.empty()) {
      unsetenv("BUILD_WORKSPACE_DIRECTORY");
    } else {
      setenv("BUILD_WORKSPACE_DIRECTORY", workspace.c_str(), 1);
    }
    // Started from elsewhere, as `bazel run` starts it in the runfiles tree.
    if (chdir("/") != 0) _exit(126);
    std::vector<char*> argv{const_cast<char*>(binary.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary.c_str(), argv.data());
    _exit(127);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
          ReadText(stem + ".out"), ReadText(stem + ".err")};
}

TEST(TablesBinary, MissingResultsExitsTwoNamingTheFlag) {
  Result r = RunTables({"--results=" + TempDir("no_such_results")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--results="));
  EXPECT_THAT(r.err, HasSubstr("no_such_results: no such directory"));

  r = RunTables({});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--results is required"));

  r = RunTables({"--results=/", "extra"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("unexpected argument 'extra'"));
}

TEST(TablesBinary, RelativePathsResolveAgainstTheWorkspace) {
  const std::string workspace = TempDir("workspace");
  WriteExampleTree(workspace + "/results");
  Result r = RunTables({"--results=results"}, workspace);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  // Default --out: <results>/report.
  EXPECT_THAT(r.out, HasSubstr("23 run(s) read; report: " + workspace + "/results/report/index.md"));
  EXPECT_TRUE(fs::exists(workspace + "/results/report/summary.csv"));
  EXPECT_THAT(r.err, HasSubstr("warning: broken: run.json is not valid JSON; skipped\n"));

  r = RunTables({"--results=results", "--out=elsewhere/report"}, workspace);
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_TRUE(fs::exists(workspace + "/elsewhere/report/index.md"));
  EXPECT_EQ(ReadText(workspace + "/elsewhere/report/summary.csv"),
            ReadText(workspace + "/results/report/summary.csv"));
}

TEST(TablesBinary, UnwritableOutExitsTwoNamingTheFlag) {
  const std::string workspace = TempDir("workspace_out");
  WriteExampleTree(workspace + "/results");
  WriteText(workspace + "/a_file", "x");
  Result r = RunTables({"--results=" + workspace + "/results", "--out=" + workspace + "/a_file/report"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.err, HasSubstr("--out=" + workspace + "/a_file/report"));
}

}  // namespace
}  // namespace gs::testing
