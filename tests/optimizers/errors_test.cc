// Every error a user can cause through names and settings: the status code and a
// message that says what is allowed.
#include <torch/torch.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "optimizers/optimizer.h"
#include "tests/optimizers/test_util.h"

namespace gs {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

void ExpectInvalid(const OptimizerConfig& config, const std::vector<std::string>& parts) {
  testing::TinyNet net = testing::MakeTinyNet(2);
  auto opt = CreateOptimizer(NamedParameters(*net), config);
  ASSERT_FALSE(opt.ok());
  EXPECT_EQ(opt.status().code(), absl::StatusCode::kInvalidArgument);
  for (const std::string& part : parts) {
    EXPECT_THAT(std::string(opt.status().message()), HasSubstr(part));
  }
}

OptimizerConfig Window() {
  OptimizerConfig c;
  c.smoothing = "window";
  return c;
}

TEST(UserErrors, AlphaOutsideZeroOne) {
  for (double alpha : {-0.1, 1.5, std::nan("")}) {
    OptimizerConfig c = Window();
    c.smoothing_options["alpha"] = NumberText(alpha);
    ExpectInvalid(c, {"alpha", "[0, 1]"});
  }
}

TEST(UserErrors, RadiusBelowOne) {
  OptimizerConfig c = Window();
  c.smoothing_options["radius"] = std::to_string(0);
  ExpectInvalid(c, {"radius", ">= 1"});
}

TEST(UserErrors, UnknownNamesListWhatIsRegistered) {
  OptimizerConfig c;
  c.optimizer = "adam";
  ExpectInvalid(c, {"unknown base optimizer 'adam'", "adamw, muon, sgd"});
  c = OptimizerConfig();
  c.smoothing = "nosuch";
  ExpectInvalid(c, {"unknown depth transform 'nosuch'", "ema, identity, laplacian, window"});
  c = Window();
  c.smoothing_options["kernel"] = "cosine";
  ExpectInvalid(c, {"kernel=cosine", "box | triangle | gaussian"});
  c = Window();
  c.smoothing_options["variant"] = "unit";
  ExpectInvalid(c, {"variant=unit", "standard | norm | direction"});
  c = Window();
  c.smoothing_options["scope"] = "weights";
  ExpectInvalid(c, {"scope=weights", "all | matrices"});
  c = Window();
  c.smoothing_options["target"] = "params";
  ExpectInvalid(c, {"target=params", "update | gradient"});
}

TEST(UserErrors, OptimizerOptionsAreChecked) {
  OptimizerConfig c;
  c.base.options["betas"] = "0.9";
  ExpectInvalid(c, {"adamw has no option 'betas'", "beta1, beta2, eps"});
  c = OptimizerConfig();
  c.optimizer = "sgd";
  c.base.options["momentum"] = "lots";
  ExpectInvalid(c, {"momentum=lots", "a number in [0, 1)"});
  c.base.options["momentum"] = "0";
  c.base.options["nesterov"] = "true";
  ExpectInvalid(c, {"nesterov", "momentum > 0"});
  c = OptimizerConfig();
  c.base.lr = -1.0;
  ExpectInvalid(c, {"lr", ">= 0"});
  c = OptimizerConfig();
  c.optimizer = "muon";
  c.base.options["scale"] = "big";
  ExpectInvalid(c, {"scale=big", "reference | match_adamw"});
  c.base.options["scale"] = "match_adamw";
  c.base.options["ns_steps"] = "0";
  ExpectInvalid(c, {"ns_steps", ">= 1"});
}

TEST(UserErrors, ChainsThatDoNotMatch) {
  OptimizerConfig c;
  c.chains = {"blocks."};
  ExpectInvalid(c, {"chain prefix 'blocks.'"});
}

}  // namespace
}  // namespace gs
