// OpenBLAS picks its kernels by processor model when it loads. 0.3.21 (Debian 12) does
// not know recent Xeons and falls back to its generic Prescott kernels, 3-4x slower at
// every matmul. Where the environment leaves OPENBLAS_CORETYPE unset and that fallback
// happened, the process re-executes itself with the fastest kernels the processor can
// run: SkylakeX with AVX-512 (1.6x Haswell's at our GEMM shapes), Haswell with AVX2 and
// FMA. An OPENBLAS_CORETYPE the environment sets is always kept.
#ifndef GS_TASKS_HARNESS_BLAS_H_
#define GS_TASKS_HARNESS_BLAS_H_

#include <string>

namespace gs::tasks {

// Call first thing in main(); returns only if no re-execution was needed or possible.
void UseFastBlasKernels(char** argv);

// Keeps memory glibc's malloc gets back from freed tensors for reuse instead of returning
// it to the kernel: a training step frees and reallocates the same multi-megabyte
// temporaries every step, and unmapping them costs a page fault per 4 KiB on the next.
void KeepFreedMemoryForReuse();

// OpenBLAS's own thread pool (LibTorch's at::set_num_threads does not reach it; a BLAS
// that is not OpenBLAS is left alone): its size, or 0 where unknown, and setting it.
int BlasThreads();
void SetBlasThreads(int threads);

// The kernel family OpenBLAS runs ("Haswell", "Prescott", ...), or "unknown".
std::string BlasCoreName();

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_BLAS_H_
