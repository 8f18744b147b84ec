// The suite does not link LibTorch; the base optimizers grids may name come from
// //benchmarks:list_optimizers at build time. They must be exactly the registry's.
#include <algorithm>
#include <cstdlib>

#include "benchmarks/suite_files.h"
#include "gtest/gtest.h"
#include "optimizers/base_optimizer.h"

namespace gs::benchmarks {
namespace {

TEST(SuiteNames, OptimizersAreTheRegisteredBaseOptimizers) {
  absl::StatusOr<GridNames> names = LoadGridNames(std::getenv("TEST_SRCDIR"));
  ASSERT_TRUE(names.ok()) << names.status();
  std::vector<std::string> listed = names->optimizers;
  std::vector<std::string> registered = BaseOptimizers().Names();
  std::sort(listed.begin(), listed.end());
  std::sort(registered.begin(), registered.end());
  EXPECT_EQ(listed, registered)
      << "suite_names.txt must list every registered base optimizer";
}

}  // namespace
}  // namespace gs::benchmarks
