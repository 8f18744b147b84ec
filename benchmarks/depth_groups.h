// The memory Window Smoothing may add: one update-sized buffer per depth group, i.e. the
// bytes of every depth group (the parameters named <chain>.<i>.<slot>, one group per
// chain and slot with at least two blocks).
#ifndef GS_BENCHMARKS_DEPTH_GROUPS_H_
#define GS_BENCHMARKS_DEPTH_GROUPS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "optimizers/depth_stack.h"

namespace gs::benchmarks {

struct DepthGroupBytes {
  int64_t groups = 0;        // depth groups (chain x slot with >= 2 blocks)
  int64_t bytes = 0;         // sum over those groups of their parameters' bytes
  int64_t total_bytes = 0;   // every parameter's bytes, for scale
};

DepthGroupBytes CountDepthGroupBytes(const std::vector<NamedTensor>& params,
                                     const std::vector<std::string>& chains);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_DEPTH_GROUPS_H_
