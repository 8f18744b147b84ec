#include "tasks/models/vit.h"

#include <torch/torch.h>

namespace gs::models {

ViTImpl::ViTImpl(const ViTConfig& c) : config(c) {
  const int64_t grid = c.image / c.patch;
  patch_embed = register_module("patch_embed", torch::nn::Linear(c.channels * c.patch * c.patch, c.width));
  pos_embed = register_parameter("pos_embed", torch::randn({1, grid * grid, c.width}) * 0.02);
  blocks = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) blocks->push_back(Block(c.width, c.heads, c.mlp_ratio));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
  head = register_module("head", torch::nn::Linear(c.width, c.classes));
}

at::Tensor ViTImpl::forward(const at::Tensor& images, tasks::ChainTrace* trace) {
  const int64_t b = images.size(0), p = config.patch, g = config.image / p;
  // [B, C, g, p, g, p] -> [B, g*g, C*p*p]: one token per patch.
  at::Tensor patches = images.view({b, config.channels, g, p, g, p})
                           .permute({0, 2, 4, 1, 3, 5})
                           .reshape({b, g * g, config.channels * p * p});
  at::Tensor x = patch_embed(patches) + pos_embed;
  for (const auto& block : *blocks) {
    at::Tensor in = x;
    x = block->as<Block>()->forward(x);
    if (trace != nullptr) trace->push_back({in.mean(1), x.mean(1)});
  }
  return head(norm(x).mean(1));
}

}  // namespace gs::models
