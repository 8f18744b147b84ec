#include "tasks/models/fused_attention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <ATen/Parallel.h>
#include <torch/torch.h>

namespace gs::models {
namespace {

// The kernels are compiled for AVX2+FMA and for baseline x86-64; the loader picks one
// per machine (GCC function multi-versioning), so a machine always gets the same bits.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define GS_ATTENTION_CLONES __attribute__((target_clones("arch=haswell", "default")))
#else
#define GS_ATTENTION_CLONES
#endif

struct Shape {
  int64_t b, t, h, d;
  int64_t row() const { return 3 * h * d; }  // qkv floats per token
  int64_t c() const { return h * d; }
};

// One (batch, head): p [T, T] (probabilities, zero above the diagonal when causal) and
// y rows [T, D] (stride C). kt: scratch [D, T].
GS_ATTENTION_CLONES
void ForwardHead(const float* q, const float* k, const float* v, float* y, float* p, float* kt,
                 const Shape& s, bool causal) {
  const int64_t T = s.t, D = s.d, row = s.row(), C = s.c();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t j = 0; j < T; ++j)
    for (int64_t e = 0; e < D; ++e) kt[e * T + j] = k[j * row + e];
  for (int64_t i = 0; i < T; ++i) {
    const int64_t n = causal ? i + 1 : T;
    float* pi = p + i * T;
    std::fill(pi, pi + T, 0.0f);
    for (int64_t e = 0; e < D; ++e) {  // s_i = q_i K^T as axpys over contiguous K^T rows
      const float qe = q[i * row + e] * scale;
      const float* ke = kt + e * T;
      for (int64_t j = 0; j < n; ++j) pi[j] += qe * ke[j];
    }
    float m = -std::numeric_limits<float>::infinity();
    for (int64_t j = 0; j < n; ++j) m = std::max(m, pi[j]);
    float sum = 0.0f;
    for (int64_t j = 0; j < n; ++j) {
      pi[j] = std::exp(pi[j] - m);
      sum += pi[j];
    }
    const float inv = 1.0f / sum;
    for (int64_t j = 0; j < n; ++j) pi[j] *= inv;
    float* yi = y + i * C;
    std::fill(yi, yi + D, 0.0f);
    for (int64_t j = 0; j < n; ++j) {
      const float pj = pi[j];
      const float* vj = v + j * row;
      for (int64_t e = 0; e < D; ++e) yi[e] += pj * vj[e];
    }
  }
}

// The gradients of one (batch, head) into dq, dk, dv rows (stride 3C, written, not
// accumulated). vt: scratch [D, T]; dp: scratch [T].
GS_ATTENTION_CLONES
void BackwardHead(const float* q, const float* k, const float* v, const float* p,
                  const float* dy, float* dq, float* dk, float* dv, float* vt, float* dp,
                  const Shape& s, bool causal) {
  const int64_t T = s.t, D = s.d, row = s.row(), C = s.c();
  const float scale = 1.0f / std::sqrt(static_cast<float>(D));
  for (int64_t j = 0; j < T; ++j) {
    for (int64_t e = 0; e < D; ++e) {
      vt[e * T + j] = v[j * row + e];
      dk[j * row + e] = 0.0f;
      dv[j * row + e] = 0.0f;
    }
  }
  for (int64_t i = 0; i < T; ++i) {
    const int64_t n = causal ? i + 1 : T;
    const float* pi = p + i * T;
    const float* dyi = dy + i * C;
    std::fill(dp, dp + n, 0.0f);
    for (int64_t e = 0; e < D; ++e) {  // dp_i = dy_i V^T
      const float g = dyi[e];
      const float* ve = vt + e * T;
      for (int64_t j = 0; j < n; ++j) dp[j] += g * ve[j];
    }
    float dot = 0.0f;  // sum_j p_ij dp_ij: the softmax Jacobian's rank-one part
    for (int64_t j = 0; j < n; ++j) dot += pi[j] * dp[j];
    float* dqi = dq + i * row;
    std::fill(dqi, dqi + D, 0.0f);
    const float* qi = q + i * row;
    for (int64_t j = 0; j < n; ++j) {
      const float pj = pi[j];
      const float ds = pj * (dp[j] - dot) * scale;
      const float* kj = k + j * row;
      float* dkj = dk + j * row;
      float* dvj = dv + j * row;
      for (int64_t e = 0; e < D; ++e) {
        dvj[e] += pj * dyi[e];
        dqi[e] += ds * kj[e];
        dkj[e] += ds * qi[e];
      }
    }
  }
}

Shape ShapeOf(const at::Tensor& qkv, int64_t heads) {
  const int64_t c3 = qkv.size(2);
  TORCH_CHECK(c3 % (3 * heads) == 0, "qkv width ", c3, " is not 3 x heads x head width");
  return {qkv.size(0), qkv.size(1), heads, c3 / (3 * heads)};
}

class FusedAttentionFunction : public torch::autograd::Function<FusedAttentionFunction> {
 public:
  static at::Tensor forward(torch::autograd::AutogradContext* ctx, const at::Tensor& qkv_in,
                            int64_t heads, bool causal) {
    const at::Tensor qkv = qkv_in.contiguous();
    const Shape s = ShapeOf(qkv, heads);
    at::Tensor y = at::empty({s.b, s.t, s.c()}, qkv.options());
    at::Tensor p = at::empty({s.b, s.h, s.t, s.t}, qkv.options());
    const float* base = qkv.data_ptr<float>();
    float* yp = y.data_ptr<float>();
    float* pp = p.data_ptr<float>();
    at::parallel_for(0, s.b * s.h, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> kt(s.d * s.t);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / s.h, h = bh % s.h;
        const float* q = base + b * s.t * s.row() + h * s.d;
        ForwardHead(q, q + s.c(), q + 2 * s.c(), yp + b * s.t * s.c() + h * s.d,
                    pp + bh * s.t * s.t, kt.data(), s, causal);
      }
    });
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
    const bool causal = ctx->saved_data["causal"].toBool();
    const Shape s = ShapeOf(qkv, ctx->saved_data["heads"].toInt());
    const at::Tensor dy = grads[0].contiguous();
    at::Tensor dqkv = at::empty_like(qkv);
    const float* base = qkv.data_ptr<float>();
    const float* pp = p.data_ptr<float>();
    const float* dyp = dy.data_ptr<float>();
    float* dbase = dqkv.data_ptr<float>();
    at::parallel_for(0, s.b * s.h, 1, [&](int64_t begin, int64_t end) {
      std::vector<float> vt(s.d * s.t), dp(s.t);
      for (int64_t bh = begin; bh < end; ++bh) {
        const int64_t b = bh / s.h, h = bh % s.h;
        const int64_t offset = b * s.t * s.row() + h * s.d;
        const float* q = base + offset;
        float* dq = dbase + offset;
        BackwardHead(q, q + s.c(), q + 2 * s.c(), pp + bh * s.t * s.t,
                     dyp + b * s.t * s.c() + h * s.d, dq, dq + s.c(), dq + 2 * s.c(), vt.data(),
                     dp.data(), s, causal);
      }
    });
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

at::Tensor FusedAttention(const at::Tensor& qkv, int64_t heads, bool causal) {
  TORCH_CHECK(qkv.dim() == 3, "FusedAttention: qkv must be [B, T, 3C]");
  if (!qkv.device().is_cpu() || qkv.scalar_type() != at::kFloat) {
    return ReferenceAttention(qkv, heads, causal);
  }
  return FusedAttentionFunction::apply(qkv, heads, causal);
}

}  // namespace gs::models
