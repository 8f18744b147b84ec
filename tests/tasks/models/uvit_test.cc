// U-ViT: its two chains as the optimizer library finds them (the mid-block in none), and
// its forward pass against a reference written here from the paper's description
// (patches by unfold, pixels back by fold, skips wired out-block i <- in-block N-1-i).
#include "tasks/models/uvit.h"

#include <cmath>

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/depth_stack.h"
#include "optimizers/torch_module.h"

namespace gs::models {
namespace {

UViTConfig Small() {
  UViTConfig c;
  c.width = 32;
  c.heads = 2;
  c.depth = 6;
  return c;
}

TEST(UViT, ChainsAreInBlocksAndOutBlocksOfSixAndTheMidBlockIsInNone) {
  torch::manual_seed(0);
  UViT model(Small());
  absl::StatusOr<DepthLayout> layout = FindDepthGroups(NamedParameters(*model), {"in_blocks", "out_blocks"});
  ASSERT_TRUE(layout.ok()) << layout.status();
  int in_groups = 0, out_groups = 0;
  std::vector<std::string> out_slots;
  for (const DepthGroup& group : layout->groups) {
    EXPECT_EQ(group.depth(), 6) << group.key();
    if (group.chain == "in_blocks") ++in_groups;
    if (group.chain == "out_blocks") {
      ++out_groups;
      out_slots.push_back(group.in_block_name);
    }
  }
  EXPECT_EQ(in_groups, 12);   // norm1, attn.qkv, attn.proj, norm2, mlp.fc, mlp.proj: weight and bias
  EXPECT_EQ(out_groups, 14);  // the same under `block.`, and the long skip's linear layer
  EXPECT_THAT(out_slots, ::testing::Contains("skip.weight"));
  EXPECT_THAT(out_slots, ::testing::Contains("block.attn.qkv.weight"));
  int mid = 0;
  for (const NamedTensor& p : layout->singletons) {
    EXPECT_FALSE(absl::string_view(p.name).substr(0, 3) == "in_" ||
                 absl::string_view(p.name).substr(0, 4) == "out_")
        << p.name;
    if (absl::string_view(p.name).substr(0, 10) == "mid_block.") ++mid;
  }
  EXPECT_EQ(mid, 12);
}

TEST(TimestepFeatures, CosinesThenSinesOfGeometricFrequencies) {
  at::Tensor f = TimestepFeatures(torch::tensor({0, 7, 999}, torch::kLong), 8);
  ASSERT_EQ(f.sizes(), (std::vector<int64_t>{3, 8}));
  const double t[] = {0, 7, 999};
  for (int b = 0; b < 3; ++b) {
    for (int j = 0; j < 4; ++j) {
      const double freq = std::pow(10000.0, -j / 4.0);
      EXPECT_NEAR(f[b][j].item<double>(), std::cos(t[b] * freq), 1e-4);
      EXPECT_NEAR(f[b][4 + j].item<double>(), std::sin(t[b] * freq), 1e-4);
    }
  }
}

TEST(UViT, ForwardMatchesAReferenceBuiltFromItsParts) {
  torch::manual_seed(1);
  UViTConfig c = Small();
  UViT model(c);
  model->eval();
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(2);
  at::Tensor x = torch::randn({3, 1, 28, 28}, g);
  at::Tensor t = torch::tensor({3, 500, 998}, torch::kLong);
  at::Tensor y = torch::tensor({0, 10, 7}, torch::kLong);
  torch::NoGradGuard no_grad;
  std::map<std::string, tasks::ChainTrace> traces;
  at::Tensor out = model->forward(x, t, y, &traces);
  ASSERT_EQ(out.sizes(), x.sizes());

  // Reference: patches [B, 49, 16] by unfolding, tokens [time, label, patches].
  at::Tensor patches = x.unfold(2, 4, 4).unfold(3, 4, 4).permute({0, 2, 3, 1, 4, 5}).reshape({3, 49, 16});
  at::Tensor time = model->time_embed->forward(TimestepFeatures(t, c.width));
  at::Tensor h = torch::cat({time.unsqueeze(1), model->label_embed(y).unsqueeze(1),
                             model->patch_embed(patches)}, 1) + model->pos_embed;
  std::vector<at::Tensor> in_outputs;
  for (int i = 0; i < 6; ++i) {
    h = model->in_blocks[i]->as<Block>()->forward(h);
    in_outputs.push_back(h);
  }
  h = model->mid_block(h);
  for (int i = 0; i < 6; ++i) {
    OutBlockImpl* block = model->out_blocks[i]->as<OutBlock>();
    h = block->block(block->skip(torch::cat({h, in_outputs[5 - i]}, -1)));
  }
  at::Tensor pixels = model->decoder(model->norm(h)).slice(1, 2);  // [B, 49, 16]
  at::Tensor image = torch::nn::functional::fold(
      pixels.transpose(1, 2), torch::nn::functional::FoldFuncOptions({28, 28}, {4, 4}).stride(4));
  at::Tensor expected = model->final_conv(image);
  EXPECT_TRUE(torch::allclose(out, expected, 1e-5, 1e-6));

  ASSERT_EQ(traces["in_blocks"].size(), 6u);
  ASSERT_EQ(traces["out_blocks"].size(), 6u);
  EXPECT_TRUE(torch::allclose(traces["in_blocks"][5].output, in_outputs[5].mean(1)));
  EXPECT_TRUE(torch::allclose(traces["out_blocks"][0].input, model->mid_block(in_outputs[5]).mean(1)));
  EXPECT_EQ(traces["out_blocks"][5].output.sizes(), (std::vector<int64_t>{3, c.width}));
}

TEST(UViT, InitialisationFollowsTheUViTCode) {
  torch::manual_seed(3);
  UViT model(Small());
  for (const auto& p : model->named_parameters()) {
    const std::string& name = p.key();
    if (name.find("norm") != std::string::npos) continue;
    if (name.size() > 5 && name.compare(name.size() - 5, 5, ".bias") == 0 &&
        name.find("final_conv") == std::string::npos) {
      EXPECT_EQ(p.value().abs().max().item<double>(), 0.0) << name;
    }
  }
  const double std = model->in_blocks[0]->as<Block>()->mlp->fc->weight.std().item<double>();
  EXPECT_NEAR(std, 0.02, 0.002);
}

}  // namespace
}  // namespace gs::models
