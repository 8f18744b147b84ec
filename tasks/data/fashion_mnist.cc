#include "tasks/data/fashion_mnist.h"

#include <zlib.h>

#include <cstdint>
#include <filesystem>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"

namespace gs::data {
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;  // unsigned bytes, 3 dimensions
constexpr uint32_t kLabelsMagic = 0x00000801;  // unsigned bytes, 1 dimension

// The whole decompressed content of a gzip file.
absl::StatusOr<std::vector<uint8_t>> ReadGzip(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    return absl::NotFoundError(absl::StrCat(
        path, " not found: run tools/bootstrap.sh (Debian package dataset-fashion-mnist)"));
  }
  gzFile file = gzopen(path.c_str(), "rb");
  if (file == nullptr) return absl::InvalidArgumentError(absl::StrCat(path, ": cannot open"));
  std::vector<uint8_t> out;
  std::vector<uint8_t> buffer(1 << 20);
  while (true) {
    const int n = gzread(file, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      const std::string message = gzerror(file, &code);
      gzclose(file);
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": corrupt gzip data (", message, ")"));
    }
    if (n == 0) break;
    out.insert(out.end(), buffer.begin(), buffer.begin() + n);
  }
  // zlib reads a gzip stream cut short as a clean end: check the stream ended properly.
  int code = 0;
  gzerror(file, &code);
  const bool truncated = code == Z_BUF_ERROR;
  gzclose(file);
  if (truncated) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": truncated gzip file"));
  }
  return out;
}

uint32_t BigEndian(const std::vector<uint8_t>& bytes, size_t offset) {
  return (uint32_t{bytes[offset]} << 24) | (uint32_t{bytes[offset + 1]} << 16) |
         (uint32_t{bytes[offset + 2]} << 8) | uint32_t{bytes[offset + 3]};
}

}  // namespace

absl::StatusOr<ImageSet> LoadFashionMnist(bool train, const std::string& dir) {
  const std::string prefix = dir + "/" + (train ? "train" : "t10k");
  const std::string images_path = prefix + "-images-idx3-ubyte.gz";
  const std::string labels_path = prefix + "-labels-idx1-ubyte.gz";
  const int64_t expected = train ? 60000 : 10000;

  absl::StatusOr<std::vector<uint8_t>> images = ReadGzip(images_path);
  if (!images.ok()) return images.status();
  if (images->size() < 16 || BigEndian(*images, 0) != kImagesMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(images_path, ": not an idx image file (bad magic number)"));
  }
  const int64_t count = BigEndian(*images, 4), rows = BigEndian(*images, 8),
                cols = BigEndian(*images, 12);
  if (count != expected || rows != 28 || cols != 28) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, ": header says ", count, " x ",
                                                   rows, " x ", cols, ", expected ", expected,
                                                   " x 28 x 28"));
  }
  if (static_cast<int64_t>(images->size()) != 16 + count * rows * cols) {
    return absl::InvalidArgumentError(absl::StrCat(images_path, ": ", images->size() - 16,
                                                   " bytes of pixels, expected ",
                                                   count * rows * cols, " (truncated?)"));
  }

  absl::StatusOr<std::vector<uint8_t>> labels = ReadGzip(labels_path);
  if (!labels.ok()) return labels.status();
  if (labels->size() < 8 || BigEndian(*labels, 0) != kLabelsMagic) {
    return absl::InvalidArgumentError(
        absl::StrCat(labels_path, ": not an idx label file (bad magic number)"));
  }
  if (BigEndian(*labels, 4) != count || static_cast<int64_t>(labels->size()) != 8 + count) {
    return absl::InvalidArgumentError(absl::StrCat(
        labels_path, ": expected ", count, " labels, header says ", BigEndian(*labels, 4),
        " and the file holds ", labels->size() - 8));
  }
  for (int64_t i = 0; i < count; ++i) {
    if ((*labels)[8 + i] > 9) {
      return absl::InvalidArgumentError(
          absl::StrCat(labels_path, ": label ", int{(*labels)[8 + i]}, " at ", i, " is not 0..9"));
    }
  }

  ImageSet set;
  set.images = at::from_blob(images->data() + 16, {count, 1, rows, cols}, at::kByte)
                   .to(at::kFloat)
                   .div_(255.0);
  set.labels = at::from_blob(labels->data() + 8, {count}, at::kByte).to(at::kLong);
  return set;
}

TrainValSplit SplitOffValidation(const ImageSet& train) {
  const int64_t n = train.images.size(0), cut = n - kFashionMnistValImages;
  return {{train.images.slice(0, 0, cut), train.labels.slice(0, 0, cut)},
          {train.images.slice(0, cut, n), train.labels.slice(0, cut, n)}};
}

}  // namespace gs::data
