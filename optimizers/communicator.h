// The ranks of a data-parallel job and the few collectives the suite uses, over a c10d
// process group: Gloo for CPU tensors (NCCL would serve CUDA ones). Rendezvous is
// c10d's TCPStore at the address torchrun (or any launcher) exports, as
// torch.distributed's env:// does it.
//
// A collective never waits forever: each has the group's timeout, and when one fails
// (a peer died, or did not answer in time) it throws CommunicationError whose message
// names the rank that stopped answering, found from the heartbeats every rank keeps in
// the store.
#ifndef GS_OPTIMIZERS_COMMUNICATOR_H_
#define GS_OPTIMIZERS_COMMUNICATOR_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace gs {

struct CommunicatorOptions {
  int rank = 0;
  int world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  // Every collective's limit, and the rendezvous's: torch's default of 30 minutes is a
  // hang to a user.
  std::chrono::milliseconds timeout{30000};
  // True when the launcher's agent hosts the store (torchrun's static rendezvous sets
  // TORCHELASTIC_USE_AGENT_STORE): then rank 0 does not start one.
  bool agent_store = false;
  // A key prefix in the store (torchrun's restart attempt), so attempts do not mix.
  std::string store_prefix;
};

// A collective that failed: a peer died or did not answer within the timeout.
class CommunicationError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class Communicator {
 public:
  // Joins the job: the store (rank 0 hosts it unless agent_store), then the Gloo group.
  // Unavailable when the peers do not all arrive within the timeout; InvalidArgument
  // for ranks outside [0, world_size).
  static absl::StatusOr<std::shared_ptr<Communicator>> Connect(const CommunicatorOptions& options);

  // The launcher's environment (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT, and
  // TORCHELASTIC_USE_AGENT_STORE, TORCHELASTIC_RESTART_COUNT when torchrun sets them)
  // as options; nullopt when WORLD_SIZE is unset (one process). InvalidArgument names
  // the variable that is malformed or missing.
  static absl::StatusOr<std::optional<CommunicatorOptions>> OptionsFromEnvironment(
      std::chrono::milliseconds timeout);

  // Leaves the job: waits until every rank has arrived here (so rank 0's store outlives
  // the others' last use of it), then closes.
  ~Communicator();
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  int rank() const { return rank_; }
  int world_size() const { return world_size_; }
  const std::string& backend() const { return backend_; }
  std::chrono::milliseconds timeout() const { return timeout_; }

  // In place: every rank ends with the sum over ranks.
  void AllReduceSum(at::Tensor& tensor);
  // In place: every rank ends with root's tensor.
  void Broadcast(at::Tensor& tensor, int root);
  // out (preallocated, [world_size, ...local's shape]) receives every rank's `local`.
  void AllGather(const at::Tensor& local, at::Tensor& out);
  // Point to point; `tag` tells apart messages between the same pair.
  void Send(const at::Tensor& tensor, int to, int tag);
  void Recv(at::Tensor& tensor, int from, int tag);
  void Barrier();
  // Waits until every rank has reached `stage`, for as long as the ranks that have not
  // take while they stay alive (caching a data set, a supervised start): unlike a
  // collective it has no time limit, only the heartbeats'. Throws CommunicationError
  // naming a rank that stopped answering meanwhile.
  void WaitForAll(const std::string& stage);

  // Seconds spent inside collectives since the last call (for the timing tools).
  double TakeCommunicationSeconds();

 private:
  struct Impl;
  explicit Communicator(std::unique_ptr<Impl> impl, int rank, int world_size,
                        std::chrono::milliseconds timeout);

  // Runs one collective, turning c10d's failure into CommunicationError.
  template <typename Start>
  void Run(const char* what, Start start);
  // Which ranks stopped answering, from the store's heartbeats ("rank 1").
  std::string LostRanks();

  std::unique_ptr<Impl> impl_;
  int rank_, world_size_;
  std::string backend_ = "gloo";
  std::chrono::milliseconds timeout_;
  double communication_seconds_ = 0.0;
  bool broken_ = false;  // a collective failed: leaving skips the farewell barrier
};

}  // namespace gs

#endif  // GS_OPTIMIZERS_COMMUNICATOR_H_
