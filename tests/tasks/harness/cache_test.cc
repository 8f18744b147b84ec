// Shared caches: built once, reused while intact, rebuilt when corrupt, built once when
// several users ask at the same time.
#include "tasks/harness/cache.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;

std::string Dir(const std::string& name) { return std::string(std::getenv("TEST_TMPDIR")) + "/" + name; }

TEST(CachedBytes, BuildsOnceThenReusesTheFile) {
  int builds = 0;
  auto build = [&]() -> absl::StatusOr<std::string> { ++builds; return std::string("weights\0x", 9); };
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  absl::StatusOr<std::string> first = CachedBytes(Dir("reuse"), "task/model.pt", build, warn);
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<std::string> second = CachedBytes(Dir("reuse"), "task/model.pt", build, warn);
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(*first, std::string("weights\0x", 9));
  EXPECT_EQ(*second, *first);
  EXPECT_EQ(builds, 1);
  EXPECT_TRUE(warnings.empty());
  EXPECT_TRUE(fs::exists(Dir("reuse") + "/task/model.pt.json"));
}

TEST(CachedBytes, ACorruptFileIsReportedAndRebuilt) {
  int builds = 0;
  auto build = [&]() -> absl::StatusOr<std::string> { ++builds; return std::string("0123456789"); };
  std::vector<std::string> warnings;
  auto warn = [&](const std::string& w) { warnings.push_back(w); };
  ASSERT_TRUE(CachedBytes(Dir("corrupt"), "m.pt", build, warn).ok());
  {
    std::fstream f(Dir("corrupt") + "/m.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(3);
    f.write("X", 1);  // same size, different bytes: only the checksum can tell
  }
  absl::StatusOr<std::string> again = CachedBytes(Dir("corrupt"), "m.pt", build, warn);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, "0123456789");
  EXPECT_EQ(builds, 2);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("corrupt"), std::string::npos);
}

TEST(CachedBytes, ConcurrentUsersBuildItOnce) {
  std::atomic<int> builds{0};
  auto build = [&]() -> absl::StatusOr<std::string> {
    ++builds;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    return std::string("shared");
  };
  std::vector<std::thread> users;
  std::atomic<int> ok{0};
  for (int i = 0; i < 4; ++i) {
    users.emplace_back([&] {
      absl::StatusOr<std::string> b = CachedBytes(Dir("concurrent"), "m.pt", build, [](const std::string&) {});
      if (b.ok() && *b == "shared") ++ok;
    });
  }
  for (std::thread& t : users) t.join();
  EXPECT_EQ(ok, 4);
  EXPECT_EQ(builds, 1);
}

TEST(CachedBytes, ABuildErrorIsReturnedAndNothingIsCached) {
  auto fail = []() -> absl::StatusOr<std::string> { return absl::InvalidArgumentError("no data"); };
  absl::StatusOr<std::string> r = CachedBytes(Dir("fail"), "m.pt", fail, [](const std::string&) {});
  EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(Dir("fail") + "/m.pt"));
}

}  // namespace
}  // namespace gs::tasks
