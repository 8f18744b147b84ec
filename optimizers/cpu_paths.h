// Whether CPU tensors take the suite's CPU fast paths (the fused loops of kernels.h, the
// BLAS syrk and Gram forms of Newton-Schulz, the BLAS-per-head attention) or the
// device-generic ATen paths that every other device takes. On by default;
// GS_GENERIC_PATHS=1 in the environment turns them off for a whole process (a CPU run of
// what a GPU computes), SetCpuFastPaths for tests that compare both in one process.
#ifndef GS_OPTIMIZERS_CPU_PATHS_H_
#define GS_OPTIMIZERS_CPU_PATHS_H_

namespace gs {

bool CpuFastPaths();
void SetCpuFastPaths(bool enabled);

}  // namespace gs

#endif  // GS_OPTIMIZERS_CPU_PATHS_H_
