#include "benchmarks/task_registry.h"

#include <functional>
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "tasks/diffusion.h"
#include "tasks/lm_pretrain.h"
#include "tasks/rl_reasoning.h"
#include "tasks/vit_classification.h"

namespace gs::benchmarks {
namespace {

using Factory = std::function<std::unique_ptr<tasks::Task>()>;

const std::map<std::string, Factory>& Factories() {
  static const auto* factories = new std::map<std::string, Factory>{
      {"lm_pretrain", tasks::NewLmPretrain},
      {"vit_classification", tasks::NewVitClassification},
      {"diffusion", tasks::NewDiffusion},
      {"rl_reasoning", tasks::NewRlReasoning},
  };
  return *factories;
}

}  // namespace

std::vector<std::string> TaskNames() {
  std::vector<std::string> names;
  for (const auto& [name, factory] : Factories()) names.push_back(name);
  return names;
}

absl::StatusOr<std::unique_ptr<tasks::Task>> NewTask(const std::string& name) {
  auto it = Factories().find(name);
  if (it == Factories().end()) {
    return absl::InvalidArgumentError(absl::StrCat("unknown task '", name, "'; known tasks: ",
                                                   absl::StrJoin(TaskNames(), ", ")));
  }
  return it->second();
}

}  // namespace gs::benchmarks
