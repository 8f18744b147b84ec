// Depth groups and depth stacks: the suite's central data structure.
//
// A model with L repeated blocks names their parameters `<chain>.<i>.<in-block name>`, for
// example `blocks.3.attn.qkv.weight`. For each chain and in-block name the L parameters form a
// depth group; its data (and gradients) live in one contiguous [L, ...] tensor, the
// stack, and each block's parameter becomes a view of its slice. A base optimizer
// step is then a few operations per group instead of per parameter, and smoothing is
// one operation along dim 0.
#ifndef GS_OPTIMIZERS_DEPTH_STACK_H_
#define GS_OPTIMIZERS_DEPTH_STACK_H_

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace gs {

// A parameter as a module's named_parameters() lists it.
struct NamedTensor {
  std::string name;
  at::Tensor tensor;
};

// One parameter of one chain across its blocks, e.g. `blocks.*.attn.qkv.weight`.
struct DepthGroup {
  std::string chain;                // "blocks"
  std::string in_block_name;        // the name inside each block: "attn.qkv.weight"
  std::vector<std::string> names;   // names[i] is block i's parameter name
  std::vector<at::Tensor> params;   // the module's parameters, in block order

  int64_t depth() const { return static_cast<int64_t>(params.size()); }
  // "blocks.*.attn.qkv.weight"
  std::string key() const { return chain + ".*." + in_block_name; }
};

// Parameters split into depth groups and singletons (parameters outside chains).
struct DepthLayout {
  std::vector<DepthGroup> groups;   // in order of first appearance
  std::vector<NamedTensor> singletons;
};

// Splits `params` into depth groups for the given chain prefixes (e.g. {"blocks"} or
// {"in_blocks", "out_blocks"}). A parameter belongs to chain `c` when its name is
// `c.<i>.<in-block name>` with i a non-negative integer. Every chain must have blocks 0..L-1,
// each with the same in-block names, and each name one shape, dtype and device across blocks;
// anything else is InvalidArgument naming the offending parameter. Parameters that do
// not require gradients are left out, as torch::optim leaves them untouched.
absl::StatusOr<DepthLayout> FindDepthGroups(const std::vector<NamedTensor>& params,
                                            const std::vector<std::string>& chains);

// The contiguous storage of one depth group. After Create, every parameter of the
// group is a view of data[i] and its gradient a view of grad[i]; autograd accumulates
// into `grad` in place (zero it in place, never reset it).
struct DepthStack {
  DepthGroup group;
  at::Tensor data;  // [L, ...]
  at::Tensor grad;  // [L, ...]

  // Copies the group's current values into a new stack and re-points the parameters
  // (and their gradients) at its slices.
  static DepthStack Create(DepthGroup group);

  // Re-attaches parameters or gradients that something replaced since Create (a
  // torch::load, a module's zero_grad(set_to_none)), copying their current values
  // into the stack first. Cheap when nothing changed: a pointer compare per block.
  void Reattach();
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_DEPTH_STACK_H_
