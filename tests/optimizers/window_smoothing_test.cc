// Window Smoothing against a plain double-precision loop written from the formula in
// docs/DESIGN.md ("The method, exactly as the suite implements it"), for every depth 1..8,
// radius 1..3, kernel, variant, scope,
// target and alpha in {0, 0.05, 0.2, 1}.
#include "optimizers/window_smoothing.h"

#include <torch/torch.h>

#include <cctype>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/adamw.h"
#include "optimizers/kernels.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using Blocks = std::vector<std::vector<double>>;  // [L][n]

const std::vector<std::string> kKernels = {"box", "triangle", "gaussian"};
const std::vector<std::string> kVariants = {"standard", "norm", "direction"};
const std::vector<double> kAlphas = {0.0, 0.05, 0.2, 1.0};

double KernelRef(const std::string& kernel, int r, int d) {
  if (kernel == "box") return 1.0;
  if (kernel == "triangle") return r + 1 - d;
  return std::exp(-double(d * d) / (2.0 * r * r));
}

double NormRef(const std::vector<double>& x) {
  double s = 0;
  for (double v : x) s += v * v;
  return std::sqrt(s);
}

// D'_l = (1 - alpha) D_l + sum over neighbours j, 0 < |j - l| <= r, of
// alpha k(|j-l|) / (2 sum_e k(e)) * (D_j if 0 <= j < L else D_l).
Blocks SmoothRef(const Blocks& d, double alpha, int r, const std::string& kernel) {
  const int L = d.size();
  double z = 0;
  for (int e = 1; e <= r; ++e) z += KernelRef(kernel, r, e);
  Blocks out(L, std::vector<double>(d[0].size(), 0.0));
  for (int l = 0; l < L; ++l) {
    for (size_t c = 0; c < d[l].size(); ++c) {
      double v = (1 - alpha) * d[l][c];
      for (int j = l - r; j <= l + r; ++j) {
        if (j == l) continue;
        const double w = alpha * KernelRef(kernel, r, std::abs(j - l)) / (2 * z);
        v += w * ((j >= 0 && j < L) ? d[j][c] : d[l][c]);
      }
      out[l][c] = v;
    }
  }
  return out;
}

Blocks WindowRef(const Blocks& d, double alpha, int r, const std::string& kernel,
                 const std::string& variant) {
  if (variant == "standard") return SmoothRef(d, alpha, r, kernel);
  Blocks in = d;
  if (variant == "direction") {
    for (auto& row : in) {
      const double n = NormRef(row);
      for (double& v : row) v = n > 0 ? v / n : 0.0;
    }
  }
  Blocks s = SmoothRef(in, alpha, r, kernel);
  for (size_t l = 0; l < s.size(); ++l) {
    const double target = NormRef(d[l]), have = NormRef(s[l]);
    for (double& v : s[l]) v = have > 0 ? v * target / have : 0.0;
  }
  return s;
}

Blocks ToBlocks(const torch::Tensor& t) {
  torch::Tensor d = t.to(torch::kDouble).reshape({t.size(0), -1}).contiguous();
  Blocks out(d.size(0), std::vector<double>(d.size(1)));
  for (int64_t l = 0; l < d.size(0); ++l) {
    for (int64_t c = 0; c < d.size(1); ++c) out[l][c] = d[l][c].item<double>();
  }
  return out;
}

double MaxDiff(const Blocks& a, const Blocks& b) {
  double m = 0;
  for (size_t l = 0; l < a.size(); ++l) {
    for (size_t c = 0; c < a[l].size(); ++c) m = std::max(m, std::abs(a[l][c] - b[l][c]));
  }
  return m;
}

torch::Tensor Smooth(const DepthTransform& t, const torch::Tensor& d) {
  torch::Tensor out = torch::empty_like(d);
  kernels::Mix(t.MixFor(d), d, out);
  return out;
}

std::unique_ptr<DepthTransform> Window(double alpha, int r, const std::string& kernel,
                                       const std::string& variant) {
  DepthTransformSpec spec;
  spec.options = {{"alpha", NumberText(alpha)}, {"radius", std::to_string(r)},
                  {"kernel", kernel}, {"variant", variant}};
  auto t = CreateDepthTransform("window", spec);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

TEST(WindowSmoothing, MatchesReferenceLoopForEveryDepthRadiusKernelVariantAlpha) {
  torch::manual_seed(0);
  for (int L = 1; L <= 8; ++L) {
    const torch::Tensor d = torch::randn({L, 3, 4}, torch::kDouble);
    const torch::Tensor f = d.to(torch::kFloat);
    const Blocks ref_in = ToBlocks(d), ref_in_f = ToBlocks(f);
    for (int r = 1; r <= 3; ++r) {
      for (const std::string& kernel : kKernels) {
        for (const std::string& variant : kVariants) {
          for (double alpha : kAlphas) {
            SCOPED_TRACE(::testing::Message() << "L=" << L << " r=" << r << " kernel=" << kernel
                                              << " variant=" << variant << " alpha=" << alpha);
            auto t = Window(alpha, r, kernel, variant);
            EXPECT_LT(MaxDiff(ToBlocks(Smooth(*t, d)), WindowRef(ref_in, alpha, r, kernel, variant)),
                      1e-12);
            EXPECT_LT(MaxDiff(ToBlocks(Smooth(*t, f)), WindowRef(ref_in_f, alpha, r, kernel, variant)),
                      2e-6);
          }
        }
      }
    }
  }
}

TEST(WindowSmoothing, EndsKeepTheMissingNeighboursWeight) {
  // Scalar blocks D = (1, 2, 4), alpha 0.2, radius 1:
  // D'_0 = 0.9*1 + 0.1*2, D'_1 = 0.8*2 + 0.1*(1 + 4), D'_2 = 0.9*4 + 0.1*2.
  auto t = Window(0.2, 1, "box", "standard");
  torch::Tensor d = torch::tensor({1.0, 2.0, 4.0}, torch::kDouble).view({3, 1});
  torch::Tensor out = Smooth(*t, d);
  EXPECT_NEAR(out[0].item<double>(), 1.1, 1e-15);
  EXPECT_NEAR(out[1].item<double>(), 2.1, 1e-15);
  EXPECT_NEAR(out[2].item<double>(), 3.8, 1e-15);
  // Two blocks: each is the other's only neighbour.
  out = Smooth(*t, d.slice(0, 0, 2));
  EXPECT_NEAR(out[0].item<double>(), 1.1, 1e-15);
  EXPECT_NEAR(out[1].item<double>(), 1.9, 1e-15);
  // One block: nothing to average with.
  EXPECT_EQ(Smooth(*t, d.slice(0, 0, 1))[0].item<double>(), 1.0);
  // Triangle, radius 2, alpha 0.3: neighbour weights 0.3*2/6 at distance 1 and 0.3*1/6
  // at distance 2; block 0 keeps its two missing ones (0.7 + 0.1 + 0.05), block 1 one.
  auto tri = Window(0.3, 2, "triangle", "standard");
  torch::Tensor e = torch::tensor({1.0, 10.0, 100.0, 1000.0}, torch::kDouble).view({4, 1});
  out = Smooth(*tri, e);
  EXPECT_NEAR(out[0].item<double>(), 0.85 * 1 + 0.1 * 10 + 0.05 * 100, 1e-12);
  EXPECT_NEAR(out[1].item<double>(), 0.7 * 10 + 0.1 * (1 + 100) + 0.05 * 1000 + 0.05 * 10, 1e-12);
}

TEST(WindowSmoothing, ZeroBlocksStayZeroInNormPreservingVariants) {
  torch::manual_seed(1);
  torch::Tensor d = torch::randn({5, 7}, torch::kDouble);
  d[2].zero_();
  for (const std::string variant : {"norm", "direction"}) {
    auto t = Window(0.2, 1, "box", variant);
    torch::Tensor out = Smooth(*t, d);
    EXPECT_EQ(out[2].abs().max().item<double>(), 0.0) << variant;
    EXPECT_LT(MaxDiff(ToBlocks(out), WindowRef(ToBlocks(d), 0.2, 1, "box", variant)), 1e-12);
    for (int64_t l : {0, 1, 3, 4}) {
      EXPECT_NEAR(out[l].norm().item<double>(), d[l].norm().item<double>(), 1e-12);
    }
  }
}

// --- Through the optimizer: scope (all | matrices) and target (update | gradient). ---

struct RefParam {
  Blocks w;  // current values
  Blocks m, v;
};

// One AdamW direction in double: m, v updated; returns m_hat / (sqrt(v_hat) + eps).
Blocks AdamWDirectionRef(RefParam& p, const Blocks& g, int step) {
  const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
  Blocks d = g;
  for (size_t l = 0; l < g.size(); ++l) {
    for (size_t c = 0; c < g[l].size(); ++c) {
      p.m[l][c] = b1 * p.m[l][c] + (1 - b1) * g[l][c];
      p.v[l][c] = b2 * p.v[l][c] + (1 - b2) * g[l][c] * g[l][c];
      const double mh = p.m[l][c] / (1 - std::pow(b1, step));
      const double vh = p.v[l][c] / (1 - std::pow(b2, step));
      d[l][c] = mh / (std::sqrt(vh) + eps);
    }
  }
  return d;
}

// One case of the sweep: depth, radius, kernel, variant, scope, target, alpha.
using ScopeTargetCase = std::tuple<int, int, std::string, std::string, std::string, std::string, double>;

auto ScopeTargetSweep() {
  return ::testing::Combine(::testing::Range(1, 9), ::testing::Range(1, 4),
                            ::testing::ValuesIn(kKernels), ::testing::ValuesIn(kVariants),
                            ::testing::Values("all", "matrices"), ::testing::Values("update", "gradient"),
                            ::testing::ValuesIn(kAlphas));
}

std::string ScopeTargetCaseName(const ::testing::TestParamInfo<ScopeTargetCase>& info) {
  const auto& [L, r, kernel, variant, scope, target, alpha] = info.param;
  std::string name = absl::StrCat("L", L, "_r", r, "_", kernel, "_", variant, "_", scope, "_",
                                  target, "_alpha", alpha);
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

class OptimizerScopeAndTarget : public ::testing::TestWithParam<ScopeTargetCase> {};

TEST_P(OptimizerScopeAndTarget, AppliesScopeAndTargetAsDefined) {
  const double lr = 0.1, wd = 0.01;
  const int L = std::get<0>(GetParam()), r = std::get<1>(GetParam());
  const std::string& kernel = std::get<2>(GetParam());
  const std::string& variant = std::get<3>(GetParam());
  const std::string& scope = std::get<4>(GetParam());
  const std::string& target = std::get<5>(GetParam());
  const double alpha = std::get<6>(GetParam());
  torch::manual_seed(L * 100 + r);
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  std::vector<NamedTensor> params;
  params.push_back({"emb", torch::randn({2, 3}, opts)});
  for (int i = 0; i < L; ++i) {
    params.push_back({"blocks." + std::to_string(i) + ".w", torch::randn({3, 4}, opts)});
    params.push_back({"blocks." + std::to_string(i) + ".b", torch::randn({4}, opts)});
  }
  // Reference state per slot: emb, w stack, b stack.
  auto stack_of = [&](const std::string& slot) {
    std::vector<torch::Tensor> rows;
    for (int i = 0; i < L; ++i) rows.push_back(params[1 + 2 * i + (slot == "b")].tensor.detach().reshape({1, -1}));
    return ToBlocks(torch::cat(rows));
  };
  auto zeros_like = [](const Blocks& b) {
    return Blocks(b.size(), std::vector<double>(b[0].size(), 0.0));
  };
  RefParam emb{ToBlocks(params[0].tensor.detach().reshape({1, -1})), {}, {}};
  RefParam w{stack_of("w"), {}, {}}, b{stack_of("b"), {}, {}};
  for (RefParam* p : {&emb, &w, &b}) p->m = p->v = zeros_like(p->w);

  OptimizerConfig config;
  config.optimizer = "adamw";
  config.base.lr = lr;
  config.base.weight_decay = wd;
  config.smoothing = "window";
  config.smoothing_options["alpha"] = NumberText(alpha);
  config.smoothing_options["radius"] = std::to_string(r);
  config.smoothing_options["kernel"] = kernel;
  config.smoothing_options["variant"] = variant;
  config.smoothing_options["scope"] = scope;
  config.smoothing_options["target"] = target;
  auto opt = CreateOptimizer(params, config);
  ASSERT_TRUE(opt.ok()) << opt.status();

  for (int step = 1; step <= 2; ++step) {
    torch::manual_seed(step * 7 + L);
    for (auto& p : params) {
      torch::Tensor g = torch::randn_like(p.tensor);
      if (p.tensor.grad().defined()) {
        p.tensor.mutable_grad().copy_(g);  // a view of the stack's gradient
      } else {
        p.tensor.mutable_grad() = g;        // the singleton
      }
    }
    auto grads_of = [&](int offset) {
      std::vector<torch::Tensor> rows;
      for (int i = 0; i < L; ++i) rows.push_back(params[1 + 2 * i + offset].tensor.grad().reshape({1, -1}));
      return ToBlocks(torch::cat(rows));
    };
    const Blocks g_emb = ToBlocks(params[0].tensor.grad().reshape({1, -1}));
    const Blocks g_w = grads_of(0), g_b = grads_of(1);
    (*opt)->step();

    // Weight decay only on parameters with two or more dimensions (the
    // default weight_decay_on=matrices): the biases get none.
    auto advance = [&](RefParam& p, const Blocks& g, bool smoothed, double wd) {
      const bool on_grad = smoothed && target == std::string("gradient");
      const bool on_update = smoothed && target == std::string("update");
      Blocks d = AdamWDirectionRef(p, on_grad ? WindowRef(g, alpha, r, kernel, variant) : g, step);
      if (on_update) d = WindowRef(d, alpha, r, kernel, variant);
      for (size_t l = 0; l < d.size(); ++l) {
        for (size_t c = 0; c < d[l].size(); ++c) {
          p.w[l][c] = p.w[l][c] * (1 - lr * wd) - lr * d[l][c];
        }
      }
    };
    advance(emb, g_emb, false, params[0].tensor.dim() >= 2 ? wd : 0.0);
    advance(w, g_w, true, wd);
    advance(b, g_b, scope == std::string("all"), 0.0);
  }
  // The norm-preserving variants divide by ||(W D)_l||, which cancellation
  // between neighbours (alpha = 1 averages only the neighbours) can make
  // small: rounding is amplified, hence the looser bound for them.
  const double tol = variant == std::string("standard") ? 1e-12 : 1e-9;
  EXPECT_LT(MaxDiff(ToBlocks(params[0].tensor.detach().reshape({1, -1})), emb.w), tol);
  EXPECT_LT(MaxDiff(stack_of("w"), w.w), tol);
  EXPECT_LT(MaxDiff(stack_of("b"), b.w), tol);
}

INSTANTIATE_TEST_SUITE_P(WindowSmoothing, OptimizerScopeAndTarget, ScopeTargetSweep(),
                         ScopeTargetCaseName);

TEST(WindowSmoothing, ScopeAndTargetSweepCoversEveryCase) {
  const ::testing::internal::ParamGenerator<ScopeTargetCase> sweep = ScopeTargetSweep();
  int checked = 0;
  for (auto it = sweep.begin(); it != sweep.end(); ++it) ++checked;
  EXPECT_EQ(checked, 8 * 3 * 3 * 3 * 2 * 2 * 4);
}

// --- alpha = 0 is the plain base optimizer, to the bit. ---

std::vector<torch::Tensor> Train(const std::string& optimizer, const std::string& smoothing,
                                 std::map<std::string, std::string> options) {
  testing::TinyNet net = testing::MakeTinyNet(6);
  OptimizerConfig config;
  config.optimizer = optimizer;
  config.smoothing = smoothing;
  config.smoothing_options = std::move(options);
  auto opt = CreateOptimizer(NamedParameters(*net), config);
  EXPECT_TRUE(opt.ok()) << opt.status();
  for (int step = 0; step < 5; ++step) {
    (*opt)->zero_grad();
    testing::ForwardBackward(net, step);
    (*opt)->step();
  }
  return testing::Snapshot(*net);
}

// Every transform of the family at strength 0 (alpha, or rho for ema), with every
// variant, scope, target and decay: the plain base optimizer, to the bit.
TEST(DepthTransforms, StrengthZeroIsBitIdenticalToNoSmoothing) {
  const std::vector<std::pair<std::string, std::string>> family = {
      {"window", "alpha"}, {"laplacian", "alpha"}, {"ema", "rho"}};
  for (const std::string optimizer : {"sgd", "adamw", "muon"}) {
    const auto plain = Train(optimizer, "none", {});
    for (const auto& [transform, strength] : family) {
      for (const std::string& variant : kVariants) {
        for (const std::string scope : {"all", "matrices"}) {
          for (const std::string target : {"update", "gradient"}) {
            for (const std::string decay : {"separate", "smoothed"}) {
              if (target == "gradient" && decay == "smoothed") continue;  // not allowed
              SCOPED_TRACE(optimizer + " " + transform + " " + variant + " " + scope + " " +
                           target + " " + decay);
              std::map<std::string, std::string> options = {
                  {strength, "0"}, {"variant", variant}, {"scope", scope},
                  {"target", target}, {"decay", decay}};
              EXPECT_TRUE(testing::BitIdentical(plain, Train(optimizer, transform, options)));
              options[strength] = "0.2";
              EXPECT_FALSE(testing::BitIdentical(plain, Train(optimizer, transform, options)));
            }
          }
        }
      }
    }
  }
}

}  // namespace
}  // namespace gs
