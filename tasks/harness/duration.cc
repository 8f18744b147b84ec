#include "tasks/harness/duration.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/str_format.h"

namespace gs::tasks {

std::string FormatDuration(double seconds) {
  const long s = std::lround(std::max(0.0, seconds));
  if (s >= 3600) return absl::StrFormat("%dh%02dm", s / 3600, s / 60 % 60);
  if (s >= 60) return absl::StrFormat("%dm%02ds", s / 60, s % 60);
  return absl::StrFormat("%ds", s);
}

}  // namespace gs::tasks
