#include "tasks/harness/weight_ema.h"

#include <algorithm>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"

namespace gs::tasks {
namespace {

std::string Key(size_t i) { return absl::StrCat("average_", i); }

}  // namespace

WeightEma::WeightEma(torch::nn::Module& model, double decay) : decay_(decay) {
  TORCH_CHECK(decay >= 0.0 && decay < 1.0, "weight EMA decay must be in [0, 1), got ", decay);
  torch::NoGradGuard no_grad;
  for (const auto& item : model.named_parameters()) {
    names_.push_back(item.key());
    parameters_.push_back(item.value());
    averages_.push_back(item.value().detach().clone());
  }
}

double WeightEma::DecayAt(int64_t n) const {
  return std::min(decay_, static_cast<double>(1 + n) / static_cast<double>(10 + n));
}

void WeightEma::Update() {
  torch::NoGradGuard no_grad;
  const double d = DecayAt(updates_);
  for (size_t i = 0; i < averages_.size(); ++i) {
    averages_[i].mul_(d).add_(parameters_[i].detach(), 1.0 - d);
  }
  ++updates_;
}

void WeightEma::save(torch::serialize::OutputArchive& archive) const {
  // Keys by position: parameter names hold dots, which archive keys may not.
  for (size_t i = 0; i < averages_.size(); ++i) archive.write(Key(i), averages_[i], true);
  archive.write("updates", c10::IValue(updates_));
}

absl::Status WeightEma::load(torch::serialize::InputArchive& archive) {
  c10::IValue value;
  if (!archive.try_read("updates", value) || !value.isInt()) {
    return absl::InvalidArgumentError("the checkpoint holds no weight EMA");
  }
  std::vector<at::Tensor> loaded(averages_.size());
  for (size_t i = 0; i < averages_.size(); ++i) {
    if (!archive.try_read(Key(i), loaded[i], true) ||
        !loaded[i].sizes().equals(averages_[i].sizes())) {
      return absl::InvalidArgumentError(
          absl::StrCat("the checkpoint's weight EMA has no parameter ", names_[i], " of shape ",
                       c10::str(averages_[i].sizes())));
    }
  }
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < averages_.size(); ++i) averages_[i].copy_(loaded[i]);
  updates_ = value.toInt();
  return absl::OkStatus();
}

WeightEma::Swapped::Swapped(WeightEma& ema) : ema_(ema) {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < ema_.parameters_.size(); ++i) {
    raw_.push_back(ema_.parameters_[i].detach().clone());
    ema_.parameters_[i].detach().copy_(ema_.averages_[i]);
  }
}

WeightEma::Swapped::~Swapped() {
  torch::NoGradGuard no_grad;
  for (size_t i = 0; i < raw_.size(); ++i) ema_.parameters_[i].detach().copy_(raw_[i]);
}

}  // namespace gs::tasks
