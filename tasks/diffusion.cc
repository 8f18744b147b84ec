// //tasks:diffusion: a class-conditional U-ViT trained as a DDPM (epsilon prediction,
// cosine schedule, T = 1000, labels dropped with probability 0.1 for classifier-free
// guidance) on Fashion-MNIST (Debian's dataset-fashion-mnist), evaluated, as the U-ViT
// recipe does, on an exponential moving average of the weights (TrainingRecipe::weight_ema).
// Primary and selection metric: val_loss_ema (min), the averaged weights' denoising loss
// on the first validation images (the last 5000 training images, never trained on) at
// the fixed timesteps t_k = floor((k + 0.5) T / 10) with noise drawn once from a
// generator of its own (the same inputs in every run), also per bin as
// val_loss_t<k>_ema; val_loss(_t<k>) are the raw weights'. At the end only:
// test_loss(_ema) on the first test images, the same way; frechet_distance between DDIM samples of the averaged weights and the real
// test images on the features of a fixed classifier (cached under --cache_dir), beside
// frechet_floor (real validation images in place of the samples) and frechet_ceiling
// (the untrained model's samples); and <out>/samples.png, a grid of the samples.
#include <torch/torch.h>

#include <cstdio>
#include <map>
#include <memory>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "tasks/harness/cache.h"
#include "tasks/data/fashion_mnist.h"
#include "tasks/diffusion.h"
#include "tasks/generation/ddpm.h"
#include "tasks/generation/feature_classifier.h"
#include "tasks/generation/frechet.h"
#include "tasks/generation/png.h"
#include "tasks/models/uvit.h"
#include "tasks/harness/one_thread.h"
#include "tasks/harness/run_dir.h"
#include "tasks/harness/trainer.h"

namespace gs::tasks {
namespace {

using diffusion::NoiseSchedule;

constexpr int64_t kBins = 10;               // held-out timestep grid
constexpr double kLabelDropout = 0.1;       // classifier-free guidance training
constexpr uint64_t kValNoiseSeed = 271828;  // the held-out noise, whatever the run's seed
constexpr uint64_t kProbeNoiseSeed = 314159;
constexpr uint64_t kUntrainedSeed = 161803;  // the initialisation the Frechet ceiling samples
constexpr int64_t kProbeTimestep = 500;
constexpr int64_t kGridColumns = 10;        // one column per class

struct Preset {
  models::UViTConfig model;
  int64_t batch;
  int64_t val_examples;     // the first validation (and, at the end, test) images
  int64_t probe_examples;   // the first validation images, for depth.json
  int64_t fid_real;         // the first test images, the Frechet distance's reference
  int64_t fid_samples;      // generated images (labels i mod 10); as many real ones for the floor
  int64_t sampler_steps;    // DDIM steps (evenly spaced from t = 1)
  double guidance;          // eps = eps_c + w (eps_c - eps_u); 0: conditional only
  uint64_t sampler_seed;    // the starting noise of the samples
  TrainingRecipe recipe;
};

Preset MakePreset(const std::string& name) {
  Preset p;
  p.sampler_seed = 1;
  p.fid_real = 10000;
  if (name == "smoke") {
    p.model.depth = 3;  // 3 in-blocks + mid-block + 3 out-blocks
    p.model.width = 32;
    p.model.heads = 2;
    p.batch = 8;
    p.val_examples = 50;
    p.probe_examples = 32;
    p.fid_real = 200;
    p.fid_samples = 40;
    p.sampler_steps = 4;
    p.guidance = 2.0;
    p.recipe = TrainingRecipe().Steps(40).EvalEvery(20).CheckpointEvery(10).LogEvery(10).Warmup(5);
    p.recipe.weight_ema = 0.9;
  } else if (name == "quick") {
    // Chosen by measurement (docs/diffusion.md): about 10 minutes on one core, samples in
    // which the classes are recognisable.
    p.model.depth = 3;
    p.model.width = 96;
    p.model.heads = 4;
    p.batch = 48;
    p.val_examples = 250;
    p.probe_examples = 256;
    p.fid_samples = 500;
    p.sampler_steps = 25;
    p.guidance = 2.0;
    p.recipe = TrainingRecipe().Steps(2400).EvalEvery(600).CheckpointEvery(200).LogEvery(50).Warmup(100);
    p.recipe.weight_ema = 0.999;
  } else {  // paper: U-ViT-S/2-like (patch 2, width 512, 6 + 1 + 6 blocks) for a GPU
    p.model.patch = 2;
    p.model.depth = 6;
    p.model.width = 512;
    p.model.heads = 8;
    p.batch = 128;
    p.val_examples = 5000;
    p.probe_examples = 256;
    p.fid_samples = 10000;
    p.sampler_steps = 50;
    p.guidance = 2.0;
    p.recipe = TrainingRecipe().Steps(100000).EvalEvery(5000).CheckpointEvery(5000).LogEvery(100).Warmup(2500);
    p.recipe.weight_ema = 0.9999;  // the U-ViT code's
  }
  p.recipe.clip = 1.0;
  p.recipe.weight_decay = {{"sgd", 5e-4}, {"adamw", 0.03}, {"muon", 0.03}};
  p.recipe.lr = {{"sgd", 0.1}, {"adamw", 2e-3}, {"muon", 0.02}};
  return p;
}

// A held-out denoising set: x_t of the given images for every timestep bin, with noise
// from a generator of its own, so every run scores the same inputs.
struct DenoisingSet {
  DenoisingSet(const NoiseSchedule& schedule, const at::Tensor& images, const at::Tensor& labels)
      : labels(labels) {
    at::Generator noise_generator = at::make_generator<at::CPUGeneratorImpl>(kValNoiseSeed);
    for (int64_t t : diffusion::EvalTimesteps(diffusion::kTimesteps, kBins)) {
      at::Tensor eps = torch::randn(images.sizes(), noise_generator);
      at::Tensor steps = torch::full({images.size(0)}, t, torch::kLong);
      inputs.push_back(diffusion::AddNoise(schedule, images, steps, eps));
      noise.push_back(eps);
      timesteps.push_back(steps);
    }
  }
  DenoisingSet() = default;

  at::Tensor labels;
  std::vector<at::Tensor> inputs, noise, timesteps;
};

class Diffusion : public Task {
 public:
  std::string name() const override { return "diffusion"; }
  PrimaryMetric primary() const override { return {"val_loss_ema", "min"}; }
  PrimaryMetric selection() const override { return {"val_loss_ema", "min"}; }
  std::vector<std::string> chains() const override { return {"in_blocks", "out_blocks"}; }

  absl::Status Setup(const RunConfig& config) override {
    preset_ = MakePreset(config.preset);
    const std::string dir = config.data.empty() ? data::kFashionMnistDir : config.data;
    absl::StatusOr<data::ImageSet> train = data::LoadFashionMnist(true, dir);
    if (!train.ok()) return train.status();
    absl::StatusOr<data::ImageSet> test = data::LoadFashionMnist(false, dir);
    if (!test.ok()) return test.status();
    // Pixels in [-1, 1], as DDPMs model them.
    const data::TrainValSplit split = data::SplitOffValidation(*train);
    train_images_ = split.train.images * 2 - 1;
    train_labels_ = split.train.labels;
    val_images_ = split.val.images * 2 - 1;
    val_labels_ = split.val.labels;
    test_images_ = test->images * 2 - 1;
    test_labels_ = test->labels;
    seed_ = config.seed;
    out_ = config.out;
    device_ = torch::Device(config.device);
    schedule_ = diffusion::CosineSchedule(diffusion::kTimesteps);

    const int64_t n = preset_.val_examples;
    val_ = DenoisingSet(schedule_, val_images_.slice(0, 0, n), val_labels_.slice(0, 0, n));
    test_ = DenoisingSet(schedule_, test_images_.slice(0, 0, n), test_labels_.slice(0, 0, n));
    {
      at::Tensor probe = val_images_.slice(0, 0, preset_.probe_examples);
      at::Generator probe_noise = at::make_generator<at::CPUGeneratorImpl>(kProbeNoiseSeed);
      probe_steps_ = torch::full({probe.size(0)}, kProbeTimestep, torch::kLong);
      probe_inputs_ = diffusion::AddNoise(schedule_, probe, probe_steps_,
                                          torch::randn(probe.sizes(), probe_noise));
    }
    if (absl::Status s = LoadFeatureClassifier(config.cache_dir); !s.ok()) return s;
    frechet_floor_ = diffusion::FrechetDistance(
        real_stats_, FeatureStats(val_images_.slice(0, 0, preset_.fid_samples)));
    if (absl::Status s = LoadFrechetCeiling(config.cache_dir); !s.ok()) return s;

    model_ = models::UViT(preset_.model);
    model_->to(device_);
    return ranks().CheckDivides(preset_.batch, "the preset's batch");
  }

  const TrainingRecipe& recipe() const override { return preset_.recipe; }
  torch::nn::Module& model() override { return *model_; }

  nlohmann::json Describe() const override {
    const models::UViTConfig& m = preset_.model;
    return {{"width", m.width}, {"blocks_per_chain", m.depth}, {"mid_blocks", 1},
            {"heads", m.heads}, {"patch", m.patch}, {"batch", preset_.batch},
            {"timesteps", diffusion::kTimesteps}, {"schedule", "cosine"},
            {"label_dropout", kLabelDropout}, {"val_examples", preset_.val_examples},
            {"val_split", "last 5000 training images"}, {"val_bins", kBins},
            {"fid_real", preset_.fid_real}, {"fid_samples", preset_.fid_samples},
            {"sampler", "ddim-eta0-leading"}, {"sampler_steps", preset_.sampler_steps},
            {"guidance", preset_.guidance}, {"sampler_seed", preset_.sampler_seed},
            {"feature_classifier", diffusion::kFeatureClassifierName}};
  }

  at::Tensor TrainLoss(int64_t step) override {
    // Every draw of the step from (seed, step) alone, so a resumed run sees the same.
    at::Generator generator = StreamGenerator(seed_, static_cast<uint64_t>(step));
    const int64_t b = preset_.batch;
    at::Tensor index = torch::randint(train_images_.size(0), {b}, generator, torch::kLong);
    at::Tensor t = torch::randint(diffusion::kTimesteps, {b}, generator, torch::kLong);
    at::Tensor eps = torch::randn({b, 1, 28, 28}, generator);
    at::Tensor drop = torch::rand({b}, generator) < kLabelDropout;
    at::Tensor y = torch::where(drop, torch::full({b}, preset_.model.classes, torch::kLong),
                                train_labels_.index_select(0, index));
    at::Tensor xt = diffusion::AddNoise(schedule_, train_images_.index_select(0, index), t, eps);
    // The whole batch is drawn above, so its draws do not depend on the number of ranks.
    const Ranks& r = ranks();
    at::Tensor predicted = model_->forward(r.ShareOf(xt).to(device_), r.ShareOf(t).to(device_),
                                           r.ShareOf(y).to(device_));
    return torch::mse_loss(predicted, r.ShareOf(eps).to(device_));
  }

  // The raw weights: the held-out losses only.
  std::map<std::string, nlohmann::json> Evaluate(bool final) override {
    std::map<std::string, nlohmann::json> metrics = {{"val", DenoisingLosses(val_, "val", "")}};
    if (final) metrics["test"] = DenoisingLosses(test_, "test", "");
    return metrics;
  }

  // The averaged weights: the held-out losses, and at the end the samples.
  std::map<std::string, nlohmann::json> EvaluateAveraged(bool final) override {
    std::map<std::string, nlohmann::json> metrics = {{"val", DenoisingLosses(val_, "val", "_ema")}};
    if (!final) return metrics;
    nlohmann::json& test = metrics["test"] = DenoisingLosses(test_, "test", "_ema");
    const at::Tensor samples = Sample(*model_);
    test["frechet_distance"] = diffusion::FrechetDistance(real_stats_, FeatureStats(samples));
    test["frechet_floor"] = frechet_floor_;
    test["frechet_ceiling"] = frechet_ceiling_;
    // A c10::Error, which the trainer records as a failed run.
    if (ranks().is_main()) {
      const absl::Status s = WriteGrid(samples);
      TORCH_CHECK(s.ok(), "writing ", out_, "/samples.png: ", s.message());
    }
    return metrics;
  }

  std::map<std::string, ChainTrace> ProbeDepth() override {
    std::map<std::string, ChainTrace> traces;
    model_->forward(probe_inputs_.to(device_), probe_steps_.to(device_),
                    val_labels_.slice(0, 0, preset_.probe_examples).to(device_), &traces);
    return traces;
  }

 private:
  static constexpr int64_t kEvalBatch = 500;

  // <prefix>_loss_t<k><suffix> per timestep bin (the squared error's mean over the bin's
  // examples and pixels) and <prefix>_loss<suffix>, their mean; each rank sums its share.
  nlohmann::json DenoisingLosses(const DenoisingSet& set, const std::string& prefix,
                                 const std::string& suffix) {
    std::vector<double> sums(kBins, 0.0);
    for (int64_t k = 0; k < kBins; ++k) {
      const auto [first, stop] = ranks().Share(set.inputs[k].size(0));
      for (int64_t start = first; start < stop; start += kEvalBatch) {
        const int64_t end = std::min(stop, start + kEvalBatch);
        at::Tensor predicted = model_->forward(set.inputs[k].slice(0, start, end).to(device_),
                                               set.timesteps[k].slice(0, start, end).to(device_),
                                               set.labels.slice(0, start, end).to(device_));
        sums[k] += torch::mse_loss(predicted, set.noise[k].slice(0, start, end).to(device_),
                                   at::Reduction::Sum)
                       .item<double>();
      }
    }
    ranks().Sum(sums);
    nlohmann::json losses = nlohmann::json::object();
    double total = 0.0;
    for (int64_t k = 0; k < kBins; ++k) {
      const double loss = sums[k] / static_cast<double>(set.inputs[k].numel());
      losses[absl::StrCat(prefix, "_loss_t", k, suffix)] = loss;
      total += loss;
    }
    losses[absl::StrCat(prefix, "_loss", suffix)] = total / kBins;
    return losses;
  }

  absl::Status LoadFeatureClassifier(const std::string& cache_dir) {
    absl::StatusOr<std::string> bytes = CachedBytes(
        cache_dir, diffusion::kFeatureClassifierName,
        [&]() -> absl::StatusOr<std::string> {
          std::fprintf(stderr, "building the Fashion-MNIST feature classifier %s/%s (once)\n",
                       cache_dir.c_str(), diffusion::kFeatureClassifierName);
          double accuracy = 0.0;
          absl::StatusOr<std::string> built = diffusion::TrainFeatureClassifier(
              train_images_, train_labels_, test_images_, test_labels_, &accuracy);
          if (built.ok()) {
            std::fprintf(stderr, "feature classifier test accuracy %.4f\n", accuracy);
          }
          return built;
        },
        Warn);
    if (!bytes.ok()) return bytes.status();
    absl::StatusOr<diffusion::FeatureNet> net = diffusion::LoadFeatureClassifier(*bytes);
    if (!net.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(cache_dir, "/", diffusion::kFeatureClassifierName,
                                                     ": ", net.status().message(),
                                                     "; delete it to rebuild it"));
    }
    classifier_ = *net;
    torch::NoGradGuard no_grad;
    real_stats_ = FeatureStats(test_images_.slice(0, 0, preset_.fid_real));
    return absl::OkStatus();
  }

  // The Frechet distance of an untrained model's samples (fixed initialisation, the
  // preset's sampler): computed once per preset configuration, on one thread, and cached
  // next to the classifier.
  absl::Status LoadFrechetCeiling(const std::string& cache_dir) {
    const std::string key = Describe().dump();
    const std::string name = absl::StrFormat("diffusion/frechet_ceiling_%08x.txt", Crc32(key));
    absl::StatusOr<std::string> text = CachedBytes(
        cache_dir, name,
        [&]() -> absl::StatusOr<std::string> {
          std::fprintf(stderr, "sampling an untrained model for the Frechet ceiling %s/%s (once)\n",
                       cache_dir.c_str(), name.c_str());
          OneThread one_thread;
          torch::NoGradGuard no_grad;
          at::Generator global = at::detail::getDefaultCPUGenerator();
          const at::Tensor state = global.get_state();
          torch::manual_seed(kUntrainedSeed);
          models::UViT untrained(preset_.model);
          global.set_state(state);  // the run's own draws must not depend on the cache
          untrained->eval();
          const double ceiling =
              diffusion::FrechetDistance(real_stats_, FeatureStats(Sample(*untrained)));
          return absl::StrFormat("%.17g\n", ceiling);
        },
        Warn);
    if (!text.ok()) return text.status();
    if (!absl::SimpleAtod(*text, &frechet_ceiling_)) {
      return absl::InvalidArgumentError(
          absl::StrCat(cache_dir, "/", name, " does not hold a number; delete it to rebuild it"));
    }
    return absl::OkStatus();
  }

  static void Warn(const std::string& warning) { std::fprintf(stderr, "warning: %s\n", warning.c_str()); }

  // The classifier's features of images in [-1, 1] (on the CPU), as Gaussian statistics.
  diffusion::GaussianStats FeatureStats(const at::Tensor& images) {
    torch::NoGradGuard no_grad;
    std::vector<at::Tensor> features;
    for (int64_t start = 0; start < images.size(0); start += 1000) {
      features.push_back(classifier_->features(images.slice(0, start, start + 1000).to(torch::kCPU)));
    }
    return diffusion::FeatureStats(torch::cat(features));
  }

  // fid_samples images of `model`, labels i mod 10, from the preset's fixed starting noise.
  at::Tensor Sample(models::UViTImpl& model) {
    at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(preset_.sampler_seed);
    const int64_t n = preset_.fid_samples, classes = preset_.model.classes;
    at::Tensor noise = torch::randn({n, 1, 28, 28}, generator);
    at::Tensor labels = torch::arange(n, torch::kLong).remainder(classes);
    const torch::Device device = model.parameters().front().device();
    std::vector<at::Tensor> out;
    for (int64_t start = 0; start < n; start += kEvalBatch) {
      const int64_t end = std::min(n, start + kEvalBatch), m = end - start;
      at::Tensor y = labels.slice(0, start, end).to(device);
      at::Tensor unlabelled = torch::full({m}, classes, y.options());
      diffusion::NoisePredictor predict = [&](const at::Tensor& x, const at::Tensor& t) {
        if (preset_.guidance == 0.0) return model.forward(x, t, y);
        // Conditional and unconditional predictions in one pass.
        at::Tensor both = model.forward(torch::cat({x, x}), torch::cat({t, t}),
                                        torch::cat({y, unlabelled}));
        at::Tensor cond = both.slice(0, 0, m), uncond = both.slice(0, m);
        return cond + preset_.guidance * (cond - uncond);
      };
      out.push_back(diffusion::DdimSample(schedule_, predict, noise.slice(0, start, end).to(device),
                                          preset_.sampler_steps)
                        .to(torch::kCPU));
    }
    return torch::cat(out);
  }

  // The first samples (up to 10 rows, one column per class) as <out>/samples.png.
  absl::Status WriteGrid(const at::Tensor& samples) {
    const int64_t count = std::min<int64_t>(samples.size(0), kGridColumns * 10);
    const int64_t rows = (count + kGridColumns - 1) / kGridColumns, pad = 2, cell = 28 + pad;
    const int64_t width = kGridColumns * cell + pad, height = rows * cell + pad;
    at::Tensor pixels = ((samples.slice(0, 0, count).clamp(-1, 1) + 1) * 127.5).round().to(torch::kUInt8);
    std::vector<uint8_t> grid(width * height, 0);
    auto acc = pixels.accessor<uint8_t, 4>();
    for (int64_t i = 0; i < count; ++i) {
      const int64_t top = pad + (i / kGridColumns) * cell, left = pad + (i % kGridColumns) * cell;
      for (int64_t r = 0; r < 28; ++r) {
        for (int64_t c = 0; c < 28; ++c) grid[(top + r) * width + left + c] = acc[i][0][r][c];
      }
    }
    absl::StatusOr<std::string> png = diffusion::EncodeGrayPng(width, height, grid);
    if (!png.ok()) return png.status();
    return WriteFileAtomic(out_ + "/samples.png", *png);
  }

  Preset preset_;
  models::UViT model_{nullptr};
  diffusion::FeatureNet classifier_{nullptr};
  diffusion::GaussianStats real_stats_;
  double frechet_floor_ = 0.0, frechet_ceiling_ = 0.0;
  NoiseSchedule schedule_;
  at::Tensor train_images_, train_labels_, val_images_, val_labels_, test_images_, test_labels_;
  DenoisingSet val_, test_;
  at::Tensor probe_inputs_, probe_steps_;
  int64_t seed_ = 0;
  std::string out_;
  torch::Device device_ = torch::kCPU;
};

}  // namespace

std::unique_ptr<Task> NewDiffusion() { return std::make_unique<Diffusion>(); }

}  // namespace gs::tasks
