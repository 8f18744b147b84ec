// Data parallel over real Gloo groups (ranks as threads): gradient averaging against
// sums known in closed form, checkpoints across world sizes, the state each rank holds.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

#include "gtest/gtest.h"
#include "optimizers/optimizer.h"
#include "optimizers/torch_module.h"
#include "tests/optimizers/ranks_util.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using testing::MakeTinyNet;
using testing::TinyNet;

OptimizerConfig Config(const std::string& optimizer) {
  OptimizerConfig config;
  config.optimizer = optimizer;
  config.base.weight_decay = 0.1;
  config.base.lr = optimizer == "muon" ? 0.02 : 0.01;
  config.smoothing = "window";
  config.smoothing_options = {{"radius", "2"}};
  return config;
}

// Small multiples of 1/8: sums and halvings of them are exact in float.
at::Tensor Dyadic(const at::Tensor& like, int64_t salt) {
  return (at::arange(like.numel(), like.options()).remainder(7 + salt) - 3).div(8).view(
      like.sizes());
}

TEST(AverageGradientsTest, MeanOverRanksInClosedForm) {
  constexpr int kWorld = 3;
  std::vector<TinyNet> nets;
  for (int r = 0; r < kWorld; ++r) nets.push_back(MakeTinyNet(4, 3));
  testing::OnRanks(kWorld, [&](std::shared_ptr<Communicator> comm) {
    const int rank = comm->rank();
    OptimizerConfig config = Config("adamw");
    config.communicator = comm;
    TinyNet& net = nets[rank];
    auto opt = CreateOptimizer(NamedParameters(*net), config);
    ASSERT_TRUE(opt.ok()) << opt.status();
    // Rank r's gradient is (r + 1) G: the mean is 2 G. head.bias has one on rank 1 only
    // (mean G / 3); embed.bias has none anywhere (stays without one).
    int64_t salt = 0;
    for (const auto& item : net->named_parameters()) {
      const at::Tensor g = Dyadic(item.value(), salt++) * static_cast<double>(rank + 1);
      if (item.key() == "embed.bias") continue;
      if (item.key() == "head.bias" && rank != 1) continue;
      testing::SetGradient(item.value(), g);
    }
    (*opt)->AverageGradients();
    salt = 0;
    for (const auto& item : net->named_parameters()) {
      const at::Tensor g = Dyadic(item.value(), salt++);
      const at::Tensor& grad = item.value().grad();
      if (item.key() == "embed.bias") {
        EXPECT_FALSE(grad.defined()) << item.key();
      } else if (item.key() == "head.bias") {
        ASSERT_TRUE(grad.defined());
        EXPECT_TRUE(torch::equal(grad, (g * 2.0) / 3.0)) << item.key();
      } else {
        EXPECT_TRUE(torch::equal(grad, g * 2.0)) << item.key() << " on rank " << rank;
      }
    }
  });
}

// Gradients from the parameters' values and the step alone (the same on every rank).
void SetGradients(TinyNet& net, int64_t step) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net->parameters()) {
    const at::Tensor x = p.detach();
    testing::SetGradient(p, at::sin(x * 3.0 + static_cast<double>(step)) * 0.5);
  }
}

void Train(TinyNet& net, DepthOptimizer& opt, int64_t first, int64_t last) {
  for (int64_t s = first; s < last; ++s) {
    SetGradients(net, s);
    opt.step();
    opt.zero_grad();
  }
}

void CopyParameters(const std::vector<at::Tensor>& from, TinyNet& net) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> params = net->parameters();
  for (size_t i = 0; i < params.size(); ++i) params[i].copy_(from[i]);
}

class CheckpointTest : public ::testing::TestWithParam<std::string> {
 protected:
  static constexpr int64_t kDepth = 5, kSteps = 4, kSaved = 2;
  std::string Path(const std::string& name) const {
    return ::testing::TempDir() + "/" + GetParam() + "_" + name + ".pt";
  }
  // One process through every step, uninterrupted.
  std::vector<at::Tensor> Uninterrupted() const {
    TinyNet net = MakeTinyNet(kDepth, 5);
    auto opt = CreateOptimizer(NamedParameters(*net), Config(GetParam()));
    Train(net, **opt, 0, kSteps);
    return testing::Snapshot(*net);
  }
};

TEST_P(CheckpointTest, TwoRanksSaveOneProcessLoads) {
  const std::string path = Path("from_ranks");
  std::vector<TinyNet> nets{MakeTinyNet(kDepth, 5), MakeTinyNet(kDepth, 5)};
  testing::OnRanks(2, [&](std::shared_ptr<Communicator> comm) {
    OptimizerConfig config = Config(GetParam());
    config.communicator = comm;
    TinyNet& net = nets[comm->rank()];
    auto opt = CreateOptimizer(NamedParameters(*net), config);
    Train(net, **opt, 0, kSaved);
    ASSERT_TRUE((*opt)->Save(path).ok());
  });
  TinyNet net = MakeTinyNet(kDepth, 5);
  CopyParameters(testing::Snapshot(*nets[0]), net);
  auto opt = CreateOptimizer(NamedParameters(*net), Config(GetParam()));
  ASSERT_TRUE((*opt)->Load(path).ok());
  EXPECT_EQ((*opt)->step_count(), kSaved);
  Train(net, **opt, kSaved, kSteps);
  EXPECT_TRUE(testing::BitIdentical(testing::Snapshot(*net), Uninterrupted()));
  std::remove(path.c_str());
}

TEST_P(CheckpointTest, OneProcessSavesThreeRanksLoad) {
  const std::string path = Path("from_one");
  TinyNet saved = MakeTinyNet(kDepth, 5);
  {
    auto opt = CreateOptimizer(NamedParameters(*saved), Config(GetParam()));
    Train(saved, **opt, 0, kSaved);
    ASSERT_TRUE((*opt)->Save(path).ok());
  }
  const std::vector<at::Tensor> want = Uninterrupted();
  std::vector<TinyNet> nets;
  for (int r = 0; r < 3; ++r) {
    nets.push_back(MakeTinyNet(kDepth, 5));
    CopyParameters(testing::Snapshot(*saved), nets.back());
  }
  testing::OnRanks(3, [&](std::shared_ptr<Communicator> comm) {
    OptimizerConfig config = Config(GetParam());
    config.communicator = comm;
    TinyNet& net = nets[comm->rank()];
    auto opt = CreateOptimizer(NamedParameters(*net), config);
    ASSERT_TRUE((*opt)->Load(path).ok());
    Train(net, **opt, kSaved, kSteps);
    EXPECT_TRUE(testing::BitIdentical(testing::Snapshot(*net), want)) << "rank " << comm->rank();
  });
  std::remove(path.c_str());
}

INSTANTIATE_TEST_SUITE_P(All, CheckpointTest, ::testing::Values("sgd", "adamw", "muon"));

TEST(StateBytesTest, FallsToAboutOneOverN) {
  constexpr int64_t kDepth = 6;
  TinyNet net = MakeTinyNet(kDepth, 2);
  auto one = CreateOptimizer(NamedParameters(*net), Config("adamw"));
  int64_t singletons = 0;
  for (size_t i = 0; i < (*one)->num_slots(); ++i) {
    if ((*one)->slot(i).in_chain()) continue;
    for (const auto& [name, t] : (*one)->state(i)) singletons += t.nbytes();
  }
  const int64_t stacks = (*one)->state_bytes() - singletons;
  ASSERT_GT(stacks, 0);
  for (int world : {2, 3}) {
    std::vector<TinyNet> nets;
    for (int r = 0; r < world; ++r) nets.push_back(MakeTinyNet(kDepth, 2));
    testing::OnRanks(world, [&](std::shared_ptr<Communicator> comm) {
      OptimizerConfig config = Config("adamw");
      config.communicator = comm;
      auto opt = CreateOptimizer(NamedParameters(*nets[comm->rank()]), config);
      // Six blocks over 2 or 3 ranks: every rank holds exactly 1/N of the stacks' state.
      EXPECT_EQ((*opt)->state_bytes(), singletons + stacks / world) << "world " << world;
    });
  }
}

}  // namespace
}  // namespace gs
