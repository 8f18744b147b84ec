// Bridge from a torch::nn::Module to the optimizer library's parameter list.
#ifndef GS_OPTIMIZERS_TORCH_MODULE_H_
#define GS_OPTIMIZERS_TORCH_MODULE_H_

#include <vector>

#include <torch/nn/module.h>

#include "optimizers/depth_stack.h"

namespace gs {

// The module's named_parameters(), in registration order.
inline std::vector<NamedTensor> NamedParameters(const torch::nn::Module& module) {
  std::vector<NamedTensor> params;
  for (const auto& item : module.named_parameters(/*recurse=*/true)) {
    params.push_back({item.key(), item.value()});
  }
  return params;
}

}  // namespace gs

#endif  // GS_OPTIMIZERS_TORCH_MODULE_H_
