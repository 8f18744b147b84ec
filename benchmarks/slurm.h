// The suite's Slurm launcher (--launcher=slurm): each run not yet done becomes one Slurm
// batch job instead of a local process.
//
// A run's job is <run dir>/slurm_job.sh (the task binary with the same flags as a local
// run), submitted with sbatch: --cpus-per-task from the run's threads, its output
// appended to <run dir>/stderr.log, and the task binary's exit code as the job's (the
// script also writes it to <run dir>/slurm_exit_code). The job id is recorded in
// <run dir>/slurm_job.json ({"job_id", "submitted"}) before anything else happens, so a
// suite started again reattaches to jobs still queued or running instead of submitting
// them twice, and submits only what is missing, failed or cancelled. Jobs are followed
// with squeue (and scontrol for an ended job's exit code); a job that ended without the
// run completing or diverging is a failure, listed with its exit code and log, and
// submitted again by the next suite run. Stopping the suite (SIGINT, SIGTERM) leaves its
// jobs to Slurm.
#ifndef GS_BENCHMARKS_SLURM_H_
#define GS_BENCHMARKS_SLURM_H_

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "benchmarks/grid.h"
#include "benchmarks/runner.h"

namespace gs::benchmarks {

struct SlurmOptions {
  std::string partition;  // sbatch --partition; "" for the cluster's default
  std::string time;       // sbatch --time; "" for the partition's default
  int gpus_per_run = 0;   // sbatch --gres=gpu:<n> when > 0
  std::string extra;      // more sbatch arguments, split at whitespace
  bool wait = true;       // false: submit, then return without following the jobs
  double poll_seconds = 1.0;
};

// The CPUs a run's job asks for: its threads flag, else 1.
int RunCpus(const RunSpec& run);

// sbatch's arguments for these settings (partition, time, gres, extra), without the job's
// own (name, cpus, output).
std::vector<std::string> SbatchSettings(const SlurmOptions& slurm);

// Checks before anything is submitted that sbatch exists and that Slurm accepts these
// settings for a job of `cpus` CPUs (sbatch --test-only); InvalidArgument with Slurm's own
// message otherwise.
absl::Status CheckSlurm(const SlurmOptions& slurm, int cpus);

// Like RunAll, with every run a Slurm job. With slurm.wait false it submits what is
// missing and returns; `in_flight` (when given) is set to the number of jobs still queued
// or running when it returns.
SuiteResult RunAllSlurm(const std::vector<RunSpec>& runs, const RunnerOptions& options,
                        const SlurmOptions& slurm, int* in_flight = nullptr);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_SLURM_H_
