// The run directory contract: run.json and metrics.jsonl, each replaced atomically
// (temporary file + rename), so a crash at any moment leaves the previous version.
#ifndef GS_TASKS_HARNESS_RUN_DIR_H_
#define GS_TASKS_HARNESS_RUN_DIR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/files.h"

namespace gs::tasks {

// metrics.jsonl: one JSON object per line, kept in memory and rewritten atomically.
class MetricsLog {
 public:
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}

  // Loads the lines of an earlier run up to and including `step` (a resumed run
  // continues from its checkpoint; later lines are recomputed).
  absl::Status LoadUpTo(int64_t step);
  // Replaces the lines with those of `text` (a checkpoint's copy); InvalidArgument on a
  // line that does not parse.
  absl::Status Parse(const std::string& text);
  void Add(nlohmann::json line) { lines_.push_back(std::move(line)); }
  // The file's contents: one dumped object per line.
  std::string Text() const;
  absl::Status Flush() const;
  const std::string& path() const { return path_; }
  const std::vector<nlohmann::json>& lines() const { return lines_; }

 private:
  std::string path_;
  std::vector<nlohmann::json> lines_;
};

// The toolchain's versions for run.json: LibTorch, compiler, suite commit if known.
nlohmann::json Versions();

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_RUN_DIR_H_
