// The sharded step (ZeRO-1 along depth) against the one-process step, bit for bit: ranks
// are threads over real Gloo groups, each with its own copy of one seeded model and the
// same gradients (what AverageGradients leaves), for every base optimizer and transform.
#include <map>
#include <memory>
#include <string>
#include <tuple>
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

constexpr int kSteps = 3;

struct TransformCase {
  std::string name;       // for the test's name
  std::string smoothing;  // a registered transform, or "none"
  std::map<std::string, std::string> options;
};

const std::vector<TransformCase>& TransformCases() {
  static const auto* cases = new std::vector<TransformCase>{
      {"none", "none", {}},
      {"window", "window", {}},
      {"window_r2_triangle", "window", {{"radius", "2"}, {"kernel", "triangle"}}},
      {"window_r3_gaussian", "window", {{"radius", "3"}, {"kernel", "gaussian"}}},
      {"window_norm", "window", {{"variant", "norm"}}},
      {"window_r2_direction", "window", {{"radius", "2"}, {"variant", "direction"}}},
      {"window_matrices", "window", {{"scope", "matrices"}}},
      {"laplacian", "laplacian", {}},
      {"laplacian_r2_box", "laplacian", {{"radius", "2"}}},
      {"ema", "ema", {}},
      {"ema_backward", "ema", {{"direction", "backward"}}},
      {"ema_direction", "ema", {{"variant", "direction"}}},
      {"window_gradient", "window", {{"target", "gradient"}}},
      {"window_norm_gradient", "window", {{"target", "gradient"}, {"variant", "norm"}}},
      {"ema_gradient", "ema", {{"target", "gradient"}, {"direction", "backward"}}},
      {"window_r2_smoothed", "window", {{"radius", "2"}, {"decay", "smoothed"}}},
      {"ema_norm_smoothed", "ema", {{"variant", "norm"}, {"decay", "smoothed"}}},
  };
  return *cases;
}

OptimizerConfig Config(const std::string& optimizer, const TransformCase& t) {
  OptimizerConfig config;
  config.optimizer = optimizer;
  config.base.weight_decay = 0.1;
  if (optimizer == "sgd") config.base.lr = 0.05;
  if (optimizer == "adamw") config.base.lr = 0.01;
  if (optimizer == "muon") config.base.options["adamw_weight_decay"] = "0.1";
  config.smoothing = t.smoothing;
  config.smoothing_options = t.options;
  return config;
}

// Gradients from the parameters' values and the step alone: no random state, so every
// rank's thread computes the same ones.
void SetGradients(TinyNet& net, int64_t step) {
  torch::NoGradGuard no_grad;
  for (const auto& p : net->parameters()) {
    const at::Tensor x = p.detach();
    testing::SetGradient(p, at::sin(x * 3.0 + static_cast<double>(step)) * 0.5 +
                                at::cos(x * 7.0) * 0.1);
  }
}

void Train(TinyNet& net, DepthOptimizer& opt, int64_t first, int64_t last) {
  for (int64_t s = first; s < last; ++s) {
    SetGradients(net, s);
    opt.step();
    opt.zero_grad();
  }
}

using Param = std::tuple<std::string, int, int, int>;  // optimizer, transform, world, depth

class ShardedStepTest : public ::testing::TestWithParam<Param> {};

TEST_P(ShardedStepTest, EqualsTheOneProcessStep) {
  const auto& [optimizer, transform, world, depth] = GetParam();
  const OptimizerConfig config = Config(optimizer, TransformCases()[transform]);
  TinyNet reference = MakeTinyNet(depth, 7);
  auto one = CreateOptimizer(NamedParameters(*reference), config);
  ASSERT_TRUE(one.ok()) << one.status();
  Train(reference, **one, 0, kSteps);
  const std::vector<at::Tensor> want = testing::Snapshot(*reference);

  std::vector<TinyNet> nets;
  for (int r = 0; r < world; ++r) nets.push_back(MakeTinyNet(depth, 7));
  testing::OnRanks(world, [&](std::shared_ptr<Communicator> comm) {
    const int rank = comm->rank();
    OptimizerConfig sharded = config;
    sharded.communicator = comm;
    auto opt = CreateOptimizer(NamedParameters(*nets[rank]), sharded);
    ASSERT_TRUE(opt.ok()) << opt.status();
    Train(nets[rank], **opt, 0, kSteps);
    EXPECT_TRUE(testing::BitIdentical(testing::Snapshot(*nets[rank]), want))
        << "rank " << rank << ": max |difference| "
        << testing::MaxAbsDiff(testing::Snapshot(*nets[rank]), want);
    // The state of this rank's blocks is the one-process state's.
    for (size_t i = 0; i < (*opt)->num_slots(); ++i) {
      const BlockRange own = (*opt)->owned_blocks(i);
      for (const auto& [name, t] : (*opt)->state(i)) {
        at::Tensor whole = (*one)->state(i).at(name);
        if ((*opt)->slot(i).in_chain()) whole = whole.narrow(0, own.begin, own.size());
        EXPECT_TRUE(torch::equal(t, whole)) << (*opt)->slot(i).name() << " " << name;
      }
    }
  });
}

std::string CaseName(const ::testing::TestParamInfo<Param>& info) {
  const auto& [optimizer, transform, world, depth] = info.param;
  return optimizer + "_" + TransformCases()[transform].name + "_w" + std::to_string(world) +
         "_L" + std::to_string(depth);
}

// L = 2 < 3 ranks (a rank owns nothing), 5 (not divisible by 2 or 3), 6 (divisible).
INSTANTIATE_TEST_SUITE_P(
    All, ShardedStepTest,
    ::testing::Combine(::testing::Values("sgd", "adamw", "muon"),
                       ::testing::Range(0, static_cast<int>(TransformCases().size())),
                       ::testing::Values(2, 3), ::testing::Values(2, 5, 6)),
    CaseName);

// Blocks large enough that ATen splits its loops over threads (Muon's per-matrix norms,
// the element-wise passes), with two intra-op threads: a rank's slice of one block takes
// the same arithmetic as the whole stack.
class LargeBlocksTest : public ::testing::TestWithParam<std::tuple<std::string, int>> {};

TEST_P(LargeBlocksTest, EqualsTheOneProcessStepWithThreads) {
  const auto& [optimizer, world] = GetParam();
  const int threads = at::get_num_threads();
  at::set_num_threads(2);
  static constexpr int64_t kDepth = 5, kWidth = 192;
  auto make = [] {
    torch::manual_seed(11);
    return TinyNet(kDepth, 5, kWidth, 3);
  };
  const OptimizerConfig config = Config(optimizer, TransformCases()[1]);
  TinyNet reference = make();
  auto one = CreateOptimizer(NamedParameters(*reference), config);
  ASSERT_TRUE(one.ok()) << one.status();
  Train(reference, **one, 0, 2);
  const std::vector<at::Tensor> want = testing::Snapshot(*reference);
  std::vector<TinyNet> nets;
  for (int r = 0; r < world; ++r) nets.push_back(make());
  testing::OnRanks(world, [&](std::shared_ptr<Communicator> comm) {
    OptimizerConfig sharded = config;
    sharded.communicator = comm;
    TinyNet& net = nets[comm->rank()];
    auto opt = CreateOptimizer(NamedParameters(*net), sharded);
    ASSERT_TRUE(opt.ok()) << opt.status();
    Train(net, **opt, 0, 2);
    EXPECT_TRUE(testing::BitIdentical(testing::Snapshot(*net), want))
        << "rank " << comm->rank() << ": max |difference| "
        << testing::MaxAbsDiff(testing::Snapshot(*net), want);
  });
  at::set_num_threads(threads);
}

INSTANTIATE_TEST_SUITE_P(All, LargeBlocksTest,
                         ::testing::Combine(::testing::Values("adamw", "muon"),
                                            ::testing::Values(2, 3)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + "_w" +
                                  std::to_string(std::get<1>(info.param));
                         });

}  // namespace
}  // namespace gs
