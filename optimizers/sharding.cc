#include "optimizers/sharding.h"

#include <algorithm>
#include <set>

#include <ATen/ATen.h>

#include "optimizers/communicator.h"

namespace gs {
namespace {

// The blocks outside `owned` that the rows `owned` of `mix` read, in increasing order.
std::set<int64_t> Reads(const DepthMix& mix, BlockRange owned) {
  std::set<int64_t> blocks;
  for (int64_t l = owned.begin; l < owned.end; ++l) {
    for (const DepthMix::Term& t : mix.rows[l]) {
      if (!owned.contains(t.from)) blocks.insert(t.from);
    }
  }
  return blocks;
}

at::Tensor Index(const std::vector<int64_t>& blocks, int64_t offset) {
  std::vector<int64_t> rows;
  for (int64_t j : blocks) rows.push_back(j - offset);
  return at::tensor(rows, at::kLong);
}

// Sends this rank's `blocks` (halo rows) to `peer`, or receives them into the halo.
void SendBlocks(Communicator& comm, const HaloPlan& plan, const at::Tensor& halo, int peer,
                int tag) {
  const std::vector<int64_t>& blocks = plan.send[peer];
  if (blocks.empty()) return;
  comm.Send(halo.index_select(0, Index(blocks, plan.span.begin)), peer, tag);
}

void RecvBlocks(Communicator& comm, const HaloPlan& plan, at::Tensor& halo, int peer, int tag) {
  const std::vector<int64_t>& blocks = plan.recv[peer];
  if (blocks.empty()) return;
  std::vector<int64_t> shape = halo.sizes().vec();
  shape[0] = static_cast<int64_t>(blocks.size());
  at::Tensor buffer = at::empty(shape, halo.options());
  comm.Recv(buffer, peer, tag);
  halo.index_copy_(0, Index(blocks, plan.span.begin), buffer);
}

}  // namespace

BlockRange OwnedBlocks(int64_t depth, int rank, int world) {
  return {rank * depth / world, (rank + 1) * depth / world};
}

DepthMix MixRows(const DepthMix& mix, BlockRange rows) {
  DepthMix out;
  out.rows.assign(mix.rows.begin() + rows.begin, mix.rows.begin() + rows.end);
  return out;
}

HaloPlan PlanHalo(const DepthMix& mix, int rank, int world) {
  const int64_t depth = mix.depth();
  HaloPlan plan;
  plan.owned = OwnedBlocks(depth, rank, world);
  plan.send.resize(world);
  plan.recv.resize(world);
  const std::set<int64_t> reads = Reads(mix, plan.owned);
  plan.span = plan.owned;
  if (!reads.empty()) {
    plan.span.begin = std::min(plan.span.begin, *reads.begin());
    plan.span.end = std::max(plan.span.end, *reads.rbegin() + 1);
  }
  for (int64_t l = plan.owned.begin; l < plan.owned.end; ++l) {
    std::vector<DepthMix::Term> row = mix.rows[l];
    for (DepthMix::Term& t : row) t.from -= plan.span.begin;
    plan.mix.rows.push_back(std::move(row));
  }
  for (int peer = 0; peer < world; ++peer) {
    if (peer == rank) continue;
    const BlockRange theirs = OwnedBlocks(depth, peer, world);
    for (int64_t j : reads) {
      if (theirs.contains(j)) plan.recv[peer].push_back(j);
    }
    for (int64_t j : Reads(mix, theirs)) {
      if (plan.owned.contains(j)) plan.send[peer].push_back(j);
    }
  }
  return plan;
}

void ExchangeHalo(Communicator& comm, const HaloPlan& plan, at::Tensor& halo, int tag) {
  const int me = comm.rank(), world = comm.world_size();
  // Pairs (i < j) in increasing order; the lower rank of a pair sends first.
  for (int i = 0; i < world; ++i) {
    for (int j = i + 1; j < world; ++j) {
      if (me == i) {
        SendBlocks(comm, plan, halo, j, tag);
        RecvBlocks(comm, plan, halo, j, tag);
      } else if (me == j) {
        RecvBlocks(comm, plan, halo, i, tag);
        SendBlocks(comm, plan, halo, i, tag);
      }
    }
  }
}

void GatherSlices(Communicator& comm, const at::Tensor& local, at::Tensor& full) {
  const int world = comm.world_size();
  const int64_t depth = full.size(0);
  int64_t widest = 0;
  bool equal = true;
  for (int r = 0; r < world; ++r) {
    const int64_t size = OwnedBlocks(depth, r, world).size();
    equal = equal && size == OwnedBlocks(depth, 0, world).size();
    widest = std::max(widest, size);
  }
  std::vector<int64_t> shape = full.sizes().vec();
  shape[0] = widest;
  std::vector<int64_t> gathered_shape = shape;
  gathered_shape.insert(gathered_shape.begin(), world);
  if (equal && full.is_contiguous()) {
    // Gloo gathers through a buffer of its own, so `local` may be a slice of `full`.
    at::Tensor out = full.view(gathered_shape);
    comm.AllGather(local.contiguous(), out);
    return;
  }
  at::Tensor padded = at::zeros(shape, full.options());
  padded.narrow(0, 0, local.size(0)).copy_(local);
  at::Tensor gathered = at::empty(gathered_shape, full.options());
  comm.AllGather(padded, gathered);
  for (int r = 0; r < world; ++r) {
    const BlockRange blocks = OwnedBlocks(depth, r, world);
    if (blocks.size() == 0) continue;
    full.narrow(0, blocks.begin, blocks.size()).copy_(gathered[r].narrow(0, 0, blocks.size()));
  }
}

}  // namespace gs
