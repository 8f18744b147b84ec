// Fashion-MNIST as Debian's dataset-fashion-mnist ships it: idx files, gzip.
#ifndef GS_TASKS_DATA_FASHION_MNIST_H_
#define GS_TASKS_DATA_FASHION_MNIST_H_

#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace gs::data {

inline constexpr char kFashionMnistDir[] = "/usr/share/datasets/fashion-mnist";

struct ImageSet {
  at::Tensor images;  // [N, 1, 28, 28] float32 in [0, 1]
  at::Tensor labels;  // [N] int64 in [0, 10)
};

// Reads `<dir>/{train,t10k}-{images-idx3,labels-idx1}-ubyte.gz`. Magic numbers, counts,
// sizes and label range are checked: a missing file is NotFound naming the file and the
// package; a truncated or corrupt file is InvalidArgument naming the file.
absl::StatusOr<ImageSet> LoadFashionMnist(bool train, const std::string& dir = kFashionMnistDir);

// The validation split every Fashion-MNIST task selects on: the last 5000 of the 60000
// training images, never trained on; the test set is only reported.
inline constexpr int64_t kFashionMnistValImages = 5000;
struct TrainValSplit {
  ImageSet train;  // the first 55000
  ImageSet val;    // the last 5000
};
TrainValSplit SplitOffValidation(const ImageSet& train);

}  // namespace gs::data

#endif  // GS_TASKS_DATA_FASHION_MNIST_H_
