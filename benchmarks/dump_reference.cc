// Dumps what the PyTorch reference needs to replay a task's first AdamW steps (see
// reference_dump.h): initial weights, batches, C++ losses and the weights after them.
//
//   bazel run //benchmarks:dump_reference -- --task=lm_pretrain --preset=smoke --out=/tmp/dump
//   /usr/bin/python3 benchmarks/pytorch_reference/reference.py check --dump=/tmp/dump
#include <cstdio>
#include <optional>
#include <string>

#include "absl/flags/declare.h"
#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "benchmarks/reference_dump.h"
#include "benchmarks/training_arm.h"
#include "tasks/harness/blas.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/run_config.h"

// Shared with the task harness (//tasks:run_config): --preset, --seed, --data, --out,
// --threads, and --steps (here: the recorded steps, default 3).
ABSL_DECLARE_FLAG(std::string, preset);
ABSL_DECLARE_FLAG(int64_t, seed);
ABSL_DECLARE_FLAG(std::string, data);
ABSL_DECLARE_FLAG(std::string, out);
ABSL_DECLARE_FLAG(int64_t, threads);
ABSL_DECLARE_FLAG(std::optional<int64_t>, steps);
ABSL_FLAG(std::string, task, "", "the task to dump (vit_classification or lm_pretrain)");
ABSL_FLAG(std::optional<int64_t>, batches, std::nullopt,
          "batches to dump (default: --steps; at least --steps)");

int main(int argc, char** argv) {
  gs::tasks::UseFastBlasKernels(argv);
  gs::tasks::KeepFreedMemoryForReuse();
  absl::SetProgramUsageMessage(
      "Dumps a task's initial weights, first batches and first AdamW steps for the PyTorch "
      "reference; see benchmarks/README.md.");
  auto bad = [](const std::string& message) {
    std::fprintf(stderr, "error: %s\n", message.c_str());
    return 2;
  };
  absl::StatusOr<std::vector<char*>> parsed = gs::tasks::ParseCommandLineChecked(argc, argv);
  if (!parsed.ok()) return bad(std::string(parsed.status().message()));
  const std::vector<char*>& rest = *parsed;
  if (rest.size() > 1) return bad(absl::StrCat("unexpected argument '", rest[1], "'; every setting is a --flag"));
  const int64_t steps = absl::GetFlag(FLAGS_steps).value_or(3);
  const int64_t batches = absl::GetFlag(FLAGS_batches).value_or(steps);
  if (steps < 0) return bad(absl::StrCat("--steps=", steps, ": must be >= 0"));
  if (batches < steps) return bad(absl::StrCat("--batches=", batches, ": must be >= --steps (", steps, ")"));
  if (absl::GetFlag(FLAGS_task).empty()) return bad("--task: name the task to dump");
  if (absl::GetFlag(FLAGS_out).empty()) return bad("--out: name the directory to write");
  gs::tasks::SetThreads(absl::GetFlag(FLAGS_threads));

  gs::benchmarks::ArmConfig config;
  config.task = absl::GetFlag(FLAGS_task);
  config.preset = absl::GetFlag(FLAGS_preset);
  config.seed = absl::GetFlag(FLAGS_seed);
  config.data = absl::GetFlag(FLAGS_data);
  auto arm = gs::benchmarks::TrainingArm::Create(config);
  if (!arm.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(arm.status().message()).c_str());
    return gs::tasks::ExitCodeFor(arm.status());
  }
  const std::string out = gs::tasks::InWorkspace(absl::GetFlag(FLAGS_out));
  if (absl::Status s = gs::benchmarks::WriteReferenceDump(**arm, out, batches, steps); !s.ok()) {
    std::fprintf(stderr, "error: %s\n", std::string(s.message()).c_str());
    return gs::tasks::ExitCodeFor(s);
  }
  std::printf("wrote %s (%lld batches, %lld recorded steps)\n", out.c_str(),
              static_cast<long long>(batches), static_cast<long long>(steps));
  return 0;
}
