#include "tasks/harness/run_status.h"

namespace gs::tasks {

const char* RunStatusName(RunStatus status) {
  switch (status) {
    case RunStatus::kRunning:
      return "running";
    case RunStatus::kCompleted:
      return "completed";
    case RunStatus::kDiverged:
      return "diverged";
    case RunStatus::kFailed:
      return "failed";
  }
  return "?";
}

std::optional<RunStatus> ParseRunStatus(absl::string_view name) {
  for (RunStatus s : {RunStatus::kRunning, RunStatus::kCompleted, RunStatus::kDiverged,
                      RunStatus::kFailed}) {
    if (name == RunStatusName(s)) return s;
  }
  return std::nullopt;
}

}  // namespace gs::tasks
