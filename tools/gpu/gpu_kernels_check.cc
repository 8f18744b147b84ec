// The GPU half of tools/gpu_check.sh, torch-only (no Abseil, no GoogleTest): the fused
// CUDA kernels against the CPU's fused loops on random stacks, bit for bit, through the
// same entry points the optimizers call (kernels.h: CUDA tensors take the CUDA kernels
// in this build), then the optimizer microbenchmark on the GPU: our smoothed AdamW step
// over a depth stack against torch::optim::AdamW over the same parameters and against
// a plain copy of the bytes one step must move (the GPU's memory-bound limit).
// Exit codes: 0 all equal, 1 a difference, 77 no usable CUDA device.
#include <chrono>
#include <cstdio>
#include <vector>

#include <torch/torch.h>

#include "optimizers/kernels.h"

namespace {

// Window smoothing with radius 1 (the paper's): (1 - a) D_l + a/2 (D_{l-1} + D_{l+1}),
// a missing neighbour's weight on block l.
gs::DepthMix Window(int64_t depth, double alpha) {
  gs::DepthMix mix;
  mix.rows.resize(depth);
  for (int64_t l = 0; l < depth; ++l) {
    double self = 1.0 - alpha;
    if (l == 0) self += alpha / 2;
    if (l == depth - 1) self += alpha / 2;
    if (l > 0) mix.rows[l].push_back({l - 1, alpha / 2});
    mix.rows[l].push_back({l, self});
    if (l + 1 < depth) mix.rows[l].push_back({l + 1, alpha / 2});
  }
  return mix;
}

bool Same(const torch::Tensor& gpu, const torch::Tensor& cpu, const char* what) {
  const bool same = torch::equal(gpu.cpu(), cpu);
  if (!same) {
    std::printf("DIFFERENT %s: max |gpu - cpu| = %g\n", what,
                (gpu.cpu() - cpu).abs().max().item<double>());
  }
  return same;
}

bool CompareKernels() {
  const gs::kernels::AdamWHyper adamw{0.9, 0.95, 1e-8, 1 - 0.9 * 0.9, 1 - 0.95 * 0.95};
  bool ok = true;
  int cases = 0;
  for (auto dtype : {torch::kFloat, torch::kDouble}) {
    for (int64_t depth : {1, 4, 12, 24}) {
      torch::manual_seed(depth);
      const auto o = torch::TensorOptions().dtype(dtype);
      const torch::Tensor p = torch::randn({depth, 96, 257}, o), g = torch::randn({depth, 96, 257}, o);
      const torch::Tensor m = torch::randn({depth, 96, 257}, o) * 0.1;
      const torch::Tensor v = torch::rand({depth, 96, 257}, o) * 0.01;
      gs::DepthMix mix = Window(depth, 0.2);
      torch::Tensor cp = p.clone(), cm = m.clone(), cv = v.clone();
      torch::Tensor gp = p.cuda(), gg = g.cuda(), gm = m.cuda(), gv = v.cuda();
      gs::kernels::AdamWMixedStep(mix, cp, g, cm, cv, adamw, 1e-2, 0.1);
      gs::kernels::AdamWMixedStep(mix, gp, gg, gm, gv, adamw, 1e-2, 0.1);
      ok = Same(gp, cp, "adamw p") && Same(gm, cm, "adamw m") && Same(gv, cv, "adamw v") && ok;
      for (bool nesterov : {false, true}) {
        const gs::kernels::SgdHyper h{0.9, 0.0, 1e-2, nesterov, false};
        torch::Tensor sp = p.clone(), sb = m.clone(), tp = p.cuda(), tb = m.cuda();
        gs::kernels::SgdMixedStep(mix, sp, g, sb, h, 0.05);
        gs::kernels::SgdMixedStep(mix, tp, gg, tb, h, 0.05);
        ok = Same(tp, sp, "sgd p") && Same(tb, sb, "sgd buf") && ok;
      }
      std::vector<double> scale(depth);
      for (int64_t l = 0; l < depth; ++l) scale[l] = 1.0 / (1.0 + l);
      mix.ScaleColumns(scale);
      torch::Tensor up = p.clone(), ug = p.cuda();
      gs::kernels::ApplyMixedUpdate(mix, up, g, 0.1, 0.01);
      gs::kernels::ApplyMixedUpdate(mix, ug, gg, 0.1, 0.01);
      ok = Same(ug, up, "mixed update") && ok;
      cases += 5;
    }
  }
  std::printf("cuda kernels vs cpu loops: %d cases, %s\n", cases, ok ? "all bit-identical" : "DIFFERENCES");
  return ok;
}

template <typename F>
double MillisecondsPerCall(F&& f) {
  for (int i = 0; i < 5; ++i) f();
  torch::cuda::synchronize();
  const int calls = 50;
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < calls; ++i) f();
  torch::cuda::synchronize();
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count() / calls;
}

void Benchmark() {
  // The paper's GPT blocks: depth 24, width 768; one depth group of 4 x width^2 (the MLP).
  const int64_t depth = 24, width = 768;
  const auto o = torch::TensorOptions().device(torch::kCUDA);
  torch::Tensor p = torch::randn({depth, 4 * width, width}, o), g = torch::randn_like(p);
  torch::Tensor m = torch::zeros_like(p), v = torch::zeros_like(p);
  const gs::DepthMix mix = Window(depth, 0.2);
  const gs::kernels::AdamWHyper h{0.9, 0.999, 1e-8, 0.1, 0.001};
  const double ours = MillisecondsPerCall([&] { gs::kernels::AdamWMixedStep(mix, p, g, m, v, h, 1e-3, 0.1); });
  std::vector<torch::Tensor> params;
  for (int64_t l = 0; l < depth; ++l) {
    params.push_back(p[l].clone().requires_grad_());
    params.back().mutable_grad() = g[l].clone();
  }
  torch::optim::AdamW torch_adamw(params, torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  const double theirs = MillisecondsPerCall([&] { torch_adamw.step(); });
  // One step reads p, g, m, v and writes p, m, v: 7 tensors' bytes.
  torch::Tensor src = torch::empty({7 * p.numel() / 2}, o), dst = torch::empty_like(src);
  const double copy = MillisecondsPerCall([&] { dst.copy_(src); });
  const double gb = 7.0 * p.numel() * 4 / 1e9;
  std::printf("optimizer step, %lld x %lld x %lld floats (%.2f GB moved):\n",
              static_cast<long long>(depth), static_cast<long long>(4 * width),
              static_cast<long long>(width), gb);
  std::printf("  ours, AdamW + window smoothing (fused CUDA kernel): %8.3f ms  %6.0f GB/s\n", ours, gb / ours * 1e3);
  std::printf("  torch::optim::AdamW (no smoothing):                 %8.3f ms  %6.0f GB/s\n", theirs, gb / theirs * 1e3);
  std::printf("  copy of the same bytes (the memory-bound limit):    %8.3f ms  %6.0f GB/s\n", copy, gb / copy * 1e3);
}

}  // namespace

int main() {
  if (!torch::cuda::is_available()) {
    std::printf("gpu_kernels_check: no usable CUDA device in this LibTorch: skipped\n");
    return 77;
  }
  const bool ok = CompareKernels();
  Benchmark();
  return ok ? 0 : 1;
}
