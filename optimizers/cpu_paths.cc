#include "optimizers/cpu_paths.h"

#include <atomic>
#include <cstdlib>
#include <cstring>

namespace gs {
namespace {

std::atomic<bool>& Enabled() {
  static std::atomic<bool> enabled([] {
    const char* generic = std::getenv("GS_GENERIC_PATHS");
    return generic == nullptr || std::strcmp(generic, "1") != 0;
  }());
  return enabled;
}

}  // namespace

bool CpuFastPaths() { return Enabled().load(std::memory_order_relaxed); }
void SetCpuFastPaths(bool enabled) { Enabled().store(enabled, std::memory_order_relaxed); }

}  // namespace gs
