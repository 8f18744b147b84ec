// Durations as progress lines print them. Free of LibTorch.
#ifndef GS_TASKS_HARNESS_DURATION_H_
#define GS_TASKS_HARNESS_DURATION_H_

#include <string>

namespace gs::tasks {

// `seconds` rounded and written "42s", "3m07s" or "2h05m"; negative values read "0s".
std::string FormatDuration(double seconds);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_DURATION_H_
