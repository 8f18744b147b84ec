// Ranks of a data-parallel job as threads of one test: each joins a real Gloo group over
// loopback with its own store client.
#ifndef GS_TESTS_OPTIMIZERS_RANKS_UTIL_H_
#define GS_TESTS_OPTIMIZERS_RANKS_UTIL_H_

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "gtest/gtest.h"
#include "tests/optimizers/free_port.h"
#include "optimizers/communicator.h"

namespace gs::testing {


// Runs body(communicator) on `world` ranks, one thread each; the communicators close
// (a barrier) when every body has returned.
inline void OnRanks(int world, const std::function<void(std::shared_ptr<Communicator>)>& body) {
  const int port = FreePort();
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      CommunicatorOptions o;
      o.rank = r;
      o.world_size = world;
      o.master_port = port;
      o.timeout = std::chrono::milliseconds(30000);
      absl::StatusOr<std::shared_ptr<Communicator>> c = Communicator::Connect(o);
      ASSERT_TRUE(c.ok()) << c.status();
      body(*c);
    });
  }
  for (std::thread& t : threads) t.join();
}

}  // namespace gs::testing

#endif  // GS_TESTS_OPTIMIZERS_RANKS_UTIL_H_
