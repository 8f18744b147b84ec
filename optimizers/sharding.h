// Depth stacks sharded over the ranks of a data-parallel job (ZeRO-1 along depth):
// rank r of N owns the contiguous blocks [floor(r L / N), floor((r + 1) L / N)) of every
// depth-L stack, keeps the base optimizer's state for them only and updates only them;
// the ranks then gather the updated blocks. A depth mix reads neighbour blocks, so a
// rank also needs the directions of the blocks its rows read: a halo, exchanged point to
// point with their owners.
#ifndef GS_OPTIMIZERS_SHARDING_H_
#define GS_OPTIMIZERS_SHARDING_H_

#include <cstdint>
#include <vector>

#include <ATen/core/Tensor.h>

#include "optimizers/depth_mix.h"

namespace gs {

class Communicator;

// Blocks [begin, end) of a stack.
struct BlockRange {
  int64_t begin = 0, end = 0;
  int64_t size() const { return end - begin; }
  bool contains(int64_t block) const { return begin <= block && block < end; }
};

// Rank `rank`'s blocks of a depth-`depth` stack over `world` ranks (none when depth < world
// for some ranks).
BlockRange OwnedBlocks(int64_t depth, int rank, int world);

// Rows `rows` of `mix` as a mix of their own (columns unchanged).
DepthMix MixRows(const DepthMix& mix, BlockRange rows);

// What one rank needs to apply a fixed mix to its blocks.
struct HaloPlan {
  BlockRange owned;
  // The blocks of the halo buffer: every block the owned rows read, and the owned ones.
  BlockRange span;
  // The owned rows, columns counted from span.begin (the halo buffer's rows); the terms
  // of each row keep their order, so the arithmetic is the unsharded step's.
  DepthMix mix;
  // By rank: the blocks this rank sends it, and those it receives from it.
  std::vector<std::vector<int64_t>> send, recv;
};

// The plan of `rank` for `mix` (the whole stack's) over `world` ranks.
HaloPlan PlanHalo(const DepthMix& mix, int rank, int world);

// Fills the halo rows of `halo` ([span.size(), ...], the owned rows already written) with
// the other ranks' blocks, sending them this rank's blocks they read. Collective over
// the ranks that exchange: pairs go in one global order, so nothing waits in a cycle.
void ExchangeHalo(Communicator& comm, const HaloPlan& plan, at::Tensor& halo, int tag);

// Every rank's slice `local` (its OwnedBlocks rows) into `full` ([L, ...], contiguous) on
// every rank. Collective; unequal slices travel padded to the largest.
void GatherSlices(Communicator& comm, const at::Tensor& local, at::Tensor& full);

}  // namespace gs

#endif  // GS_OPTIMIZERS_SHARDING_H_
