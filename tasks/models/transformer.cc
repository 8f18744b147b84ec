#include "tasks/models/transformer.h"

#include <cmath>

#include <torch/torch.h>

namespace gs::models {

AttentionImpl::AttentionImpl(int64_t width, int64_t heads_)
    : heads(heads_),
      qkv(register_module("qkv", torch::nn::Linear(width, 3 * width))),
      proj(register_module("proj", torch::nn::Linear(width, width))) {
  TORCH_CHECK(width % heads == 0, "width must be a multiple of heads");
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, bool causal) {
  const int64_t b = x.size(0), t = x.size(1), c = x.size(2), d = c / heads;
  // [B, T, 3, H, D] -> three [B, H, T, D]
  at::Tensor parts = qkv(x).view({b, t, 3, heads, d}).permute({2, 0, 3, 1, 4});
  at::Tensor q = parts[0], k = parts[1], v = parts[2];
  at::Tensor scores = torch::matmul(q, k.transpose(-2, -1)) / std::sqrt(static_cast<double>(d));
  if (causal) {
    at::Tensor mask = torch::ones({t, t}, torch::dtype(torch::kBool).device(x.device())).triu(1);
    scores = scores.masked_fill(mask, -std::numeric_limits<float>::infinity());
  }
  at::Tensor y = torch::matmul(torch::softmax(scores, -1), v);
  return proj(y.transpose(1, 2).reshape({b, t, c}));
}

MlpImpl::MlpImpl(int64_t width, int64_t hidden)
    : fc(register_module("fc", torch::nn::Linear(width, hidden))),
      proj(register_module("proj", torch::nn::Linear(hidden, width))) {}

at::Tensor MlpImpl::forward(const at::Tensor& x) { return proj(torch::gelu(fc(x))); }

BlockImpl::BlockImpl(int64_t width, int64_t heads, int64_t mlp_ratio)
    : norm1(register_module("norm1", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
      norm2(register_module("norm2", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
      attn(register_module("attn", Attention(width, heads))),
      mlp(register_module("mlp", Mlp(width, mlp_ratio * width))) {}

at::Tensor BlockImpl::forward(const at::Tensor& x, bool causal) {
  at::Tensor h = x + attn(norm1(x), causal);
  return h + mlp(norm2(h));
}

}  // namespace gs::models
