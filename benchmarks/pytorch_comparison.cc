// Our C++ training step against the same step in eager PyTorch, timed by one protocol.
// For each model (the task's preset): the C++ step (AdamW, no smoothing: forward,
// backward, clip, step, exactly the harness's) runs in this process; the same weights and
// batches are dumped (reference_dump.h) and benchmarks/pytorch_reference/reference.py
// replays the same steps with torch.optim.AdamW.
//
// The two sides take turns step by step (reference.py serve): C++ step i, then PyTorch
// step i, and so on, and the figure is the median of the per-pair ratios. A shared
// machine drifts by tens of percent over seconds to minutes; a ratio of two runs made one
// after the other measures that drift as much as the code, a paired one does not. The
// PyTorch side runs with OPENBLAS_CORETYPE set to the kernels this process runs (like for
// like). Once, at the end, PyTorch also runs alone with the environment as it was given
// to this program.
//
//   bazel run //benchmarks:pytorch_comparison -- --steps=60 --json=results/pytorch_comparison.json
#include <cstdio>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "benchmarks/reference_dump.h"
#include "benchmarks/subprocess.h"
#include "benchmarks/timing_stats.h"
#include "benchmarks/training_arm.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/blas.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/run_config.h"
#include "tasks/harness/run_dir.h"

// Shared with the task harness (//tasks:run_config): --preset, --seed, --threads, and
// --steps (here: timed pairs of steps, one C++ and one PyTorch, default 60).
ABSL_DECLARE_FLAG(std::string, preset);
ABSL_DECLARE_FLAG(std::optional<int64_t>, steps);
ABSL_DECLARE_FLAG(int64_t, threads);
ABSL_DECLARE_FLAG(int64_t, seed);
ABSL_FLAG(std::vector<std::string>, tasks,
          std::vector<std::string>({"vit_classification", "lm_pretrain"}),
          "comma-separated tasks with a PyTorch reference model");
ABSL_FLAG(int64_t, warmup, 3, "untimed steps (pairs) before the timed ones (>= 0)");
ABSL_FLAG(std::string, python, "/usr/bin/python3", "the Python with PyTorch (Debian's python3-torch)");
ABSL_FLAG(std::string, work_dir, "",
          "where the dumps go (default: a fresh directory under /tmp, removed afterwards)");
ABSL_FLAG(std::string, json, "", "also write the results (every step time) to this JSON file");

namespace gs::benchmarks {
namespace {

nlohmann::json Timing(const std::vector<double>& seconds) {
  nlohmann::json out = Summary(seconds);
  out["step_seconds"] = seconds;
  return out;
}

absl::StatusOr<nlohmann::json> RunPython(const std::string& script, const std::string& dump,
                                         const std::vector<std::string>& env,
                                         const std::string& tag, int64_t steps, int64_t warmup,
                                         int64_t threads) {
  const std::string out = dump + "/pytorch_" + tag + ".json";
  const std::vector<std::string> argv = {absl::GetFlag(FLAGS_python), script, "time",
                                         "--dump=" + dump, absl::StrCat("--steps=", steps),
                                         absl::StrCat("--warmup=", warmup),
                                         absl::StrCat("--threads=", threads), "--out=" + out};
  absl::StatusOr<ProcessResult> run = RunProcess(argv, env, dump + "/pytorch_" + tag + ".log");
  if (!run.ok()) return run.status();
  if (run->exit_code != 0) {
    return absl::InternalError(absl::StrCat("the PyTorch reference failed (exit ", run->exit_code,
                                            "):\n", run->output));
  }
  absl::StatusOr<std::string> text = tasks::ReadFile(out);
  if (!text.ok()) return text.status();
  nlohmann::json result = nlohmann::json::parse(*text, nullptr, false);
  if (result.is_discarded() || !result.contains("step_seconds")) {
    return absl::InternalError(absl::StrCat(out, ": not the reference's timing JSON"));
  }
  const std::vector<double> times = result["step_seconds"].get<std::vector<double>>();
  result.update(Summary(times));
  return result;
}

absl::StatusOr<nlohmann::json> Compare(const std::string& task, const std::string& script,
                                       const std::string& work, int64_t steps, int64_t warmup,
                                       int64_t threads) {
  ArmConfig config;
  config.task = task;
  config.preset = absl::GetFlag(FLAGS_preset);
  config.seed = absl::GetFlag(FLAGS_seed);
  absl::StatusOr<std::unique_ptr<TrainingArm>> arm = TrainingArm::Create(config);
  if (!arm.ok()) return arm.status();
  const std::string dump = work + "/" + task;
  if (absl::Status s = WriteReferenceDump(**arm, dump, warmup + steps, 0); !s.ok()) return s;

  const std::vector<std::string> env = OriginalBlasEnvironment();
  const std::string kernels = tasks::BlasCoreName();
  const std::vector<std::string> matched_env =
      kernels == "unknown" ? env : WithVariable(env, "OPENBLAS_CORETYPE", kernels);
  absl::StatusOr<std::unique_ptr<LineProcess>> reference = LineProcess::Start(
      {absl::GetFlag(FLAGS_python), script, "serve", "--dump=" + dump,
       absl::StrCat("--threads=", threads)},
      matched_env, dump + "/pytorch_matched.log");
  if (!reference.ok()) return reference.status();
  absl::StatusOr<std::string> hello = (*reference)->ReadLine();
  if (!hello.ok()) return hello.status();
  nlohmann::json matched = nlohmann::json::parse(*hello, nullptr, false);
  if (matched.is_discarded()) {
    return absl::InternalError(absl::StrCat("the PyTorch reference said '", *hello, "'"));
  }
  std::fprintf(stderr, "%s: C++ and PyTorch (OPENBLAS_CORETYPE=%s) steps in turn\n", task.c_str(),
               kernels.c_str());
  std::vector<double> cpp, pytorch;
  for (int64_t step = 0; step < warmup + steps; ++step) {
    const double ours = (*arm)->Step(step).step_seconds;
    if (absl::Status s = (*reference)->WriteLine(absl::StrCat("step ", step)); !s.ok()) return s;
    absl::StatusOr<std::string> line = (*reference)->ReadLine();
    if (!line.ok()) return line.status();
    double theirs = 0.0;
    if (!absl::SimpleAtod(*line, &theirs)) {
      return absl::InternalError(absl::StrCat("the PyTorch reference said '", *line, "'"));
    }
    if (step >= warmup) {
      cpp.push_back(ours);
      pytorch.push_back(theirs);
    }
  }
  (void)(*reference)->WriteLine("quit");
  if (const int code = (*reference)->Finish(); code != 0) {
    return absl::InternalError(absl::StrCat("the PyTorch reference exited with ", code,
                                            "; its log: ", dump, "/pytorch_matched.log"));
  }
  std::fprintf(stderr, "%s: PyTorch steps, environment as given\n", task.c_str());
  absl::StatusOr<nlohmann::json> as_is = RunPython(script, dump, env, "env", steps, warmup, threads);
  if (!as_is.ok()) return as_is.status();

  matched.update(Timing(pytorch));
  const nlohmann::json ours = Timing(cpp);
  const std::vector<double> pair_ratios = Ratios(pytorch, cpp);
  return nlohmann::json{{"task", task},
                        {"model", (*arm)->task().Describe()},
                        {"lr", (*arm)->lr()},
                        {"weight_decay", (*arm)->weight_decay()},
                        {"cpp", ours},
                        {"pytorch_matched", matched},
                        {"pair_ratios", pair_ratios},
                        {"ratio", Summary(pair_ratios)},
                        {"pytorch_env", *as_is},
                        {"ratio_env", ours["median"].get<double>() / (*as_is)["median"].get<double>()}};
}

// "median [90% CI]" of a Summary, times `scale`.
std::string Interval(const nlohmann::json& t, double scale, int digits) {
  const auto f = [&](const char* key) { return absl::StrFormat("%.*f", digits, scale * t[key].get<double>()); };
  if (t["ci90_low"].is_null()) return f("median");
  return absl::StrCat(f("median"), " [", f("ci90_low"), ", ", f("ci90_high"), "]");
}
std::string Ms(const nlohmann::json& t) { return Interval(t, 1e3, 2); }

void PrintTable(const nlohmann::json& report) {
  std::printf("\nTraining step, C++ (ours) vs eager PyTorch: AdamW, no smoothing, preset %s, "
              "%lld steps each after %lld warm-up, taken in turn, %lld thread(s), BLAS kernels "
              "%s on both sides; medians [90%% CI], the ratio is the median of the per-step "
              "ratios\n\n",
              report["preset"].get<std::string>().c_str(),
              static_cast<long long>(report["steps"].get<int64_t>()),
              static_cast<long long>(report["warmup"].get<int64_t>()),
              static_cast<long long>(report["threads"].get<int64_t>()),
              report["blas_kernels"].get<std::string>().c_str());
  std::printf("| task | C++ step (ms) | PyTorch step (ms) | C++ / PyTorch | "
              "PyTorch, environment as given, alone (ms) | its BLAS kernels | C++ / PyTorch as "
              "given |\n|---|---|---|---|---|---|---|\n");
  for (const nlohmann::json& r : report["results"]) {
    std::printf("| %s | %s | %s | %s | %s | %s | %.3f |\n", r["task"].get<std::string>().c_str(),
                Ms(r["cpp"]).c_str(), Ms(r["pytorch_matched"]).c_str(), Interval(r["ratio"], 1.0, 3).c_str(),
                Ms(r["pytorch_env"]).c_str(),
                r["pytorch_env"].value("blas_kernels", "unknown").c_str(), r["ratio_env"].get<double>());
  }
}

constexpr char kUsage[] =
    "Times our C++ training step and the same step in eager PyTorch by one protocol; "
    "see benchmarks/README.md.";

int Main(int argc, char** argv) {
  if (absl::Status s = ParseToolCommandLine(argc, argv, kUsage); !s.ok()) {
    return BadInput(std::string(s.message()));
  }
  const int64_t steps = absl::GetFlag(FLAGS_steps).value_or(60), warmup = absl::GetFlag(FLAGS_warmup);
  const int64_t threads = absl::GetFlag(FLAGS_threads);
  if (absl::Status s = CheckTimingFlags(steps, warmup, threads); !s.ok()) {
    return BadInput(std::string(s.message()));
  }
  if (!std::filesystem::exists(absl::GetFlag(FLAGS_python))) {
    return BadInput(absl::StrCat("--python=", absl::GetFlag(FLAGS_python),
                                 ": not found (install Debian's python3-torch)"));
  }
  absl::StatusOr<std::string> script = Runfile("benchmarks/pytorch_reference/reference.py");
  if (!script.ok()) return BadInput(std::string(script.status().message()));
  tasks::SetThreads(threads);

  absl::StatusOr<WorkDir> work_dir = MakeWorkDir(absl::GetFlag(FLAGS_work_dir), "pytorch_comparison");
  if (!work_dir.ok()) return BadInput(std::string(work_dir.status().message()));
  const std::string& work = work_dir->path;
  const bool temporary = work_dir->temporary;

  nlohmann::json report = {{"benchmark", "pytorch_comparison"},
                           {"preset", absl::GetFlag(FLAGS_preset)},
                           {"steps", steps},
                           {"warmup", warmup},
                           {"threads", threads},
                           {"seed", absl::GetFlag(FLAGS_seed)},
                           {"blas_kernels", tasks::BlasCoreName()},
                           {"versions", tasks::Versions()},
                           {"results", nlohmann::json::array()}};
  int code = 0;
  for (const std::string& task : absl::GetFlag(FLAGS_tasks)) {
    absl::StatusOr<nlohmann::json> result = Compare(task, *script, work, steps, warmup, threads);
    if (!result.ok()) {
      std::fprintf(stderr, "error: %s: %s\n", task.c_str(), std::string(result.status().message()).c_str());
      code = tasks::ExitCodeFor(result.status());
      break;
    }
    report["results"].push_back(*result);
  }
  if (temporary) std::filesystem::remove_all(work);
  if (code != 0) return code;
  PrintTable(report);
  if (const std::string path = absl::GetFlag(FLAGS_json); !path.empty()) {
    if (int code = WriteJsonReport(path, report); code != 0) return code;
  }
  return 0;
}

}  // namespace
}  // namespace gs::benchmarks

int main(int argc, char** argv) {
  gs::benchmarks::RememberBlasEnvironment();  // before the re-execution may change it
  gs::tasks::UseFastBlasKernels(argv);
  gs::tasks::KeepFreedMemoryForReuse();
  return gs::benchmarks::Main(argc, argv);
}
