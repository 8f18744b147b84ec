// The pre-norm transformer block the suite's models share (nanoGPT's layout):
//   x = x + attn(norm1(x));  x = x + mlp(norm2(x))
// Parameter names inside a block: norm1.*, attn.qkv.*, attn.proj.*, norm2.*, mlp.fc.*,
// mlp.proj.*; a model registers its blocks as `blocks.<i>` (or other chain names).
#ifndef GS_TASKS_MODELS_TRANSFORMER_H_
#define GS_TASKS_MODELS_TRANSFORMER_H_

#include <torch/nn/module.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

namespace gs::models {

struct AttentionImpl : torch::nn::Module {
  AttentionImpl(int64_t width, int64_t heads);
  // x: [B, T, C]; causal masks attention to later positions.
  at::Tensor forward(const at::Tensor& x, bool causal);

  int64_t heads;
  torch::nn::Linear qkv{nullptr}, proj{nullptr};
};
TORCH_MODULE(Attention);

struct MlpImpl : torch::nn::Module {
  MlpImpl(int64_t width, int64_t hidden);
  at::Tensor forward(const at::Tensor& x);

  torch::nn::Linear fc{nullptr}, proj{nullptr};
};
TORCH_MODULE(Mlp);

struct BlockImpl : torch::nn::Module {
  BlockImpl(int64_t width, int64_t heads, int64_t mlp_ratio = 4);
  at::Tensor forward(const at::Tensor& x, bool causal = false);

  torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr};
  Attention attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(Block);

}  // namespace gs::models

#endif  // GS_TASKS_MODELS_TRANSFORMER_H_
