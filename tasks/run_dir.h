// The run directory contract: run.json and metrics.jsonl, each replaced atomically
// (temporary file + rename), so a crash at any moment leaves the previous version.
#ifndef GS_TASKS_RUN_DIR_H_
#define GS_TASKS_RUN_DIR_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace gs::tasks {

// Writes `contents` to `path` through `path`.tmp, fsync and rename.
absl::Status WriteFileAtomic(const std::string& path, const std::string& contents);

absl::StatusOr<std::string> ReadFile(const std::string& path);

// zlib's CRC-32 of `bytes`: the checksum in checkpoint and cache manifests.
uint32_t Crc32(const std::string& bytes);

// An exclusive advisory lock (flock) on `path`, created if missing, held until the
// object dies (or the process does: the kernel drops it even after SIGKILL).
class FileLock {
 public:
  // `wait`: block until the lock is free; otherwise Unavailable when another holds it.
  static absl::StatusOr<FileLock> Acquire(const std::string& path, bool wait);
  FileLock(FileLock&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  FileLock& operator=(FileLock&&) = delete;
  ~FileLock();

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

// metrics.jsonl: one JSON object per line, kept in memory and rewritten atomically.
class MetricsLog {
 public:
  explicit MetricsLog(std::string path) : path_(std::move(path)) {}

  // Loads the lines of an earlier run up to and including `step` (a resumed run
  // continues from its checkpoint; later lines are recomputed).
  absl::Status LoadUpTo(int64_t step);
  void Add(nlohmann::json line) { lines_.push_back(std::move(line)); }
  absl::Status Flush() const;
  const std::vector<nlohmann::json>& lines() const { return lines_; }

 private:
  std::string path_;
  std::vector<nlohmann::json> lines_;
};

// The toolchain's versions for run.json: LibTorch, compiler, suite commit if known.
nlohmann::json Versions();

}  // namespace gs::tasks

#endif  // GS_TASKS_RUN_DIR_H_
