// Shared pieces of the optimizer tests: a small residual block model named the way
// the suite's models are (`blocks.<i>.<slot>`), and tensor helpers.
#ifndef GS_TESTS_OPTIMIZERS_TEST_UTIL_H_
#define GS_TESTS_OPTIMIZERS_TEST_UTIL_H_

#include <torch/torch.h>

#include <string>
#include <vector>

#include "optimizers/depth_stack.h"
#include "optimizers/torch_module.h"

namespace gs::testing {

struct BlockImpl : torch::nn::Module {
  explicit BlockImpl(int64_t width)
      : norm(register_module("norm", torch::nn::LayerNorm(
                                         torch::nn::LayerNormOptions({width})))),
        fc(register_module("fc", torch::nn::Linear(width, 2 * width))),
        proj(register_module("proj", torch::nn::Linear(2 * width, width))) {}
  torch::Tensor forward(const torch::Tensor& x) {
    return x + proj(torch::gelu(fc(norm(x))));
  }
  torch::nn::LayerNorm norm;
  torch::nn::Linear fc, proj;
};
TORCH_MODULE(Block);

// embed -> L blocks -> head; parameters embed.*, blocks.<i>.{norm,fc,proj}.*, head.*.
struct TinyNetImpl : torch::nn::Module {
  TinyNetImpl(int64_t depth, int64_t in, int64_t width, int64_t out,
              torch::Dtype dtype = torch::kFloat)
      : embed(register_module("embed", torch::nn::Linear(in, width))),
        head(register_module("head", torch::nn::Linear(width, out))) {
    blocks = register_module("blocks", torch::nn::ModuleList());
    for (int64_t i = 0; i < depth; ++i) blocks->push_back(Block(width));
    to(dtype);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = embed(x);
    for (const auto& block : *blocks) x = block->as<Block>()->forward(x);
    return head(x);
  }
  torch::nn::Linear embed, head;
  torch::nn::ModuleList blocks;
};
TORCH_MODULE(TinyNet);

// A seeded model, so two calls give the same initial weights.
inline TinyNet MakeTinyNet(int64_t depth, uint64_t seed = 0,
                           torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(seed);
  return TinyNet(depth, 5, 8, 3, dtype);
}

// One forward/backward on a seeded batch; returns the loss.
inline double ForwardBackward(TinyNet& net, int64_t step, torch::Dtype dtype = torch::kFloat) {
  torch::manual_seed(1000 + step);
  torch::Tensor x = torch::randn({16, 5}, torch::TensorOptions().dtype(dtype));
  torch::Tensor y = torch::randn({16, 3}, torch::TensorOptions().dtype(dtype));
  torch::Tensor loss = torch::mse_loss(net->forward(x), y);
  loss.backward();
  return loss.item<double>();
}

inline std::vector<torch::Tensor> Snapshot(const torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (const auto& p : m.parameters()) out.push_back(p.detach().clone());
  return out;
}

inline bool BitIdentical(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (!torch::equal(a[i], b[i])) return false;
  }
  return true;
}

inline double MaxAbsDiff(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  double m = 0.0;
  for (size_t i = 0; i < a.size(); ++i) {
    m = std::max(m, (a[i].to(torch::kDouble) - b[i].to(torch::kDouble)).abs().max().item<double>());
  }
  return m;
}

// Sets a parameter's gradient to `g`: in place where it is a view of a depth stack's
// gradient (which must stay one), as a new tensor for a singleton that has none yet.
inline void SetGradient(const torch::Tensor& param, const torch::Tensor& g) {
  if (param.grad().defined()) {
    param.mutable_grad().copy_(g);
  } else {
    param.mutable_grad() = g;
  }
}

}  // namespace gs::testing

#endif  // GS_TESTS_OPTIMIZERS_TEST_UTIL_H_
