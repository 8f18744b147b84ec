// bazel run //benchmarks:suite -- --grid=demo --results=results --jobs=2
//
// Runs every run of a grid (benchmarks/grids/<name>.json, or a file) as a process of its
// task binary, skips runs already completed or diverged, resumes interrupted ones, then
// writes the report into <results>/report/. A grid with tuned arms runs in two stages:
// the untuned runs and every tuning trial, then each arm's chosen candidate on the
// evaluation seeds (benchmarks/tuning.h). Exit codes: 0 every run completed or diverged,
// 1 a run failed (or the suite was stopped, or the report failed), 2 a bad grid or flag.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "benchmarks/grid.h"
#include "benchmarks/runner.h"
#include "benchmarks/slurm.h"
#include "benchmarks/suite_files.h"
#include "benchmarks/tuning.h"
#include "reports/report.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/workspace.h"

ABSL_FLAG(std::string, grid, "",
          "a grid name (benchmarks/grids/<name>.json: smoke, demo, quick, paper, ablation_*, "
          "lr_sweep, tuned_quick, tuned_smoke) or a path to a grid file");
ABSL_FLAG(std::string, results, "results",
          "results folder (relative paths resolve against the workspace under bazel run)");
ABSL_FLAG(int, jobs, 1, "runs at a time, each a process");
ABSL_FLAG(bool, list, false, "print the grid's runs, their directories and state, then exit");
ABSL_FLAG(std::string, filter, "", "only the runs whose directory contains this text");
ABSL_FLAG(bool, no_report, false, "do not write <results>/report/ at the end");
ABSL_FLAG(std::string, tasks_dir, "",
          "a folder of task binaries named by task (a build with its own optimizers or "
          "transforms linked in); default: the suite's //tasks targets");

// The launcher (benchmarks/slurm.h): local processes, or one Slurm job per run.
ABSL_FLAG(std::string, launcher, "local",
          "local: runs as processes here, --jobs at a time; slurm: each run a Slurm batch job");
ABSL_FLAG(std::string, slurm_partition, "", "--launcher=slurm: sbatch --partition");
ABSL_FLAG(std::string, slurm_time, "", "--launcher=slurm: sbatch --time (a job's time limit)");
ABSL_FLAG(int, slurm_gpus_per_run, 0, "--launcher=slurm: sbatch --gres=gpu:<n> for each run");
ABSL_FLAG(std::string, slurm_extra, "", "--launcher=slurm: more sbatch arguments");
ABSL_FLAG(bool, no_wait, false,
          "--launcher=slurm: submit and exit; the same command later collects and reports");

namespace gs::benchmarks {
namespace {

using tasks::kExitBadInput;
using tasks::kExitFailed;
constexpr int kExitOk = tasks::kExitCompleted;

int BadInput(const std::string& message) {
  std::fprintf(stderr, "suite: %s\n", message.c_str());
  return kExitBadInput;
}

bool Finished(const std::string& dir) {
  const RunStatus status = ReadRunState(dir).status;
  return status == RunStatus::kCompleted || status == RunStatus::kDiverged;
}

// Prints each run with its state; returns how many are done.
int ListRuns(const std::vector<RunSpec>& runs, const std::string& results) {
  int done = 0;
  for (const RunSpec& run : runs) {
    const RunState state = ReadRunState(results + "/" + run.dir);
    const bool finished =
        state.status == RunStatus::kCompleted || state.status == RunStatus::kDiverged;
    done += finished;
    std::printf("%-9s  %s/%s%s%s\n", StatusName(state.status), results.c_str(), run.dir.c_str(),
                finished ? "  " : "", finished ? PrimaryMetricText(state).c_str() : "");
  }
  return done;
}

bool Matches(const RunSpec& run, const std::string& filter) {
  return absl::StrContains(run.dir, filter);
}

// The evaluation runs of an arm's chosen candidate that --filter keeps.
std::vector<RunSpec> EvaluationRuns(const TunedArm& arm, const ArmChoice& choice,
                                    const std::string& filter) {
  std::vector<RunSpec> runs;
  if (choice.state != ArmState::kChosen) return runs;
  for (int64_t seed : arm.evaluation_seeds) {
    RunSpec run = arm.Evaluation(choice.chosen, seed);
    if (Matches(run, filter)) runs.push_back(std::move(run));
  }
  return runs;
}

int List(const Grid& grid, const std::vector<RunSpec>& runs, const std::string& results,
         const std::string& filter) {
  int done = ListRuns(runs, results);
  size_t total = runs.size();
  for (const TunedArm& arm : grid.tuned) {
    const ArmChoice choice = ChooseCandidate(arm, results);
    std::printf("tuned      %s\n", ChoiceText(arm, choice).c_str());
    const std::vector<RunSpec> evaluation = EvaluationRuns(arm, choice, filter);
    done += ListRuns(evaluation, results);
    total += evaluation.size();
  }
  std::printf("%s: %zu runs, %d done (completed or diverged), %zu to run\n", grid.path.c_str(),
              total, done, total - done);
  return kExitOk;
}

void PrintResult(const SuiteResult& result) {
  std::fprintf(stderr,
               "suite: %d runs: %d completed, %d diverged, %d skipped (done before), %d failed; "
               "%d task processes started\n",
               result.total, result.completed, result.diverged, result.skipped, result.failed,
               result.started);
  for (const Failure& f : result.failures) {
    std::fprintf(stderr, "  failed: %s (%s); log: %s\n", f.dir.c_str(), f.reason.c_str(),
                 f.log.c_str());
  }
}

using ExitCode = std::optional<int>;

// Where the grid's names and the task binaries come from, and the grid itself.
struct SuiteSetup {
  std::string runfiles, tasks_dir, results;
  GridNames names;
  Grid grid;
  // The task binary of a task: the suite's own, or that of --tasks_dir (a build with
  // more optimizers or transforms linked in).
  std::string TaskBinary(const std::string& task) const {
    return tasks_dir.empty() ? TaskBinaryPath(runfiles, task) : tasks_dir + "/" + task;
  }
};

ExitCode ParseSuiteCommandLine(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "Runs a grid of task runs and writes the report.\n"
      "  bazel run //benchmarks:suite -- --grid=demo --results=results --jobs=2");
  absl::StatusOr<std::vector<char*>> parsed = tasks::ParseCommandLineChecked(argc, argv);
  if (!parsed.ok()) return BadInput(std::string(parsed.status().message()));
  const std::vector<char*>& rest = *parsed;
  if (rest.size() > 1) {
    return BadInput(absl::StrCat("unexpected argument '", rest[1], "'; every setting is a --flag"));
  }
  const int jobs = absl::GetFlag(FLAGS_jobs);
  if (jobs < 1 || jobs > 256) {
    return BadInput(absl::StrCat("--jobs=", jobs, " is not allowed; use an integer in [1, 256]"));
  }
  return std::nullopt;
}

// The runfiles, the names grids may use (asked of the first task binary there is), the
// grid and the results folder.
ExitCode LoadSuiteSetup(const char* argv0, SuiteSetup& setup) {
  setup.runfiles = FindRunfilesDir(argv0);
  if (setup.runfiles.empty()) {
    std::fprintf(stderr, "suite: cannot find the suite's runfiles; start it with "
                         "`bazel run //benchmarks:suite -- ...`\n");
    return kExitFailed;
  }
  absl::StatusOr<GridNames> names = LoadGridNames(setup.runfiles);
  if (!names.ok()) {
    std::fprintf(stderr, "suite: %s\n", std::string(names.status().message()).c_str());
    return kExitFailed;
  }
  setup.names = *std::move(names);
  setup.tasks_dir = absl::GetFlag(FLAGS_tasks_dir).empty()
                        ? ""
                        : Absolute(absl::GetFlag(FLAGS_tasks_dir), tasks::UserWorkspace());
  std::string catalog_binary;
  for (const std::string& task : setup.names.tasks) {
    if (access(setup.TaskBinary(task).c_str(), X_OK) == 0) {
      catalog_binary = setup.TaskBinary(task);
      break;
    }
  }
  if (catalog_binary.empty()) {
    return BadInput(absl::StrCat("no task binary found (",
                                 setup.tasks_dir.empty() ? "the suite's runfiles"
                                                         : "--tasks_dir=" + setup.tasks_dir,
                                 " holds none of ", absl::StrJoin(setup.names.tasks, ", "), ")"));
  }
  if (absl::Status s = LoadCatalog(catalog_binary, &setup.names); !s.ok()) {
    std::fprintf(stderr, "suite: %s\n", std::string(s.message()).c_str());
    return kExitFailed;
  }
  const std::string workspace = tasks::UserWorkspace();
  absl::StatusOr<GridFile> grid_file =
      ResolveGrid(absl::GetFlag(FLAGS_grid), setup.runfiles, workspace);
  if (!grid_file.ok()) return BadInput(std::string(grid_file.status().message()));
  absl::StatusOr<Grid> grid = LoadGrid(grid_file->path, setup.names, grid_file->shown);
  if (!grid.ok()) return BadInput(std::string(grid.status().message()));
  setup.grid = *std::move(grid);
  if (absl::GetFlag(FLAGS_results).empty()) {
    return BadInput("--results is empty; give a folder");
  }
  setup.results = Absolute(absl::GetFlag(FLAGS_results), workspace);
  return std::nullopt;
}

// Stage 1: the untuned runs and every tuning trial that --filter keeps; stage 2 (tuned
// grids only), the evaluation runs, is known once the trials are done.
ExitCode SelectStageOne(const Grid& grid, const std::string& filter, std::vector<RunSpec>& runs) {
  size_t planned = grid.runs.size();
  bool evaluation_matches = false;
  for (const RunSpec& run : grid.runs) {
    if (Matches(run, filter)) runs.push_back(run);
  }
  for (const TunedArm& arm : grid.tuned) {
    for (const RunSpec& trial : arm.Trials()) {
      if (Matches(trial, filter)) runs.push_back(trial);
    }
    planned += arm.Trials().size() + arm.evaluation_seeds.size();
    for (size_t c = 0; c < arm.candidates.size() && !evaluation_matches; ++c) {
      for (int64_t seed : arm.evaluation_seeds) {
        evaluation_matches |= Matches(arm.Evaluation(c, seed), filter);
      }
    }
  }
  if (runs.empty() && !evaluation_matches) {
    return BadInput(absl::StrCat("--filter=", filter, " matches none of the ", planned,
                                 " runs of ", grid.path));
  }
  return std::nullopt;
}

// Every task still to run needs its binary, before anything starts.
ExitCode CheckTaskBinaries(const SuiteSetup& setup, const std::vector<RunSpec>& runs,
                           const std::string& filter) {
  std::set<std::string> tasks;
  for (const RunSpec& run : runs) {
    if (!Finished(setup.results + "/" + run.dir)) tasks.insert(run.task);
  }
  for (const TunedArm& arm : setup.grid.tuned) {
    for (int64_t seed : arm.evaluation_seeds) {
      for (size_t c = 0; c < arm.candidates.size(); ++c) {
        if (Matches(arm.Evaluation(c, seed), filter)) tasks.insert(arm.task);
      }
    }
  }
  for (const std::string& task : tasks) {
    const std::string binary = setup.TaskBinary(task);
    if (access(binary.c_str(), X_OK) != 0) {
      return BadInput(absl::StrCat("task binary for ", task, " not found (", binary,
                                   "): add \"", task, "\" to SUITE_TASKS in benchmarks/BUILD, "
                                   "or leave its runs out with --filter"));
    }
  }
  return std::nullopt;
}

// The launcher seam: the Slurm settings are checked before anything is submitted.
ExitCode CheckLauncher(const std::vector<RunSpec>& runs, bool& slurm, SlurmOptions& options) {
  const std::string launcher = absl::GetFlag(FLAGS_launcher);
  if (launcher != "local" && launcher != "slurm") {
    return BadInput(absl::StrCat("--launcher=", launcher, " is not known; use local or slurm"));
  }
  slurm = launcher == "slurm";
  if (absl::GetFlag(FLAGS_no_wait) && !slurm) return BadInput("--no_wait needs --launcher=slurm");
  options.partition = absl::GetFlag(FLAGS_slurm_partition);
  options.time = absl::GetFlag(FLAGS_slurm_time);
  options.gpus_per_run = absl::GetFlag(FLAGS_slurm_gpus_per_run);
  options.extra = absl::GetFlag(FLAGS_slurm_extra);
  options.wait = !absl::GetFlag(FLAGS_no_wait);
  if (slurm) {
    int cpus = 1;
    for (const RunSpec& run : runs) cpus = std::max(cpus, RunCpus(run));
    if (absl::Status s = CheckSlurm(options, cpus); !s.ok()) {
      return BadInput(std::string(s.message()));
    }
  }
  return std::nullopt;
}

// Chooses each tuned arm's candidate from its trials (tuning.json) and returns the
// evaluation runs of the chosen ones.
absl::StatusOr<std::vector<RunSpec>> StageTwo(const Grid& grid, const std::string& results,
                                              const std::string& filter) {
  std::vector<RunSpec> evaluation;
  for (const TunedArm& arm : grid.tuned) {
    const ArmChoice choice = ChooseCandidate(arm, results);
    if (absl::Status s = WriteTuningJson(arm, choice, results); !s.ok()) return s;
    std::fprintf(stderr, "tune: %s\n", ChoiceText(arm, choice).c_str());
    for (RunSpec& run : EvaluationRuns(arm, choice, filter)) evaluation.push_back(std::move(run));
  }
  return evaluation;
}

// Whether Slurm jobs are still out (--no_wait); says so.
bool StillInFlight(int in_flight, const SuiteResult& result) {
  if (in_flight == 0 || result.signal != 0) return false;
  std::fprintf(stderr, "suite: %d Slurm job(s) still queued or running; run the same command "
                       "again to collect them and write the report\n", in_flight);
  return true;
}

int WriteSuiteReport(const std::string& results) {
  const std::string report_dir = results + "/report";
  absl::StatusOr<reports::ReportSummary> report = reports::WriteReport(results, report_dir);
  if (!report.ok()) {
    std::fprintf(stderr, "suite: the report failed: %s\n",
                 std::string(report.status().message()).c_str());
    return kExitFailed;
  }
  for (const std::string& warning : report->warnings) {
    std::fprintf(stderr, "report: warning: %s\n", warning.c_str());
  }
  std::fprintf(stderr, "suite: report of %d runs: %s\n  tables: %s/tables.md\n",
               report->runs_read, report->index_path.c_str(), report_dir.c_str());
  return kExitOk;
}

// Both stages, then the report.
int RunStages(const SuiteSetup& setup, const std::vector<RunSpec>& runs, bool slurm,
              const SlurmOptions& slurm_options, const std::string& filter) {
  const Grid& grid = setup.grid;
  std::fprintf(stderr, "suite: grid %s%s%s; results in %s\n", grid.path.c_str(),
               grid.description.empty() ? "" : ": ", grid.description.c_str(),
               setup.results.c_str());
  RunnerOptions options;
  options.results_dir = setup.results;
  options.jobs = absl::GetFlag(FLAGS_jobs);
  options.task_binary = [&setup](const std::string& task) { return setup.TaskBinary(task); };
  const bool tuned = !grid.tuned.empty();
  if (tuned) {
    std::fprintf(stderr,
                 "suite: stage 1 of 2: %zu untuned runs and tuning trials of %zu tuned arms\n",
                 runs.size(), grid.tuned.size());
  }
  int in_flight = 0;  // Slurm jobs still queued or running (--no_wait)
  const auto run_all = [&](const std::vector<RunSpec>& these) {
    return slurm ? RunAllSlurm(these, options, slurm_options, &in_flight) : RunAll(these, options);
  };
  SuiteResult result = run_all(runs);
  PrintResult(result);
  if (StillInFlight(in_flight, result)) return result.failed > 0 ? kExitFailed : kExitOk;
  int failed = result.failed;
  if (tuned && result.signal == 0) {
    absl::StatusOr<std::vector<RunSpec>> evaluation = StageTwo(grid, setup.results, filter);
    if (!evaluation.ok()) {
      std::fprintf(stderr, "suite: %s\n", std::string(evaluation.status().message()).c_str());
      return kExitFailed;
    }
    std::fprintf(stderr, "suite: stage 2 of 2: %zu evaluation runs of the chosen candidates\n",
                 evaluation->size());
    if (!evaluation->empty()) {
      result = run_all(*evaluation);
      PrintResult(result);
      failed += result.failed;
    }
  }
  if (StillInFlight(in_flight, result)) return failed > 0 ? kExitFailed : kExitOk;
  if (result.signal != 0) {
    std::fprintf(stderr, "suite: stopped by %s; run the same command again to finish\n",
                 strsignal(result.signal));
    return kExitFailed;
  }
  if (!absl::GetFlag(FLAGS_no_report)) {
    if (int code = WriteSuiteReport(setup.results); code != kExitOk) return code;
  }
  return failed > 0 ? kExitFailed : kExitOk;
}

int Main(int argc, char** argv) {
  if (ExitCode code = ParseSuiteCommandLine(argc, argv)) return *code;
  SuiteSetup setup;
  if (ExitCode code = LoadSuiteSetup(argv[0], setup)) return *code;
  const std::string filter = absl::GetFlag(FLAGS_filter);
  std::vector<RunSpec> runs;
  if (ExitCode code = SelectStageOne(setup.grid, filter, runs)) return *code;
  if (absl::GetFlag(FLAGS_list)) return List(setup.grid, runs, setup.results, filter);
  if (ExitCode code = CheckTaskBinaries(setup, runs, filter)) return *code;
  bool slurm = false;
  SlurmOptions slurm_options;
  if (ExitCode code = CheckLauncher(runs, slurm, slurm_options)) return *code;
  std::error_code error;
  std::filesystem::create_directories(setup.results + "/cache", error);
  if (error) {
    return BadInput(absl::StrCat("--results=", setup.results, ": cannot create it: ",
                                 error.message()));
  }
  return RunStages(setup, runs, slurm, slurm_options, filter);
}

}  // namespace
}  // namespace gs::benchmarks

int main(int argc, char** argv) {
  gs::tasks::ExitOneOnTerminate("suite");
  try {
    return gs::benchmarks::Main(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "suite: error: %s\n", gs::tasks::ExceptionCause(e).c_str());
    return gs::benchmarks::kExitFailed;
  }
}
