#include "optimizers/newton_schulz.h"

#include <ATen/ATen.h>

#include <algorithm>
#include <utility>
#include <vector>

namespace gs {
namespace {

// Buffers of one group of matrices on a CPU: about the size of a core's L2 cache.
constexpr int64_t kCpuCacheBytes = 1 << 20;

}  // namespace

at::Tensor NewtonSchulz(const at::Tensor& g, int64_t steps, NewtonSchulzWorkspace* workspace) {
  TORCH_CHECK(g.dim() == 2 || g.dim() == 3, "NewtonSchulz: expected [m, n] or [B, m, n]");
  const bool batched = g.dim() == 3;
  at::Tensor in = batched ? g : g.unsqueeze(0);
  const bool transpose = in.size(1) > in.size(2);
  if (transpose) in = in.transpose(1, 2);
  const at::ScalarType type = g.scalar_type() == at::kDouble ? at::kDouble : at::kFloat;
  const int64_t count = in.size(0), rows = in.size(1), cols = in.size(2);
  NewtonSchulzWorkspace local;
  NewtonSchulzWorkspace& ws = workspace != nullptr ? *workspace : local;
  const auto options = g.options().dtype(type);
  auto ensure = [&](at::Tensor& t, std::vector<int64_t> shape) {
    if (!t.defined() || t.sizes() != at::IntArrayRef(shape) || t.scalar_type() != type ||
        t.device() != g.device()) {
      t = at::empty(shape, options);
    }
  };
  ensure(ws.x, {count, rows, cols});
  ensure(ws.y, {count, rows, cols});
  ensure(ws.a, {count, rows, rows});
  ensure(ws.b, {count, rows, rows});
  ws.x.copy_(in);
  at::Tensor norms = ws.x.flatten(1).norm(2, {1}).view({-1, 1, 1});
  ws.x.div_(norms.add_(1e-7));
  // On a CPU, iterate a group of matrices whose buffers fit in L2 through all steps
  // before the next group: the same operations, without sweeping the whole stack
  // through memory on every matmul. On a GPU, the whole batch at once.
  const int64_t per_matrix = (2 * rows * cols + 2 * rows * rows) * ws.x.element_size();
  const int64_t group =
      g.is_cpu() ? std::max<int64_t>(1, std::min(count, kCpuCacheBytes / per_matrix)) : count;
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
  at::Tensor x = transpose ? ws.x.transpose(1, 2) : ws.x;
  if (workspace == nullptr) x = x.clone(at::MemoryFormat::Contiguous);
  return batched ? x : x.squeeze(0);
}

}  // namespace gs
