// A byte-level GPT in nanoGPT's layout: token and position embeddings, pre-norm causal
// blocks, a final norm and a linear head over the 256 byte values.
#ifndef GS_TASKS_MODELS_GPT_H_
#define GS_TASKS_MODELS_GPT_H_

#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/embedding.h>

#include "tasks/harness/depth_analysis.h"
#include "tasks/models/transformer.h"

namespace gs::models {

struct GPTConfig {
  int64_t vocab = 256, context = 128;
  int64_t width = 128, depth = 6, heads = 4, mlp_ratio = 4;
};

struct GPTImpl : torch::nn::Module {
  explicit GPTImpl(const GPTConfig& config);
  // tokens [B, T] (int64, T <= context) -> logits [B, T, vocab]; `trace` (if given)
  // receives each block's input and output, one row per token.
  at::Tensor forward(const at::Tensor& tokens, tasks::ChainTrace* trace = nullptr);

  GPTConfig config;
  torch::nn::Embedding tok_embed{nullptr};
  at::Tensor pos_embed;
  torch::nn::ModuleList blocks{nullptr};
  torch::nn::LayerNorm norm{nullptr};
  torch::nn::Linear head{nullptr};
};
TORCH_MODULE(GPT);

}  // namespace gs::models

#endif  // GS_TASKS_MODELS_GPT_H_
