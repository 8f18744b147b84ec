#include "tasks/models/uvit.h"

#include <cmath>

#include <torch/torch.h>

namespace gs::models {

at::Tensor TimestepFeatures(const at::Tensor& t, int64_t dim) {
  const int64_t half = dim / 2;
  at::Tensor freqs = torch::exp(torch::arange(half, torch::dtype(torch::kFloat32).device(t.device())) *
                                (-std::log(10000.0) / half));
  at::Tensor args = t.to(torch::kFloat32).unsqueeze(1) * freqs.unsqueeze(0);
  return torch::cat({torch::cos(args), torch::sin(args)}, 1);
}

OutBlockImpl::OutBlockImpl(int64_t width, int64_t heads, int64_t mlp_ratio)
    : skip(register_module("skip", torch::nn::Linear(2 * width, width))),
      block(register_module("block", Block(width, heads, mlp_ratio))) {}

at::Tensor OutBlockImpl::forward(const at::Tensor& x, const at::Tensor& skip_input) {
  return block(skip(torch::cat({x, skip_input}, -1)));
}

UViTImpl::UViTImpl(const UViTConfig& c) : config(c) {
  TORCH_CHECK(c.image % c.patch == 0, "image size must be a multiple of the patch size");
  TORCH_CHECK(c.width % 2 == 0, "width must be even (sinusoidal time features)");
  const int64_t grid = c.image / c.patch, patch_dim = c.channels * c.patch * c.patch;
  patch_embed = register_module("patch_embed", torch::nn::Linear(patch_dim, c.width));
  time_embed = register_module(
      "time_embed", torch::nn::Sequential(torch::nn::Linear(c.width, 4 * c.width), torch::nn::SiLU(),
                                          torch::nn::Linear(4 * c.width, c.width)));
  label_embed = register_module("label_embed", torch::nn::Embedding(c.classes + 1, c.width));
  pos_embed = register_parameter("pos_embed", torch::randn({1, 2 + grid * grid, c.width}) * 0.02);
  in_blocks = register_module("in_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) in_blocks->push_back(Block(c.width, c.heads, c.mlp_ratio));
  mid_block = register_module("mid_block", Block(c.width, c.heads, c.mlp_ratio));
  out_blocks = register_module("out_blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.depth; ++i) out_blocks->push_back(OutBlock(c.width, c.heads, c.mlp_ratio));
  norm = register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({c.width})));
  decoder = register_module("decoder", torch::nn::Linear(c.width, patch_dim));
  final_conv = register_module(
      "final_conv",
      torch::nn::Conv2d(torch::nn::Conv2dOptions(c.channels, c.channels, 3).padding(1)));

  // The U-ViT code's initialisation: linear weights N(0, 0.02), zero biases (layer norms
  // keep weight 1, bias 0; the embedding and the convolution keep LibTorch's defaults).
  torch::NoGradGuard no_grad;
  for (const auto& module : modules(/*include_self=*/false)) {
    if (auto* linear = module->as<torch::nn::LinearImpl>()) {
      linear->weight.normal_(0.0, 0.02);
      linear->bias.zero_();
    }
  }
}

namespace {

// [B, T, C] -> [B, C]: the per-sample summary the depth analysis compares.
at::Tensor Pool(const at::Tensor& x) { return x.mean(1).detach(); }

}  // namespace

at::Tensor UViTImpl::forward(const at::Tensor& images, const at::Tensor& t, const at::Tensor& y,
                             std::map<std::string, tasks::ChainTrace>* traces) {
  const int64_t b = images.size(0), p = config.patch, g = config.image / p, ch = config.channels;
  // [B, C, g, p, g, p] -> [B, g*g, C*p*p]: one token per patch.
  at::Tensor patches =
      images.view({b, ch, g, p, g, p}).permute({0, 2, 4, 1, 3, 5}).reshape({b, g * g, ch * p * p});
  at::Tensor time_token = time_embed->forward(TimestepFeatures(t, config.width)).unsqueeze(1);
  at::Tensor label_token = label_embed(y).unsqueeze(1);
  at::Tensor x = torch::cat({time_token, label_token, patch_embed(patches)}, 1) + pos_embed;

  tasks::ChainTrace* in_trace = traces ? &(*traces)["in_blocks"] : nullptr;
  tasks::ChainTrace* out_trace = traces ? &(*traces)["out_blocks"] : nullptr;
  std::vector<at::Tensor> skips;
  for (const auto& module : *in_blocks) {
    at::Tensor next = module->as<Block>()->forward(x);
    if (in_trace) in_trace->push_back({Pool(x), Pool(next)});
    x = next;
    skips.push_back(x);
  }
  x = mid_block(x);
  for (const auto& module : *out_blocks) {
    at::Tensor next = module->as<OutBlock>()->forward(x, skips.back());
    skips.pop_back();
    if (out_trace) out_trace->push_back({Pool(x), Pool(next)});
    x = next;
  }
  // Drop the time and label tokens; each patch token becomes its pixels again.
  at::Tensor pixels = decoder(norm(x)).slice(1, 2);
  at::Tensor image = pixels.reshape({b, g, g, ch, p, p})
                         .permute({0, 3, 1, 4, 2, 5})
                         .reshape({b, ch, g * p, g * p});
  return final_conv(image);
}

}  // namespace gs::models
