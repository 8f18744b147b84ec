// Prints "optimizer <name>" for every registered base optimizer, the paper's three first:
// the suite (which does not link LibTorch) learns from this, at build time, which names
// grids may use. A new optimizer file in //optimizers:base_optimizers is all it takes.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "optimizers/base_optimizer.h"

int main() {
  std::vector<std::string> names = gs::BaseOptimizers().Names();
  std::vector<std::string> ordered;
  for (const char* first : {"sgd", "adamw", "muon"}) {
    auto it = std::find(names.begin(), names.end(), first);
    if (it != names.end()) {
      ordered.push_back(*it);
      names.erase(it);
    }
  }
  ordered.insert(ordered.end(), names.begin(), names.end());  // the rest, alphabetically
  for (const std::string& name : ordered) std::printf("optimizer %s\n", name.c_str());
  return 0;
}
