// Save, load and continue equals an uninterrupted run, bit for bit; a state that does
// not fit is refused and changes nothing.
#include <torch/torch.h>

#include <cstdio>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  const char* dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

OptimizerConfig Config(const std::string& optimizer) {
  OptimizerConfig config;
  config.optimizer = optimizer;
  config.smoothing = "window";
  config.smoothing_options["alpha"] = NumberText(0.2);
  return config;
}

void Train(testing::TinyNet& net, DepthOptimizer& opt, int from, int to) {
  for (int step = from; step < to; ++step) {
    opt.set_lr_scale(1.0 - 0.05 * step);
    opt.zero_grad();
    testing::ForwardBackward(net, step);
    opt.step();
  }
}

TEST(Serialization, SaveLoadContinueEqualsUninterruptedRun) {
  for (const std::string optimizer : {"sgd", "adamw", "muon"}) {
    SCOPED_TRACE(optimizer);
    testing::TinyNet full = testing::MakeTinyNet(6);
    auto full_opt = CreateOptimizer(NamedParameters(*full), Config(optimizer));
    ASSERT_TRUE(full_opt.ok()) << full_opt.status();
    Train(full, **full_opt, 0, 10);

    testing::TinyNet first = testing::MakeTinyNet(6);
    auto first_opt = CreateOptimizer(NamedParameters(*first), Config(optimizer));
    ASSERT_TRUE(first_opt.ok());
    Train(first, **first_opt, 0, 5);
    const std::string model_path = TempPath(optimizer + "_model.pt");
    const std::string state_path = TempPath(optimizer + "_optimizer.pt");
    torch::save(first, model_path);
    ASSERT_TRUE((*first_opt)->Save(state_path).ok());

    // A new process would build the model and optimizer, then load both. torch::load
    // replaces the parameters' storage: the optimizer re-attaches them to its stacks.
    testing::TinyNet resumed = testing::MakeTinyNet(6, /*seed=*/99);
    auto resumed_opt = CreateOptimizer(NamedParameters(*resumed), Config(optimizer));
    ASSERT_TRUE(resumed_opt.ok());
    torch::load(resumed, model_path);
    absl::Status loaded = (*resumed_opt)->Load(state_path);
    ASSERT_TRUE(loaded.ok()) << loaded;
    EXPECT_EQ((*resumed_opt)->step_count(), 5);
    Train(resumed, **resumed_opt, 5, 10);

    EXPECT_TRUE(testing::BitIdentical(testing::Snapshot(*full), testing::Snapshot(*resumed)));
  }
}

TEST(Serialization, MismatchedOrCorruptStateIsRefusedAndChangesNothing) {
  testing::TinyNet net = testing::MakeTinyNet(6);
  auto adamw = CreateOptimizer(NamedParameters(*net), Config("adamw"));
  ASSERT_TRUE(adamw.ok());
  Train(net, **adamw, 0, 2);
  const std::string path = TempPath("adamw_state.pt");
  ASSERT_TRUE((*adamw)->Save(path).ok());

  testing::TinyNet other = testing::MakeTinyNet(6);
  auto sgd = CreateOptimizer(NamedParameters(*other), Config("sgd"));
  ASSERT_TRUE(sgd.ok());
  absl::Status s = (*sgd)->Load(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("'adamw'"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("'sgd'"));
  EXPECT_EQ((*sgd)->step_count(), 0);

  testing::TinyNet shallow = testing::MakeTinyNet(4);
  auto shallow_opt = CreateOptimizer(NamedParameters(*shallow), Config("adamw"));
  ASSERT_TRUE(shallow_opt.ok());
  s = (*shallow_opt)->Load(path);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("shape"));
  EXPECT_EQ((*shallow_opt)->step_count(), 0);
  for (const auto& [name, buffer] : (*shallow_opt)->state(0)) {
    EXPECT_EQ(buffer.abs().max().item<double>(), 0.0) << name;  // still the initial zeros
  }

  const std::string corrupt = TempPath("corrupt.pt");
  {
    std::ofstream out(corrupt, std::ios::binary);
    out << "this is not a zip archive";
  }
  s = (*shallow_opt)->Load(corrupt);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr(corrupt));
  s = (*shallow_opt)->Load(TempPath("does_not_exist.pt"));
  EXPECT_FALSE(s.ok());
}

}  // namespace
}  // namespace gs
