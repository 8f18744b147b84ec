#include "optimizers/newton_schulz.h"

#include <ATen/ATen.h>

namespace gs {

at::Tensor NewtonSchulz(const at::Tensor& g, int64_t steps) {
  TORCH_CHECK(g.dim() == 2 || g.dim() == 3, "NewtonSchulz: expected [m, n] or [B, m, n]");
  const bool batched = g.dim() == 3;
  at::Tensor x = batched ? g : g.unsqueeze(0);
  x = x.scalar_type() == at::kDouble ? x.clone() : x.to(at::kFloat);
  const bool transpose = x.size(1) > x.size(2);
  if (transpose) x = x.transpose(1, 2);
  x = x.contiguous();
  at::Tensor norms = x.flatten(1).norm(2, {1}).view({-1, 1, 1});
  x.div_(norms.add_(1e-7));
  for (int64_t i = 0; i < steps; ++i) {
    at::Tensor a = at::bmm(x, x.transpose(1, 2));
    at::Tensor b = at::baddbmm(a, a, a, /*beta=*/kNewtonSchulzB, /*alpha=*/kNewtonSchulzC);
    x = at::baddbmm(x, b, x, /*beta=*/kNewtonSchulzA, /*alpha=*/1.0);
  }
  if (transpose) x = x.transpose(1, 2);
  return batched ? x : x.squeeze(0);
}

}  // namespace gs
