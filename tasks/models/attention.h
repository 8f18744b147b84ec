// Multi-head scaled dot-product attention on the CPU: softmax(q k^T / sqrt(d)) v, causal
// optional, read straight out of the fused qkv projection and written in the layout the
// output projection wants. LibTorch 1.13's eager path (permute copies, a batched matmul
// that loops over B x H small matrices with a dispatch and a BLAS call each, a masking
// pass, a separate softmax) spends much of its time outside arithmetic at the suite's
// sizes (T ~ 50-130, head width 16-32).
#ifndef GS_TASKS_MODELS_ATTENTION_H_
#define GS_TASKS_MODELS_ATTENTION_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace gs::models {

// qkv: [B, T, 3 * C] (q, k, v each [B, T, heads, C / heads]) -> y: [B, T, C].
// Differentiable. One BLAS call per head and product on strided views, and one pass of
// softmax (with the causal mask) over all heads; float and double CPU tensors, others
// the eager formula.
at::Tensor BlasAttention(const at::Tensor& qkv, int64_t heads, bool causal);

// What the models call: BlasAttention (the fastest of the ways measured) for CPU tensors
// with the CPU fast paths on (optimizers/cpu_paths.h), GenericAttention otherwise.
at::Tensor AttentionCore(const at::Tensor& qkv, int64_t heads, bool causal);

// The device-generic path: at::scaled_dot_product_attention where the LibTorch has it
// (2.0 and later: fused kernels on a GPU), else ReferenceAttention.
at::Tensor GenericAttention(const at::Tensor& qkv, int64_t heads, bool causal);

// The eager formula (permutes, matmuls, masked_fill, softmax): the reference and fallback.
at::Tensor ReferenceAttention(const at::Tensor& qkv, int64_t heads, bool causal);

}  // namespace gs::models

#endif  // GS_TASKS_MODELS_ATTENTION_H_
