// The fused CUDA kernels (launch.h) for CUDA tensors: what kernels.cc calls first in a
// --config=cuda build. Each returns false, doing nothing, where the kernels do not apply
// (not CUDA, not contiguous, not float or double, a mix reaching further than
// kMaxReach); the caller then takes the ATen path.
#ifndef GS_OPTIMIZERS_CUDA_KERNELS_CUDA_H_
#define GS_OPTIMIZERS_CUDA_KERNELS_CUDA_H_

#include <ATen/core/Tensor.h>

#include "optimizers/depth_mix.h"
#include "optimizers/elementwise.h"

namespace gs::kernels::cuda {

bool AdamWMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& m,
                    at::Tensor& v, const AdamWHyper& h, double lr, double wd);

bool SgdMixedStep(const DepthMix& mix, at::Tensor& p, const at::Tensor& g, at::Tensor& buf,
                  const SgdHyper& h, double lr);

bool ApplyMixedUpdate(const DepthMix& mix, at::Tensor& p, const at::Tensor& d, double lr,
                      double wd);

}  // namespace gs::kernels::cuda

#endif  // GS_OPTIMIZERS_CUDA_KERNELS_CUDA_H_
