#include "tasks/models/attention.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>
#include <torch/version.h>

#include "optimizers/blas_routines.h"
#include "optimizers/cpu_paths.h"

namespace gs::models {
namespace {

// The softmax kernels are compiled for x86-64-v3 (AVX2, FMA) and baseline x86-64; the loader
// picks one per machine (GCC function multi-versioning), so a machine always gets the same
// bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GS_ATTENTION_CLONES __attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define GS_ATTENTION_CLONES
#endif

struct Shape {
  int64_t b, t, h, d;
  int64_t row() const { return 3 * h * d; }  // qkv floats per token
  int64_t c() const { return h * d; }
};

// exp(x) for x <= 0 (softmax after subtracting the row maximum) in plain arithmetic the
// compiler vectorises: exp(x) = 2^n * e^r with |r| <= ln2 / 2, e^r by its degree-6 Taylor
// polynomial (relative error < 2e-7, as float's rounding).
__attribute__((always_inline)) inline float ExpNonPositive(float x) {
  x = std::max(x, -87.0f);
  // Round to nearest by the 1.5 * 2^23 trick: branch-free, so the loop vectorises.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693145751953125f - n * 1.42860682030941723212e-6f;
  float p = 1.0f / 720;
  p = p * r + 1.0f / 120;
  p = p * r + 1.0f / 24;
  p = p * r + 1.0f / 6;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const int32_t bits = (static_cast<int32_t>(n) + 127) << 23;
  float scale;
  __builtin_memcpy(&scale, &bits, sizeof(scale));
  return p * scale;
}

__attribute__((always_inline)) inline float Exp(float x) { return ExpNonPositive(x); }
__attribute__((always_inline)) inline double Exp(double x) { return std::exp(x); }

// Maximum, sum and dot product over x[0, n) in eight interleaved lanes: independent
// chains the compiler keeps in one vector register (a fixed order, so the same bits every
// time). Inlined into the cloned kernels below, so they vectorise with them.
template <typename T>
__attribute__((always_inline)) inline T Max(const T* __restrict x, int64_t n) {
  T lane[8];
  for (int k = 0; k < 8; ++k) lane[k] = x[0];
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] = std::max(lane[k], x[j + k]);
  for (; j < n; ++j) lane[0] = std::max(lane[0], x[j]);
  T m = lane[0];
  for (int k = 1; k < 8; ++k) m = std::max(m, lane[k]);
  return m;
}

template <typename T>
__attribute__((always_inline)) inline T LaneTotal(const T (&lane)[8]) {
  return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

template <typename T>
__attribute__((always_inline)) inline T Sum(const T* __restrict x, int64_t n) {
  T lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] += x[j + k];
  for (; j < n; ++j) lane[0] += x[j];
  return LaneTotal(lane);
}

template <typename T>
__attribute__((always_inline)) inline T Dot(const T* __restrict x, const T* __restrict y, int64_t n) {
  T lane[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t j = 0;
  for (; j + 8 <= n; j += 8)
    for (int k = 0; k < 8; ++k) lane[k] += x[j + k] * y[j + k];
  for (; j < n; ++j) lane[0] += x[j] * y[j];
  return LaneTotal(lane);
}

// Softmax in place over `rows` rows of width t. Causal: row r of each t x t matrix keeps
// entries j <= r mod t and the rest become 0 (what exp(-inf) would give, without the
// masking pass or the exps).
template <typename T>
GS_ATTENTION_CLONES void SoftmaxRows(T* s, int64_t rows, int64_t t, bool causal) {
  for (int64_t r = 0; r < rows; ++r) {
    T* __restrict x = s + r * t;
    const int64_t n = causal ? r % t + 1 : t;
    const T m = Max(x, n);
    for (int64_t j = 0; j < n; ++j) x[j] = Exp(x[j] - m);
    const T inv = T(1) / Sum(x, n);
    for (int64_t j = 0; j < n; ++j) x[j] *= inv;
    for (int64_t j = n; j < t; ++j) x[j] = T(0);
  }
}

// The softmax's backward in place: dp (dL/dP) becomes dL/dS = p * (dp - <p, dp>) row by
// row, with the masked entries 0.
template <typename T>
GS_ATTENTION_CLONES void SoftmaxBackwardRows(const T* p, T* dp, int64_t rows, int64_t t,
                                             bool causal) {
  for (int64_t r = 0; r < rows; ++r) {
    const T* __restrict pr = p + r * t;
    T* __restrict g = dp + r * t;
    const int64_t n = causal ? r % t + 1 : t;
    const T dot = Dot(pr, g, n);
    for (int64_t j = 0; j < n; ++j) g[j] = pr[j] * (g[j] - dot);
    for (int64_t j = n; j < t; ++j) g[j] = T(0);
  }
}

Shape ShapeOf(const at::Tensor& qkv, int64_t heads) {
  const int64_t c3 = qkv.size(2);
  TORCH_CHECK(c3 % (3 * heads) == 0, "qkv width ", c3, " is not 3 x heads x head width");
  return {qkv.size(0), qkv.size(1), heads, c3 / (3 * heads)};
}

// Attention with the products done by the BLAS, one call per head and product, on
// strided views of qkv, y and dqkv (no permute copies, no ATen dispatch per matrix), and
// the softmax with its causal mask in one pass over all heads' scores.
template <typename T>
class BlasAttentionFunction : public torch::autograd::Function<BlasAttentionFunction<T>> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkv_in,
                            int64_t heads, bool causal) {
    const at::Tensor qkv = qkv_in.contiguous();
    const Shape s = ShapeOf(qkv, heads);
    const int t = static_cast<int>(s.t), d = static_cast<int>(s.d);
    const int row = static_cast<int>(s.row()), c = static_cast<int>(s.c());
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(s.d)));
    at::Tensor scores = at::empty({s.b, s.h, s.t, s.t}, qkv.options());
    const T* base = qkv.data_ptr<T>();
    T* sp = scores.data_ptr<T>();
    for (int64_t bh = 0; bh < s.b * s.h; ++bh) {
      const T* q = base + (bh / s.h) * s.t * s.row() + (bh % s.h) * s.d;
      blas::Gemm(false, true, t, t, d, scale, q, row, q + c, row, T(0), sp + bh * s.t * s.t, t);
    }
    SoftmaxRows(sp, s.b * s.h * s.t, s.t, causal);
    const at::Tensor& p = scores;
    at::Tensor y = at::empty({s.b, s.t, s.c()}, qkv.options());
    const T* pp = p.data_ptr<T>();
    T* yp = y.data_ptr<T>();
    for (int64_t bh = 0; bh < s.b * s.h; ++bh) {
      const int64_t b = bh / s.h, h = bh % s.h;
      const T* v = base + b * s.t * s.row() + 2 * s.c() + h * s.d;
      blas::Gemm(false, false, t, d, t, T(1), pp + bh * s.t * s.t, t, v, row, T(0),
                 yp + b * s.t * s.c() + h * s.d, c);
    }
    ctx->save_for_backward({qkv, p});
    ctx->saved_data["heads"] = heads;
    ctx->saved_data["causal"] = causal;
    return y;
  }

  static torch::autograd::variable_list backward(torch::autograd::AutogradContext* ctx,
                                                 torch::autograd::variable_list grads) {
    const auto saved = ctx->get_saved_variables();
    const at::Tensor& qkv = saved[0];
    const at::Tensor& p = saved[1];
    const Shape s = ShapeOf(qkv, ctx->saved_data["heads"].toInt());
    const bool causal = ctx->saved_data["causal"].toBool();
    const int t = static_cast<int>(s.t), d = static_cast<int>(s.d);
    const int row = static_cast<int>(s.row()), c = static_cast<int>(s.c());
    const T scale = static_cast<T>(1.0 / std::sqrt(static_cast<double>(s.d)));
    const at::Tensor dy = grads[0].contiguous();
    at::Tensor dqkv = at::empty_like(qkv);
    at::Tensor dp = at::empty_like(p);
    const T *base = qkv.data_ptr<T>(), *pp = p.data_ptr<T>(), *dyp = dy.data_ptr<T>();
    T *dbase = dqkv.data_ptr<T>(), *dpp = dp.data_ptr<T>();
    for (int64_t bh = 0; bh < s.b * s.h; ++bh) {
      const int64_t b = bh / s.h, h = bh % s.h;
      const int64_t offset = b * s.t * s.row() + 2 * s.c() + h * s.d;
      const T* dyh = dyp + b * s.t * s.c() + h * s.d;
      // dP = dY V^T; dV = P^T dY.
      blas::Gemm(false, true, t, t, d, T(1), dyh, c, base + offset, row, T(0),
                 dpp + bh * s.t * s.t, t);
      blas::Gemm(true, false, t, d, t, T(1), pp + bh * s.t * s.t, t, dyh, c, T(0),
                 dbase + offset, row);
    }
    SoftmaxBackwardRows(pp, dpp, s.b * s.h * s.t, s.t, causal);
    const T* dsp = dpp;
    for (int64_t bh = 0; bh < s.b * s.h; ++bh) {
      const int64_t offset = (bh / s.h) * s.t * s.row() + (bh % s.h) * s.d;
      const T* q = base + offset;
      // dQ = scale dS K; dK = scale dS^T Q.
      blas::Gemm(false, false, t, d, t, scale, dsp + bh * s.t * s.t, t, q + c, row, T(0),
                 dbase + offset, row);
      blas::Gemm(true, false, t, d, t, scale, dsp + bh * s.t * s.t, t, q, row, T(0),
                 dbase + offset + c, row);
    }
    return {dqkv, at::Tensor(), at::Tensor()};
  }
};

}  // namespace

at::Tensor ReferenceAttention(const at::Tensor& qkv, int64_t heads, bool causal) {
  const int64_t b = qkv.size(0), t = qkv.size(1), c = qkv.size(2) / 3, d = c / heads;
  // [B, T, 3, H, D] -> three [B, H, T, D]
  at::Tensor parts = qkv.view({b, t, 3, heads, d}).permute({2, 0, 3, 1, 4});
  at::Tensor q = parts[0], k = parts[1], v = parts[2];
  at::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d));
  if (causal) {
    at::Tensor mask = torch::ones({t, t}, torch::dtype(torch::kBool).device(qkv.device())).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<double>::infinity());
  }
  return torch::matmul(torch::softmax(scores, -1), v).transpose(1, 2).reshape({b, t, c});
}

at::Tensor GenericAttention(const at::Tensor& qkv, int64_t heads, bool causal) {
#if TORCH_VERSION_MAJOR >= 2
  const int64_t b = qkv.size(0), t = qkv.size(1), c = qkv.size(2) / 3, d = c / heads;
  at::Tensor parts = qkv.view({b, t, 3, heads, d}).permute({2, 0, 3, 1, 4});
  return at::scaled_dot_product_attention(parts[0], parts[1], parts[2], /*attn_mask=*/{},
                                          /*dropout_p=*/0.0, /*is_causal=*/causal)
      .transpose(1, 2)
      .reshape({b, t, c});
#else
  return ReferenceAttention(qkv, heads, causal);
#endif
}

at::Tensor BlasAttention(const at::Tensor& qkv, int64_t heads, bool causal) {
  TORCH_CHECK(qkv.dim() == 3, "BlasAttention: qkv must be [B, T, 3C]");
  if (!qkv.device().is_cpu()) return GenericAttention(qkv, heads, causal);
  if (qkv.scalar_type() == at::kDouble) {
    return BlasAttentionFunction<double>::apply(qkv, heads, causal);
  }
  if (qkv.scalar_type() == at::kFloat) return BlasAttentionFunction<float>::apply(qkv, heads, causal);
  return ReferenceAttention(qkv, heads, causal);
}

at::Tensor AttentionCore(const at::Tensor& qkv, int64_t heads, bool causal) {
  // Measured on this suite's CPU (benchmarks/README.md): at both the ViT's (T = 49, head
  // width 16) and the LM's (T = 128, head width 32) shapes the BLAS per head beats a
  // hand-fused kernel (7.2 vs 11.1 ms per LM layer, forward and backward) and the eager
  // formula (12.9 ms), whose batched matmul pays a select and dispatch per matrix.
  if (qkv.device().is_cpu() && CpuFastPaths()) return BlasAttention(qkv, heads, causal);
  return GenericAttention(qkv, heads, causal);
}

}  // namespace gs::models
