// File helpers every part of the suite shares, free of LibTorch: atomic replacement
// (temporary file + fsync + rename, so a crash leaves the old file or the new one),
// CRC-32 checksums for manifests, and advisory locks.
#ifndef GS_TASKS_HARNESS_FILES_H_
#define GS_TASKS_HARNESS_FILES_H_

#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gs::tasks {

// Writes `contents` to `path` through `path`.tmp, fsync and rename; a failure at any
// point leaves the old `path` (or none) and removes the temporary file. The message
// names `path` and the cause ("writing <path>: No space left on device"); a directory
// that cannot be written is PermissionDenied, a full disk ResourceExhausted.
absl::Status WriteFileAtomic(const std::string& path, const std::string& contents);

// The bytes of `path`; NotFound when it cannot be opened, Internal when reading fails.
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

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_FILES_H_
