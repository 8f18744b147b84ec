// An exponential moving average of a model's parameters, which evaluation and sampling
// can use instead of the raw weights (the U-ViT and DDPM recipes). After every optimizer
// step, the n-th update (0-based) does
//     e <- d_n e + (1 - d_n) w,      d_n = min(decay, (1 + n) / (10 + n)),
// the warm-up of diffusers' EMAModel: with decay 0.9999 and no warm-up, a run of a few
// thousand steps would evaluate mostly its random initialisation.
#ifndef GS_TASKS_HARNESS_WEIGHT_EMA_H_
#define GS_TASKS_HARNESS_WEIGHT_EMA_H_

#include <cstdint>
#include <string>
#include <vector>

#include <torch/nn/module.h>

#include "absl/status/status.h"

namespace torch::serialize {
class InputArchive;
class OutputArchive;
}  // namespace torch::serialize

namespace gs::tasks {

class WeightEma {
 public:
  // Starts from the model's current parameters; decay in [0, 1).
  WeightEma(torch::nn::Module& model, double decay);

  // The decay the n-th update (0-based) uses.
  double DecayAt(int64_t n) const;
  void Update();
  int64_t updates() const { return updates_; }
  const std::vector<at::Tensor>& averages() const { return averages_; }

  // The averages and the update count; load refuses an archive of another model.
  void save(torch::serialize::OutputArchive& archive) const;
  absl::Status load(torch::serialize::InputArchive& archive);

  // While alive, the model's parameters hold the averages; the raw weights come back
  // when it goes.
  class Swapped {
   public:
    explicit Swapped(WeightEma& ema);
    ~Swapped();
    Swapped(const Swapped&) = delete;
    Swapped& operator=(const Swapped&) = delete;

   private:
    WeightEma& ema_;
    std::vector<at::Tensor> raw_;
  };

 private:
  std::vector<std::string> names_;
  std::vector<at::Tensor> parameters_, averages_;
  double decay_;
  int64_t updates_ = 0;
};

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_WEIGHT_EMA_H_
