// SGD and AdamW against their per-parameter formulas in double precision, and against
// LibTorch's own torch::optim::SGD / torch::optim::AdamW on the same model.
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/adamw.h"
#include "optimizers/optimizer.h"
#include "optimizers/sgd.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

// Parameters: a singleton [3, 4] and a chain of 3 blocks with a [2, 5] slot, in double.
std::vector<NamedTensor> DoubleParams() {
  torch::manual_seed(3);
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  std::vector<NamedTensor> params{{"emb", torch::randn({3, 4}, opts)}};
  for (int i = 0; i < 3; ++i) {
    params.push_back({"blocks." + std::to_string(i) + ".w", torch::randn({2, 5}, opts)});
  }
  return params;
}

void SetGrads(std::vector<NamedTensor>& params, int step) {
  torch::manual_seed(100 + step);
  for (auto& p : params) {
    testing::SetGradient(p.tensor, torch::randn_like(p.tensor));
  }
}

std::vector<double> Values(const torch::Tensor& t) {
  torch::Tensor c = t.detach().to(torch::kDouble).contiguous().view(-1);
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

TEST(AdamW, MatchesPerParameterFormulaInDouble) {
  const double lr = 0.01, b1 = 0.8, b2 = 0.99, eps = 1e-6, wd = 0.1;
  std::vector<NamedTensor> params = DoubleParams();
  std::vector<std::vector<double>> w, m, v;
  for (auto& p : params) {
    w.push_back(Values(p.tensor));
    m.emplace_back(w.back().size(), 0.0);
    v.emplace_back(w.back().size(), 0.0);
  }
  auto opt = DepthOptimizer::Create(
      params, std::make_unique<AdamW>(AdamWOptions().lr(lr).beta1(b1).beta2(b2).eps(eps).weight_decay(wd)));
  ASSERT_TRUE(opt.ok()) << opt.status();
  for (int t = 1; t <= 5; ++t) {
    SetGrads(params, t);
    for (size_t i = 0; i < params.size(); ++i) {
      const std::vector<double> g = Values(params[i].tensor.grad());
      for (size_t k = 0; k < g.size(); ++k) {
        m[i][k] = b1 * m[i][k] + (1 - b1) * g[k];
        v[i][k] = b2 * v[i][k] + (1 - b2) * g[k] * g[k];
        const double mh = m[i][k] / (1 - std::pow(b1, t)), vh = v[i][k] / (1 - std::pow(b2, t));
        w[i][k] = w[i][k] - lr * wd * w[i][k] - lr * mh / (std::sqrt(vh) + eps);
      }
    }
    (*opt)->step();
  }
  for (size_t i = 0; i < params.size(); ++i) {
    const std::vector<double> got = Values(params[i].tensor);
    for (size_t k = 0; k < got.size(); ++k) EXPECT_NEAR(got[k], w[i][k], 1e-13) << params[i].name;
  }
}

TEST(SGD, MatchesPerParameterFormulaInDouble) {
  for (bool nesterov : {false, true}) {
    const double lr = 0.05, mu = 0.9, damp = nesterov ? 0.0 : 0.1, wd = 0.01;
    std::vector<NamedTensor> params = DoubleParams();
    std::vector<std::vector<double>> w, buf;
    for (auto& p : params) {
      w.push_back(Values(p.tensor));
      buf.emplace_back(w.back().size(), 0.0);
    }
    auto opt = DepthOptimizer::Create(
        params, std::make_unique<SGD>(SGDOptions().lr(lr).momentum(mu).dampening(damp).weight_decay(wd).nesterov(nesterov)));
    ASSERT_TRUE(opt.ok()) << opt.status();
    for (int t = 1; t <= 5; ++t) {
      SetGrads(params, t);
      for (size_t i = 0; i < params.size(); ++i) {
        const std::vector<double> g = Values(params[i].tensor.grad());
        for (size_t k = 0; k < g.size(); ++k) {
          const double gk = g[k] + wd * w[i][k];
          buf[i][k] = t == 1 ? gk : mu * buf[i][k] + (1 - damp) * gk;
          const double d = nesterov ? gk + mu * buf[i][k] : buf[i][k];
          w[i][k] -= lr * d;
        }
      }
      (*opt)->step();
    }
    for (size_t i = 0; i < params.size(); ++i) {
      const std::vector<double> got = Values(params[i].tensor);
      for (size_t k = 0; k < got.size(); ++k) {
        EXPECT_NEAR(got[k], w[i][k], 1e-13) << params[i].name << " nesterov=" << nesterov;
      }
    }
  }
}

// Trains two copies of the same model for 20 steps, one with LibTorch's optimizer and
// one with ours, on the same batches.
template <typename MakeTorch>
double MaxDiffAgainstLibTorch(MakeTorch make_torch, std::unique_ptr<BaseOptimizer> ours) {
  testing::TinyNet a = testing::MakeTinyNet(6), b = testing::MakeTinyNet(6);
  auto torch_opt = make_torch(a->parameters());
  // LibTorch's optimizers decay every parameter of a group: so do ours here.
  auto opt = DepthOptimizer::Create(NamedParameters(*b), std::move(ours), nullptr,
                                    DepthOptimizerOptions().weight_decay_on(WeightDecayOn::kAll));
  EXPECT_TRUE(opt.ok()) << opt.status();
  for (int step = 0; step < 20; ++step) {
    torch_opt.zero_grad();
    testing::ForwardBackward(a, step);
    torch_opt.step();
    (*opt)->zero_grad();
    testing::ForwardBackward(b, step);
    (*opt)->step();
  }
  const auto pa = testing::Snapshot(*a), pb = testing::Snapshot(*b);
  EXPECT_FALSE(testing::BitIdentical(pa, testing::Snapshot(*testing::MakeTinyNet(6))))
      << "training did not move the parameters";
  return testing::MaxAbsDiff(pa, pb);
}

TEST(AdamW, MatchesLibTorchAdamWOver20Steps) {
  const double diff = MaxDiffAgainstLibTorch(
      [](std::vector<torch::Tensor> p) {
        return torch::optim::AdamW(p, torch::optim::AdamWOptions(3e-3).betas({0.9, 0.95}).eps(1e-8).weight_decay(0.1));
      },
      std::make_unique<AdamW>(AdamWOptions().lr(3e-3).beta1(0.9).beta2(0.95).eps(1e-8).weight_decay(0.1)));
  EXPECT_LT(diff, 1e-6);
}

TEST(SGD, MatchesLibTorchSGDOver20Steps) {
  for (bool nesterov : {false, true}) {
    const double diff = MaxDiffAgainstLibTorch(
        [&](std::vector<torch::Tensor> p) {
          return torch::optim::SGD(p, torch::optim::SGDOptions(0.05).momentum(0.9).nesterov(nesterov).weight_decay(1e-2));
        },
        std::make_unique<SGD>(SGDOptions().lr(0.05).momentum(0.9).nesterov(nesterov).weight_decay(1e-2)));
    EXPECT_LT(diff, 1e-6) << "nesterov=" << nesterov;
  }
}

}  // namespace
}  // namespace gs
