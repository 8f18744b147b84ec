// The sampler under hand-made next-token functions: inverse-CDF draws against a loop
// over the same uniforms, frequencies, greedy paths, end tokens and masks.
#include "tasks/rl/sampling.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <cmath>

#include "gtest/gtest.h"

namespace gs::rl {
namespace {

constexpr int64_t kVocab = 16, kEnd = 14, kPad = 15;

at::Tensor Longs(std::vector<int64_t> values) { return torch::tensor(values, torch::kLong); }

at::Generator Gen(uint64_t seed) { return at::make_generator<at::CPUGeneratorImpl>(seed); }

TEST(SampleTokens, InverseCdfOfTheSameUniforms) {
  // probs 0.1, 0.2, 0.3, 0.4: cdf 0.1, 0.3, 0.6, 1.0.
  const at::Tensor logits = torch::log(torch::tensor({1.0, 2.0, 3.0, 4.0})).view({1, 4}).repeat({64, 1});
  at::Generator gen = Gen(3), twin = Gen(3);
  const at::Tensor sampled = SampleTokens(logits.to(torch::kFloat), 1.0, gen);
  const at::Tensor u = torch::rand({64, 1}, twin, torch::kDouble);
  const double cdf[4] = {0.1, 0.3, 0.6, 1.0};
  for (int64_t i = 0; i < 64; ++i) {
    const double x = u[i][0].item<double>();
    int64_t expected = 0;
    while (expected < 3 && cdf[expected] <= x) ++expected;
    EXPECT_EQ(sampled[i].item<int64_t>(), expected) << "u = " << x;
  }
}

TEST(SampleTokens, FrequenciesFollowTheTemperature) {
  // At T = 2 the probabilities are proportional to sqrt(1..4).
  const at::Tensor logits = torch::log(torch::tensor({1.f, 2.f, 3.f, 4.f})).view({1, 4}).repeat({20000, 1});
  at::Generator gen = Gen(11);
  const at::Tensor counts = torch::bincount(SampleTokens(logits, 2.0, gen), {}, 4).to(torch::kDouble) / 20000;
  const double z = 1 + std::sqrt(2.0) + std::sqrt(3.0) + 2;
  for (int64_t i = 0; i < 4; ++i) {
    EXPECT_NEAR(counts[i].item<double>(), std::sqrt(i + 1.0) / z, 0.015) << i;
  }
}

// A next-token function that puts all mass on (last token + 1) mod vocab, counting calls.
struct Successor {
  int* calls;
  at::Tensor operator()(const at::Tensor& tokens) const {
    ++*calls;
    const at::Tensor next = (tokens + 1).remainder(kVocab);
    return torch::one_hot(next, kVocab).to(torch::kFloat) * 50.0;
  }
};

TEST(Generate, GreedyFollowsTheModelAndPadsAfterTheEnd) {
  int calls = 0;
  // Row 0: 12 -> 13, 14 (end), then padding. Row 1: 5 -> 6, 7, 8, 9 (no end in budget).
  const at::Tensor prompts = torch::tensor({12, 5}, torch::kLong).view({2, 1});
  Completions c = Generate(Successor{&calls}, prompts, 4, kEnd, kPad, 0.0, nullptr);
  EXPECT_TRUE(c.finite);
  EXPECT_TRUE(c.tokens.equal(Longs({13, 14, kPad, kPad, 6, 7, 8, 9}).view({2, 4})));
  EXPECT_TRUE(c.mask.equal(torch::tensor({1.f, 1.f, 0.f, 0.f, 1.f, 1.f, 1.f, 1.f}).view({2, 4})));
  EXPECT_EQ(calls, 4);
}

TEST(Generate, StopsOnceEveryRowEnded) {
  int calls = 0;
  const at::Tensor prompts = torch::tensor({12, 13}, torch::kLong).view({2, 1});
  Completions c = Generate(Successor{&calls}, prompts, 5, kEnd, kPad, 0.0, nullptr);
  EXPECT_TRUE(c.tokens.equal(Longs({13, 14, kPad, kPad, kPad, 14, kPad, kPad, kPad, kPad}).view({2, 5})));
  EXPECT_TRUE(c.mask.equal(torch::tensor({1.f, 1.f, 0.f, 0.f, 0.f, 1.f, 0.f, 0.f, 0.f, 0.f}).view({2, 5})));
  EXPECT_EQ(calls, 2);
}

TEST(Generate, SamplingIsAFunctionOfTheGeneratorAlone) {
  // Uniform next-token distribution over digits and end only.
  auto uniform = [](const at::Tensor& tokens) {
    at::Tensor logits = torch::full({tokens.size(0), tokens.size(1), kVocab}, -1e9);
    logits.slice(2, 0, 10).fill_(0.0);
    logits.select(2, kEnd).fill_(0.0);
    return logits;
  };
  const at::Tensor prompts = torch::zeros({32, 3}, torch::kLong);
  at::Generator a = Gen(5), b = Gen(5), c = Gen(6);
  Completions x = Generate(uniform, prompts, 6, kEnd, kPad, 1.0, &a);
  Completions y = Generate(uniform, prompts, 6, kEnd, kPad, 1.0, &b);
  Completions z = Generate(uniform, prompts, 6, kEnd, kPad, 1.0, &c);
  EXPECT_TRUE(x.tokens.equal(y.tokens));
  EXPECT_FALSE(x.tokens.equal(z.tokens));
  // Mask: 1 through the first end token of each row, 0 after; padding exactly after it.
  for (int64_t i = 0; i < 32; ++i) {
    bool ended = false;
    for (int64_t t = 0; t < 6; ++t) {
      const int64_t tok = x.tokens[i][t].item<int64_t>();
      EXPECT_EQ(x.mask[i][t].item<float>(), ended ? 0.f : 1.f);
      if (ended) EXPECT_EQ(tok, kPad);
      else EXPECT_TRUE(tok < 10 || tok == kEnd) << tok;
      ended = ended || tok == kEnd;
    }
  }
}

TEST(Generate, NonFiniteLogitsStopAndSaySo) {
  auto broken = [](const at::Tensor& tokens) {
    return torch::full({tokens.size(0), tokens.size(1), kVocab}, std::nan(""));
  };
  at::Generator gen = Gen(1);
  Completions c = Generate(broken, torch::zeros({2, 3}, torch::kLong), 4, kEnd, kPad, 1.0, &gen);
  EXPECT_FALSE(c.finite);
}

}  // namespace
}  // namespace gs::rl
