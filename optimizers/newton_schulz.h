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

// For g of shape [m, n] or [B, m, n] (each matrix on its own): if m > n work on the
// transpose; X = G / (||G||_F + 1e-7); `steps` times A = X X^T, B = b A + c A A,
// X = a X + B X; transpose back. Computes in float32, or in double for double input.
// With a workspace the result is a view of its buffers, valid until the next call with
// that workspace.
//
// On a CPU the products are evaluated with the system BLAS's symmetric routines (X X^T
// and A A are symmetric: syrk does half a general product's work). For wide matrices
// (n >= 2m after the transpose) the iteration runs on m x m matrices alone: every B_k
// is a polynomial in G G^T, so X_k = Q_k X_0 with Q_{k+1} = B_k Q_k and
// A_{k+1} = A_k B_k^2 (Gram Newton-Schulz), and X_0 is multiplied once at the end. Both
// are the same iteration in exact arithmetic; results agree with NewtonSchulzPlain to
// rounding (see tests/optimizers/muon_test.cc). On other devices, and on the CPU with
// its fast paths off (cpu_paths.h), NewtonSchulzPlain over the whole batch at once.
at::Tensor NewtonSchulz(const at::Tensor& g, int64_t steps = 5,
                        NewtonSchulzWorkspace* workspace = nullptr);

// The same iteration as muon.py writes it: three general (batched) matmuls per step.
at::Tensor NewtonSchulzPlain(const at::Tensor& g, int64_t steps = 5,
                             NewtonSchulzWorkspace* workspace = nullptr);

}  // namespace gs

#endif  // GS_OPTIMIZERS_NEWTON_SCHULZ_H_
