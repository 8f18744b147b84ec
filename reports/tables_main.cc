// bazel run //reports:tables -- --results=<dir> [--out=<dir>]
// Writes the report (summary.csv, tables.md, tables.tex, figures, index.md) of every run
// directory under --results. Exit codes: 0 done, 2 bad flags (a missing or unwritable
// folder included), 1 anything else (a full disk: "error: writing <file>: <cause>").
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "reports/report.h"
#include "tasks/harness/boundary.h"

ABSL_FLAG(std::string, results, "",
          "folder of run directories (searched recursively for run.json); relative paths "
          "resolve against the workspace under `bazel run`");
ABSL_FLAG(std::string, out, "", "output folder; default <results>/report");

namespace {

namespace fs = std::filesystem;

// `bazel run` starts in the runfiles tree; the user meant their workspace.
std::string Resolve(const std::string& path) {
  if (path.empty() || fs::path(path).is_absolute()) return path;
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  const fs::path base = workspace != nullptr ? fs::path(workspace) : fs::current_path();
  return (base / path).lexically_normal().string();
}

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return code;
}

}  // namespace

int Main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Writes the report of every run under --results: bazel run //reports:tables -- "
      "--results=<dir> [--out=<dir>]");
  absl::StatusOr<std::vector<char*>> parsed = gs::tasks::ParseCommandLineChecked(argc, argv);
  if (!parsed.ok()) return Fail(2, std::string(parsed.status().message()));
  const std::vector<char*>& rest = *parsed;
  if (rest.size() > 1) {
    return Fail(2, absl::StrCat("unexpected argument '", rest[1], "'; use --results and --out"));
  }
  const std::string results = Resolve(absl::GetFlag(FLAGS_results));
  if (results.empty()) return Fail(2, "--results is required: the folder holding run directories");
  if (!fs::is_directory(results)) {
    return Fail(2, absl::StrCat("--results=", results, ": no such directory"));
  }
  std::string out = Resolve(absl::GetFlag(FLAGS_out));
  if (out.empty()) out = (fs::path(results) / "report").string();
  absl::StatusOr<gs::reports::ReportSummary> report = gs::reports::WriteReport(results, out);
  if (!report.ok()) {
    // A folder that is missing or may not be written is the flag's fault (exit 2); a
    // full disk or another I/O error is not (exit 1).
    const absl::StatusCode code = report.status().code();
    if (code != absl::StatusCode::kPermissionDenied && code != absl::StatusCode::kNotFound &&
        code != absl::StatusCode::kInvalidArgument) {
      return Fail(1, std::string(report.status().message()));
    }
    const std::string flag = absl::StrContains(report.status().message(), "output directory")
                                 ? "--out=" + out
                                 : "--results=" + results;
    return Fail(2, absl::StrCat(flag, ": ", report.status().message()));
  }
  for (const std::string& w : report->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
  std::printf("%d run(s) read; report: %s\n", report->runs_read, report->index_path.c_str());
  return 0;
}

int main(int argc, char** argv) {
  gs::tasks::ExitOneOnTerminate("tables");
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    return Fail(1, gs::tasks::ExceptionCause(e));
  }
}
