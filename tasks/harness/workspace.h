// The user's workspace: where relative paths given on a command line resolve, for the
// task binaries and the suite alike. Free of LibTorch.
#ifndef GS_TASKS_HARNESS_WORKSPACE_H_
#define GS_TASKS_HARNESS_WORKSPACE_H_

#include <string>

namespace gs::tasks {

// BUILD_WORKSPACE_DIRECTORY under `bazel run`, else the current directory.
std::string UserWorkspace();

// `path` if absolute, else under UserWorkspace().
std::string InWorkspace(const std::string& path);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_WORKSPACE_H_
