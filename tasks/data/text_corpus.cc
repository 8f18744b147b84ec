#include "tasks/data/text_corpus.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include <ATen/ATen.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace gs::data {

absl::StatusOr<TextCorpus> LoadTextCorpus(const std::string& path, double train_fraction,
                                          int64_t min_bytes) {
  if (!std::filesystem::is_regular_file(path)) {
    return absl::NotFoundError(absl::StrCat("text file ", path, " not found"));
  }
  std::ifstream in(path, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) {
    return absl::InvalidArgumentError(absl::StrCat("cannot read text file ", path));
  }
  const int64_t n = static_cast<int64_t>(bytes.size());
  const int64_t cut = static_cast<int64_t>(static_cast<double>(n) * train_fraction);
  if (cut < min_bytes || n - cut < min_bytes) {
    return absl::InvalidArgumentError(absl::StrCat(
        "text file ", path, " has ", n, " bytes: too short for a ", train_fraction,
        " split with at least ", min_bytes, " bytes on each side"));
  }
  at::Tensor all = at::from_blob(bytes.data(), {n}, at::kByte).clone();
  return TextCorpus{all.slice(0, 0, cut).clone(), all.slice(0, cut, n).clone()};
}

absl::StatusOr<std::string> FindMobyDick() {
  std::vector<std::string> tried;
  auto candidate = [&](const std::string& dir) -> bool {
    if (dir.empty()) return false;
    const std::string path = dir + "/" + kMobyDickPath;
    tried.push_back(path);
    return std::filesystem::is_regular_file(path);
  };
  const char* workspace = std::getenv("BUILD_WORKSPACE_DIRECTORY");  // bazel run
  const char* runfiles = std::getenv("TEST_SRCDIR");                  // bazel test
  if (workspace != nullptr && candidate(workspace)) return tried.back();
  if (runfiles != nullptr && candidate(std::string(runfiles) + "/gradient_smoothing")) {
    return tried.back();
  }
  if (candidate(std::filesystem::current_path().string())) return tried.back();
  return absl::NotFoundError(absl::StrCat("the Moby Dick text is not installed (looked in ",
                                          absl::StrJoin(tried, ", "),
                                          "): run tools/bootstrap.sh, or pass --data=<file>"));
}

}  // namespace gs::data
