#include "optimizers/communicator.h"

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <mutex>
#include <thread>
#include <vector>

#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

namespace gs {
namespace {

using Clock = std::chrono::steady_clock;
constexpr std::chrono::milliseconds kHeartbeatPeriod{500};
// How long a rank must stay silent to count as lost: several heartbeats.
constexpr std::chrono::milliseconds kSilence{2500};

std::string HeartbeatKey(int rank) { return absl::StrCat("gs/heartbeat/", rank); }

// c10d's messages run over several lines and carry a C++ backtrace.
std::string FirstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  return absl::StrReplaceAll(line, {{"\r", ""}});
}

c10::intrusive_ptr<c10d::Store> OpenStore(const CommunicatorOptions& o, bool server) {
  c10d::TCPStoreOptions tcp;
  tcp.port = static_cast<uint16_t>(o.master_port);
  tcp.isServer = server;
  if (server) tcp.numWorkers = o.world_size;
  tcp.waitWorkers = false;
  tcp.timeout = o.timeout;
  tcp.multiTenant = true;
  c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(o.master_addr, tcp);
  if (!o.store_prefix.empty()) {
    store = c10::make_intrusive<c10d::PrefixStore>(o.store_prefix, store);
  }
  return store;
}

std::shared_ptr<gloo::transport::Device> GlooDevice(const std::string& master_addr) {
  if (const char* interface = std::getenv("GLOO_SOCKET_IFNAME"); interface && *interface) {
    return c10d::ProcessGroupGloo::createDeviceForInterface(interface);
  }
  // One machine: loopback, whatever the host name resolves to.
  if (master_addr == "localhost" || absl::StartsWith(master_addr, "127.")) {
    return c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1");
  }
  return c10d::ProcessGroupGloo::createDefaultDevice();
}

absl::StatusOr<int> IntFromEnvironment(const char* name) {
  const char* text = std::getenv(name);
  if (text == nullptr) {
    return absl::InvalidArgumentError(absl::StrCat(
        "environment variable ", name, " is not set, but WORLD_SIZE is (a data-parallel launch "
        "sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)"));
  }
  int value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("environment variable ", name, "=", text, " is not a non-negative integer"));
  }
  return value;
}

}  // namespace

struct Communicator::Impl {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<c10d::ProcessGroupGloo> group;
  // The heartbeat has a connection of its own: the store's client serialises requests.
  c10::intrusive_ptr<c10d::Store> heartbeat_store;
  std::thread heartbeat;
  std::mutex mutex;
  std::condition_variable wake;
  bool stop = false;

  void Beat(int rank) {
    std::unique_lock<std::mutex> lock(mutex);
    while (!stop) {
      try {
        heartbeat_store->add(HeartbeatKey(rank), 1);
      } catch (const std::exception&) {
        return;  // the store is gone (rank 0 ended); nothing left to tell
      }
      wake.wait_for(lock, kHeartbeatPeriod, [&] { return stop; });
    }
  }
};

absl::StatusOr<std::optional<CommunicatorOptions>> Communicator::OptionsFromEnvironment(
    std::chrono::milliseconds timeout) {
  if (std::getenv("WORLD_SIZE") == nullptr) return std::optional<CommunicatorOptions>();
  CommunicatorOptions o;
  o.timeout = timeout;
  absl::StatusOr<int> world = IntFromEnvironment("WORLD_SIZE");
  if (!world.ok()) return world.status();
  absl::StatusOr<int> rank = IntFromEnvironment("RANK");
  if (!rank.ok()) return rank.status();
  absl::StatusOr<int> port = IntFromEnvironment("MASTER_PORT");
  if (!port.ok()) return port.status();
  const char* addr = std::getenv("MASTER_ADDR");
  if (addr == nullptr || *addr == '\0') {
    return absl::InvalidArgumentError(
        "environment variable MASTER_ADDR is not set, but WORLD_SIZE is (a data-parallel launch "
        "sets RANK, WORLD_SIZE, MASTER_ADDR and MASTER_PORT)");
  }
  if (*world < 1 || *rank >= *world || *port > 65535) {
    return absl::InvalidArgumentError(absl::StrCat("RANK=", *rank, ", WORLD_SIZE=", *world,
                                                   ", MASTER_PORT=", *port,
                                                   ": need 0 <= RANK < WORLD_SIZE and a port"));
  }
  o.world_size = *world;
  o.rank = *rank;
  o.master_port = *port;
  o.master_addr = addr;
  if (const char* agent = std::getenv("TORCHELASTIC_USE_AGENT_STORE"); agent && std::string(agent) == "True") {
    o.agent_store = true;
    const char* attempt = std::getenv("TORCHELASTIC_RESTART_COUNT");
    o.store_prefix = absl::StrCat("/worker/attempt_", attempt ? attempt : "0");
  }
  return std::optional<CommunicatorOptions>(o);
}

absl::StatusOr<std::shared_ptr<Communicator>> Communicator::Connect(const CommunicatorOptions& o) {
  if (o.world_size < 1 || o.rank < 0 || o.rank >= o.world_size) {
    return absl::InvalidArgumentError(
        absl::StrCat("rank ", o.rank, " of world size ", o.world_size, ": need 0 <= rank < size"));
  }
  auto impl = std::make_unique<Impl>();
  const std::string where = absl::StrCat(o.master_addr, ":", o.master_port);
  try {
    impl->store = OpenStore(o, /*server=*/o.rank == 0 && !o.agent_store);
    impl->heartbeat_store = OpenStore(o, /*server=*/false);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat("data parallel: rank ", o.rank,
                                               " cannot reach the rendezvous store at ", where,
                                               ": ", FirstLine(e.what())));
  }
  try {
    auto options = c10d::ProcessGroupGloo::Options::create(o.timeout);
    options->devices.push_back(GlooDevice(o.master_addr));
    auto store = c10::make_intrusive<c10d::PrefixStore>("gs/gloo", impl->store);
    impl->group = c10::make_intrusive<c10d::ProcessGroupGloo>(store, o.rank, o.world_size, options);
  } catch (const std::exception& e) {
    return absl::UnavailableError(absl::StrCat(
        "data parallel: rank ", o.rank, " of ", o.world_size, " could not connect to every other rank within ",
        o.timeout.count() / 1000.0, " s (rendezvous at ", where, "): ", FirstLine(e.what())));
  }
  Impl* raw = impl.get();
  const int rank = o.rank;
  raw->heartbeat = std::thread([raw, rank] { raw->Beat(rank); });
  return std::shared_ptr<Communicator>(new Communicator(std::move(impl), o.rank, o.world_size, o.timeout));
}

Communicator::Communicator(std::unique_ptr<Impl> impl, int rank, int world_size,
                           std::chrono::milliseconds timeout)
    : impl_(std::move(impl)), rank_(rank), world_size_(world_size), timeout_(timeout) {}

Communicator::~Communicator() {
  try {
    if (!broken_) impl_->group->barrier()->wait(timeout_);
  } catch (const std::exception&) {
    // A peer is gone; this rank is leaving anyway.
  }
  {
    std::lock_guard<std::mutex> lock(impl_->mutex);
    impl_->stop = true;
  }
  impl_->wake.notify_all();
  if (impl_->heartbeat.joinable()) impl_->heartbeat.join();
}

std::string Communicator::LostRanks() {
  std::vector<int64_t> before(world_size_, 0);
  try {
    for (int r = 0; r < world_size_; ++r) before[r] = impl_->heartbeat_store->add(HeartbeatKey(r), 0);
    std::this_thread::sleep_for(kSilence);
    std::vector<std::string> lost;
    for (int r = 0; r < world_size_; ++r) {
      if (r != rank_ && impl_->heartbeat_store->add(HeartbeatKey(r), 0) == before[r]) {
        lost.push_back(absl::StrCat(r));
      }
    }
    if (lost.empty()) return "every other rank is still alive";
    return absl::StrCat(lost.size() == 1 ? "rank " : "ranks ", absl::StrJoin(lost, ", "),
                        lost.size() == 1 ? " stopped" : " stopped", " answering");
  } catch (const std::exception&) {
    return rank_ == 0 ? "the store does not answer" : "rank 0 (which hosts the rendezvous store) stopped answering";
  }
}

template <typename Start>
void Communicator::Run(const char* what, Start start) {
  const Clock::time_point begin = Clock::now();
  try {
    c10::intrusive_ptr<c10d::Work> work = start(*impl_->group);
    work->wait(timeout_);
  } catch (const std::exception& e) {
    broken_ = true;
    const std::string cause = FirstLine(e.what());
    throw CommunicationError(absl::StrCat("data parallel: ", LostRanks(), " (", what, " on rank ",
                                          rank_, " of ", world_size_, " failed: ", cause, ")"));
  }
  communication_seconds_ += std::chrono::duration<double>(Clock::now() - begin).count();
}

void Communicator::AllReduceSum(at::Tensor& tensor) {
  std::vector<at::Tensor> tensors{tensor};
  Run("all_reduce", [&](c10d::ProcessGroup& g) { return g.allreduce(tensors); });
}

void Communicator::Broadcast(at::Tensor& tensor, int root) {
  std::vector<at::Tensor> tensors{tensor};
  c10d::BroadcastOptions options;
  options.rootRank = root;
  Run("broadcast", [&](c10d::ProcessGroup& g) { return g.broadcast(tensors, options); });
}

void Communicator::AllGather(const at::Tensor& local, at::Tensor& out) {
  std::vector<at::Tensor> input{local};
  std::vector<std::vector<at::Tensor>> outputs(1);
  for (int r = 0; r < world_size_; ++r) outputs[0].push_back(out[r]);
  Run("all_gather", [&](c10d::ProcessGroup& g) { return g.allgather(outputs, input); });
}

void Communicator::Send(const at::Tensor& tensor, int to, int tag) {
  std::vector<at::Tensor> tensors{tensor};
  Run("send", [&](c10d::ProcessGroup& g) { return g.send(tensors, to, tag); });
}

void Communicator::Recv(at::Tensor& tensor, int from, int tag) {
  std::vector<at::Tensor> tensors{tensor};
  Run("recv", [&](c10d::ProcessGroup& g) { return g.recv(tensors, from, tag); });
}

void Communicator::Barrier() {
  Run("barrier", [&](c10d::ProcessGroup& g) { return g.barrier(); });
}

void Communicator::WaitForAll(const std::string& stage) {
  auto key = [&](int r) { return absl::StrCat("gs/stage/", stage, "/", r); };
  try {
    impl_->store->set(key(rank_), std::vector<uint8_t>{1});
    std::vector<int64_t> beats(world_size_, -1);
    Clock::time_point since = Clock::now();
    for (;;) {
      std::vector<int> missing;
      for (int r = 0; r < world_size_; ++r) {
        if (!impl_->store->check({key(r)})) missing.push_back(r);
      }
      if (missing.empty()) return;
      if (Clock::now() - since >= kSilence) {
        for (int r : missing) {
          const int64_t beat = impl_->store->add(HeartbeatKey(r), 0);
          if (beat == beats[r]) {
            broken_ = true;
            throw CommunicationError(absl::StrCat("data parallel: rank ", r, " stopped answering (rank ",
                                                  rank_, " of ", world_size_, " waiting for every rank to reach ",
                                                  stage, ")"));
          }
          beats[r] = beat;
        }
        since = Clock::now();
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  } catch (const CommunicationError&) {
    throw;
  } catch (const std::exception& e) {
    broken_ = true;
    throw CommunicationError(absl::StrCat("data parallel: rank 0 (which hosts the rendezvous store) stopped ",
                                          "answering (rank ", rank_, " waiting for ", stage, ": ",
                                          FirstLine(e.what()), ")"));
  }
}

double Communicator::TakeCommunicationSeconds() {
  const double seconds = communication_seconds_;
  communication_seconds_ = 0.0;
  return seconds;
}

}  // namespace gs
