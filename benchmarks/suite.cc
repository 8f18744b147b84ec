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
                finished ? "  " : "", finished ? PrimaryMetricText(state.run).c_str() : "");
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

int Main(int argc, char** argv) {
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
  const std::string runfiles = FindRunfilesDir(argv[0]);
  if (runfiles.empty()) {
    std::fprintf(stderr, "suite: cannot find the suite's runfiles; start it with "
                         "`bazel run //benchmarks:suite -- ...`\n");
    return kExitFailed;
  }
  absl::StatusOr<GridNames> names = LoadGridNames(runfiles);
  if (!names.ok()) {
    std::fprintf(stderr, "suite: %s\n", std::string(names.status().message()).c_str());
    return kExitFailed;
  }
  // Task binaries: the suite's own, or those of --tasks_dir (a build with more
  // optimizers or transforms linked in).
  const std::string tasks_dir = absl::GetFlag(FLAGS_tasks_dir).empty()
                                    ? ""
                                    : Absolute(absl::GetFlag(FLAGS_tasks_dir), UserWorkspace());
  const auto task_binary = [&runfiles, &tasks_dir](const std::string& task) {
    return tasks_dir.empty() ? TaskBinaryPath(runfiles, task) : tasks_dir + "/" + task;
  };
  // What grids may name comes from the first task binary there is.
  std::string catalog_binary;
  for (const std::string& task : names->tasks) {
    if (access(task_binary(task).c_str(), X_OK) == 0) {
      catalog_binary = task_binary(task);
      break;
    }
  }
  if (catalog_binary.empty()) {
    return BadInput(absl::StrCat("no task binary found (",
                                 tasks_dir.empty() ? "the suite's runfiles" : "--tasks_dir=" + tasks_dir,
                                 " holds none of ", absl::StrJoin(names->tasks, ", "), ")"));
  }
  if (absl::Status s = LoadCatalog(catalog_binary, &*names); !s.ok()) {
    std::fprintf(stderr, "suite: %s\n", std::string(s.message()).c_str());
    return kExitFailed;
  }
  const std::string workspace = UserWorkspace();
  absl::StatusOr<GridFile> grid_file =
      ResolveGrid(absl::GetFlag(FLAGS_grid), runfiles, workspace);
  if (!grid_file.ok()) return BadInput(std::string(grid_file.status().message()));
  absl::StatusOr<Grid> grid = LoadGrid(grid_file->path, *names, grid_file->shown);
  if (!grid.ok()) return BadInput(std::string(grid.status().message()));
  if (absl::GetFlag(FLAGS_results).empty()) {
    return BadInput("--results is empty; give a folder");
  }
  const std::string results = Absolute(absl::GetFlag(FLAGS_results), workspace);

  // Stage 1: the untuned runs and every tuning trial; stage 2 (tuned grids only): the
  // evaluation runs, known once the trials are done.
  std::vector<RunSpec> runs;
  const std::string filter = absl::GetFlag(FLAGS_filter);
  size_t planned = grid->runs.size();
  bool evaluation_matches = false;
  for (const RunSpec& run : grid->runs) {
    if (Matches(run, filter)) runs.push_back(run);
  }
  for (const TunedArm& arm : grid->tuned) {
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
                                 " runs of ", grid->path));
  }
  if (absl::GetFlag(FLAGS_list)) return List(*grid, runs, results, filter);

  // Every task still to run needs its binary, before anything starts.
  std::set<std::string> tasks;
  for (const RunSpec& run : runs) {
    if (!Finished(results + "/" + run.dir)) tasks.insert(run.task);
  }
  for (const TunedArm& arm : grid->tuned) {
    for (int64_t seed : arm.evaluation_seeds) {
      for (size_t c = 0; c < arm.candidates.size(); ++c) {
        if (Matches(arm.Evaluation(c, seed), filter)) tasks.insert(arm.task);
      }
    }
  }
  for (const std::string& task : tasks) {
    const std::string binary = task_binary(task);
    if (access(binary.c_str(), X_OK) != 0) {
      return BadInput(absl::StrCat("task binary for ", task, " not found (", binary,
                                   "): add \"", task, "\" to SUITE_TASKS in benchmarks/BUILD, "
                                   "or leave its runs out with --filter"));
    }
  }
  // Launcher seam: the Slurm settings are checked before anything is submitted.
  const std::string launcher = absl::GetFlag(FLAGS_launcher);
  if (launcher != "local" && launcher != "slurm") {
    return BadInput(absl::StrCat("--launcher=", launcher, " is not known; use local or slurm"));
  }
  const bool slurm = launcher == "slurm";
  if (absl::GetFlag(FLAGS_no_wait) && !slurm) return BadInput("--no_wait needs --launcher=slurm");
  SlurmOptions slurm_options;
  slurm_options.partition = absl::GetFlag(FLAGS_slurm_partition);
  slurm_options.time = absl::GetFlag(FLAGS_slurm_time);
  slurm_options.gpus_per_run = absl::GetFlag(FLAGS_slurm_gpus_per_run);
  slurm_options.extra = absl::GetFlag(FLAGS_slurm_extra);
  slurm_options.wait = !absl::GetFlag(FLAGS_no_wait);
  if (slurm) {
    int cpus = 1;
    for (const RunSpec& run : runs) cpus = std::max(cpus, RunCpus(run));
    if (absl::Status s = CheckSlurm(slurm_options, cpus); !s.ok()) {
      return BadInput(std::string(s.message()));
    }
  }
  int in_flight = 0;  // Slurm jobs still queued or running (--no_wait)
  // End of the launcher seam's checks.
  std::error_code error;
  std::filesystem::create_directories(results + "/cache", error);
  if (error) {
    return BadInput(absl::StrCat("--results=", results, ": cannot create it: ", error.message()));
  }

  std::fprintf(stderr, "suite: grid %s%s%s; results in %s\n", grid->path.c_str(),
               grid->description.empty() ? "" : ": ", grid->description.c_str(), results.c_str());
  RunnerOptions options;
  options.results_dir = results;
  options.jobs = jobs;
  options.task_binary = task_binary;
  const bool tuned = !grid->tuned.empty();
  if (tuned) {
    std::fprintf(stderr,
                 "suite: stage 1 of 2: %zu untuned runs and tuning trials of %zu tuned arms\n",
                 runs.size(), grid->tuned.size());
  }
  const auto run_all = [&](const std::vector<RunSpec>& these) {
    return slurm ? RunAllSlurm(these, options, slurm_options, &in_flight) : RunAll(these, options);
  };
  SuiteResult result = run_all(runs);
  PrintResult(result);
  if (in_flight > 0 && result.signal == 0) {
    std::fprintf(stderr, "suite: %d Slurm job(s) still queued or running; run the same command "
                         "again to collect them and write the report\n", in_flight);
    return result.failed > 0 ? kExitFailed : kExitOk;
  }
  int failed = result.failed;
  if (tuned && result.signal == 0) {
    std::vector<RunSpec> evaluation;
    for (const TunedArm& arm : grid->tuned) {
      const ArmChoice choice = ChooseCandidate(arm, results);
      if (absl::Status s = WriteTuningJson(arm, choice, results); !s.ok()) {
        std::fprintf(stderr, "suite: %s\n", std::string(s.message()).c_str());
        return kExitFailed;
      }
      std::fprintf(stderr, "tune: %s\n", ChoiceText(arm, choice).c_str());
      for (RunSpec& run : EvaluationRuns(arm, choice, filter)) evaluation.push_back(std::move(run));
    }
    std::fprintf(stderr, "suite: stage 2 of 2: %zu evaluation runs of the chosen candidates\n",
                 evaluation.size());
    if (!evaluation.empty()) {
      result = run_all(evaluation);
      PrintResult(result);
      failed += result.failed;
    }
  }
  if (in_flight > 0 && result.signal == 0) {
    std::fprintf(stderr, "suite: %d Slurm job(s) still queued or running; run the same command "
                         "again to collect them and write the report\n", in_flight);
    return failed > 0 ? kExitFailed : kExitOk;
  }
  if (result.signal != 0) {
    std::fprintf(stderr, "suite: stopped by %s; run the same command again to finish\n",
                 strsignal(result.signal));
    return kExitFailed;
  }
  int code = failed > 0 ? kExitFailed : kExitOk;
  if (!absl::GetFlag(FLAGS_no_report)) {
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
  }
  return code;
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
