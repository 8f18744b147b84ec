// File helpers for the report, free of LibTorch (tasks/run_dir.h has the same atomic
// write but links LibTorch for its version strings).
#ifndef GS_REPORTS_FILES_H_
#define GS_REPORTS_FILES_H_

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace gs::reports {

// Writes `contents` to `path` through `path`.tmp and a rename, so a reader sees the old
// file or the new one, never a part.
absl::Status WriteFileAtomic(const std::string& path, const std::string& contents);

absl::StatusOr<std::string> ReadFile(const std::string& path);

}  // namespace gs::reports

#endif  // GS_REPORTS_FILES_H_
