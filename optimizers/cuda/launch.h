// Launchers of the fused CUDA kernels (kernels.cu, compiled by nvcc): the smoothed
// AdamW and SGD steps over a depth stack and the mixed update with any depth mix (the
// data-dependent variants' step). Torch-free: LibTorch-facing code (kernels_cuda.cc)
// passes raw device pointers of contiguous [L, n] stacks.
//
// Each element is computed by elementwise.h's functions in the order the CPU's fused
// loops use (kernels_impl.inc): direction of block s, then the update of block
// s - reach with the terms of its mix row in increasing j, so with nvcc's -fmad=false
// a GPU step gives the CPU's bits.
#ifndef GS_OPTIMIZERS_CUDA_LAUNCH_H_
#define GS_OPTIMIZERS_CUDA_LAUNCH_H_

#include <cstdint>

#include "optimizers/elementwise.h"

namespace gs::kernels::cuda {

// The longest mix a kernel takes: blocks reach at most this far along depth (a window
// radius up to 16).
inline constexpr int kMaxReach = 16;

// A depth mix in device memory, by rows: row l's terms are from[start[l] .. start[l+1])
// with weights weight[...], in increasing j.
template <typename T>
struct DeviceMix {
  const int32_t* start;  // depth + 1 entries
  const int32_t* from;
  const T* weight;
  int32_t depth;
  int32_t reach;  // max |j - l| over all terms, at most kMaxReach
};

// Launches on the default stream (LibTorch's current stream unless a caller changed
// it) and returns null, or the CUDA error's text. `columns` is the elements per block;
// the operands point at block 0 of contiguous stacks, their d null.
template <typename T>
const char* AdamWMixedStep(const DeviceMix<T>& mix, const AdamWOperands<T>& stack,
                           const AdamWConstants<T>& c, T decay, T step, int64_t columns);

template <typename T>
const char* SgdMixedStep(const DeviceMix<T>& mix, const SgdOperands<T>& stack,
                         const SgdHyper& h, T step, int64_t columns);

// p_l <- Update(p_l, sum_j w_lj d_j, decay, step).
template <typename T>
const char* MixedUpdate(const DeviceMix<T>& mix, T* p, const T* d, T decay, T step,
                        int64_t columns);

// Null when a CUDA device can be used, else why not ("no CUDA-capable device is
// detected", ...).
const char* DeviceProblem();

// Device memory for torch-free callers (tests, checks); each returns null or the CUDA
// error's text. Synchronous.
const char* Allocate(void** ptr, int64_t bytes);
const char* CopyToDevice(void* dst, const void* src, int64_t bytes);
const char* CopyToHost(void* dst, const void* src, int64_t bytes);
void Free(void* ptr);

}  // namespace gs::kernels::cuda

#endif  // GS_OPTIMIZERS_CUDA_LAUNCH_H_
