// Fashion-MNIST from Debian's package, and clear errors for missing, truncated and
// corrupt files.
#include "tasks/data/fashion_mnist.h"

#include <zlib.h>

#include <torch/torch.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gs::data {
namespace {

using ::testing::HasSubstr;

std::string TmpDir(const std::string& name) {
  const std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
  std::filesystem::create_directories(dir);
  return dir;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// A copy of the test split in `dir`, with the images file replaced by `images`.
void CopyTestSplit(const std::string& dir, const std::string& images) {
  WriteFile(dir + "/t10k-images-idx3-ubyte.gz", images);
  std::filesystem::copy_file(std::string(kFashionMnistDir) + "/t10k-labels-idx1-ubyte.gz",
                             dir + "/t10k-labels-idx1-ubyte.gz",
                             std::filesystem::copy_options::overwrite_existing);
}

std::string Gzip(const std::string& raw) {
  uLongf size = compressBound(raw.size()) + 64;
  std::string out;
  const std::string path = std::string(std::getenv("TEST_TMPDIR")) + "/tmp.gz";
  gzFile f = gzopen(path.c_str(), "wb");
  gzwrite(f, raw.data(), raw.size());
  gzclose(f);
  (void)size;
  return ReadFile(path);
}

TEST(FashionMnist, TestSplitHasTheKnownShapeAndBalancedLabels) {
  auto set = LoadFashionMnist(/*train=*/false);
  ASSERT_TRUE(set.ok()) << set.status();
  EXPECT_EQ(set->images.sizes(), (std::vector<int64_t>{10000, 1, 28, 28}));
  EXPECT_EQ(set->labels.sizes(), (std::vector<int64_t>{10000}));
  EXPECT_GE(set->images.min().item<float>(), 0.0f);
  EXPECT_LE(set->images.max().item<float>(), 1.0f);
  // The test split has 1000 images of each class; its first is an ankle boot (9).
  torch::Tensor counts = torch::bincount(set->labels);
  EXPECT_TRUE(torch::equal(counts, torch::full({10}, 1000, torch::kLong)));
  EXPECT_EQ(set->labels[0].item<int64_t>(), 9);
}

TEST(FashionMnist, MissingFilesSayWhichPackage) {
  auto set = LoadFashionMnist(false, TmpDir("empty"));
  EXPECT_EQ(set.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("t10k-images-idx3-ubyte.gz"));
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("dataset-fashion-mnist"));
}

TEST(FashionMnist, TruncatedAndCorruptFilesAreClearErrors) {
  const std::string original =
      ReadFile(std::string(kFashionMnistDir) + "/t10k-images-idx3-ubyte.gz");

  const std::string truncated = TmpDir("truncated");
  CopyTestSplit(truncated, original.substr(0, original.size() / 2));
  auto set = LoadFashionMnist(false, truncated);
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("t10k-images-idx3-ubyte.gz"));

  std::string flipped = original;
  for (size_t i = 1000; i < 1100; ++i) flipped[i] = static_cast<char>(~flipped[i]);
  const std::string corrupt = TmpDir("corrupt");
  CopyTestSplit(corrupt, flipped);
  set = LoadFashionMnist(false, corrupt);
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("t10k-images-idx3-ubyte.gz"));

  const std::string wrong = TmpDir("wrong_magic");
  CopyTestSplit(wrong, Gzip(std::string(10000, '\x07')));
  set = LoadFashionMnist(false, wrong);
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("magic"));

  // A valid header over too few pixels.
  std::string header("\x00\x00\x08\x03\x00\x00\x27\x10\x00\x00\x00\x1c\x00\x00\x00\x1c", 16);
  const std::string short_pixels = TmpDir("short");
  CopyTestSplit(short_pixels, Gzip(header + std::string(784 * 10, '\x01')));
  set = LoadFashionMnist(false, short_pixels);
  EXPECT_EQ(set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(set.status().message()), HasSubstr("truncated"));
}

}  // namespace
}  // namespace gs::data
