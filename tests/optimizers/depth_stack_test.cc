// Depth groups found from names, depth stacks holding the parameters and gradients,
// and training on stacks equal to training parameter by parameter.
#include "optimizers/depth_stack.h"

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using ::testing::HasSubstr;

NamedTensor P(const std::string& name, std::vector<int64_t> shape) {
  return {name, torch::zeros(shape, torch::requires_grad())};
}

TEST(FindDepthGroups, GroupsEachSlotOfAChainAndKeepsTheRestAsSingletons) {
  testing::TinyNet net = testing::MakeTinyNet(3);
  auto layout = FindDepthGroups(NamedParameters(*net), {"blocks"});
  ASSERT_TRUE(layout.ok()) << layout.status();
  std::vector<std::string> keys;
  for (const DepthGroup& g : layout->groups) {
    keys.push_back(g.key());
    EXPECT_EQ(g.depth(), 3);
    EXPECT_EQ(g.names[2], "blocks.2." + g.in_block_name);
  }
  EXPECT_EQ(keys, (std::vector<std::string>{
                      "blocks.*.norm.weight", "blocks.*.norm.bias", "blocks.*.fc.weight",
                      "blocks.*.fc.bias", "blocks.*.proj.weight", "blocks.*.proj.bias"}));
  std::vector<std::string> singles;
  for (const NamedTensor& p : layout->singletons) singles.push_back(p.name);
  EXPECT_EQ(singles, (std::vector<std::string>{"embed.weight", "embed.bias", "head.weight",
                                               "head.bias"}));
}

TEST(FindDepthGroups, SeveralChainsAreSeparateAndOtherBlocksStayOut) {
  std::vector<NamedTensor> params{
      P("patch.weight", {4, 4}),       P("in_blocks.0.w", {2, 3}), P("in_blocks.1.w", {2, 3}),
      P("mid_block.w", {2, 3}),        P("out_blocks.0.w", {2, 3}), P("out_blocks.0.skip", {3}),
      P("out_blocks.1.w", {2, 3}),     P("out_blocks.1.skip", {3}),
      P("in_blocks.norm.weight", {3}),  // not `<chain>.<i>.<slot>`: a singleton
  };
  auto layout = FindDepthGroups(params, {"in_blocks", "out_blocks"});
  ASSERT_TRUE(layout.ok()) << layout.status();
  ASSERT_EQ(layout->groups.size(), 3u);
  EXPECT_EQ(layout->groups[0].key(), "in_blocks.*.w");
  EXPECT_EQ(layout->groups[1].key(), "out_blocks.*.w");
  EXPECT_EQ(layout->groups[2].key(), "out_blocks.*.skip");
  EXPECT_EQ(layout->singletons.size(), 3u);
}

TEST(FindDepthGroups, MismatchedChainsAreErrorsNamingTheParameter) {
  auto missing = FindDepthGroups({P("blocks.0.w", {2}), P("blocks.0.b", {2}), P("blocks.1.w", {2})},
                                 {"blocks"});
  EXPECT_EQ(missing.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("blocks.1.b"));

  auto shape = FindDepthGroups({P("blocks.0.w", {2, 3}), P("blocks.1.w", {3, 2})}, {"blocks"});
  EXPECT_EQ(shape.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(shape.status().message()), HasSubstr("blocks.1.w"));
  EXPECT_THAT(std::string(shape.status().message()), HasSubstr("[3, 2]"));

  auto gap = FindDepthGroups({P("blocks.0.w", {2}), P("blocks.2.w", {2})}, {"blocks"});
  EXPECT_EQ(gap.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(gap.status().message()), HasSubstr("blocks.2.w"));

  auto dtype = FindDepthGroups(
      {P("blocks.0.w", {2}), {"blocks.1.w", torch::zeros({2}, torch::dtype(torch::kDouble).requires_grad(true))}},
      {"blocks"});
  EXPECT_EQ(dtype.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(dtype.status().message()), HasSubstr("blocks.1.w"));

  // Through the optimizer, the same error.
  OptimizerConfig config;
  auto opt = CreateOptimizer({P("blocks.0.w", {2, 3}), P("blocks.1.w", {3, 2})}, config);
  EXPECT_EQ(opt.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(opt.status().message()), HasSubstr("blocks.1.w"));
}

TEST(DepthStack, ParametersAndGradientsLiveInTheStacks) {
  testing::TinyNet net = testing::MakeTinyNet(4);
  auto opt = CreateOptimizer(NamedParameters(*net), OptimizerConfig{});
  ASSERT_TRUE(opt.ok()) << opt.status();
  const auto& stacks = (*opt)->stacks();
  ASSERT_EQ(stacks.size(), 6u);
  testing::ForwardBackward(net, 0);
  for (const DepthStack& s : stacks) {
    ASSERT_TRUE(s.data.is_contiguous());
    EXPECT_EQ(s.data.size(0), 4);
    for (int64_t i = 0; i < 4; ++i) {
      const torch::Tensor& p = s.group.params[i];
      EXPECT_EQ(p.data_ptr(), s.data[i].data_ptr()) << s.group.names[i];
      EXPECT_EQ(p.grad().data_ptr(), s.grad[i].data_ptr()) << s.group.names[i];
      EXPECT_TRUE(torch::equal(p.grad(), s.grad[i]));
    }
    EXPECT_GT(s.grad.abs().sum().item<double>(), 0.0) << s.group.key();
  }
  // Accumulation happens in place, and zero_grad zeroes the stacks.
  torch::Tensor once = stacks[2].grad.clone();
  testing::ForwardBackward(net, 0);
  EXPECT_TRUE(torch::allclose(stacks[2].grad, 2 * once));
  (*opt)->zero_grad();
  for (const DepthStack& s : stacks) EXPECT_EQ(s.grad.abs().sum().item<double>(), 0.0);
  // An optimizer step moves the module's parameters through the stack.
  testing::ForwardBackward(net, 1);
  torch::Tensor before = net->blocks[1]->as<testing::Block>()->fc->weight.detach().clone();
  (*opt)->step();
  EXPECT_FALSE(torch::equal(before, net->blocks[1]->as<testing::Block>()->fc->weight));
  EXPECT_TRUE(torch::equal(stacks[2].data[1], net->blocks[1]->as<testing::Block>()->fc->weight));
}

std::vector<torch::Tensor> TrainWithChains(const std::string& optimizer,
                                           std::vector<std::string> chains,
                                           bool drop_grads_midway = false) {
  testing::TinyNet net = testing::MakeTinyNet(6);
  OptimizerConfig config;
  config.optimizer = optimizer;
  config.chains = std::move(chains);
  auto opt = CreateOptimizer(NamedParameters(*net), config);
  EXPECT_TRUE(opt.ok()) << opt.status();
  for (int step = 0; step < 8; ++step) {
    if (drop_grads_midway && step == 4) {
      net->zero_grad(/*set_to_none=*/true);  // autograd will allocate fresh gradients
    } else {
      (*opt)->zero_grad();
    }
    testing::ForwardBackward(net, step);
    (*opt)->step();
  }
  return testing::Snapshot(*net);
}

TEST(DepthStack, TrainingOnStacksEqualsTrainingParameterByParameter) {
  for (const std::string optimizer : {"sgd", "adamw"}) {
    const auto per_parameter = TrainWithChains(optimizer, {});  // no chains: all singletons
    const auto stacked = TrainWithChains(optimizer, {"blocks"});
    EXPECT_TRUE(testing::BitIdentical(per_parameter, stacked)) << optimizer;
    // Gradients that a module reset to undefined are re-attached to the stacks.
    EXPECT_TRUE(testing::BitIdentical(per_parameter, TrainWithChains(optimizer, {"blocks"}, true)))
        << optimizer;
  }
}

}  // namespace
}  // namespace gs
