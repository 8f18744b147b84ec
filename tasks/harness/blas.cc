#include "tasks/harness/blas.h"

#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace gs::tasks {
namespace {

// The OPENBLAS_CORETYPE to re-execute with on this processor, or "" for none.
std::string FastBlasCore() {
#if defined(__x86_64__)
  // The instruction sets OpenBLAS's SkylakeX kernels use (its own runtime check in
  // driver/others/dynamic.c asks for AVX-512F with the OS saving the zmm state, which
  // __builtin_cpu_supports reports only when it does).
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512cd") &&
      __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512dq") &&
      __builtin_cpu_supports("avx512vl")) {
    return "SkylakeX";
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "Haswell";
#endif
  return "";
}

}  // namespace

void KeepFreedMemoryForReuse() {
  // Allocations up to 32 MiB (glibc's largest heap threshold) come from the heap, and
  // the heap is trimmed only beyond 1 GiB of free memory at its top.
  mallopt(M_MMAP_THRESHOLD, 32 << 20);
  mallopt(M_TRIM_THRESHOLD, 1 << 30);
}

int BlasThreads() {
  using GetFn = int (*)();
  auto fn = reinterpret_cast<GetFn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  return fn != nullptr ? fn() : 0;
}

void SetBlasThreads(int threads) {
  using SetFn = void (*)(int);
  if (auto fn = reinterpret_cast<SetFn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(threads);
  }
}

std::string BlasCoreName() {
  using CoreNameFn = char* (*)();
  auto fn = reinterpret_cast<CoreNameFn>(dlsym(RTLD_DEFAULT, "openblas_get_corename"));
  return fn != nullptr ? std::string(fn()) : std::string("unknown");
}

void UseFastBlasKernels(char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr || std::getenv("GS_BLAS_REEXEC") != nullptr) {
    return;
  }
  const std::string core = BlasCoreName();
  const bool generic = core == "Prescott" || core == "Core2" || core == "Nehalem" ||
                       core == "Katmai" || core == "Coppermine" || core == "Northwood";
  const std::string fast = FastBlasCore();
  if (generic && !fast.empty()) {
    setenv("OPENBLAS_CORETYPE", fast.c_str(), 1);
    setenv("GS_BLAS_REEXEC", "1", 1);  // never loop
    execv("/proc/self/exe", argv);
    // execv failed: carry on with the generic kernels.
  }
}

}  // namespace gs::tasks
