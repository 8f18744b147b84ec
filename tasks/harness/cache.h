// Files computed once and shared by every run that needs them: a trained feature
// classifier, a supervised starting model. Each sits in the cache directory with a CRC-32
// manifest next to it; a missing or corrupt file is rebuilt, and an flock makes concurrent
// runs (a suite's parallel jobs) build it once.
#ifndef GS_TASKS_HARNESS_CACHE_H_
#define GS_TASKS_HARNESS_CACHE_H_

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace gs::tasks {

// The bytes of `cache_dir`/`name` (`name` may contain '/'), built by `build` when
// missing or corrupt and then written atomically with its manifest `name`.json. `warn`
// hears about a corrupt file being rebuilt.
absl::StatusOr<std::string> CachedBytes(
    const std::string& cache_dir, const std::string& name,
    const std::function<absl::StatusOr<std::string>()>& build,
    const std::function<void(const std::string&)>& warn);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_CACHE_H_
