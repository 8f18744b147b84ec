// Optimizer step time over a GPT-like parameter set (12 blocks of width 512 plus
// embeddings and head, 42.5M parameters), one thread:
//   LibTorch's own torch::optim::AdamW / SGD (per parameter), ours without and with
//   Window Smoothing, Muon with batched versus per-layer Newton-Schulz, and a plain
//   copy of the same bytes as the bandwidth reference.
// Google Benchmark's own flags work as usual (--benchmark_format=json, --benchmark_out);
// after the runs the ratios set as targets go to stderr.
//
//   bazel run //benchmarks:optimizer_benchmark
//   bazel run //benchmarks:optimizer_benchmark -- --benchmark_filter=AdamW
#include <benchmark/benchmark.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/timing_stats.h"
#include "optimizers/kernels.h"
#include "optimizers/optimizer.h"
#include "optimizers/window_smoothing.h"
#include "tasks/harness/blas.h"

namespace {

struct Shape {
  int64_t blocks = 12, width = 512, vocab = 4096, context = 1024;
};

// nanoGPT-style names and shapes; gradients filled with fixed random values.
std::vector<gs::NamedTensor> GptParameters(const Shape& s) {
  torch::manual_seed(0);
  const int64_t w = s.width;
  std::vector<std::pair<std::string, std::vector<int64_t>>> shapes{
      {"wte.weight", {s.vocab, w}}, {"wpe.weight", {s.context, w}}};
  for (int64_t i = 0; i < s.blocks; ++i) {
    const std::string b = "blocks." + std::to_string(i) + ".";
    for (auto [slot, shape] : std::vector<std::pair<std::string, std::vector<int64_t>>>{
             {"ln_1.weight", {w}}, {"ln_1.bias", {w}}, {"attn.qkv.weight", {3 * w, w}},
             {"attn.proj.weight", {w, w}}, {"ln_2.weight", {w}}, {"ln_2.bias", {w}},
             {"mlp.fc.weight", {4 * w, w}}, {"mlp.proj.weight", {w, 4 * w}}}) {
      shapes.push_back({b + slot, shape});
    }
  }
  shapes.push_back({"ln_f.weight", {w}});
  shapes.push_back({"head.weight", {s.vocab, w}});
  std::vector<gs::NamedTensor> params;
  for (auto& [name, shape] : shapes) {
    torch::Tensor p = torch::randn(shape).mul_(0.02).requires_grad_(true);
    p.mutable_grad() = torch::randn(shape).mul_(1e-3);
    params.push_back({name, p});
  }
  return params;
}

int64_t Numel(const std::vector<gs::NamedTensor>& params) {
  int64_t n = 0;
  for (const auto& p : params) n += p.tensor.numel();
  return n;
}

std::vector<torch::Tensor> Tensors(const std::vector<gs::NamedTensor>& params) {
  std::vector<torch::Tensor> out;
  for (const auto& p : params) out.push_back(p.tensor);
  return out;
}

// Bytes an optimizer step must move at least: `streams` passes of 4 bytes per element.
void SetBytes(benchmark::State& state, int64_t numel, int64_t streams) {
  state.SetBytesProcessed(state.iterations() * numel * 4 * streams);
  state.counters["params_M"] = numel / 1e6;
}

Shape ShapeOf(const benchmark::State& state) {
  Shape s;
  s.width = state.range(0);
  return s;
}

void BM_Copy(benchmark::State& state) {
  at::set_num_threads(1);
  const int64_t n = Numel(GptParameters(ShapeOf(state)));
  torch::Tensor src = torch::randn({n}), dst = torch::empty({n});
  for (auto _ : state) {
    dst.copy_(src);
    benchmark::ClobberMemory();
  }
  SetBytes(state, n, 2);  // read + write
}

void BM_LibTorchAdamW(benchmark::State& state) {
  at::set_num_threads(1);
  auto params = GptParameters(ShapeOf(state));
  torch::optim::AdamW opt(Tensors(params), torch::optim::AdamWOptions(1e-3).weight_decay(0.1));
  for (auto _ : state) opt.step();
  SetBytes(state, Numel(params), 7);  // read p, g, m, v; write p, m, v
}

void BM_LibTorchSGD(benchmark::State& state) {
  at::set_num_threads(1);
  auto params = GptParameters(ShapeOf(state));
  torch::optim::SGD opt(Tensors(params), torch::optim::SGDOptions(1e-2).momentum(0.9));
  for (auto _ : state) opt.step();
  SetBytes(state, Numel(params), 5);  // read p, g, buf; write p, buf
}

// Ours through the registry, as the tasks build it.
absl::StatusOr<std::unique_ptr<gs::DepthOptimizer>> MakeOurs(
    const std::vector<gs::NamedTensor>& params, const std::string& optimizer,
    const std::string& smoothing, std::map<std::string, std::string> options = {}) {
  gs::OptimizerConfig config;
  config.optimizer = optimizer;
  config.smoothing = smoothing;
  config.base.options = std::move(options);
  if (optimizer == "adamw") config.base.weight_decay = 0.1;
  return gs::CreateOptimizer(params, config);
}

void Ours(benchmark::State& state, const std::string& optimizer, const std::string& smoothing,
          int64_t streams, std::map<std::string, std::string> options = {}) {
  at::set_num_threads(1);
  auto params = GptParameters(ShapeOf(state));
  auto opt = MakeOurs(params, optimizer, smoothing, std::move(options));
  if (!opt.ok()) {
    state.SkipWithError(std::string(opt.status().message()).c_str());
    return;
  }
  for (auto _ : state) (*opt)->step();
  SetBytes(state, Numel(params), streams);
}

void BM_OursAdamW(benchmark::State& s) { Ours(s, "adamw", "none", 7); }
void BM_OursAdamWWindow(benchmark::State& s) { Ours(s, "adamw", "window", 7); }
void BM_OursSGD(benchmark::State& s) { Ours(s, "sgd", "none", 5); }
void BM_OursSGDWindow(benchmark::State& s) { Ours(s, "sgd", "window", 5); }
void BM_MuonBatched(benchmark::State& s) { Ours(s, "muon", "none", 7, {{"batched", "true"}}); }
void BM_MuonPerLayer(benchmark::State& s) { Ours(s, "muon", "none", 7, {{"batched", "false"}}); }
// Two optimizers on two copies of the parameter set step in alternating order (A B, B A,
// ...), so that the machine's drift reaches both alike; the step times of each, in pairs.
struct PairedTimes {
  std::vector<double> a, b;
};
PairedTimes AlternateSteps(benchmark::State& state, gs::DepthOptimizer& a, gs::DepthOptimizer& b) {
  auto time_step = [](gs::DepthOptimizer& opt) {
    const auto start = std::chrono::steady_clock::now();
    opt.step();
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  };
  PairedTimes times;
  bool b_first = false;
  for (auto _ : state) {
    if (b_first) {
      times.b.push_back(time_step(b));
      times.a.push_back(time_step(a));
    } else {
      times.a.push_back(time_step(a));
      times.b.push_back(time_step(b));
    }
    b_first = !b_first;
  }
  return times;
}

// A paired benchmark of two configurations of ours; counters: the median of the per-pair
// ratios b / a (`ratio`), and each one's median step time in ms (`a_ms`, `b_ms`).
void Paired(benchmark::State& state, const std::string& optimizer_a, const std::string& smoothing_a,
            std::map<std::string, std::string> options_a, const std::string& optimizer_b,
            const std::string& smoothing_b, std::map<std::string, std::string> options_b) {
  at::set_num_threads(1);
  auto params_a = GptParameters(ShapeOf(state));
  auto params_b = GptParameters(ShapeOf(state));
  auto a = MakeOurs(params_a, optimizer_a, smoothing_a, std::move(options_a));
  auto b = MakeOurs(params_b, optimizer_b, smoothing_b, std::move(options_b));
  if (!a.ok() || !b.ok()) {
    state.SkipWithError("optimizer creation failed");
    return;
  }
  const PairedTimes times = AlternateSteps(state, **a, **b);
  using gs::benchmarks::Median;
  state.counters["ratio"] = Median(gs::benchmarks::Ratios(times.a, times.b));
  state.counters["a_ms"] = 1e3 * Median(times.a);
  state.counters["b_ms"] = 1e3 * Median(times.b);
}

// The smoothing overhead as the target defines it: a = AdamW, b = AdamW + Window.
void BM_AdamWWindowPaired(benchmark::State& state) {
  Paired(state, "adamw", "none", {}, "adamw", "window", {});
}
// The same for the rest of the family: Laplacian sharpening (radius 1) and EMA along
// depth (a full lower-triangular mix: every block reads every block below it).
void BM_AdamWLaplacianPaired(benchmark::State& state) {
  Paired(state, "adamw", "none", {}, "adamw", "laplacian", {});
}
void BM_AdamWEmaPaired(benchmark::State& state) {
  Paired(state, "adamw", "none", {}, "adamw", "ema", {});
}
// The Newton-Schulz speed-up as the target defines it: a = Muon with the stack path,
// b = Muon with muon.py's per-layer loop; the ratio is the speed-up.
void BM_MuonPaired(benchmark::State& state) {
  Paired(state, "muon", "none", {{"batched", "true"}}, "muon", "none", {{"batched", "false"}});
}

void BM_MuonBatchedWindow(benchmark::State& s) {
  Ours(s, "muon", "window", 7, {{"batched", "true"}});
}

// The passes of one step on a single [12, 1M] stack, for profiling.
struct Stack {
  torch::Tensor p = torch::randn({12, 1 << 20}), g = torch::randn({12, 1 << 20}),
                m = torch::zeros({12, 1 << 20}), v = torch::ones({12, 1 << 20}),
                d = torch::randn({12, 1 << 20});
  gs::kernels::AdamWHyper h{0.9, 0.999, 1e-8, 0.1, 0.001};
};

void BM_KernelAdamWStep(benchmark::State& state) {
  at::set_num_threads(1);
  Stack s;
  for (auto _ : state) gs::kernels::AdamWStep(s.p, s.g, s.m, s.v, s.h, 1e-3, 0.1);
  SetBytes(state, s.p.numel(), 7);
}
void BM_KernelAdamWDirection(benchmark::State& state) {
  at::set_num_threads(1);
  Stack s;
  for (auto _ : state) gs::kernels::AdamWDirection(s.g, s.m, s.v, s.d, s.h);
  SetBytes(state, s.p.numel(), 6);
}
void BM_KernelApplyUpdate(benchmark::State& state) {
  at::set_num_threads(1);
  Stack s;
  for (auto _ : state) gs::kernels::ApplyUpdate(s.p, s.d, 1e-3, 0.1);
  SetBytes(state, s.p.numel(), 3);
}
void BM_KernelMixedUpdate(benchmark::State& state) {
  at::set_num_threads(1);
  Stack s;
  const gs::DepthMix mix = gs::WindowSmoothing().BaseMix(12);
  for (auto _ : state) gs::kernels::ApplyMixedUpdate(mix, s.p, s.d, 1e-3, 0.1);
  SetBytes(state, s.p.numel(), 3);
}
void BM_KernelAdamWMixedStep(benchmark::State& state) {
  at::set_num_threads(1);
  Stack s;
  const gs::DepthMix mix = gs::WindowSmoothing().BaseMix(12);
  for (auto _ : state) gs::kernels::AdamWMixedStep(mix, s.p, s.g, s.m, s.v, s.h, 1e-3, 0.1);
  SetBytes(state, s.p.numel(), 7);
}
BENCHMARK(BM_KernelAdamWStep)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KernelAdamWDirection)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KernelApplyUpdate)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KernelMixedUpdate)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_KernelAdamWMixedStep)->Unit(benchmark::kMillisecond)->UseRealTime();

#define GPT_BENCHMARK(fn) BENCHMARK(fn)->Arg(512)->Arg(128)->Unit(benchmark::kMillisecond)->UseRealTime()
GPT_BENCHMARK(BM_Copy);
GPT_BENCHMARK(BM_LibTorchAdamW);
GPT_BENCHMARK(BM_OursAdamW);
GPT_BENCHMARK(BM_OursAdamWWindow);
BENCHMARK(BM_AdamWWindowPaired)->Arg(512)->Arg(128)->MinTime(3.0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamWLaplacianPaired)->Arg(512)->Arg(128)->MinTime(3.0)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamWEmaPaired)->Arg(512)->Arg(128)->MinTime(3.0)->Unit(benchmark::kMillisecond)->UseRealTime();
GPT_BENCHMARK(BM_LibTorchSGD);
GPT_BENCHMARK(BM_OursSGD);
GPT_BENCHMARK(BM_OursSGDWindow);
GPT_BENCHMARK(BM_MuonBatched);
GPT_BENCHMARK(BM_MuonPerLayer);
GPT_BENCHMARK(BM_MuonBatchedWindow);
// Six pairs (each order three times): a Muon step at width 512 takes seconds.
BENCHMARK(BM_MuonPaired)->Arg(512)->Arg(128)->Iterations(6)->Unit(benchmark::kMillisecond)->UseRealTime();

// Collects real time per iteration by benchmark name and hands every call on to the
// library's own display reporter, so --benchmark_format and --benchmark_out behave as in
// any Google Benchmark binary; the targets go to stderr after the runs.
class RatioReporter : public benchmark::BenchmarkReporter {
 public:
  explicit RatioReporter(benchmark::BenchmarkReporter* display) : display_(display) {}

  bool ReportContext(const Context& context) override { return display_->ReportContext(context); }
  void Finalize() override { display_->Finalize(); }
  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      // With --benchmark_repetitions, use the median; otherwise the single run.
      if (run.run_type == Run::RT_Aggregate && run.aggregate_name != "median") continue;
      times_[run.run_name.str()] = run.GetAdjustedRealTime();
      if (auto ratio = run.counters.find("ratio"); ratio != run.counters.end()) {  // Paired()
        paired_[run.run_name.function_name + "/" + run.run_name.args] = ratio->second.value;
      }
    }
    display_->ReportRuns(runs);
  }

  void PrintTargets() const {
    std::fprintf(stderr, "\nTargets (same process, same parameter set, 1 thread, %s BLAS kernels):\n",
                gs::tasks::BlasCoreName().c_str());
    for (const char* width : {"512", "128"}) {
      auto t = [&](const std::string& name) {
        auto it = times_.find(name + "/" + width + "/real_time");
        return it == times_.end() ? -1.0 : it->second;
      };
      auto line = [](const char* what, double value, const char* goal, bool ok) {
        if (value < 0) return;
        std::fprintf(stderr, "  %-58s %7.3f  (%s: %s)\n", what, value, goal, ok ? "met" : "NOT met");
      };
      std::fprintf(stderr, " width %s:\n", width);
      const double adamw = t("BM_OursAdamW"), torch_adamw = t("BM_LibTorchAdamW");
      const double window = t("BM_OursAdamWWindow"), copy = t("BM_Copy");
      const double batched = t("BM_MuonBatched"), per_layer = t("BM_MuonPerLayer");
      if (adamw > 0 && torch_adamw > 0) {
        line("our AdamW step / LibTorch AdamW step", adamw / torch_adamw, "<= 0.8", adamw / torch_adamw <= 0.8);
      }
      auto paired = [&](const std::string& name) {
        auto it = paired_.find(name + "/" + width);
        return it == paired_.end() ? -1.0 : it->second;
      };
      const double window_paired = paired("BM_AdamWWindowPaired"), muon_paired = paired("BM_MuonPaired");
      line("AdamW + Window Smoothing / AdamW, paired (overhead = value - 1)", window_paired, "<= 1.35",
           window_paired <= 1.35);
      if (adamw > 0 && window > 0) {
        line("AdamW + Window Smoothing / AdamW, ratio of medians", window / adamw, "info", true);
      }
      line("AdamW + Laplacian sharpening / AdamW, paired", paired("BM_AdamWLaplacianPaired"),
           "info", true);
      line("AdamW + EMA along depth / AdamW, paired", paired("BM_AdamWEmaPaired"), "info", true);
      line("Muon per-layer NS / batched NS (speed-up), paired", muon_paired, ">= 1.5", muon_paired >= 1.5);
      if (batched > 0 && per_layer > 0) {
        line("Muon per-layer NS / batched NS, ratio of medians", per_layer / batched, "info", true);
      }
      if (adamw > 0 && copy > 0) {
        // Bandwidth: AdamW moves 7 streams, the copy 2, of the same element count.
        const double fraction = (7.0 / adamw) / (2.0 / copy);
        line("AdamW bandwidth / copy bandwidth", fraction, ">= 0.6", fraction >= 0.6);
      }
      const double sgd = t("BM_OursSGD"), torch_sgd = t("BM_LibTorchSGD"), sgd_window = t("BM_OursSGDWindow");
      if (sgd > 0 && torch_sgd > 0) line("our SGD step / LibTorch SGD step", sgd / torch_sgd, "info", true);
      if (sgd > 0 && sgd_window > 0) line("SGD + Window Smoothing / SGD", sgd_window / sgd, "info", true);
      const double muon_window = t("BM_MuonBatchedWindow");
      if (batched > 0 && muon_window > 0) line("Muon + Window Smoothing / Muon", muon_window / batched, "info", true);
    }
  }

 private:
  benchmark::BenchmarkReporter* display_;  // the library's; it owns it
  std::map<std::string, double> times_;
  std::map<std::string, double> paired_;  // "<benchmark>/<width>" -> median per-pair ratio
};

}  // namespace

int main(int argc, char** argv) {
  gs::tasks::UseFastBlasKernels(argv);  // as the task binaries do (see tasks/harness/blas.h)
  gs::tasks::SetBlasThreads(1);  // one thread, as at::set_num_threads(1) in each benchmark
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  RatioReporter reporter(benchmark::CreateDefaultDisplayReporter());
  benchmark::RunSpecifiedBenchmarks(&reporter);
  reporter.PrintTargets();
  benchmark::Shutdown();
  return 0;
}
