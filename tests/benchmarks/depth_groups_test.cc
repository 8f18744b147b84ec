// The smoothing memory budget against hand-counted bytes.
#include "benchmarks/depth_groups.h"

#include <ATen/ATen.h>

#include "gtest/gtest.h"

namespace gs::benchmarks {
namespace {

TEST(DepthGroupsTest, CountsEveryChainSlotWithTwoOrMoreBlocks) {
  std::vector<NamedTensor> params = {
      {"tok_embed.weight", at::zeros({10, 4})},      // 40 floats, no depth group
      {"blocks.0.fc.weight", at::zeros({3, 4})},     // 12
      {"blocks.1.fc.weight", at::zeros({3, 4})},     // 12
      {"blocks.0.fc.bias", at::zeros({3})},          // 3
      {"blocks.1.fc.bias", at::zeros({3})},          // 3
      {"blocks.2.norm.weight", at::zeros({4})},      // a slot of one block: no group
      {"out_blocks.0.w", at::zeros({2, 2})},         // 4
      {"out_blocks.1.w", at::zeros({2, 2})},         // 4
      {"blocks.x.w", at::zeros({5})},                // not <chain>.<i>.<slot>
  };
  const DepthGroupBytes one = CountDepthGroupBytes(params, {"blocks"});
  EXPECT_EQ(one.groups, 2);
  EXPECT_EQ(one.bytes, (12 + 12 + 3 + 3) * 4);
  EXPECT_EQ(one.total_bytes, (40 + 12 + 12 + 3 + 3 + 4 + 4 + 4 + 5) * 4);
  const DepthGroupBytes two = CountDepthGroupBytes(params, {"blocks", "out_blocks"});
  EXPECT_EQ(two.groups, 3);
  EXPECT_EQ(two.bytes, (12 + 12 + 3 + 3 + 4 + 4) * 4);
}

}  // namespace
}  // namespace gs::benchmarks
