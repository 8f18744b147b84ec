// Memory with and without Window Smoothing, against its budget: one update-sized buffer
// per depth group (the bytes of every depth group, depth_groups.h).
//
// For each task and base optimizer, two measurements per smoothing setting (none,
// window), each in a process of its own:
//  - run.json: a short real run of the task binary (//tasks:<task> --steps=N) and the
//    peak_resident_bytes it records (the whole process: libraries, data loading,
//    evaluation, training);
//  - training peak: this program re-executed on one arm, measuring the peak resident
//    memory from the end of the task's Setup (data and model loaded; Linux's peak is
//    reset there through /proc/self/clear_refs) through the optimizer's creation and N
//    training steps, minus the resident memory at that point. It isolates what the
//    optimizer and training add, which the whole-process peak can hide (data loading
//    may set it).
// The difference window - none of each is set against the budget.
//
//   bazel run //benchmarks:memory_benchmark -- --steps=5 --json=results/memory.json
#include <malloc.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "benchmarks/depth_groups.h"
#include "benchmarks/subprocess.h"
#include "benchmarks/task_registry.h"
#include "benchmarks/timing_stats.h"
#include "benchmarks/training_arm.h"
#include "nlohmann/json.hpp"
#include "optimizers/torch_module.h"
#include "tasks/harness/blas.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/run_config.h"
#include "tasks/harness/run_dir.h"

// Shared with the task harness (//tasks:run_config): --preset, --seed, --threads,
// --cache_dir, and
// --steps (here: training steps of each measured run, default 5).
ABSL_DECLARE_FLAG(std::string, preset);
ABSL_DECLARE_FLAG(std::optional<int64_t>, steps);
ABSL_DECLARE_FLAG(int64_t, threads);
ABSL_DECLARE_FLAG(int64_t, seed);
ABSL_DECLARE_FLAG(std::string, cache_dir);
ABSL_FLAG(std::vector<std::string>, tasks, {},
          "comma-separated tasks (default: every registered task)");
ABSL_FLAG(std::vector<std::string>, optimizers, std::vector<std::string>({"adamw"}),
          "comma-separated base optimizers");
ABSL_FLAG(std::string, work_dir, "",
          "where the runs go (default: a fresh directory under /tmp, removed afterwards)");
ABSL_FLAG(int64_t, repeats, 3,
          "measurements of each arm (medians are reported; resident memory is noisy)");
ABSL_FLAG(std::string, json, "", "also write the results to this JSON file");
ABSL_FLAG(std::string, child, "",
          "internal: <task>,<optimizer>,<smoothing>,<result file>: measure one arm's "
          "training peak in this process");

namespace gs::benchmarks {
namespace {

constexpr double kMiB = 1024.0 * 1024.0;

// A field of /proc/self/status in bytes (VmRSS, VmHWM), or -1.
int64_t StatusBytes(const std::string& field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) != 0) continue;
    int64_t kib = 0;
    std::vector<std::string> parts = absl::StrSplit(line.substr(field.size() + 1), absl::ByAnyChar(" \t"), absl::SkipEmpty());
    if (!parts.empty() && absl::SimpleAtoi(parts[0], &kib)) return kib * 1024;
  }
  return -1;
}

// The child: one arm, its training peak above the resident memory after Setup.
int Child(const std::string& spec) {
  std::vector<std::string> parts = absl::StrSplit(spec, absl::MaxSplits(',', 3));
  if (parts.size() != 4) {
    std::fprintf(stderr, "error: --child=%s: expected <task>,<optimizer>,<smoothing>,<file>\n", spec.c_str());
    return kBadInput;
  }
  // Measure live memory, not the heap's fragmentation: with the task binaries' allocator
  // settings (tasks/harness/blas.h: freed memory kept for reuse) the peak depends on where
  // glibc happened to place each temporary, which any change in the order of small
  // allocations moves by megabytes (measured: +-5 MiB on the ViT, either sign). Here
  // every block of 64 KiB or more is its own mapping, returned to the kernel when freed.
  mallopt(M_MMAP_THRESHOLD, 64 << 10);
  mallopt(M_TRIM_THRESHOLD, 128 << 10);
  ArmConfig config;
  config.task = parts[0];
  config.optimizer = parts[1];
  config.smoothing = parts[2];
  config.preset = absl::GetFlag(FLAGS_preset);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.cache_dir = absl::GetFlag(FLAGS_cache_dir);
  int64_t setup_rss = -1;
  bool reset = false;
  auto arm = TrainingArm::Create(config, [&] {
    setup_rss = StatusBytes("VmRSS");
    // Writing 5 resets the peak (VmHWM) to the current resident size (Linux >= 4.0).
    std::ofstream clear("/proc/self/clear_refs");
    clear << "5";
    clear.close();
    reset = static_cast<bool>(clear);
  });
  if (!arm.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(arm.status().message()).c_str());
    return tasks::ExitCodeFor(arm.status());
  }
  const int64_t steps = absl::GetFlag(FLAGS_steps).value_or(5);
  for (int64_t step = 0; step < steps; ++step) (*arm)->Step(step);
  const DepthGroupBytes groups =
      CountDepthGroupBytes(NamedParameters((*arm)->task().model()), (*arm)->task().chains());
  const nlohmann::json result = {{"setup_resident_bytes", setup_rss},
                                 {"peak_resident_bytes", StatusBytes("VmHWM")},
                                 {"training_peak_bytes", StatusBytes("VmHWM") - setup_rss},
                                 {"peak_reset", reset},
                                 {"depth_groups", groups.groups},
                                 {"depth_group_bytes", groups.bytes},
                                 {"parameter_bytes", groups.total_bytes}};
  if (absl::Status s = tasks::WriteFileAtomic(parts[3], result.dump() + "\n"); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return 1;
  }
  return 0;
}

absl::StatusOr<nlohmann::json> ReadJson(const std::string& path) {
  absl::StatusOr<std::string> text = tasks::ReadFile(path);
  if (!text.ok()) return text.status();
  nlohmann::json j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return absl::InternalError(absl::StrCat(path, ": not JSON"));
  return j;
}

// One smoothing setting of one task x optimizer: the task binary's run.json and the
// training peak of a child process.
absl::StatusOr<nlohmann::json> MeasureArm(const std::string& task, const std::string& optimizer,
                                          const std::string& smoothing, const std::string& work) {
  const std::string name = absl::StrCat(task, "-", optimizer, "-", smoothing);
  const int64_t steps = absl::GetFlag(FLAGS_steps).value_or(5);
  absl::StatusOr<std::string> binary = Runfile("tasks/" + task);
  if (!binary.ok()) return binary.status();
  const std::string out = work + "/" + name;
  std::filesystem::remove_all(out);  // each repeat a fresh run, not "already completed"
  std::fprintf(stderr, "%s: task binary\n", name.c_str());
  absl::StatusOr<ProcessResult> run = RunProcess(
      {*binary, "--optimizer=" + optimizer, "--smoothing=" + smoothing,
       "--preset=" + absl::GetFlag(FLAGS_preset), absl::StrCat("--steps=", steps),
       absl::StrCat("--seed=", absl::GetFlag(FLAGS_seed)),
       absl::StrCat("--threads=", absl::GetFlag(FLAGS_threads)),
       absl::StrCat("--eval_every=", steps), "--checkpoint_every=1000000000", "--out=" + out,
       "--cache_dir=" + tasks::InWorkspace(absl::GetFlag(FLAGS_cache_dir))},
      CurrentEnvironment(), work + "/" + name + ".log");
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat(*binary, " failed (exit ", run->exit_code, "):\n", run->output));
  }
  absl::StatusOr<nlohmann::json> run_json = ReadJson(out + "/run.json");
  if (!run_json.ok()) return run_json.status();
  if (!run_json->contains("peak_resident_bytes")) {
    return absl::InternalError(absl::StrCat(out, "/run.json has no peak_resident_bytes"));
  }

  std::fprintf(stderr, "%s: training peak\n", name.c_str());
  const std::string child_out = work + "/" + name + ".child.json";
  absl::StatusOr<ProcessResult> child = RunProcess(
      {"/proc/self/exe", "--child=" + absl::StrCat(task, ",", optimizer, ",", smoothing, ",", child_out),
       "--preset=" + absl::GetFlag(FLAGS_preset), absl::StrCat("--steps=", steps),
       absl::StrCat("--seed=", absl::GetFlag(FLAGS_seed)),
       absl::StrCat("--threads=", absl::GetFlag(FLAGS_threads)),
       "--cache_dir=" + absl::GetFlag(FLAGS_cache_dir)},
      CurrentEnvironment(), work + "/" + name + ".child.log");
  if (!child.ok()) return child.status();
  if (child->exit_code != 0) {
    return absl::InternalError(absl::StrCat("measuring ", name, " failed (exit ", child->exit_code, "):\n", child->output));
  }
  absl::StatusOr<nlohmann::json> measured = ReadJson(child_out);
  if (!measured.ok()) return measured.status();
  (*measured)["run_json_peak_resident_bytes"] = (*run_json)["peak_resident_bytes"];
  return *measured;
}

std::string MiB(double bytes) { return absl::StrFormat("%.2f", bytes / kMiB); }

constexpr char kUsage[] =
    "Peak memory with and without Window Smoothing against one buffer per depth group; "
    "see benchmarks/README.md.";

int Main(int argc, char** argv) {
  if (absl::Status s = ParseToolCommandLine(argc, argv, kUsage); !s.ok()) {
    return BadInput(std::string(s.message()));
  }
  if (absl::GetFlag(FLAGS_steps).value_or(5) < 1) return BadInput("--steps: must be >= 1");
  tasks::SetThreads(absl::GetFlag(FLAGS_threads));
  if (const std::string child = absl::GetFlag(FLAGS_child); !child.empty()) return Child(child);

  std::vector<std::string> task_names = absl::GetFlag(FLAGS_tasks);
  if (task_names.empty()) task_names = TaskNames();
  for (const std::string& task : task_names) {
    if (absl::StatusOr<std::unique_ptr<tasks::Task>> t = NewTask(task); !t.ok()) {
      return BadInput(absl::StrCat("--tasks: ", t.status().message()));
    }
  }
  const int64_t repeats = absl::GetFlag(FLAGS_repeats);
  if (repeats < 1) return BadInput(absl::StrCat("--repeats=", repeats, ": must be >= 1"));
  absl::StatusOr<WorkDir> work_dir = MakeWorkDir(absl::GetFlag(FLAGS_work_dir), "memory_benchmark");
  if (!work_dir.ok()) return BadInput(std::string(work_dir.status().message()));
  const std::string& work = work_dir->path;
  const bool temporary = work_dir->temporary;

  nlohmann::json report = {{"benchmark", "memory_benchmark"},
                           {"preset", absl::GetFlag(FLAGS_preset)},
                           {"steps", absl::GetFlag(FLAGS_steps).value_or(5)},
                           {"threads", absl::GetFlag(FLAGS_threads)},
                           {"seed", absl::GetFlag(FLAGS_seed)},
                           {"repeats", repeats},
                           {"smoothing", "window, alpha 0.2, radius 1, scope all, target update"},
                           {"versions", tasks::Versions()},
                           {"results", nlohmann::json::array()}};
  int code = 0;
  for (const std::string& task : task_names) {
    for (const std::string& optimizer : absl::GetFlag(FLAGS_optimizers)) {
      nlohmann::json result = {{"task", task}, {"optimizer", optimizer}};
      // Repeats alternate none and window, so drift and allocator state hit both.
      std::map<std::string, std::vector<double>> run_peak, training_peak;
      for (int64_t repeat = 0; repeat < repeats && code == 0; ++repeat) {
        for (const char* smoothing : {"none", "window"}) {
          absl::StatusOr<nlohmann::json> arm = MeasureArm(task, optimizer, smoothing, work);
          if (!arm.ok()) {
            std::fprintf(stderr, "error: %s\n", std::string(arm.status().message()).c_str());
            code = 1;
            break;
          }
          result[smoothing]["repeats"].push_back(*arm);
          result[smoothing]["depth_groups"] = (*arm)["depth_groups"];
          result[smoothing]["depth_group_bytes"] = (*arm)["depth_group_bytes"];
          result[smoothing]["parameter_bytes"] = (*arm)["parameter_bytes"];
          run_peak[smoothing].push_back((*arm)["run_json_peak_resident_bytes"].get<double>());
          training_peak[smoothing].push_back((*arm)["training_peak_bytes"].get<double>());
        }
      }
      if (code != 0) break;
      for (const char* smoothing : {"none", "window"}) {
        result[smoothing]["run_json_peak_resident_bytes"] = Median(run_peak[smoothing]);
        result[smoothing]["training_peak_bytes"] = Median(training_peak[smoothing]);
      }
      const nlohmann::json &a = result["none"], &b = result["window"];
      const double budget = b["depth_group_bytes"].get<double>();
      result["budget_bytes"] = budget;
      result["run_json_difference_bytes"] =
          b["run_json_peak_resident_bytes"].get<double>() - a["run_json_peak_resident_bytes"].get<double>();
      result["training_peak_difference_bytes"] =
          b["training_peak_bytes"].get<double>() - a["training_peak_bytes"].get<double>();
      // The spread of the differences over repeats: how far noise reaches.
      result["training_peak_difference_range_bytes"] = {
          Quantile(Differences(training_peak["none"], training_peak["window"]), 0.0),
          Quantile(Differences(training_peak["none"], training_peak["window"]), 1.0)};
      report["results"].push_back(result);
    }
    if (code != 0) break;
  }
  if (temporary) std::filesystem::remove_all(work);
  if (code != 0) return code;

  std::printf("\nPeak resident memory, Window Smoothing vs none: preset %s, %lld steps, medians "
              "of %lld repeats, %lld thread(s); budget = one update-sized buffer per depth "
              "group\n\n",
              report["preset"].get<std::string>().c_str(),
              static_cast<long long>(report["steps"].get<int64_t>()),
              static_cast<long long>(repeats),
              static_cast<long long>(report["threads"].get<int64_t>()));
  std::printf("| task | optimizer | run.json peak, none (MiB) | window (MiB) | difference (MiB) | "
              "training peak above setup, none (MiB) | window (MiB) | difference (MiB) [range] | "
              "budget: %s (MiB) | training difference / budget |\n",
              "depth groups' bytes");
  std::printf("|---|---|---|---|---|---|---|---|---|---|\n");
  for (const nlohmann::json& r : report["results"]) {
    const double budget = r["budget_bytes"].get<double>();
    std::printf("| %s | %s | %s | %s | %s | %s | %s | %s [%s, %s] | %s (%lld groups) | %.2f |\n",
                r["task"].get<std::string>().c_str(), r["optimizer"].get<std::string>().c_str(),
                MiB(r["none"]["run_json_peak_resident_bytes"].get<double>()).c_str(),
                MiB(r["window"]["run_json_peak_resident_bytes"].get<double>()).c_str(),
                MiB(r["run_json_difference_bytes"].get<double>()).c_str(),
                MiB(r["none"]["training_peak_bytes"].get<double>()).c_str(),
                MiB(r["window"]["training_peak_bytes"].get<double>()).c_str(),
                MiB(r["training_peak_difference_bytes"].get<double>()).c_str(),
                MiB(r["training_peak_difference_range_bytes"][0].get<double>()).c_str(),
                MiB(r["training_peak_difference_range_bytes"][1].get<double>()).c_str(), MiB(budget).c_str(),
                static_cast<long long>(r["window"]["depth_groups"].get<int64_t>()),
                r["training_peak_difference_bytes"].get<double>() / budget);
  }
  std::printf("\nA difference at or below the budget (ratio <= 1) means smoothing costs at most "
              "one extra buffer per depth group. Resident memory moves in pages and with the "
              "allocator's caching: read differences well under a MiB as noise.\n");
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    if (int code = WriteJsonReport(path, report); code != 0) return code;
  }
  return 0;
}

}  // namespace
}  // namespace gs::benchmarks

int main(int argc, char** argv) {
  gs::tasks::UseFastBlasKernels(argv);
  gs::tasks::KeepFreedMemoryForReuse();
  return gs::benchmarks::Main(argc, argv);
}
