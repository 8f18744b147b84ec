// The communicator over a real Gloo process group: ranks are threads of this test, each
// with its own TCPStore client and Gloo pairs over loopback.
#include "optimizers/communicator.h"

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

#include <atomic>
#include <functional>
#include <thread>
#include <vector>

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/optimizers/free_port.h"

namespace gs {
namespace {

using ::gs::testing::FreePort;


// Runs body(communicator) on `world` ranks, one thread each.
void OnRanks(int world, const std::function<void(Communicator&)>& body,
             std::chrono::milliseconds timeout = std::chrono::milliseconds(20000)) {
  const int port = FreePort();
  std::vector<std::thread> threads;
  for (int r = 0; r < world; ++r) {
    threads.emplace_back([&, r] {
      CommunicatorOptions o;
      o.rank = r;
      o.world_size = world;
      o.master_port = port;
      o.timeout = timeout;
      absl::StatusOr<std::shared_ptr<Communicator>> c = Communicator::Connect(o);
      ASSERT_TRUE(c.ok()) << c.status();
      body(**c);
    });
  }
  for (std::thread& t : threads) t.join();
}

TEST(CommunicatorTest, CollectivesOverGloo) {
  OnRanks(3, [](Communicator& c) {
    const int r = c.rank();
    EXPECT_EQ(c.world_size(), 3);
    at::Tensor sum = torch::full({4}, double(r + 1), torch::kFloat64);
    c.AllReduceSum(sum);
    EXPECT_TRUE(sum.equal(torch::full({4}, 6.0, torch::kFloat64)));

    at::Tensor value = torch::full({2, 3}, float(r == 2 ? 7 : 0));
    c.Broadcast(value, 2);
    EXPECT_TRUE(value.equal(torch::full({2, 3}, 7.0f)));

    at::Tensor gathered = torch::empty({3, 2});
    c.AllGather(torch::full({2}, float(10 * r)), gathered);
    EXPECT_TRUE(gathered.equal(torch::tensor({{0.f, 0.f}, {10.f, 10.f}, {20.f, 20.f}})));

    // A ring of point-to-point messages.
    at::Tensor out = torch::full({5}, float(r)), in = torch::empty({5});
    if (r % 2 == 0) {
      c.Send(out, (r + 1) % 3, 4);
      c.Recv(in, (r + 2) % 3, 4);
    } else {
      c.Recv(in, (r + 2) % 3, 4);
      c.Send(out, (r + 1) % 3, 4);
    }
    EXPECT_TRUE(in.equal(torch::full({5}, float((r + 2) % 3))));
    c.Barrier();
    EXPECT_GE(c.TakeCommunicationSeconds(), 0.0);
  });
}

TEST(CommunicatorTest, ACollectiveAPeerNeverJoinsTimesOutWithAMessage) {
  std::atomic<bool> done{false};
  OnRanks(
      2,
      [&](Communicator& c) {
        if (c.rank() == 1) {  // alive, but never joins the all-reduce
          while (!done) std::this_thread::sleep_for(std::chrono::milliseconds(50));
          return;
        }
        at::Tensor t = torch::ones({3});
        try {
          c.AllReduceSum(t);
          ADD_FAILURE() << "the all-reduce returned";
        } catch (const CommunicationError& e) {
          EXPECT_THAT(e.what(), ::testing::HasSubstr("all_reduce on rank 0 of 2 failed"));
          EXPECT_THAT(e.what(), ::testing::HasSubstr("every other rank is still alive"));
        }
        done = true;
      },
      std::chrono::milliseconds(3000));
}

TEST(CommunicatorTest, EnvironmentOptions) {
  unsetenv("WORLD_SIZE");
  auto none = Communicator::OptionsFromEnvironment(std::chrono::milliseconds(1000));
  ASSERT_TRUE(none.ok());
  EXPECT_FALSE(none->has_value());

  setenv("WORLD_SIZE", "2", 1);
  unsetenv("RANK");
  auto missing = Communicator::OptionsFromEnvironment(std::chrono::milliseconds(1000));
  EXPECT_THAT(std::string(missing.status().message()), ::testing::HasSubstr("RANK is not set"));

  setenv("RANK", "1", 1);
  setenv("MASTER_ADDR", "127.0.0.1", 1);
  setenv("MASTER_PORT", "29512", 1);
  auto options = Communicator::OptionsFromEnvironment(std::chrono::milliseconds(1000));
  ASSERT_TRUE(options.ok()) << options.status();
  ASSERT_TRUE(options->has_value());
  EXPECT_EQ((*options)->rank, 1);
  EXPECT_EQ((*options)->world_size, 2);
  EXPECT_EQ((*options)->master_port, 29512);
  EXPECT_FALSE((*options)->agent_store);

  setenv("RANK", "2", 1);
  EXPECT_FALSE(Communicator::OptionsFromEnvironment(std::chrono::milliseconds(1000)).ok());
  for (const char* name : {"WORLD_SIZE", "RANK", "MASTER_ADDR", "MASTER_PORT"}) unsetenv(name);
}

}  // namespace
}  // namespace gs
