// The processes a run trains on (data parallel over c10d, started by torchrun or any
// launcher that sets its environment), as a task sees them: which contiguous share of
// each global batch and of each evaluation set this process takes, and sums over the
// ranks. One process is a world of one, where every share is everything and every
// sum the identity, so a task's code is the same either way.
#ifndef GS_TASKS_HARNESS_RANKS_H_
#define GS_TASKS_HARNESS_RANKS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <ATen/core/Tensor.h>

#include "absl/status/status.h"

namespace gs {
class Communicator;
}  // namespace gs

namespace gs::tasks {

class Ranks {
 public:
  Ranks() = default;  // one process
  explicit Ranks(std::shared_ptr<Communicator> communicator);

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  // The rank that writes the run directory.
  bool is_main() const { return rank_ == 0; }
  const std::shared_ptr<Communicator>& communicator() const { return communicator_; }

  // This rank's contiguous rows [begin, end) of n (shares differ by at most one row).
  std::pair<int64_t, int64_t> Share(int64_t n) const;
  // This rank's rows of `batch` (dim 0).
  at::Tensor ShareOf(const at::Tensor& batch) const;
  // InvalidArgument naming `what` when the world size does not divide a global batch of
  // n: unequal shares would weigh examples unequally in the averaged gradient.
  absl::Status CheckDivides(int64_t n, const std::string& what) const;

  // Sums `values` over the ranks, in place (every rank passes the same count).
  void Sum(std::vector<double>& values) const;
  double Sum(double value) const;

 private:
  std::shared_ptr<Communicator> communicator_;
  int rank_ = 0;
  int world_size_ = 1;
};

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_RANKS_H_
