// Muon against a reference written here from Keller Jordan's muon.py: Newton-Schulz
// per matrix, momentum, scaling and the auxiliary AdamW, compared with the batched
// implementation over depth stacks.
#include "optimizers/muon.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/newton_schulz.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

// One matrix, double precision, the reference's steps one by one.
torch::Tensor NewtonSchulzRef(torch::Tensor g, int steps = 5) {
  const double a = 3.4445, b = -4.7750, c = 2.0315;
  torch::Tensor x = g.to(torch::kDouble);
  const bool tall = x.size(0) > x.size(1);
  if (tall) x = x.t();
  x = x / (x.norm() + 1e-7);
  for (int i = 0; i < steps; ++i) {
    torch::Tensor A = torch::mm(x, x.t());
    torch::Tensor B = b * A + c * torch::mm(A, A);
    x = a * x + torch::mm(B, x);
  }
  return tall ? x.t() : x;
}

// Shapes that take each path: square and near-square (symmetric products), wide and
// tall with n >= 2m (Gram form), odd and even step counts, one matrix and a stack.
TEST(NewtonSchulz, BothImplementationsMatchPerMatrixReference) {
  torch::manual_seed(0);
  for (auto shape : {std::vector<int64_t>{4, 6, 10}, std::vector<int64_t>{4, 10, 6},
                     std::vector<int64_t>{3, 8, 8}, std::vector<int64_t>{3, 8, 16},
                     std::vector<int64_t>{2, 48, 12}, std::vector<int64_t>{2, 37, 101},
                     std::vector<int64_t>{1, 64, 256}}) {
    for (int steps : {1, 4, 5}) {
      torch::Tensor g = torch::randn(shape, torch::kDouble);
      for (auto* ns : {&NewtonSchulz, &NewtonSchulzPlain}) {
        torch::Tensor x = ns(g, steps, nullptr);
        torch::Tensor x_f = ns(g.to(torch::kFloat), steps, nullptr);
        EXPECT_EQ(x_f.scalar_type(), torch::kFloat);
        ASSERT_EQ(x.sizes(), g.sizes());
        for (int64_t l = 0; l < shape[0]; ++l) {
          torch::Tensor ref = NewtonSchulzRef(g[l], steps);
          EXPECT_LT((x[l] - ref).abs().max().item<double>(), 1e-12)
              << shape << " steps " << steps << (ns == &NewtonSchulz ? "" : " plain");
          EXPECT_LT((x_f[l].to(torch::kDouble) - ref).abs().max().item<double>(), 2e-5)
              << shape << " steps " << steps << (ns == &NewtonSchulz ? "" : " plain");
        }
      }
      // A single matrix, and a result in a workspace's buffers.
      NewtonSchulzWorkspace ws;
      torch::Tensor one = NewtonSchulz(g[0], steps, &ws);
      EXPECT_LT((one - NewtonSchulzRef(g[0], steps)).abs().max().item<double>(), 1e-12);
    }
  }
}

TEST(NewtonSchulz, SingularValuesLandNearOne) {
  torch::manual_seed(1);
  torch::Tensor x = NewtonSchulz(torch::randn({8, 32, 16}));
  for (int64_t l = 0; l < 8; ++l) {
    torch::Tensor s = std::get<1>(torch::linalg_svd(x[l].to(torch::kDouble), false));
    EXPECT_GT(s.min().item<double>(), 0.5);
    EXPECT_LT(s.max().item<double>(), 1.5);
  }
}

struct RefState {
  torch::Tensor w, buf, m, v;
};

TEST(Muon, StepMatchesReferenceOnStacksAndAdamWElsewhere) {
  for (bool match_adamw : {false, true}) {
    torch::manual_seed(2);
    auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
    const int L = 4;
    std::vector<NamedTensor> params{{"emb", torch::randn({3, 4}, opts)}};
    for (int i = 0; i < L; ++i) {
      const std::string b = "blocks." + std::to_string(i);
      params.push_back({b + ".wide", torch::randn({6, 10}, opts)});
      params.push_back({b + ".tall", torch::randn({10, 6}, opts)});
      params.push_back({b + ".bias", torch::randn({10}, opts)});
    }
    const double lr = 0.02, wd = match_adamw ? 0.1 : 0.0, beta = 0.95;
    BaseOptimizerSpec spec;
    spec.lr = lr;
    spec.weight_decay = wd;
    if (match_adamw) spec.options["scale"] = "match_adamw";
    auto base = CreateBaseOptimizer("muon", spec);
    ASSERT_TRUE(base.ok()) << base.status();
    auto opt = DepthOptimizer::Create(params, std::move(*base));
    ASSERT_TRUE(opt.ok()) << opt.status();
    // AdamW part: lr 3e-4 and no decay by default; lr and wd shared with match_adamw.
    const double alr = match_adamw ? lr : 3e-4, awd = match_adamw ? wd : 0.0;

    std::vector<RefState> ref;
    for (auto& p : params) {
      torch::Tensor w = p.tensor.detach().clone();
      ref.push_back({w, torch::zeros_like(w), torch::zeros_like(w), torch::zeros_like(w)});
    }
    for (int t = 1; t <= 3; ++t) {
      torch::manual_seed(50 + t);
      for (size_t i = 0; i < params.size(); ++i) {
        torch::Tensor g = torch::randn_like(ref[i].w);
        if (params[i].tensor.grad().defined()) {
          params[i].tensor.mutable_grad().copy_(g);
        } else {
          params[i].tensor.mutable_grad() = g;
        }
        RefState& s = ref[i];
        if (s.w.dim() == 2 && params[i].name != "emb") {
          s.buf = beta * s.buf + (1 - beta) * g;
          torch::Tensor u = (1 - beta) * g + beta * s.buf;
          const double rows = s.w.size(0), cols = s.w.size(1);
          const double scale = match_adamw ? 0.2 * std::sqrt(std::max(rows, cols))
                                           : std::sqrt(std::max(1.0, rows / cols));
          s.w = s.w * (1 - lr * wd) - lr * scale * NewtonSchulzRef(u);
        } else {
          s.m = 0.9 * s.m + 0.1 * g;
          s.v = 0.95 * s.v + 0.05 * g * g;
          torch::Tensor d = (s.m / (1 - std::pow(0.9, t))) /
                            ((s.v / (1 - std::pow(0.95, t))).sqrt() + 1e-10);
          // Weight decay only on parameters with two or more dimensions (not the biases).
          s.w = s.w * (1 - alr * (s.w.dim() >= 2 ? awd : 0.0)) - alr * d;
        }
      }
      (*opt)->step();
    }
    for (size_t i = 0; i < params.size(); ++i) {
      EXPECT_LT((params[i].tensor.detach() - ref[i].w).abs().max().item<double>(), 1e-12)
          << params[i].name << " match_adamw=" << match_adamw;
    }
  }
}

// The stack path (symmetric and Gram products) and muon.py's per-matrix loop: equal to
// rounding in double. In float the two round differently, and the quintic's slope at 0
// (3.4445^5, about 480) magnifies that in the directions of small singular values.
TEST(Muon, BatchedAndPerLayerNewtonSchulzAgree) {
  for (auto [dtype, tolerance] : {std::pair{torch::kDouble, 1e-12}, std::pair{torch::kFloat, 1e-4}}) {
    std::vector<std::vector<torch::Tensor>> results;
    for (bool batched : {true, false}) {
      testing::TinyNet net = testing::MakeTinyNet(6, 0, dtype);
      auto opt = DepthOptimizer::Create(NamedParameters(*net),
                                        std::make_unique<Muon>(MuonOptions().batched(batched)));
      ASSERT_TRUE(opt.ok()) << opt.status();
      for (int step = 0; step < 5; ++step) {
        (*opt)->zero_grad();
        testing::ForwardBackward(net, step, dtype);
        (*opt)->step();
      }
      results.push_back(testing::Snapshot(*net));
    }
    EXPECT_LT(testing::MaxAbsDiff(results[0], results[1]), tolerance) << dtype;
  }
}

}  // namespace
}  // namespace gs
