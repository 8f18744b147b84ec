#include "optimizers/kernels.h"

#include <cstdlib>
#include <cstring>

#include "optimizers/kernels_table.h"
#if defined(GS_CUDA_KERNELS)
#include "optimizers/cuda/kernels_cuda.h"
#endif

namespace gs {

void DepthMix::ScaleRows(const std::vector<double>& scale) {
  for (size_t l = 0; l < rows.size(); ++l) {
    for (Term& t : rows[l]) t.weight *= scale[l];
  }
}

void DepthMix::ScaleColumns(const std::vector<double>& scale) {
  for (auto& row : rows) {
    for (Term& t : row) t.weight *= scale[t.from];
  }
}

namespace kernels {
namespace {

// AVX2 where the processor has it; GS_KERNELS=baseline forces the baseline build
// (both give the same bits: see kernels_impl.inc).
const KernelTable& Table() {
  static const KernelTable& table = [] () -> const KernelTable& {
    const char* forced = std::getenv("GS_KERNELS");
    if (forced != nullptr && std::strcmp(forced, "baseline") == 0) return baseline_table();
#if defined(__x86_64__)
    if (__builtin_cpu_supports("avx2")) return avx2_table();
#endif
    return baseline_table();
  }();
  return table;
}

}  // namespace

const char* InstructionSet() { return &Table() == &baseline_table() ? "baseline" : "avx2"; }

void ApplyUpdate(at::Tensor& p, const at::Tensor& d, double lr, double wd) {
  Table().apply_update(p, d, lr, wd);
}
void ApplyMixedUpdate(const DepthMix& mix, at::Tensor& p, const at::Tensor& d, double lr,
                      double wd) {
#if defined(GS_CUDA_KERNELS)
  if (cuda::ApplyMixedUpdate(mix, p, d, lr, wd)) return;
#endif
  Table().apply_mixed_update(mix, p, d, lr, wd);
}
void Mix(const DepthMix& mix, const at::Tensor& in, at::Tensor& out) {
  Table().mix(mix, in, out);
}
std::vector<double> BlockNorms(const at::Tensor& x) { return Table().block_norms(x); }
std::vector<double> MixedBlockNorms(const DepthMix& mix, const at::Tensor& in) {
  return Table().mixed_block_norms(mix, in);
}
void AdamWDirection(const at::Tensor& g, at::Tensor& m, at::Tensor& v, at::Tensor& d,
                    const AdamWHyper& h) {
  Table().adamw_direction(g, m, v, d, h);
}
void AdamWStep(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v,
               const AdamWHyper& h, double lr, double wd) {
  Table().adamw_step(p, g, m, v, h, lr, wd);
}
void SgdDirection(const at::Tensor& p, const at::Tensor& g, at::Tensor& buf, at::Tensor& d,
                  const SgdHyper& h) {
  Table().sgd_direction(p, g, buf, d, h);
}
void SgdStep(at::Tensor& p, const at::Tensor& g, at::Tensor& buf, const SgdHyper& h,
             double lr) {
  Table().sgd_step(p, g, buf, h, lr);
}

void AdamWMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& m,
                    at::Tensor& v, const AdamWHyper& h, double lr, double wd) {
#if defined(GS_CUDA_KERNELS)
  if (cuda::AdamWMixedStep(mix, p, g, m, v, h, lr, wd)) return;
#endif
  Table().adamw_mixed_step(mix, p, g, m, v, h, lr, wd);
}
void SgdMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& buf,
                  const SgdHyper& h, double lr) {
#if defined(GS_CUDA_KERNELS)
  if (cuda::SgdMixedStep(mix, p, g, buf, h, lr)) return;
#endif
  Table().sgd_mixed_step(mix, p, g, buf, h, lr);
}

}  // namespace kernels
}  // namespace gs
