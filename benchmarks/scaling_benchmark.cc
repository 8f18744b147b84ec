// How the optimizer step and the smoothing scale with model size: transformer-block
// stacks (the blocks' parameters only, named as in tasks/models/transformer.h) at depth
// L = 6, 12, 24, 48 (width 256) and width 128, 256, 512, 1024 (depth 12), one thread.
// Times AdamW's step, AdamW + Window Smoothing's step, and the smoothing alone (the
// depth mix over every depth group's stacked directions), with the parameter count as
// the counter `params`. benchmarks/plot_scaling.sh turns the JSON output into plots
// and a least-squares check that time grows linearly with the parameter count.
//
//   bazel run //benchmarks:scaling_benchmark -- --benchmark_format=json --benchmark_out=scaling.json
//   benchmarks/plot_scaling.sh scaling.json results/scaling
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <cstdio>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "optimizers/kernels.h"
#include "optimizers/optimizer.h"
#include "optimizers/window_smoothing.h"
#include "tasks/harness/blas.h"

namespace {

// One block's slots and shapes at width w (mlp ratio 4).
std::vector<std::pair<std::string, std::vector<int64_t>>> BlockSlots(int64_t w) {
  return {{"norm1.weight", {w}},          {"norm1.bias", {w}},
          {"attn.qkv.weight", {3 * w, w}}, {"attn.qkv.bias", {3 * w}},
          {"attn.proj.weight", {w, w}},    {"attn.proj.bias", {w}},
          {"norm2.weight", {w}},          {"norm2.bias", {w}},
          {"mlp.fc.weight", {4 * w, w}},   {"mlp.fc.bias", {4 * w}},
          {"mlp.proj.weight", {w, 4 * w}}, {"mlp.proj.bias", {w}}};
}

// blocks.<i>.<slot> for i < depth, with fixed random weights and gradients.
std::vector<gs::NamedTensor> StackParameters(int64_t depth, int64_t width) {
  torch::manual_seed(0);
  std::vector<gs::NamedTensor> params;
  for (int64_t i = 0; i < depth; ++i) {
    for (const auto& [slot, shape] : BlockSlots(width)) {
      torch::Tensor p = torch::randn(shape).mul_(0.02).requires_grad_(true);
      p.mutable_grad() = torch::randn(shape).mul_(1e-3);
      params.push_back({"blocks." + std::to_string(i) + "." + slot, p});
    }
  }
  return params;
}

int64_t Numel(const std::vector<gs::NamedTensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.tensor.numel();
  return n;
}

void Optimizer(benchmark::State& state, const std::string& smoothing) {
  at::set_num_threads(1);
  auto params = StackParameters(state.range(0), state.range(1));
  gs::OptimizerConfig config;
  config.optimizer = "adamw";
  config.smoothing = smoothing;
  config.base.weight_decay = 0.1;
  auto opt = gs::CreateOptimizer(params, config);
  if (!opt.ok()) {
    state.SkipWithError(std::string(opt.status().message()).c_str());
    return;
  }
  for (auto _ : state) (*opt)->step();
  state.counters["params"] = static_cast<double>(Numel(params));
  state.counters["depth"] = static_cast<double>(state.range(0));
  state.counters["width"] = static_cast<double>(state.range(1));
}

void BM_AdamW(benchmark::State& state) { Optimizer(state, "none"); }
void BM_AdamWWindow(benchmark::State& state) { Optimizer(state, "window"); }

// The smoothing alone: D' = Mix(D) for every depth group's [L, ...] directions.
void BM_Smoothing(benchmark::State& state) {
  at::set_num_threads(1);
  const int64_t depth = state.range(0), width = state.range(1);
  torch::manual_seed(0);
  std::vector<torch::Tensor> in, out;
  int64_t params = 0;
  for (const auto& [slot, shape] : BlockSlots(width)) {
    std::vector<int64_t> stacked = {depth};
    stacked.insert(stacked.end(), shape.begin(), shape.end());
    in.push_back(torch::randn(stacked));
    out.push_back(torch::empty(stacked));
    params += in.back().numel();
  }
  const gs::DepthMix mix = gs::WindowSmoothing().BaseMix(depth);
  for (auto _ : state) {
    for (size_t g = 0; g < in.size(); ++g) gs::kernels::Mix(mix, in[g], out[g]);
    benchmark::ClobberMemory();
  }
  state.counters["params"] = static_cast<double>(params);
  state.counters["depth"] = static_cast<double>(depth);
  state.counters["width"] = static_cast<double>(width);
}

// Depth sweep at width 256, then width sweep at depth 12 (12 x 256 only once).
void Sizes(benchmark::internal::Benchmark* b) {
  std::set<std::pair<int64_t, int64_t>> seen;
  for (int64_t depth : {6, 12, 24, 48}) {
    seen.insert({depth, 256});
    b->Args({depth, 256});
  }
  for (int64_t width : {128, 256, 512, 1024}) {
    if (seen.insert({12, width}).second) b->Args({12, width});
  }
  b->ArgNames({"depth", "width"});
}

BENCHMARK(BM_AdamW)->Apply(Sizes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamWWindow)->Apply(Sizes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Smoothing)->Apply(Sizes)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

int main(int argc, char** argv) {
  gs::tasks::UseFastBlasKernels(argv);  // as the task binaries do (see tasks/harness/blas.h)
  gs::tasks::SetBlasThreads(1);  // one thread, as at::set_num_threads(1) in each benchmark
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::AddCustomContext("blas_kernels", gs::tasks::BlasCoreName());
  benchmark::AddCustomContext("optimizer_kernels", gs::kernels::InstructionSet());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
