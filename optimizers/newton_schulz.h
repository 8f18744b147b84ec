// Muon's Newton-Schulz iteration (Keller Jordan's reference muon.py): the quintic with
// coefficients (3.4445, -4.7750, 2.0315) maps G to an approximation of its orthogonal
// polar factor (singular values land in about [0.5, 1.5]).
#ifndef GS_OPTIMIZERS_NEWTON_SCHULZ_H_
#define GS_OPTIMIZERS_NEWTON_SCHULZ_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace gs {

inline constexpr double kNewtonSchulzA = 3.4445;
inline constexpr double kNewtonSchulzB = -4.7750;
inline constexpr double kNewtonSchulzC = 2.0315;

// Buffers Newton-Schulz reuses across calls of one shape: large temporaries would
// otherwise be mapped and faulted in afresh on every step.
struct NewtonSchulzWorkspace {
  at::Tensor x, y, a, b;
};

// For g of shape [m, n] or [B, m, n] (each matrix on its own, batched matmuls): if
// m > n work on the transpose; X = G / (||G||_F + 1e-7); `steps` times
// A = X X^T, B = b A + c A A, X = a X + B X; transpose back. Computes in float32, or in
// double for double input. With a workspace the result is a view of its buffers,
// valid until the next call with that workspace.
at::Tensor NewtonSchulz(const at::Tensor& g, int64_t steps = 5,
                        NewtonSchulzWorkspace* workspace = nullptr);

}  // namespace gs

#endif  // GS_OPTIMIZERS_NEWTON_SCHULZ_H_
