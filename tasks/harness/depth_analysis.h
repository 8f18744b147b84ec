// Depth analysis: how similar the blocks of a chain are, on a fixed probe batch. The
// paper claims smoothing updates along depth makes neighbouring blocks' representations
// more alike; depth.json records the evidence so the report can confirm or refute it.
//   - linear CKA (Kornblith et al. 2019) between every pair of block outputs, and
//   - the cosine between consecutive blocks' residual increments (output - input).
#ifndef GS_TASKS_HARNESS_DEPTH_ANALYSIS_H_
#define GS_TASKS_HARNESS_DEPTH_ANALYSIS_H_

#include <vector>

#include <ATen/core/Tensor.h>

#include "nlohmann/json.hpp"

namespace gs::tasks {

// One block's residual stream: what enters the block and what leaves it, as
// [samples, features] rows (mean-pooled over tokens for images, one row per token for text).
struct BlockIO {
  at::Tensor input, output;
};
using ChainTrace = std::vector<BlockIO>;  // the blocks of one chain, in order

// Linear CKA of X [n, p1] and Y [n, p2] after centring their columns, in double:
// ||Y^T X||_F^2 / (||X^T X||_F ||Y^T Y||_F).
double LinearCka(const at::Tensor& x, const at::Tensor& y);

// One chain's record for depth.json: blocks, samples, cka (L x L), adjacent_cka,
// mean_adjacent_cka, increment_cosine (L - 1 means over samples), mean_increment_cosine.
nlohmann::json AnalyzeChain(const ChainTrace& trace);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_DEPTH_ANALYSIS_H_
