#include "tasks/models/transformer.h"

#include <torch/torch.h>

#include "tasks/models/attention.h"

namespace gs::models {

AttentionImpl::AttentionImpl(int64_t width, int64_t heads_)
    : heads(heads_),
      qkv(register_module("qkv", torch::nn::Linear(width, 3 * width))),
      proj(register_module("proj", torch::nn::Linear(width, width))) {
  TORCH_CHECK(width % heads == 0, "width must be a multiple of heads");
}

at::Tensor AttentionImpl::forward(const at::Tensor& x, bool causal) {
  return proj(AttentionCore(qkv(x), heads, causal));
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
