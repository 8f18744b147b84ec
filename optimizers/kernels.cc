#include "optimizers/kernels.h"

#include <algorithm>
#include <cmath>

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

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

constexpr int64_t kGrain = 1 << 15;      // elements per parallel task
constexpr int64_t kChunk = 512;          // columns mixed at a time (fits L1 per row)

bool Fast(const at::Tensor& t) {
  return t.is_cpu() && t.is_contiguous() &&
         (t.scalar_type() == at::kFloat || t.scalar_type() == at::kDouble);
}

void CheckSame(const at::Tensor& a, const at::Tensor& b, const char* what) {
  TORCH_CHECK(a.sizes() == b.sizes() && a.scalar_type() == b.scalar_type() &&
                  a.device() == b.device(),
              what, ": tensors differ in shape, dtype or device");
}

// Columns per block: the stride of dim 0 of a contiguous [L, ...] tensor.
int64_t Columns(const at::Tensor& t) { return t.dim() == 0 ? 1 : t.numel() / t.size(0); }

template <typename T>
struct TypedMix {
  struct Term {
    int64_t from;
    T weight;
  };
  std::vector<std::vector<Term>> rows;
  explicit TypedMix(const DepthMix& mix) : rows(mix.rows.size()) {
    for (size_t l = 0; l < mix.rows.size(); ++l) {
      for (const DepthMix::Term& t : mix.rows[l]) {
        rows[l].push_back({t.from, static_cast<T>(t.weight)});
      }
    }
  }
};

// Calls consume(l, c0, c1, acc) with acc[c - c0] = sum_j w_lj in[j][c] for each block l
// and each chunk [c0, c1) of columns; chunks run in parallel.
template <typename T, typename Consume>
void ForEachMixedChunk(const TypedMix<T>& mix, const T* in, int64_t n, Consume consume) {
  const int64_t depth = static_cast<int64_t>(mix.rows.size());
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  const int64_t grain = std::max<int64_t>(1, kGrain / (kChunk * std::max<int64_t>(1, depth)));
  at::parallel_for(0, chunks, grain, [&](int64_t begin, int64_t end) {
    alignas(64) T acc[kChunk];
    for (int64_t chunk = begin; chunk < end; ++chunk) {
      const int64_t c0 = chunk * kChunk;
      const int64_t len = std::min(kChunk, n - c0);
      for (int64_t l = 0; l < depth; ++l) {
        const auto& row = mix.rows[l];
        if (row.empty()) {
          std::fill(acc, acc + len, T(0));
        } else {
          const T* src = in + row[0].from * n + c0;
          const T w = row[0].weight;
          for (int64_t c = 0; c < len; ++c) acc[c] = w * src[c];
          for (size_t k = 1; k < row.size(); ++k) {
            const T* s = in + row[k].from * n + c0;
            const T wk = row[k].weight;
            for (int64_t c = 0; c < len; ++c) acc[c] += wk * s[c];
          }
        }
        consume(l, c0, len, acc);
      }
    }
  });
}

template <typename T>
void ApplyUpdateLoop(T* __restrict p, const T* __restrict d, int64_t n, double lr, double wd) {
  const T decay = static_cast<T>(1.0 - lr * wd);
  const T step = static_cast<T>(lr);
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) p[i] = p[i] * decay - step * d[i];
  });
}

// kApply: update p in place (fused step); otherwise write the direction d.
template <typename T, bool kApply>
void AdamWLoop(T* __restrict p, const T* __restrict g, T* __restrict m, T* __restrict v,
               T* __restrict d, int64_t n, const AdamWHyper& h, double lr, double wd) {
  const T b1 = static_cast<T>(h.beta1), b2 = static_cast<T>(h.beta2);
  const T one_minus_b1 = static_cast<T>(1.0 - h.beta1);
  const T one_minus_b2 = static_cast<T>(1.0 - h.beta2);
  const T bc1 = static_cast<T>(h.bias_correction1), bc2 = static_cast<T>(h.bias_correction2);
  const T eps = static_cast<T>(h.eps);
  const T decay = static_cast<T>(1.0 - lr * wd);
  const T step = static_cast<T>(lr);
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T gi = g[i];
      const T mi = m[i] * b1 + one_minus_b1 * gi;
      const T vi = v[i] * b2 + one_minus_b2 * (gi * gi);
      m[i] = mi;
      v[i] = vi;
      const T di = (mi / bc1) / (std::sqrt(vi / bc2) + eps);
      if constexpr (kApply) {
        p[i] = p[i] * decay - step * di;
      } else {
        d[i] = di;
      }
    }
  });
}

template <typename T>
void SgdLoop(const T* __restrict p, const T* __restrict g, T* __restrict buf, T* __restrict d,
             int64_t n, const SgdHyper& h) {
  const T wd = static_cast<T>(h.weight_decay);
  const T mu = static_cast<T>(h.momentum);
  const T damp = static_cast<T>(1.0 - h.dampening);
  const bool decay = h.weight_decay != 0.0;
  const bool momentum = h.momentum != 0.0;
  at::parallel_for(0, n, kGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      const T gi = decay ? g[i] + wd * p[i] : g[i];
      if (!momentum) {
        d[i] = gi;
        continue;
      }
      const T bi = h.first_step ? gi : buf[i] * mu + damp * gi;
      buf[i] = bi;
      d[i] = h.nesterov ? gi + mu * bi : bi;
    }
  });
}

}  // namespace

void ApplyUpdate(at::Tensor& p, const at::Tensor& d, double lr, double wd) {
  CheckSame(p, d, "ApplyUpdate");
  if (Fast(p) && d.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "ApplyUpdate", [&] {
      ApplyUpdateLoop<scalar_t>(p.data_ptr<scalar_t>(), d.data_ptr<scalar_t>(), p.numel(), lr,
                                wd);
    });
    return;
  }
  p.mul_(1.0 - lr * wd).sub_(d * lr);
}

void ApplyMixedUpdate(const DepthMix& mix, at::Tensor& p, const at::Tensor& d, double lr,
                      double wd) {
  CheckSame(p, d, "ApplyMixedUpdate");
  TORCH_CHECK(p.dim() >= 1 && p.size(0) == mix.depth(), "ApplyMixedUpdate: depth mismatch");
  if (Fast(p) && d.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "ApplyMixedUpdate", [&] {
      using T = scalar_t;
      const T decay = static_cast<T>(1.0 - lr * wd);
      const T step = static_cast<T>(lr);
      const int64_t n = Columns(p);
      T* pp = p.data_ptr<T>();
      ForEachMixedChunk<T>(TypedMix<T>(mix), d.data_ptr<T>(), n,
                           [&](int64_t l, int64_t c0, int64_t len, const T* acc) {
                             T* __restrict row = pp + l * n + c0;
                             for (int64_t c = 0; c < len; ++c) {
                               row[c] = row[c] * decay - step * acc[c];
                             }
                           });
    });
    return;
  }
  at::Tensor mixed = at::empty_like(d);
  Mix(mix, d, mixed);
  ApplyUpdate(p, mixed, lr, wd);
}

void Mix(const DepthMix& mix, const at::Tensor& in, at::Tensor& out) {
  CheckSame(in, out, "Mix");
  TORCH_CHECK(in.dim() >= 1 && in.size(0) == mix.depth(), "Mix: depth mismatch");
  if (Fast(in) && out.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "Mix", [&] {
      using T = scalar_t;
      const int64_t n = Columns(in);
      T* po = out.data_ptr<T>();
      ForEachMixedChunk<T>(TypedMix<T>(mix), in.data_ptr<T>(), n,
                           [&](int64_t l, int64_t c0, int64_t len, const T* acc) {
                             std::copy(acc, acc + len, po + l * n + c0);
                           });
    });
    return;
  }
  for (int64_t l = 0; l < mix.depth(); ++l) {
    at::Tensor row = at::zeros_like(in[l]);
    for (const DepthMix::Term& t : mix.rows[l]) row.add_(in[t.from], t.weight);
    out[l].copy_(row);
  }
}

std::vector<double> BlockNorms(const at::Tensor& x) {
  const int64_t depth = x.size(0);
  std::vector<double> norms(depth);
  if (Fast(x)) {
    AT_DISPATCH_FLOATING_TYPES(x.scalar_type(), "BlockNorms", [&] {
      const int64_t n = Columns(x);
      const scalar_t* px = x.data_ptr<scalar_t>();
      at::parallel_for(0, depth, 1, [&](int64_t begin, int64_t end) {
        for (int64_t l = begin; l < end; ++l) {
          double sum = 0.0;
          const scalar_t* row = px + l * n;
          for (int64_t c = 0; c < n; ++c) sum += static_cast<double>(row[c]) * row[c];
          norms[l] = std::sqrt(sum);
        }
      });
    });
    return norms;
  }
  at::Tensor n = x.reshape({depth, -1}).to(at::kDouble).norm(2, {1}).cpu();
  for (int64_t l = 0; l < depth; ++l) norms[l] = n[l].item<double>();
  return norms;
}

std::vector<double> MixedBlockNorms(const DepthMix& mix, const at::Tensor& in) {
  const int64_t depth = mix.depth();
  if (Fast(in)) {
    std::vector<double> norms(depth, 0.0);
    AT_DISPATCH_FLOATING_TYPES(in.scalar_type(), "MixedBlockNorms", [&] {
      using T = scalar_t;
      const int64_t n = Columns(in);
      const int64_t chunks = (n + kChunk - 1) / kChunk;
      // Per-chunk partial sums, added in chunk order: the result does not depend on
      // how chunks were spread over threads.
      std::vector<double> partial(chunks * depth, 0.0);
      ForEachMixedChunk<T>(TypedMix<T>(mix), in.data_ptr<T>(), n,
                           [&](int64_t l, int64_t c0, int64_t len, const T* acc) {
                             double sum = 0.0;
                             for (int64_t c = 0; c < len; ++c) {
                               sum += static_cast<double>(acc[c]) * acc[c];
                             }
                             partial[(c0 / kChunk) * depth + l] = sum;
                           });
      for (int64_t chunk = 0; chunk < chunks; ++chunk) {
        for (int64_t l = 0; l < depth; ++l) norms[l] += partial[chunk * depth + l];
      }
    });
    for (double& v : norms) v = std::sqrt(v);
    return norms;
  }
  at::Tensor mixed = at::empty_like(in);
  Mix(mix, in, mixed);
  return BlockNorms(mixed);
}

void AdamWDirection(const at::Tensor& g, at::Tensor& m, at::Tensor& v, at::Tensor& d,
                    const AdamWHyper& h) {
  CheckSame(g, d, "AdamWDirection");
  if (Fast(g) && m.is_contiguous() && v.is_contiguous() && d.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(g.scalar_type(), "AdamWDirection", [&] {
      AdamWLoop<scalar_t, false>(nullptr, g.data_ptr<scalar_t>(), m.data_ptr<scalar_t>(),
                          v.data_ptr<scalar_t>(), d.data_ptr<scalar_t>(), g.numel(), h, 0.0,
                          0.0);
    });
    return;
  }
  m.mul_(h.beta1).add_(g, 1.0 - h.beta1);
  v.mul_(h.beta2).addcmul_(g, g, 1.0 - h.beta2);
  d.copy_((m / h.bias_correction1) / ((v / h.bias_correction2).sqrt_().add_(h.eps)));
}

void AdamWStep(at::Tensor& p, const at::Tensor& g, at::Tensor& m, at::Tensor& v,
               const AdamWHyper& h, double lr, double wd) {
  CheckSame(p, g, "AdamWStep");
  if (Fast(p) && g.is_contiguous() && m.is_contiguous() && v.is_contiguous()) {
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "AdamWStep", [&] {
      AdamWLoop<scalar_t, true>(p.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                          m.data_ptr<scalar_t>(), v.data_ptr<scalar_t>(), nullptr, p.numel(),
                          h, lr, wd);
    });
    return;
  }
  at::Tensor d = at::empty_like(p);
  AdamWDirection(g, m, v, d, h);
  ApplyUpdate(p, d, lr, wd);
}

void SgdDirection(const at::Tensor& p, const at::Tensor& g, at::Tensor& buf, at::Tensor& d,
                  const SgdHyper& h) {
  CheckSame(p, g, "SgdDirection");
  if (Fast(p) && g.is_contiguous() && d.is_contiguous() &&
      (h.momentum == 0.0 || buf.is_contiguous())) {
    AT_DISPATCH_FLOATING_TYPES(p.scalar_type(), "SgdDirection", [&] {
      SgdLoop<scalar_t>(p.data_ptr<scalar_t>(), g.data_ptr<scalar_t>(),
                        h.momentum == 0.0 ? nullptr : buf.data_ptr<scalar_t>(),
                        d.data_ptr<scalar_t>(), p.numel(), h);
    });
    return;
  }
  at::Tensor gd = h.weight_decay != 0.0 ? g + p * h.weight_decay : g;
  if (h.momentum == 0.0) {
    d.copy_(gd);
    return;
  }
  if (h.first_step) {
    buf.copy_(gd);
  } else {
    buf.mul_(h.momentum).add_(gd, 1.0 - h.dampening);
  }
  d.copy_(h.nesterov ? gd + buf * h.momentum : buf);
}

}  // namespace kernels
}  // namespace gs
