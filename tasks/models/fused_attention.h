// Multi-head scaled dot-product attention as one CPU kernel with its own backward.
// LibTorch 1.13's eager path (permute copies, a batched matmul that loops over B x H
// small matrices with a BLAS call each, a separate softmax) spends most of its time
// outside arithmetic at the suite's sizes (T ~ 50-130, head width 16-32); this kernel
// reads q, k, v straight out of the fused qkv projection and writes y in the layout the
// output projection wants. Same math: softmax(q k^T / sqrt(d)) v, causal optional.
#ifndef GS_TASKS_MODELS_FUSED_ATTENTION_H_
#define GS_TASKS_MODELS_FUSED_ATTENTION_H_

#include <cstdint>

#include <ATen/core/Tensor.h>

namespace gs::models {

// qkv: [B, T, 3 * C] (q, k, v each [B, T, heads, C / heads]) -> y: [B, T, C].
// Differentiable. float32 CPU tensors use the kernel; others the eager reference.
at::Tensor FusedAttention(const at::Tensor& qkv, int64_t heads, bool causal);

// The same computation with one BLAS call per head and product on strided views, and
// ATen's softmax. Differentiable; float and double CPU tensors, others the eager formula.
at::Tensor BlasAttention(const at::Tensor& qkv, int64_t heads, bool causal);

// What the models call: the kernel for causal attention (faster there), BlasAttention
// for the rest.
at::Tensor AttentionCore(const at::Tensor& qkv, int64_t heads, bool causal);

// The eager formula (permutes, matmuls, softmax): the kernel's reference and fallback.
at::Tensor ReferenceAttention(const at::Tensor& qkv, int64_t heads, bool causal);

}  // namespace gs::models

#endif  // GS_TASKS_MODELS_FUSED_ATTENTION_H_
