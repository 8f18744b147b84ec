// The authors' whole family of depth transforms (window, laplacian, ema; variants
// standard, norm, direction) and the weight-decay options, each against a plain
// double-precision loop written here from the formulas:
//   laplacian: D'_l = (1 - alpha) D_l - alpha/2 (D_{l-1} + D_{l+1}); at an end
//              (1 - alpha/2) D_l - alpha/2 D_nb; radius r and kernels as the window's,
//              the neighbour weights negated;
//   ema:       the first block of the direction keeps D; D'_l = rho D'_prev + (1 - rho) D_l;
//   decay:     separate: W <- W (1 - lr wd) - lr T(D); smoothed: W <- W - lr T(D + wd W);
//   weight_decay_on=matrices: wd only for parameters with two or more dimensions.
#include <cmath>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/adamw.h"
#include "optimizers/ema_smoothing.h"
#include "optimizers/kernels.h"
#include "optimizers/optimizer.h"
#include "optimizers/sgd.h"
#include "optimizers/window_smoothing.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using ::testing::HasSubstr;
using Blocks = std::vector<torch::Tensor>;  // one double tensor per block
using Transform = std::function<Blocks(const Blocks&)>;

const std::vector<std::string> kVariants = {"standard", "norm", "direction"};

double Kernel(const std::string& kernel, int r, int d) {
  if (kernel == "box") return 1.0;
  if (kernel == "triangle") return r + 1 - d;
  return std::exp(-double(d * d) / (2.0 * r * r));
}

// Window (sign +1) or laplacian (sign -1): block l keeps 1 - the weights of its
// neighbours inside [0, L); a present neighbour pulls with sign * w(d).
Blocks NeighbourRef(const Blocks& d, double alpha, int r, const std::string& kernel, double sign) {
  const int L = d.size();
  double z = 0;
  for (int e = 1; e <= r; ++e) z += Kernel(kernel, r, e);
  Blocks out;
  for (int l = 0; l < L; ++l) {
    double self = 1.0;
    torch::Tensor v = torch::zeros_like(d[l]);
    for (int j = l - r; j <= l + r; ++j) {
      if (j == l || j < 0 || j >= L) continue;
      const double w = alpha * Kernel(kernel, r, std::abs(j - l)) / (2 * z);
      self -= w;
      v += sign * w * d[j];
    }
    out.push_back(v + self * d[l]);
  }
  return out;
}

// The recurrence itself, block by block along the direction.
Blocks EmaRef(const Blocks& d, double rho, bool forward) {
  const int L = d.size();
  Blocks out(L);
  torch::Tensor prev;
  for (int k = 0; k < L; ++k) {
    const int l = forward ? k : L - 1 - k;
    prev = k == 0 ? d[l].clone() : rho * prev + (1 - rho) * d[l];
    out[l] = prev;
  }
  return out;
}

// The variants around a linear transform f.
Blocks VariantRef(const Blocks& d, const std::string& variant, const Transform& f) {
  if (variant == "standard") return f(d);
  Blocks in = d;
  if (variant == "direction") {
    for (auto& x : in) {
      const double n = x.norm().item<double>();
      x = n > 0 ? x / n : torch::zeros_like(x);
    }
  }
  Blocks out = f(in);
  for (size_t l = 0; l < out.size(); ++l) {
    const double want = d[l].norm().item<double>(), have = out[l].norm().item<double>();
    out[l] = have > 0 ? out[l] * (want / have) : torch::zeros_like(out[l]);
  }
  return out;
}

Blocks Split(const torch::Tensor& stack) {
  Blocks b;
  for (int64_t l = 0; l < stack.size(0); ++l) b.push_back(stack[l].clone());
  return b;
}

double MaxDiff(const Blocks& a, const Blocks& b) {
  double m = 0;
  for (size_t l = 0; l < a.size(); ++l) m = std::max(m, (a[l] - b[l]).abs().max().item<double>());
  return m;
}

std::unique_ptr<DepthTransform> Create(const std::string& name,
                                       std::map<std::string, std::string> options) {
  DepthTransformSpec spec;
  spec.options = std::move(options);
  auto t = CreateDepthTransform(name, spec);
  EXPECT_TRUE(t.ok()) << t.status();
  return std::move(*t);
}

Blocks Apply(const DepthTransform& t, const torch::Tensor& d) {
  torch::Tensor out = torch::empty_like(d);
  kernels::Mix(t.MixFor(d), d, out);
  return Split(out);
}

TEST(Family, LaplacianMatchesTheFormulaForEveryDepthRadiusKernelVariant) {
  torch::manual_seed(1);
  int checked = 0;
  for (int L = 1; L <= 7; ++L) {
    const torch::Tensor d = torch::randn({L, 3, 4}, torch::kDouble);
    for (int r = 1; r <= 3; ++r) {
      for (const std::string kernel : {"box", "triangle", "gaussian"}) {
        for (const std::string& variant : kVariants) {
          for (double alpha : {0.05, 0.1, 0.5}) {
            auto t = Create("laplacian", {{"alpha", std::to_string(alpha)},
                                          {"radius", std::to_string(r)},
                                          {"kernel", kernel},
                                          {"variant", variant}});
            const Blocks want = VariantRef(Split(d), variant, [&](const Blocks& x) {
              return NeighbourRef(x, alpha, r, kernel, -1.0);
            });
            EXPECT_LT(MaxDiff(Apply(*t, d), want), 1e-12)
                << "L=" << L << " r=" << r << " " << kernel << " " << variant << " a=" << alpha;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 7 * 3 * 3 * 3 * 3);
  // At r = 1 the closed form of the issue: ends (1 - a/2) D_l - a/2 D_nb.
  const torch::Tensor d = torch::randn({4, 5}, torch::kDouble);
  const Blocks out = Apply(*Create("laplacian", {{"alpha", "0.1"}}), d);
  EXPECT_LT((out[0] - (0.95 * d[0] - 0.05 * d[1])).abs().max().item<double>(), 1e-15);
  EXPECT_LT((out[2] - (0.9 * d[2] - 0.05 * (d[1] + d[3]))).abs().max().item<double>(), 1e-15);
}

TEST(Family, EmaMatchesTheRecurrenceInBothDirectionsAndEveryVariant) {
  torch::manual_seed(2);
  for (int L = 1; L <= 7; ++L) {
    const torch::Tensor d = torch::randn({L, 2, 3}, torch::kDouble);
    for (bool forward : {true, false}) {
      for (const std::string& variant : kVariants) {
        for (double rho : {0.1, 0.3, 0.9}) {
          auto t = Create("ema", {{"rho", std::to_string(rho)},
                                  {"direction", forward ? "forward" : "backward"},
                                  {"variant", variant}});
          const Blocks want = VariantRef(Split(d), variant,
                                         [&](const Blocks& x) { return EmaRef(x, rho, forward); });
          EXPECT_LT(MaxDiff(Apply(*t, d), want), 1e-12)
              << "L=" << L << " forward=" << forward << " " << variant << " rho=" << rho;
        }
      }
    }
  }
}

// A model with two chains and a block in neither (a U-ViT's in-blocks, out-blocks and
// mid-block), a weight and a bias per block, plus an embedding.
std::vector<NamedTensor> TwoChains(int64_t L) {
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  std::vector<NamedTensor> params = {{"emb", torch::randn({3, 4}, opts)},
                                     {"mid_block.w", torch::randn({4, 4}, opts)},
                                     {"mid_block.b", torch::randn({4}, opts)}};
  for (const std::string chain : {"in_blocks", "out_blocks"}) {
    for (int64_t i = 0; i < L; ++i) {
      const std::string b = chain + "." + std::to_string(i);
      params.push_back({b + ".w", torch::randn({4, 4}, opts)});
      params.push_back({b + ".b", torch::randn({4}, opts)});
    }
  }
  return params;
}

// One parameter of the reference: its blocks (one for a singleton), AdamW moments.
struct Ref {
  Blocks w, m, v, buf;
  bool chain = false;
  bool matrix = false;
};

TEST(Family, EveryTransformStepsAsTheReferenceOnTwoChainsWithEitherDecay) {
  const int64_t L = 4;
  const double lr = 0.01, wd = 0.1, b1 = 0.9, b2 = 0.99, eps = 1e-8;
  struct Case {
    std::string transform;
    std::map<std::string, std::string> options;
    Transform f;
  };
  const std::vector<Case> cases = {
      {"window", {{"alpha", "0.2"}}, [](const Blocks& x) { return NeighbourRef(x, 0.2, 1, "box", 1); }},
      {"laplacian", {{"alpha", "0.1"}, {"radius", "2"}, {"kernel", "triangle"}},
       [](const Blocks& x) { return NeighbourRef(x, 0.1, 2, "triangle", -1); }},
      {"ema", {{"rho", "0.3"}}, [](const Blocks& x) { return EmaRef(x, 0.3, true); }},
      {"ema", {{"rho", "0.5"}, {"direction", "backward"}},
       [](const Blocks& x) { return EmaRef(x, 0.5, false); }},
  };
  int checked = 0;
  for (const Case& c : cases) {
    for (const std::string optimizer : {"adamw", "sgd"}) {
      for (const std::string& variant : kVariants) {
        for (const std::string scope : {"all", "matrices"}) {
          for (const std::string decay : {"separate", "smoothed"}) {
            for (const std::string decay_on : {"matrices", "all"}) {
              SCOPED_TRACE(c.transform + " " + optimizer + " " + variant + " " + scope + " " +
                           decay + " " + decay_on);
              torch::manual_seed(3);
              std::vector<NamedTensor> params = TwoChains(L);
              OptimizerConfig config;
              config.optimizer = optimizer;
              config.base.lr = lr;
              config.base.weight_decay = wd;
              if (optimizer == "adamw") {
                config.base.options = {{"beta1", "0.9"}, {"beta2", "0.99"}, {"eps", "1e-8"}};
              } else {
                config.base.options = {{"momentum", "0.9"}};
              }
              config.chains = {"in_blocks", "out_blocks"};
              config.smoothing = c.transform;
              config.smoothing_options = c.options;
              config.smoothing_options["variant"] = variant;
              config.smoothing_options["scope"] = scope;
              config.smoothing_options["decay"] = decay;
              config.weight_decay_on = decay_on;
              auto opt = CreateOptimizer(params, config);
              ASSERT_TRUE(opt.ok()) << opt.status();

              // The reference groups: the two chains' weights and biases (stacked by
              // block), and every other parameter on its own.
              std::map<std::string, Ref> ref;
              std::map<std::string, std::vector<int>> members;  // group -> param indices
              for (size_t i = 0; i < params.size(); ++i) {
                const std::string& name = params[i].name;
                std::string group = name;
                if (name.rfind("in_blocks.", 0) == 0 || name.rfind("out_blocks.", 0) == 0) {
                  group = name.substr(0, name.find('.')) + ".*" + name.substr(name.rfind('.'));
                  ref[group].chain = true;
                }
                ref[group].matrix = params[i].tensor.dim() >= 2;
                ref[group].w.push_back(params[i].tensor.detach().clone());
                members[group].push_back(i);
              }
              for (auto& [g, r] : ref) {
                for (const auto& x : r.w) {
                  r.m.push_back(torch::zeros_like(x));
                  r.v.push_back(torch::zeros_like(x));
                  r.buf.push_back(torch::Tensor());
                }
              }
              for (int step = 1; step <= 3; ++step) {
                torch::manual_seed(10 + step);
                for (auto& p : params) {
                  testing::SetGradient(p.tensor, torch::randn_like(p.tensor));
                }
                for (auto& [group, r] : ref) {
                  const double decay_of = (decay_on == "all" || r.matrix) ? wd : 0.0;
                  const bool smoothed = r.chain && (scope == "all" || r.matrix);
                  Blocks d;
                  for (size_t l = 0; l < r.w.size(); ++l) {
                    torch::Tensor g = params[members[group][l]].tensor.grad().detach().clone();
                    if (optimizer == "adamw") {
                      r.m[l] = b1 * r.m[l] + (1 - b1) * g;
                      r.v[l] = b2 * r.v[l] + (1 - b2) * g * g;
                      d.push_back((r.m[l] / (1 - std::pow(b1, step))) /
                                  ((r.v[l] / (1 - std::pow(b2, step))).sqrt() + eps));
                    } else {  // SGD: L2 term in the gradient, momentum buffer = D
                      g = g + decay_of * r.w[l];
                      r.buf[l] = step == 1 ? g : 0.9 * r.buf[l] + g;
                      d.push_back(r.buf[l]);
                    }
                  }
                  // AdamW's decoupled decay; SGD's is in D already.
                  const double decoupled = optimizer == "adamw" ? decay_of : 0.0;
                  if (smoothed && decay == "smoothed") {
                    for (size_t l = 0; l < d.size(); ++l) d[l] = d[l] + decoupled * r.w[l];
                  }
                  if (smoothed) d = VariantRef(d, variant, c.f);
                  const double kept = smoothed && decay == "smoothed" ? 0.0 : decoupled;
                  for (size_t l = 0; l < d.size(); ++l) {
                    r.w[l] = r.w[l] * (1 - lr * kept) - lr * d[l];
                  }
                }
                (*opt)->step();
              }
              double worst = 0;
              for (auto& [group, r] : ref) {
                for (size_t l = 0; l < r.w.size(); ++l) {
                  worst = std::max(worst, (params[members[group][l]].tensor.detach() - r.w[l])
                                              .abs().max().item<double>());
                }
              }
              EXPECT_LT(worst, 1e-12);
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_EQ(checked, 4 * 2 * 3 * 2 * 2 * 2);
}

// Typed options are checked against the same declaration as flags: out of range is an
// error, never a silent run.
TEST(Family, OutOfRangeTypedOptionsAreErrorsAtCreate) {
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  const std::vector<NamedTensor> params = {{"blocks.0.w", torch::randn({2, 2}, opts)},
                                           {"blocks.1.w", torch::randn({2, 2}, opts)}};
  auto expect = [&](std::unique_ptr<BaseOptimizer> base, std::unique_ptr<DepthTransform> t,
                    const std::string& part) {
    auto opt = DepthOptimizer::Create(params, std::move(base), std::move(t));
    ASSERT_FALSE(opt.ok()) << part;
    EXPECT_EQ(opt.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(opt.status().message()), HasSubstr(part));
  };
  expect(std::make_unique<AdamW>(),
         std::make_unique<WindowSmoothing>(WindowSmoothingOptions().alpha(1.5)), "alpha=1.5");
  expect(std::make_unique<AdamW>(),
         std::make_unique<WindowSmoothing>(WindowSmoothingOptions().radius(0)), "radius=0");
  expect(std::make_unique<AdamW>(),
         std::make_unique<LaplacianSharpening>(WindowSmoothingOptions().alpha(-0.1)), "alpha=-0.1");
  expect(std::make_unique<AdamW>(), std::make_unique<EmaSmoothing>(EmaSmoothingOptions().rho(1.0)),
         "rho=1 is not allowed; use a number in [0, 1)");
  expect(std::make_unique<AdamW>(AdamWOptions().beta2(1.0)), nullptr, "beta2=1");
  expect(std::make_unique<SGD>(SGDOptions().lr(-1)), nullptr, "lr=-1");
  // In range: fine.
  EXPECT_TRUE(DepthOptimizer::Create(params, std::make_unique<AdamW>(),
                                     std::make_unique<EmaSmoothing>(EmaSmoothingOptions().rho(0.5)))
                  .ok());
}

TEST(Family, DecaySmoothedNeedsTargetUpdate) {
  auto opts = torch::TensorOptions().dtype(torch::kDouble).requires_grad(true);
  const std::vector<NamedTensor> params = {{"blocks.0.w", torch::randn({2, 2}, opts)},
                                           {"blocks.1.w", torch::randn({2, 2}, opts)}};
  OptimizerConfig config;
  config.smoothing = "window";
  config.smoothing_options = {{"decay", "smoothed"}, {"target", "gradient"}};
  auto opt = CreateOptimizer(params, config);
  ASSERT_FALSE(opt.ok());
  EXPECT_THAT(std::string(opt.status().message()), HasSubstr("decay=smoothed needs target=update"));
}

}  // namespace
}  // namespace gs
