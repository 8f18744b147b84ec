#include "tasks/generation/feature_classifier.h"

#include <cmath>
#include <sstream>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "tasks/harness/one_thread.h"

namespace gs::diffusion {
namespace {

constexpr uint64_t kSeed = 20240901;
constexpr int64_t kSteps = 1500, kBatch = 64;
constexpr double kLr = 2e-3;

// A new FeatureNet whose construction leaves the global generator as it was (its
// default initialisation draws from it; the run's own draws must not depend on whether
// the cache had to be built).
FeatureNet NewNet() {
  at::Generator global = at::detail::getDefaultCPUGenerator();
  const at::Tensor state = global.get_state();
  FeatureNet net;
  global.set_state(state);
  return net;
}

}  // namespace

FeatureNetImpl::FeatureNetImpl()
    : conv1(register_module("conv1", torch::nn::Conv2d(torch::nn::Conv2dOptions(1, 16, 3).padding(1)))),
      conv2(register_module("conv2", torch::nn::Conv2d(torch::nn::Conv2dOptions(16, 32, 3).padding(1)))),
      fc(register_module("fc", torch::nn::Linear(32 * 7 * 7, kFeatureDim))),
      head(register_module("head", torch::nn::Linear(kFeatureDim, 10))) {}

at::Tensor FeatureNetImpl::features(const at::Tensor& images) {
  at::Tensor x = torch::max_pool2d(torch::relu(conv1(images)), 2);   // [B, 16, 14, 14]
  x = torch::max_pool2d(torch::relu(conv2(x)), 2);                    // [B, 32, 7, 7]
  return torch::relu(fc(x.flatten(1)));
}

at::Tensor FeatureNetImpl::forward(const at::Tensor& images) { return head(features(images)); }

absl::StatusOr<std::string> TrainFeatureClassifier(const at::Tensor& images, const at::Tensor& labels,
                                                   const at::Tensor& test_images,
                                                   const at::Tensor& test_labels,
                                                   double* test_accuracy) {
  // Its bytes must not depend on the --threads of the run that happens to build it.
  tasks::OneThread one_thread;
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(kSeed);
  FeatureNet net = NewNet();
  {
    // Initialise from the fixed generator (not the global one): LibTorch's default
    // uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weights and biases alike.
    torch::NoGradGuard no_grad;
    const auto params = net->named_parameters();
    for (const auto& item : params) {
      const std::string& name = item.key();
      at::Tensor p = item.value();
      // A bias takes the fan-in of its layer's weight.
      const at::Tensor& weight = p.dim() > 1 ? p : params[name.substr(0, name.rfind('.')) + ".weight"];
      const double bound = 1.0 / std::sqrt(static_cast<double>(weight[0].numel()));
      p.uniform_(-bound, bound, generator);
    }
  }
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(kLr));
  net->train();
  for (int64_t step = 0; step < kSteps; ++step) {
    at::Tensor index = torch::randint(images.size(0), {kBatch}, generator, torch::kLong);
    optimizer.zero_grad();
    at::Tensor loss = torch::cross_entropy_loss(net->forward(images.index_select(0, index)),
                                                labels.index_select(0, index));
    loss.backward();
    optimizer.step();
  }
  net->eval();
  {
    torch::NoGradGuard no_grad;
    int64_t correct = 0;
    for (int64_t start = 0; start < test_images.size(0); start += 1000) {
      const int64_t end = std::min<int64_t>(test_images.size(0), start + 1000);
      correct += net->forward(test_images.slice(0, start, end))
                     .argmax(1)
                     .eq(test_labels.slice(0, start, end))
                     .sum()
                     .item<int64_t>();
    }
    *test_accuracy = static_cast<double>(correct) / test_images.size(0);
  }
  std::ostringstream out;
  torch::save(net, out);
  return out.str();
}

absl::StatusOr<FeatureNet> LoadFeatureClassifier(const std::string& bytes) {
  FeatureNet net = NewNet();
  try {
    std::istringstream in(bytes);
    torch::load(net, in);
  } catch (const c10::Error& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("the feature classifier's bytes do not hold a FeatureNet: ",
                     e.what_without_backtrace()));
  }
  net->eval();
  return net;
}

}  // namespace gs::diffusion
