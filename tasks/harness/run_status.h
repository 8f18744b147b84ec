// A run's status as run.json records it (docs/DESIGN.md, "Run directory contract"): the
// one place its literals are spelled. The trainer writes it, the suite runner, tuning,
// Slurm launcher and reports read it. Free of LibTorch.
#ifndef GS_TASKS_HARNESS_RUN_STATUS_H_
#define GS_TASKS_HARNESS_RUN_STATUS_H_

#include <optional>

#include "absl/strings/string_view.h"

namespace gs::tasks {

enum class RunStatus { kRunning, kCompleted, kDiverged, kFailed };

// "running", "completed", "diverged", "failed".
const char* RunStatusName(RunStatus status);

// The status `name` spells; nullopt for anything else.
std::optional<RunStatus> ParseRunStatus(absl::string_view name);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_RUN_STATUS_H_
