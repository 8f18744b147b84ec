// tasks/harness/weight_ema: the averages against the formula written out in double precision,
// the warm-up of the decay, swapping the averages in and the raw weights back to the
// bit, and a checkpoint round trip that continues exactly as an uninterrupted run.
#include "tasks/harness/weight_ema.h"

#include <sstream>

#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gs::tasks {
namespace {

torch::nn::Linear SmallModel() {
  torch::manual_seed(7);
  return torch::nn::Linear(3, 2);
}

// A fixed "optimizer": the n-th step moves every parameter by a draw of its own.
void FakeStep(torch::nn::Module& model, int64_t n) {
  torch::NoGradGuard no_grad;
  at::Generator g = at::make_generator<at::CPUGeneratorImpl>(100 + n);
  for (at::Tensor& p : model.parameters()) p.add_(torch::randn(p.sizes(), g), 0.1);
}

TEST(WeightEma, DecayWarmsUpThenHoldsTheConfiguredValue) {
  torch::nn::Linear model = SmallModel();
  WeightEma ema(*model, 0.999);
  EXPECT_DOUBLE_EQ(ema.DecayAt(0), 0.1);            // (1 + 0) / (10 + 0)
  EXPECT_DOUBLE_EQ(ema.DecayAt(90), 91.0 / 100.0);
  EXPECT_DOUBLE_EQ(ema.DecayAt(100000), 0.999);     // capped
  WeightEma no_warmup_needed(*model, 0.05);
  EXPECT_DOUBLE_EQ(no_warmup_needed.DecayAt(0), 0.05);
}

TEST(WeightEma, AveragesFollowTheFormulaInDoublePrecision) {
  torch::nn::Linear model = SmallModel();
  const double decay = 0.8;
  WeightEma ema(*model, decay);
  std::vector<at::Tensor> reference;
  for (const at::Tensor& p : model->parameters()) reference.push_back(p.detach().to(torch::kDouble));
  for (int64_t n = 0; n < 30; ++n) {
    FakeStep(*model, n);
    ema.Update();
    const double d = std::min(decay, (1.0 + n) / (10.0 + n));
    const auto params = model->parameters();
    for (size_t i = 0; i < reference.size(); ++i) {
      reference[i] = d * reference[i] + (1 - d) * params[i].detach().to(torch::kDouble);
    }
  }
  EXPECT_EQ(ema.updates(), 30);
  for (size_t i = 0; i < reference.size(); ++i) {
    EXPECT_TRUE(torch::allclose(ema.averages()[i].to(torch::kDouble), reference[i], 0, 1e-6))
        << "parameter " << i;
    EXPECT_FALSE(torch::equal(ema.averages()[i], model->parameters()[i]));
  }
}

TEST(WeightEma, SwappedHoldsTheAveragesAndGivesTheRawWeightsBackToTheBit) {
  torch::nn::Linear model = SmallModel();
  WeightEma ema(*model, 0.9);
  for (int64_t n = 0; n < 5; ++n) {
    FakeStep(*model, n);
    ema.Update();
  }
  std::vector<at::Tensor> raw;
  for (const at::Tensor& p : model->parameters()) raw.push_back(p.detach().clone());
  const at::Tensor input = torch::ones({1, 3});
  at::Tensor averaged_output;
  {
    WeightEma::Swapped swapped(ema);
    for (size_t i = 0; i < raw.size(); ++i) {
      EXPECT_TRUE(torch::equal(model->parameters()[i], ema.averages()[i]));
    }
    averaged_output = model->forward(input).detach();
  }
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_TRUE(torch::equal(model->parameters()[i], raw[i]));
  // The averaged weights' output, computed by hand: W_ema x + b_ema.
  const at::Tensor expected = torch::matmul(input, ema.averages()[0].t()) + ema.averages()[1];
  EXPECT_TRUE(torch::allclose(averaged_output, expected));
}

TEST(WeightEma, CheckpointRoundTripContinuesBitExactly) {
  torch::nn::Linear model = SmallModel();
  WeightEma uninterrupted(*model, 0.99);
  torch::nn::Linear copy = SmallModel();
  WeightEma resumed(*copy, 0.99);
  for (int64_t n = 0; n < 12; ++n) {
    FakeStep(*model, n);
    uninterrupted.Update();
    if (n == 5) {
      // Save both the model and its EMA at step 6, then carry on from the saved state.
      torch::serialize::OutputArchive archive;
      uninterrupted.save(archive);
      std::ostringstream bytes;
      archive.save_to(bytes);
      torch::serialize::InputArchive in;
      std::istringstream source(bytes.str());
      in.load_from(source);
      ASSERT_TRUE(resumed.load(in).ok());
      torch::NoGradGuard no_grad;
      for (size_t i = 0; i < model->parameters().size(); ++i) {
        copy->parameters()[i].copy_(model->parameters()[i]);
      }
    } else if (n > 5) {
      FakeStep(*copy, n);
      resumed.Update();
    }
  }
  EXPECT_EQ(resumed.updates(), uninterrupted.updates());
  for (size_t i = 0; i < uninterrupted.averages().size(); ++i) {
    EXPECT_TRUE(torch::equal(resumed.averages()[i], uninterrupted.averages()[i]));
  }
}

TEST(WeightEma, LoadRefusesAnotherModelsAverages) {
  torch::nn::Linear model = SmallModel();
  WeightEma ema(*model, 0.9);
  torch::serialize::OutputArchive archive;
  ema.save(archive);
  std::ostringstream bytes;
  archive.save_to(bytes);

  torch::nn::Linear other(4, 2);
  WeightEma other_ema(*other, 0.9);
  torch::serialize::InputArchive in;
  std::istringstream source(bytes.str());
  in.load_from(source);
  const absl::Status s = other_ema.load(in);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("of shape"));
}

}  // namespace
}  // namespace gs::tasks
