// The kernels of kernels.h as a table of function pointers, one table per instruction
// set the library is compiled for (kernels_baseline.cc, kernels_avx2.cc).
#ifndef GS_OPTIMIZERS_KERNELS_TABLE_H_
#define GS_OPTIMIZERS_KERNELS_TABLE_H_

#include "optimizers/kernels.h"

#define GS_KERNELS_CONCAT_INNER_(a, b) a##b
#define GS_KERNELS_CONCAT_(a, b) GS_KERNELS_CONCAT_INNER_(a, b)

namespace gs::kernels {

struct KernelTable {
  decltype(&ApplyUpdate) apply_update;
  decltype(&ApplyMixedUpdate) apply_mixed_update;
  decltype(&Mix) mix;
  decltype(&BlockNorms) block_norms;
  decltype(&MixedBlockNorms) mixed_block_norms;
  decltype(&AdamWDirection) adamw_direction;
  decltype(&AdamWStep) adamw_step;
  decltype(&SgdDirection) sgd_direction;
  decltype(&SgdStep) sgd_step;
  decltype(&AdamWMixedStep) adamw_mixed_step;
  decltype(&SgdMixedStep) sgd_mixed_step;
};

const KernelTable& baseline_table();  // x86-64 baseline (SSE2)
const KernelTable& avx2_table();      // AVX2

}  // namespace gs::kernels

#endif  // GS_OPTIMIZERS_KERNELS_TABLE_H_
