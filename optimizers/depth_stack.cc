#include "optimizers/depth_stack.h"

#include <map>
#include <optional>

#include <ATen/ATen.h>

#include "absl/status/status.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/string_view.h"

namespace gs {
namespace {

struct ParsedName {
  size_t chain;     // index into chains
  int64_t block;
  std::string in_block_name;  // the name inside the block: "attn.qkv.weight"
};

// `c.<i>.<in-block name>` for the longest matching chain prefix c, else nullopt.
std::optional<ParsedName> ParseName(absl::string_view name,
                                    const std::vector<std::string>& chains) {
  std::optional<ParsedName> best;
  size_t best_len = 0;
  for (size_t c = 0; c < chains.size(); ++c) {
    const std::string& prefix = chains[c];
    if (name.size() <= prefix.size() + 1 || name.substr(0, prefix.size()) != prefix ||
        name[prefix.size()] != '.') {
      continue;
    }
    absl::string_view rest = name.substr(prefix.size() + 1);
    size_t dot = rest.find('.');
    if (dot == absl::string_view::npos || dot + 1 == rest.size()) continue;
    int64_t block;
    absl::string_view index = rest.substr(0, dot);
    if (index.empty() || index.find_first_not_of("0123456789") != absl::string_view::npos ||
        !absl::SimpleAtoi(index, &block)) {
      continue;
    }
    if (prefix.size() >= best_len) {
      best = ParsedName{c, block, std::string(rest.substr(dot + 1))};
      best_len = prefix.size();
    }
  }
  return best;
}

std::string ShapeString(const at::Tensor& t) {
  return absl::StrCat("[", absl::StrJoin(t.sizes(), ", "), "]");
}

}  // namespace

absl::StatusOr<DepthLayout> FindDepthGroups(const std::vector<NamedTensor>& params,
                                            const std::vector<std::string>& chains) {
  for (const std::string& chain : chains) {
    if (chain.empty() || chain.front() == '.' || chain.back() == '.') {
      return absl::InvalidArgumentError(absl::StrCat(
          "chain prefix '", chain, "' is not a parameter-name prefix such as 'blocks'"));
    }
  }
  // Per chain: block index -> (in-block name -> parameter), and name order of first appearance.
  struct Chain {
    std::map<int64_t, std::map<std::string, const NamedTensor*>> blocks;
    std::vector<std::string> name_order;
    size_t first_seen = SIZE_MAX;
  };
  std::vector<Chain> found(chains.size());
  DepthLayout layout;
  for (size_t i = 0; i < params.size(); ++i) {
    const NamedTensor& p = params[i];
    if (!p.tensor.defined()) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", p.name, "' is undefined"));
    }
    if (!p.tensor.requires_grad()) continue;
    std::optional<ParsedName> parsed = ParseName(p.name, chains);
    if (!parsed) {
      layout.singletons.push_back(p);
      continue;
    }
    Chain& chain = found[parsed->chain];
    chain.first_seen = std::min(chain.first_seen, i);
    auto& by_name = chain.blocks[parsed->block];
    if (!by_name.emplace(parsed->in_block_name, &p).second) {
      return absl::InvalidArgumentError(absl::StrCat("parameter '", p.name, "' appears twice"));
    }
    if (std::find(chain.name_order.begin(), chain.name_order.end(), parsed->in_block_name) ==
        chain.name_order.end()) {
      chain.name_order.push_back(parsed->in_block_name);
    }
  }

  // Chains in order of first appearance, so the layout follows the model's order.
  std::vector<size_t> order;
  for (size_t c = 0; c < chains.size(); ++c) {
    if (!found[c].blocks.empty()) order.push_back(c);
  }
  std::sort(order.begin(), order.end(),
            [&](size_t a, size_t b) { return found[a].first_seen < found[b].first_seen; });

  for (size_t c : order) {
    const Chain& chain = found[c];
    const std::string& prefix = chains[c];
    int64_t expected = 0;
    for (const auto& [block, by_name] : chain.blocks) {
      if (block != expected) {
        return absl::InvalidArgumentError(absl::StrCat(
            "chain '", prefix, "' has block ", block, " but no block ", expected,
            ": blocks must be numbered 0..L-1 (parameter '", by_name.begin()->second->name,
            "')"));
      }
      ++expected;
    }
    for (const std::string& in_block_name : chain.name_order) {
      DepthGroup group{prefix, in_block_name, {}, {}};
      const at::Tensor* first = nullptr;
      for (const auto& [block, by_name] : chain.blocks) {
        auto it = by_name.find(in_block_name);
        if (it == by_name.end()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "chain '", prefix, "': block ", block, " has no parameter '", prefix, ".",
              block, ".", in_block_name, "' that the other blocks have; every block of a chain "
              "must have the same slots"));
        }
        const NamedTensor& p = *it->second;
        if (first == nullptr) {
          first = &p.tensor;
        } else if (p.tensor.sizes() != first->sizes() ||
                   p.tensor.scalar_type() != first->scalar_type() ||
                   p.tensor.device() != first->device()) {
          return absl::InvalidArgumentError(absl::StrCat(
              "parameter '", p.name, "' has shape ", ShapeString(p.tensor), " (",
              c10::toString(p.tensor.scalar_type()), ", ", p.tensor.device().str(),
              ") but '", group.names.front(), "' has ", ShapeString(*first), " (",
              c10::toString(first->scalar_type()), ", ", first->device().str(),
              "): every block of a chain must have the same shapes"));
        }
        group.names.push_back(p.name);
        group.params.push_back(p.tensor);
      }
      layout.groups.push_back(std::move(group));
    }
  }
  return layout;
}

DepthStack DepthStack::Create(DepthGroup group) {
  at::NoGradGuard no_grad;
  const at::Tensor& first = group.params.front();
  std::vector<int64_t> shape{group.depth()};
  shape.insert(shape.end(), first.sizes().begin(), first.sizes().end());
  DepthStack stack{std::move(group), at::empty(shape, first.options().requires_grad(false)),
                   at::zeros(shape, first.options().requires_grad(false))};
  for (int64_t i = 0; i < stack.group.depth(); ++i) {
    at::Tensor& p = stack.group.params[i];
    stack.data[i].copy_(p.detach());
    if (p.grad().defined()) stack.grad[i].copy_(p.grad());
    p.set_data(stack.data[i]);
    p.mutable_grad() = stack.grad[i];
  }
  return stack;
}

void DepthStack::Reattach() {
  at::NoGradGuard no_grad;
  for (int64_t i = 0; i < group.depth(); ++i) {
    at::Tensor& p = group.params[i];
    at::Tensor slice = data[i];
    if (p.data_ptr() != slice.data_ptr()) {
      slice.copy_(p.detach());
      p.set_data(slice);
    }
    at::Tensor grad_slice = grad[i];
    const at::Tensor& g = p.grad();
    if (!g.defined() || g.data_ptr() != grad_slice.data_ptr()) {
      if (g.defined()) {
        grad_slice.copy_(g);
      } else {
        grad_slice.zero_();
      }
      p.mutable_grad() = grad_slice;
    }
  }
}

}  // namespace gs
