// The fixed Fashion-MNIST classifier whose 64-d penultimate features the Frechet
// distance compares: a small CNN (3x3 convolutions with 16 and 32 channels, each followed
// by ReLU and 2x2 max-pooling; a 64-unit layer; a linear head), trained once with a
// fixed seed, batch order and step count (Adam, 1500 steps of 64), on one thread,
// whatever run asks for it. Runs share it through the cache
// (tasks/harness/cache.h).
#ifndef GS_TASKS_GENERATION_FEATURE_CLASSIFIER_H_
#define GS_TASKS_GENERATION_FEATURE_CLASSIFIER_H_

#include <string>

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include "absl/status/statusor.h"

namespace gs::diffusion {

// The cache entry's name; bump the version whenever the network or its training changes.
inline constexpr char kFeatureClassifierName[] = "fashion_mnist_features_v2.pt";
inline constexpr int64_t kFeatureDim = 64;

struct FeatureNetImpl : torch::nn::Module {
  FeatureNetImpl();
  // images [B, 1, 28, 28] in [-1, 1] -> features [B, 64]
  at::Tensor features(const at::Tensor& images);
  // images -> logits [B, 10]
  at::Tensor forward(const at::Tensor& images);

  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc{nullptr}, head{nullptr};
};
TORCH_MODULE(FeatureNet);

// Trains the classifier on `images` [N, 1, 28, 28] in [-1, 1] with `labels` [N] and
// returns it serialised (torch::save), plus its accuracy on (`test_images`,
// `test_labels`) in `test_accuracy`. Leaves the global generator and thread count as
// they were.
absl::StatusOr<std::string> TrainFeatureClassifier(const at::Tensor& images, const at::Tensor& labels,
                                                   const at::Tensor& test_images,
                                                   const at::Tensor& test_labels,
                                                   double* test_accuracy);

// The classifier from TrainFeatureClassifier's bytes; InvalidArgument if they do not hold one.
absl::StatusOr<FeatureNet> LoadFeatureClassifier(const std::string& bytes);

}  // namespace gs::diffusion

#endif  // GS_TASKS_GENERATION_FEATURE_CLASSIFIER_H_
