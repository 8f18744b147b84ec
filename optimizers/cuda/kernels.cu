// The fused CUDA kernels of launch.h: one thread per column of a depth stack walks the
// blocks in order, as the CPU's MixedStepChunks walks a chunk (kernels_impl.inc): the
// direction of block s goes into a ring of 2 * reach + 1 values, and block s - reach is
// updated as soon as the last direction it mixes is there. Consecutive threads read
// consecutive columns: every load and store is coalesced.
#include <cuda_runtime.h>

#include "optimizers/cuda/launch.h"
#include "optimizers/elementwise.h"

namespace gs::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr int kRing = 2 * kMaxReach + 1;

// The AdamW direction of element i (m, v updated).
template <typename T>
struct AdamWDirection {
  AdamWOperands<T> o;
  AdamWConstants<T> c;
  __device__ T operator()(int64_t i) const { return AdamWElement(c, o.g[i], o.m[i], o.v[i]); }
};

// The SGD direction of element i (buf updated), reading p before its update.
template <typename T, bool kMomentum, bool kNesterov, bool kFirst>
struct SgdDirection {
  SgdOperands<T> o;
  SgdConstants<T> c;
  __device__ T operator()(int64_t i) const {
    return SgdElement<T, kMomentum, kNesterov, kFirst>(c, o.p[i], o.g[i],
                                                       kMomentum ? o.buf + i : nullptr);
  }
};

// A given direction (the data-dependent variants mix a materialised D).
template <typename T>
struct GivenDirection {
  const T* d;
  __device__ T operator()(int64_t i) const { return d[i]; }
};

template <typename T, typename Direction>
__global__ void MixedStepKernel(DeviceMix<T> mix, Direction direction, T* p, T decay, T step,
                                int64_t n) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= n) return;
  const int reach = mix.reach, ring = min(2 * reach + 1, mix.depth);
  T values[kRing];
  for (int s = 0; s < mix.depth + reach; ++s) {
    if (s < mix.depth) values[s % ring] = direction(s * n + c);
    const int l = s - reach;
    if (l < 0) continue;
    const int first = mix.start[l], last = mix.start[l + 1];
    T& out = p[l * n + c];
    if (first == last) {
      out = out * decay;  // as the CPU's zero-term row
      continue;
    }
    T sum = mix.weight[first] * values[mix.from[first] % ring];
    for (int k = first + 1; k < last; ++k) sum = MixAdd(sum, mix.weight[k], values[mix.from[k] % ring]);
    out = Update(out, sum, decay, step);
  }
}

template <typename T, typename Direction>
const char* Launch(const DeviceMix<T>& mix, const Direction& direction, T* p, T decay, T step,
                   int64_t n) {
  if (mix.reach > kMaxReach || mix.reach < 0) return "depth mix reaches further than kMaxReach";
  if (n == 0 || mix.depth == 0) return nullptr;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  MixedStepKernel<T><<<static_cast<unsigned>(blocks), kThreads>>>(mix, direction, p, decay, step, n);
  const cudaError_t error = cudaGetLastError();
  return error == cudaSuccess ? nullptr : cudaGetErrorString(error);
}

}  // namespace

template <typename T>
const char* AdamWMixedStep(const DeviceMix<T>& mix, const AdamWOperands<T>& stack,
                           const AdamWConstants<T>& c, T decay, T step, int64_t columns) {
  return Launch(mix, AdamWDirection<T>{stack, c}, stack.p, decay, step, columns);
}

template <typename T>
const char* SgdMixedStep(const DeviceMix<T>& mix, const SgdOperands<T>& stack,
                         const SgdHyper& h, T step, int64_t columns) {
  const SgdConstants<T> c = MakeSgdConstants<T>(h);
  const T one = static_cast<T>(1.0);
  // The switches as template arguments, as the CPU's WithSgdKernel chooses them.
  if (h.momentum == 0.0) {
    return Launch(mix, SgdDirection<T, false, false, false>{stack, c}, stack.p, one, step, columns);
  }
  if (h.nesterov) {
    return h.first_step
               ? Launch(mix, SgdDirection<T, true, true, true>{stack, c}, stack.p, one, step, columns)
               : Launch(mix, SgdDirection<T, true, true, false>{stack, c}, stack.p, one, step, columns);
  }
  return h.first_step
             ? Launch(mix, SgdDirection<T, true, false, true>{stack, c}, stack.p, one, step, columns)
             : Launch(mix, SgdDirection<T, true, false, false>{stack, c}, stack.p, one, step, columns);
}

template <typename T>
const char* MixedUpdate(const DeviceMix<T>& mix, T* p, const T* d, T decay, T step,
                        int64_t columns) {
  return Launch(mix, GivenDirection<T>{d}, p, decay, step, columns);
}

const char* DeviceProblem() {
  int count = 0;
  const cudaError_t error = cudaGetDeviceCount(&count);
  if (error != cudaSuccess) return cudaGetErrorString(error);
  return count > 0 ? nullptr : "no CUDA device";
}

namespace {
const char* Text(cudaError_t error) { return error == cudaSuccess ? nullptr : cudaGetErrorString(error); }
}  // namespace

const char* Allocate(void** ptr, int64_t bytes) { return Text(cudaMalloc(ptr, bytes)); }
const char* CopyToDevice(void* dst, const void* src, int64_t bytes) {
  return Text(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}
const char* CopyToHost(void* dst, const void* src, int64_t bytes) {
  return Text(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}
void Free(void* ptr) { cudaFree(ptr); }

#define GS_INSTANTIATE(T)                                                                   \
  template const char* AdamWMixedStep<T>(const DeviceMix<T>&, const AdamWOperands<T>&,     \
                                         const AdamWConstants<T>&, T, T, int64_t);         \
  template const char* SgdMixedStep<T>(const DeviceMix<T>&, const SgdOperands<T>&,         \
                                       const SgdHyper&, T, int64_t);                        \
  template const char* MixedUpdate<T>(const DeviceMix<T>&, T*, const T*, T, T, int64_t);
GS_INSTANTIATE(float)
GS_INSTANTIATE(double)
#undef GS_INSTANTIATE

}  // namespace gs::kernels::cuda
