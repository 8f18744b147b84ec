#include "tasks/harness/ranks.h"

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "optimizers/communicator.h"

namespace gs::tasks {

Ranks::Ranks(std::shared_ptr<Communicator> communicator)
    : communicator_(std::move(communicator)),
      rank_(communicator_ ? communicator_->rank() : 0),
      world_size_(communicator_ ? communicator_->world_size() : 1) {}

std::pair<int64_t, int64_t> Ranks::Share(int64_t n) const {
  return {n * rank_ / world_size_, n * (rank_ + 1) / world_size_};
}

at::Tensor Ranks::ShareOf(const at::Tensor& batch) const {
  if (world_size_ == 1) return batch;
  const auto [begin, end] = Share(batch.size(0));
  return batch.slice(0, begin, end);
}

absl::Status Ranks::CheckDivides(int64_t n, const std::string& what) const {
  if (n % world_size_ == 0) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("WORLD_SIZE=", world_size_, " does not divide ",
                                                 what, " (", n, "): choose a world size that does"));
}

void Ranks::Sum(std::vector<double>& values) const {
  if (world_size_ == 1 || values.empty()) return;
  at::Tensor t = torch::tensor(values, torch::kFloat64);
  communicator_->AllReduceSum(t);
  for (size_t i = 0; i < values.size(); ++i) values[i] = t[static_cast<int64_t>(i)].item<double>();
}

double Ranks::Sum(double value) const {
  std::vector<double> values{value};
  Sum(values);
  return values[0];
}

}  // namespace gs::tasks
