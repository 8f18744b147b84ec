// A plain ViT for small images ("Better plain ViT baselines"): 4x4 patches, learned
// position embeddings, pre-norm blocks, a final norm, mean pooling, a linear head.
#ifndef GS_TASKS_MODELS_VIT_H_
#define GS_TASKS_MODELS_VIT_H_

#include <torch/nn/modules/container/modulelist.h>

#include "tasks/harness/depth_analysis.h"
#include "tasks/models/transformer.h"

namespace gs::models {

struct ViTConfig {
  int64_t image = 28, channels = 1, patch = 4;
  int64_t width = 64, depth = 6, heads = 4, mlp_ratio = 4, classes = 10;
};

struct ViTImpl : torch::nn::Module {
  explicit ViTImpl(const ViTConfig& config);
  // images [B, C, H, W] -> logits [B, classes]; `trace` (if given) receives each block's
  // input and output, mean-pooled over tokens.
  at::Tensor forward(const at::Tensor& images, tasks::ChainTrace* trace = nullptr);

  ViTConfig config;
  torch::nn::Linear patch_embed{nullptr};
  at::Tensor pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(ViT);

}  // namespace gs::models

#endif  // GS_TASKS_MODELS_VIT_H_
