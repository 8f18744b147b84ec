#include "tasks/harness/workspace.h"

#include <cstdlib>
#include <filesystem>

namespace gs::tasks {

std::string UserWorkspace() {
  const char* dir = std::getenv("BUILD_WORKSPACE_DIRECTORY");
  return dir != nullptr ? std::string(dir) : std::filesystem::current_path().string();
}

std::string InWorkspace(const std::string& path) {
  std::filesystem::path p(path);
  if (p.is_relative()) p = std::filesystem::path(UserWorkspace()) / p;
  return p.lexically_normal().string();
}

}  // namespace gs::tasks
