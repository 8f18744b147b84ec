// //tasks:vit_classification: a ViT classifying Fashion-MNIST (Debian's
// dataset-fashion-mnist). The last 5000 training images are held out as `val` and never
// trained on (data::SplitOffValidation, as the diffusion task does): hyperparameters are
// selected on val_accuracy (max), and the test set is only reported. Primary metric: test accuracy (max); also test loss, val loss.
#include <torch/torch.h>

#include <map>
#include <memory>

#include "absl/strings/str_cat.h"
#include "tasks/data/fashion_mnist.h"
#include "tasks/models/vit.h"
#include "tasks/harness/trainer.h"
#include "tasks/vit_classification.h"

namespace gs::tasks {
namespace {

struct Preset {
  models::ViTConfig model;
  int64_t batch;
  int64_t test_examples;  // evaluated examples of the 10000 (all for quick and paper)
  // Evaluated examples of the validation split (data::SplitOffValidation's last 5000
  // training images; all for quick and paper).
  int64_t val_examples;
  TrainingRecipe recipe;
};

Preset MakePreset(const std::string& name) {
  Preset p;
  if (name == "smoke") {
    p.model.width = 32;
    p.model.heads = 2;
    p.model.depth = 6;
    p.batch = 32;
    p.test_examples = 1000;
    p.val_examples = 1000;
    p.recipe = TrainingRecipe().Steps(40).EvalEvery(20).CheckpointEvery(10).LogEvery(10).Warmup(5);
  } else if (name == "quick") {
    p.model.width = 64;
    p.model.heads = 4;
    p.model.depth = 6;
    p.batch = 64;
    p.test_examples = 10000;
    p.val_examples = 5000;
    // About 5 minutes on one core here (0.18 s a step); test accuracy 0.851 with AdamW at
    // seed 0 (README): smaller batches and more steps beat batch 128 x 600 (0.847).
    p.recipe = TrainingRecipe().Steps(1600).EvalEvery(800).CheckpointEvery(800).LogEvery(25).Warmup(100);
  } else {  // paper: a ViT-S-like configuration for a GPU
    p.model.width = 384;
    p.model.heads = 6;
    p.model.depth = 12;
    p.batch = 256;
    p.test_examples = 10000;
    p.val_examples = 5000;
    p.recipe = TrainingRecipe().Steps(20000).EvalEvery(1000).CheckpointEvery(1000).LogEvery(100).Warmup(1000);
  }
  p.recipe.weight_decay = {{"sgd", 5e-4}, {"adamw", 0.05}, {"muon", 0.05}};
  p.recipe.clip = 1.0;
  // From a small sweep on quick (README).
  p.recipe.lr = {{"sgd", 0.1}, {"adamw", 4e-3}, {"muon", 0.005}};
  return p;
}

constexpr int64_t kProbeImages = 512;

class VitClassification : public Task {
 public:
  std::string name() const override { return "vit_classification"; }
  PrimaryMetric primary() const override { return {"test_accuracy", "max"}; }
  PrimaryMetric selection() const override { return {"val_accuracy", "max"}; }

  absl::Status Setup(const RunConfig& config) override {
    preset_ = MakePreset(config.preset);
    const std::string dir = config.data.empty() ? data::kFashionMnistDir : config.data;
    absl::StatusOr<data::ImageSet> train = data::LoadFashionMnist(true, dir);
    if (!train.ok()) return train.status();
    absl::StatusOr<data::ImageSet> test = data::LoadFashionMnist(false, dir);
    if (!test.ok()) return test.status();
    if (const int64_t n = train->images.size(0); n <= data::kFashionMnistValImages) {
      return absl::InvalidArgumentError(absl::StrCat(
          dir, ": the training set has ", n, " images; more than ", data::kFashionMnistValImages,
          " are needed (the last of them are the validation split)"));
    }
    const data::TrainValSplit split = data::SplitOffValidation(*train);
    // Normalise with the statistics of the images trained on.
    const double mean = split.train.images.mean().item<double>();
    const double std = split.train.images.std().item<double>();
    train_images_ = split.train.images.sub(mean).div_(std);
    train_labels_ = split.train.labels;
    val_images_ = split.val.images.slice(0, 0, preset_.val_examples).sub(mean).div_(std);
    val_labels_ = split.val.labels.slice(0, 0, preset_.val_examples);
    test_images_ = test->images.slice(0, 0, preset_.test_examples).sub(mean).div_(std);
    test_labels_ = test->labels.slice(0, 0, preset_.test_examples);
    seed_ = config.seed;
    device_ = torch::Device(config.device);
    model_ = models::ViT(preset_.model);
    model_->to(device_);
    return ranks().CheckDivides(preset_.batch, "the preset's batch");
  }

  const TrainingRecipe& recipe() const override { return preset_.recipe; }
  torch::nn::Module& model() override { return *model_; }

  nlohmann::json Describe() const override {
    const models::ViTConfig& m = preset_.model;
    return {{"width", m.width}, {"depth", m.depth}, {"heads", m.heads}, {"patch", m.patch},
            {"batch", preset_.batch}, {"test_examples", preset_.test_examples},
            {"train_examples", train_images_.size(0)}, {"val_examples", preset_.val_examples}};
  }

  std::map<std::string, at::Tensor> TrainBatch(int64_t step) override {
    const int64_t n = train_images_.size(0);
    const int64_t per_epoch = n / preset_.batch;
    const int64_t epoch = step / per_epoch, offset = (step % per_epoch) * preset_.batch;
    if (epoch != order_epoch_) {
      // A permutation per epoch from (seed, epoch): the batch of a step does not depend
      // on what ran before, so a resumed run sees the same batches.
      order_ = torch::randperm(n, StreamGenerator(seed_, static_cast<uint64_t>(epoch)), torch::kLong);
      order_epoch_ = epoch;
    }
    const at::Tensor index = order_.slice(0, offset, offset + preset_.batch);
    return {{"inputs", train_images_.index_select(0, index)},
            {"targets", train_labels_.index_select(0, index)}};
  }

  at::Tensor TrainLoss(int64_t step) override {
    std::map<std::string, at::Tensor> batch = TrainBatch(step);
    return torch::cross_entropy_loss(model_->forward(ranks().ShareOf(batch["inputs"]).to(device_)),
                                     ranks().ShareOf(batch["targets"]).to(device_));
  }

  std::map<std::string, nlohmann::json> Evaluate(bool) override {
    return {{"val", Scores("val", val_images_, val_labels_)},
            {"test", Scores("test", test_images_, test_labels_)}};
  }

  std::map<std::string, ChainTrace> ProbeDepth() override {
    // The first test images: the same probe batch in every run.
    ChainTrace trace;
    model_->forward(test_images_.slice(0, 0, kProbeImages).to(device_), &trace);
    return {{"blocks", trace}};
  }

 private:
  // <split>_accuracy and <split>_loss (mean cross-entropy) on `images`, each rank
  // scoring its share.
  nlohmann::json Scores(const std::string& split, const at::Tensor& images,
                        const at::Tensor& labels) {
    double loss = 0.0;
    int64_t correct = 0;
    const int64_t n = images.size(0);
    const auto [first, stop] = ranks().Share(n);
    for (int64_t start = first; start < stop; start += 500) {
      const int64_t end = std::min(stop, start + 500);
      at::Tensor logits = model_->forward(images.slice(0, start, end).to(device_));
      at::Tensor targets = labels.slice(0, start, end).to(device_);
      loss += torch::cross_entropy_loss(logits, targets, {}, at::Reduction::Sum).item<double>();
      correct += logits.argmax(1).eq(targets).sum().item<int64_t>();
    }
    std::vector<double> sums = {loss, static_cast<double>(correct)};
    ranks().Sum(sums);
    return {{split + "_accuracy", sums[1] / n}, {split + "_loss", sums[0] / n}};
  }

  Preset preset_;
  models::ViT model_{nullptr};
  at::Tensor train_images_, train_labels_, val_images_, val_labels_, test_images_, test_labels_;
  int64_t seed_ = 0;
  torch::Device device_ = torch::kCPU;
  at::Tensor order_;
  int64_t order_epoch_ = -1;
};

}  // namespace

std::unique_ptr<Task> NewVitClassification() { return std::make_unique<VitClassification>(); }

}  // namespace gs::tasks
