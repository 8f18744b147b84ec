// Fused element-wise loops over contiguous tensors: one pass over memory per call.
// CPU float and double tensors take hand-written loops; other devices take the same
// formulas as ATen operations. Every entry point computes each element with the same
// expression in the same order as the others, so a fused path and its unfused
// counterpart give the same bits.
#ifndef GS_OPTIMIZERS_KERNELS_H_
#define GS_OPTIMIZERS_KERNELS_H_

#include <vector>

#include <ATen/core/Tensor.h>

#include "optimizers/depth_mix.h"
#include "optimizers/elementwise.h"

namespace gs::kernels {

// "avx2" or "baseline": the build of these loops in use (GS_KERNELS=baseline forces it).
const char* InstructionSet();

// p <- p * (1 - lr * wd) - lr * d.
void ApplyUpdate(at::Tensor& p, const at::Tensor& d, double lr, double wd);

// For [L, ...] tensors: p_l <- p_l * (1 - lr * wd) - lr * sum_j w_lj d_j. The mix's rows
// are p's blocks and its columns d's, so d may hold a different number of blocks (a
// shard's rows reading a halo of neighbour blocks).
void ApplyMixedUpdate(const DepthMix& mix, at::Tensor& p, const at::Tensor& d, double lr,
                      double wd);

// For [L, ...] tensors: out_l <- sum_j w_lj in_j. `out` must not alias `in`; as for
// ApplyMixedUpdate, rows are out's blocks and columns in's.
void Mix(const DepthMix& mix, const at::Tensor& in, at::Tensor& out);

// Frobenius norm of each block x_l of an [L, ...] tensor, accumulated in double.
std::vector<double> BlockNorms(const at::Tensor& x);

// Frobenius norms of the blocks of Mix(mix, in), without materialising it.
std::vector<double> MixedBlockNorms(const DepthMix& mix, const at::Tensor& in);

// AdamWHyper and SgdHyper: elementwise.h.

// m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2;
// d <- (m / bc1) / (sqrt(v / bc2) + eps), computed as
//      (m * (1 / bc1)) / (sqrt(v) * (1 / sqrt(bc2)) + eps).
void AdamWDirection(const at::Tensor& g, at::Tensor& m, at::Tensor& v, at::Tensor& d,
                    const AdamWHyper& h);

// AdamWDirection and ApplyUpdate in one pass, without writing d.
void AdamWStep(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v,
               const AdamWHyper& h, double lr, double wd);

// g' = g + wd p;  buf <- first ? g' : momentum buf + (1 - dampening) g';
// d = nesterov ? g' + momentum buf : buf   (d = g' when momentum is 0).
void SgdDirection(const at::Tensor& p, const at::Tensor& g, at::Tensor& buf, at::Tensor& d,
                  const SgdHyper& h);

// SgdDirection and ApplyUpdate (no decoupled decay) in one pass, without writing d.
void SgdStep(at::Tensor& p, const at::Tensor& g, at::Tensor& buf, const SgdHyper& h,
             double lr);

// For [L, ...] stacks: the AdamW direction D, then
// p_l <- p_l * (1 - lr * wd) - lr * sum_j w_lj D_j, in one pass over memory (D never
// leaves the cache). Same bits as AdamWDirection followed by ApplyMixedUpdate.
void AdamWMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& m,
                    at::Tensor& v, const AdamWHyper& h, double lr, double wd);

// The same for SGD (no decoupled decay).
void SgdMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& buf,
                  const SgdHyper& h, double lr);

}  // namespace gs::kernels

#endif  // GS_OPTIMIZERS_KERNELS_H_
