#include "tasks/models/gpt.h"

#include <torch/torch.h>

namespace gs::models {

GPTImpl::GPTImpl(const GPTConfig& c) : config(c) {
  tok_embed = register_module("tok_embed", torch::nn::Embedding(c.vocab, c.width));
  pos_embed = register_parameter("pos_embed", torch::randn({c.context, c.width}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(Block(c.width, c.heads, c.mlp_ratio));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
  head = register_module("head", torch::nn::Linear(torch::nn::LinearOptions(c.width, c.vocab).bias(false)));
}

at::Tensor GPTImpl::forward(const at::Tensor& tokens, tasks::ChainTrace* trace) {
  const int64_t t = tokens.size(1);
  at::Tensor x = tok_embed(tokens) + pos_embed.slice(0, 0, t);
  for (const auto& block : *blocks) {
    at::Tensor in = x;
    x = block->as<Block>()->forward(x, /*causal=*/true);
    if (trace != nullptr) trace->push_back({in.reshape({-1, x.size(-1)}), x.reshape({-1, x.size(-1)})});
  }
  return head(norm(x));
}

}  // namespace gs::models
