#include "benchmarks/depth_groups.h"

#include <map>
#include <utility>

#include <ATen/core/Tensor.h>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"

namespace gs::benchmarks {

DepthGroupBytes CountDepthGroupBytes(const std::vector<NamedTensor>& params,
                                     const std::vector<std::string>& chains) {
  DepthGroupBytes out;
  // (chain, slot) -> (blocks, bytes)
  std::map<std::pair<std::string, std::string>, std::pair<int64_t, int64_t>> groups;
  for (const NamedTensor& p : params) {
    const int64_t bytes = p.tensor.numel() * static_cast<int64_t>(p.tensor.element_size());
    out.total_bytes += bytes;
    for (const std::string& chain : chains) {
      const std::string prefix = chain + ".";
      if (!absl::StartsWith(p.name, prefix)) continue;
      const std::string rest = p.name.substr(prefix.size());
      const size_t dot = rest.find('.');
      if (dot == std::string::npos || dot == 0) continue;
      bool digits = true;
      for (size_t i = 0; i < dot; ++i) digits = digits && absl::ascii_isdigit(rest[i]);
      if (!digits) continue;
      auto& [blocks, group_bytes] = groups[{chain, rest.substr(dot + 1)}];
      ++blocks;
      group_bytes += bytes;
    }
  }
  for (const auto& [key, group] : groups) {
    if (group.first < 2) continue;
    ++out.groups;
    out.bytes += group.second;
  }
  return out;
}

}  // namespace gs::benchmarks
