#include "optimizers/newton_schulz.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <cstring>
#include <utility>
#include <vector>

#include "optimizers/blas_routines.h"
#include "optimizers/cpu_paths.h"

namespace gs {
namespace {

// Row-major helpers over contiguous matrices.
template <typename T>
struct Square {
  int r;  // rows = columns
  T* data;
  T& at(int i, int j) const { return data[static_cast<int64_t>(i) * r + j]; }
};

// Copies the lower triangle onto the upper one, in tiles that stay in L1.
template <typename T>
void MirrorLower(const Square<T>& c) {
  constexpr int kTile = 32;
  for (int i0 = 0; i0 < c.r; i0 += kTile) {
    for (int j0 = i0; j0 < c.r; j0 += kTile) {
      for (int i = i0; i < std::min(i0 + kTile, c.r); ++i) {
        for (int j = std::max(j0, i + 1); j < std::min(j0 + kTile, c.r); ++j) {
          c.at(i, j) = c.at(j, i);
        }
      }
    }
  }
}

// C (r x r) = X X^T for X (r x k): syrk fills the lower triangle, then mirror it.
template <typename T>
void Gram(int r, int k, const T* x, const Square<T>& c) {
  blas::SyrkLower(r, k, x, c.data);
  MirrorLower(c);
}

// C = A B, row-major and contiguous.
template <typename T>
void Product(int r, int k, int cols, const T* a, const T* b, T* c) {
  blas::Gemm(false, false, r, cols, k, T(1), a, k, b, cols, T(0), c, cols);
}

// B = a I + b A + c A2 (a_diag 0 leaves out the identity), elementwise.
template <typename T>
void Polynomial(const Square<T>& a, const Square<T>& a2, double a_diag, const Square<T>& out) {
  const int64_t n = static_cast<int64_t>(a.r) * a.r;
  const T b = static_cast<T>(kNewtonSchulzB), c = static_cast<T>(kNewtonSchulzC);
  for (int64_t i = 0; i < n; ++i) out.data[i] = b * a.data[i] + c * a2.data[i];
  if (a_diag != 0) {
    for (int i = 0; i < a.r; ++i) out.at(i, i) += static_cast<T>(a_diag);
  }
}

// One matrix x (r x k, r <= k, normalised) through `steps` iterations, in place; y is
// r x k scratch, s holds five r x r buffers.
template <typename T>
void IterateOne(int r, int k, int64_t steps, T* x, T* y, T* s) {
  const int64_t sq = static_cast<int64_t>(r) * r;
  Square<T> a{r, s}, a2{r, s + sq}, b{r, s + 2 * sq}, q{r, s + 3 * sq}, t{r, s + 4 * sq};
  const int64_t bytes = static_cast<int64_t>(r) * k * sizeof(T);
  if (k < 2 * r) {
    // X = a X + (b A + c A^2) X with A = X X^T.
    for (int64_t i = 0; i < steps; ++i) {
      Gram(r, k, x, a);
      Gram(r, r, a.data, a2);
      Polynomial(a, a2, 0.0, b);
      std::memcpy(y, x, bytes);
      blas::Gemm(false, false, r, k, r, T(1), b.data, r, x, k, static_cast<T>(kNewtonSchulzA),
                 y, k);
      std::swap(x, y);
    }
    if (steps % 2 == 1) std::memcpy(y, x, bytes);  // the result back in the caller's x
    return;
  }
  // Gram form: B_i = a I + b A_i + c A_i^2, Q = B_{steps-1} ... B_0, A_{i+1} = A_i B_i^2,
  // and X = Q X_0 at the end: r x r products only, and two passes over X_0.
  Gram(r, k, x, a);
  for (int64_t i = 0; i < steps; ++i) {
    Gram(r, r, a.data, a2);
    Polynomial(a, a2, kNewtonSchulzA, b);
    if (i == 0) {
      std::memcpy(q.data, b.data, sq * sizeof(T));
    } else {
      Product(r, r, r, b.data, q.data, t.data);
      std::swap(q, t);
    }
    if (i + 1 == steps) break;
    Gram(r, r, b.data, a2);  // B^2 (B is symmetric)
    Product(r, r, r, a.data, a2.data, t.data);
    // A B^2 is symmetric in exact arithmetic; keep A exactly so (syrk reads all of it).
    for (int u = 0; u < r; ++u) {
      for (int v = 0; v <= u; ++v) a.at(u, v) = a.at(v, u) = (t.at(u, v) + t.at(v, u)) / 2;
    }
  }
  Product(r, r, k, q.data, x, y);
  std::memcpy(x, y, bytes);
}

template <typename T>
void IterateAll(at::Tensor& x, at::Tensor& y, at::Tensor& scratch, int64_t steps) {
  const int64_t count = x.size(0);
  const int r = static_cast<int>(x.size(1)), k = static_cast<int>(x.size(2));
  for (int64_t l = 0; l < count; ++l) {
    IterateOne<T>(r, k, steps, x.data_ptr<T>() + l * r * k, y.data_ptr<T>(),
                  scratch.data_ptr<T>());
  }
}

struct Prepared {
  at::Tensor in;  // [count, rows <= cols], possibly a transposed view of g
  bool batched, transpose;
  at::ScalarType type;
};

Prepared Prepare(const at::Tensor& g) {
  TORCH_CHECK(g.dim() == 2 || g.dim() == 3, "NewtonSchulz: expected [m, n] or [B, m, n]");
  Prepared p;
  p.batched = g.dim() == 3;
  p.in = p.batched ? g : g.unsqueeze(0);
  p.transpose = p.in.size(1) > p.in.size(2);
  if (p.transpose) p.in = p.in.transpose(1, 2);
  p.type = g.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  return p;
}

void Ensure(at::Tensor& t, std::vector<int64_t> shape, const at::TensorOptions& options) {
  if (!t.defined() || t.sizes() != at::IntArrayRef(shape) ||
      t.scalar_type() != options.dtype().toScalarType() || t.device() != options.device()) {
    t = at::empty(shape, options);
  }
}

// ws.x = in / (||in||_F + 1e-7), per matrix.
void Normalise(const Prepared& p, NewtonSchulzWorkspace& ws, const at::TensorOptions& options) {
  Ensure(ws.x, p.in.sizes().vec(), options);
  ws.x.copy_(p.in);
  at::Tensor norms = ws.x.flatten(1).norm(2, {1}).view({-1, 1, 1});
  ws.x.div_(norms.add_(1e-7));
}

at::Tensor Finish(const Prepared& p, const at::Tensor& result, bool owned) {
  at::Tensor x = p.transpose ? result.transpose(1, 2) : result;
  if (!owned) x = x.clone(at::MemoryFormat::Contiguous);
  return p.batched ? x : x.squeeze(0);
}

// Buffers of one group of matrices on a CPU: about the size of a core's L2 cache.
constexpr int64_t kCpuCacheBytes = 1 << 20;

}  // namespace

at::Tensor NewtonSchulz(const at::Tensor& g, int64_t steps, NewtonSchulzWorkspace* workspace) {
  if (!g.is_cpu() || !CpuFastPaths()) return NewtonSchulzPlain(g, steps, workspace);
  const Prepared p = Prepare(g);
  NewtonSchulzWorkspace local;
  NewtonSchulzWorkspace& ws = workspace != nullptr ? *workspace : local;
  const auto options = g.options().dtype(p.type);
  Normalise(p, ws, options);
  const int64_t rows = p.in.size(1), cols = p.in.size(2);
  Ensure(ws.y, {rows, cols}, options);
  Ensure(ws.a, {5, rows, rows}, options);
  if (p.type == at::kDouble) {
    IterateAll<double>(ws.x, ws.y, ws.a, steps);
  } else {
    IterateAll<float>(ws.x, ws.y, ws.a, steps);
  }
  return Finish(p, ws.x, workspace != nullptr);
}

at::Tensor NewtonSchulzPlain(const at::Tensor& g, int64_t steps,
                             NewtonSchulzWorkspace* workspace) {
  const Prepared p = Prepare(g);
  NewtonSchulzWorkspace local;
  NewtonSchulzWorkspace& ws = workspace != nullptr ? *workspace : local;
  const auto options = g.options().dtype(p.type);
  Normalise(p, ws, options);
  const int64_t count = p.in.size(0), rows = p.in.size(1), cols = p.in.size(2);
  Ensure(ws.y, {count, rows, cols}, options);
  Ensure(ws.a, {count, rows, rows}, options);
  Ensure(ws.b, {count, rows, rows}, options);
  // On a CPU, iterate a group of matrices whose buffers fit in L2 through all steps
  // before the next group; on a GPU (and on the generic path), the whole batch at once.
  const int64_t per_matrix = (2 * rows * cols + 2 * rows * rows) * ws.x.element_size();
  const int64_t group = g.is_cpu() && CpuFastPaths()
                            ? std::max<int64_t>(1, std::min(count, kCpuCacheBytes / per_matrix))
                            : count;
  for (int64_t first = 0; first < count; first += group) {
    const int64_t size = std::min(group, count - first);
    at::Tensor x = ws.x.narrow(0, first, size), y = ws.y.narrow(0, first, size);
    at::Tensor a = ws.a.narrow(0, first, size), b = ws.b.narrow(0, first, size);
    for (int64_t i = 0; i < steps; ++i) {
      at::bmm_out(a, x, x.transpose(1, 2));
      at::baddbmm_out(b, a, a, a, /*beta=*/kNewtonSchulzB, /*alpha=*/kNewtonSchulzC);
      at::baddbmm_out(y, x, b, x, /*beta=*/kNewtonSchulzA, /*alpha=*/1.0);
      std::swap(x, y);
    }
  }
  // After an odd number of steps every group's result sits in y's buffer.
  if (steps % 2 == 1) std::swap(ws.x, ws.y);
  return Finish(p, ws.x, workspace != nullptr);
}

}  // namespace gs
