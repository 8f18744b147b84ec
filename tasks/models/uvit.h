// U-ViT (Bao et al., "All are Worth Words: A ViT Backbone for Diffusion Models"), as the
// authors' code builds it, for 28x28 single-channel images:
//   tokens  = [time token | label token | patch tokens] + learned position embeddings
//   in_blocks.0 .. in_blocks.{N-1}     (each output kept as a long skip)
//   mid_block
//   out_blocks.0 .. out_blocks.{N-1}   (out-block i: concat with in-block N-1-i's output,
//                                       linear `skip` back to width, then the block)
//   final norm -> linear to patch pixels -> unpatchify -> 3x3 convolution
// Every block is the suite's pre-norm transformer block (tasks/models/transformer.h).
// The two chains, `in_blocks` and `out_blocks`, are smoothed along depth; the mid-block
// belongs to neither.
#ifndef GS_TASKS_MODELS_UVIT_H_
#define GS_TASKS_MODELS_UVIT_H_

#include <map>
#include <string>

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/embedding.h>

#include "tasks/harness/depth_analysis.h"
#include "tasks/models/transformer.h"

namespace gs::models {

struct UViTConfig {
  int64_t image = 28, channels = 1, patch = 4;
  int64_t width = 64, depth = 6, heads = 4, mlp_ratio = 4, classes = 10;  // depth: per chain
};

// The sinusoidal features of timesteps t [B] (any real values): [B, dim] as
// [cos(t f_0) .. cos(t f_{h-1}), sin(t f_0) .. sin(t f_{h-1})], f_j = 10000^(-j/h), h = dim/2
// (the U-ViT code's timestep_embedding).
at::Tensor TimestepFeatures(const at::Tensor& t, int64_t dim);

// An out-block: the long skip joins the residual stream, then a pre-norm block.
struct OutBlockImpl : torch::nn::Module {
  OutBlockImpl(int64_t width, int64_t heads, int64_t mlp_ratio);
  at::Tensor forward(const at::Tensor& x, const at::Tensor& skip_input);

  torch::nn::Linear skip{nullptr};  // [x, skip_input] (2 * width) -> width
  Block block{nullptr};
};
TORCH_MODULE(OutBlock);

struct UViTImpl : torch::nn::Module {
  explicit UViTImpl(const UViTConfig& config);
  // x_t [B, C, H, W], t [B] (int64 timesteps), y [B] (int64 labels; `classes` is the
  // "no label" row used for classifier-free guidance) -> predicted noise [B, C, H, W].
  // With `traces`, records each chain's blocks' residual streams (mean over tokens)
  // under "in_blocks" and "out_blocks".
  at::Tensor forward(const at::Tensor& x, const at::Tensor& t, const at::Tensor& y,
                     std::map<std::string, tasks::ChainTrace>* traces = nullptr);

  UViTConfig config;
  torch::nn::Linear patch_embed{nullptr};
  torch::nn::Sequential time_embed{nullptr};  // sinusoidal features -> MLP
  torch::nn::Embedding label_embed{nullptr};  // classes + 1 rows
  at::Tensor pos_embed;                       // [1, 2 + patches, width]
  torch::nn::ModuleList in_blocks{nullptr};
  Block mid_block{nullptr};
  torch::nn::ModuleList out_blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear decoder{nullptr};          // width -> C * patch * patch
  torch::nn::Conv2d final_conv{nullptr};       // 3x3, C -> C
};
TORCH_MODULE(UViT);

}  // namespace gs::models

#endif  // GS_TASKS_MODELS_UVIT_H_
