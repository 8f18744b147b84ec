// A byte-level text corpus split by position: the first 90% for training, the rest
// for validation (no shuffling across the cut, so no passage leaks).
#ifndef GS_TASKS_DATA_TEXT_CORPUS_H_
#define GS_TASKS_DATA_TEXT_CORPUS_H_

#include <string>

#include <ATen/core/Tensor.h>

#include "absl/status/statusor.h"

namespace gs::data {

// Where tools/bootstrap.sh puts the Moby Dick text, relative to the workspace.
inline constexpr char kMobyDickPath[] = "third_party_data/moby-dick/data.txt";

struct TextCorpus {
  at::Tensor train;  // [n_train] uint8
  at::Tensor val;    // [n_val] uint8
};

// Reads any file as bytes and splits it at train_fraction. Missing files are NotFound;
// a file too short for the split (fewer than `min_bytes` per side) is InvalidArgument.
absl::StatusOr<TextCorpus> LoadTextCorpus(const std::string& path, double train_fraction = 0.9,
                                          int64_t min_bytes = 1024);

// The Moby Dick text: under the user's workspace (bazel run), in the runfiles (bazel
// test), or relative to the working directory; NotFound lists where it looked.
absl::StatusOr<std::string> FindMobyDick();

}  // namespace gs::data

#endif  // GS_TASKS_DATA_TEXT_CORPUS_H_
