#include "benchmarks/reference_dump.h"

#include <cstring>
#include <filesystem>

#include <torch/torch.h>

#include "absl/strings/str_cat.h"
#include "optimizers/adamw.h"
#include "tasks/harness/run_dir.h"

namespace gs::benchmarks {
namespace {

// Appends `tensor`'s bytes to `blob` and returns its index entry.
absl::StatusOr<nlohmann::json> Append(const std::string& name, const at::Tensor& tensor,
                                      std::string& blob) {
  at::Tensor t = tensor.detach().to(torch::kCPU).contiguous();
  std::string dtype;
  if (t.scalar_type() == torch::kFloat) {
    dtype = "float32";
  } else if (t.scalar_type() == torch::kLong) {
    dtype = "int64";
  } else {
    return absl::InvalidArgumentError(absl::StrCat("tensor '", name, "' has dtype ",
                                                   std::string(c10::toString(t.scalar_type())),
                                                   "; the dump holds float32 and int64"));
  }
  const size_t bytes = t.numel() * t.element_size();
  nlohmann::json entry = {{"name", name}, {"dtype", dtype}, {"shape", t.sizes().vec()},
                          {"offset", blob.size()}, {"bytes", bytes}};
  blob.append(static_cast<const char*>(t.data_ptr()), bytes);
  return entry;
}

absl::StatusOr<nlohmann::json> Parameters(torch::nn::Module& model, std::string& blob) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& item : model.named_parameters(/*recurse=*/true)) {
    absl::StatusOr<nlohmann::json> entry = Append(item.key(), item.value(), blob);
    if (!entry.ok()) return entry.status();
    out.push_back(*entry);
  }
  return out;
}

}  // namespace

absl::Status WriteReferenceDump(TrainingArm& arm, const std::string& dir, int64_t batches,
                                int64_t train_steps) {
  const ArmConfig& config = arm.config();
  if (config.optimizer != "adamw" || config.smoothing != "none") {
    return absl::InvalidArgumentError(
        "the PyTorch reference replays AdamW without smoothing (torch.optim.AdamW)");
  }
  if (train_steps < 0 || train_steps > batches) {
    return absl::InvalidArgumentError(
        absl::StrCat("recorded steps (", train_steps, ") must be in [0, batches = ", batches, "]"));
  }
  if (arm.optimizer().step_count() != 0) {
    return absl::FailedPreconditionError("the arm has stepped already: dump it before training");
  }
  tasks::Task& task = arm.task();
  std::string blob;
  absl::StatusOr<nlohmann::json> params = Parameters(task.model(), blob);
  if (!params.ok()) return params.status();

  const tasks::TrainingRecipe& recipe = task.recipe();
  nlohmann::json batch_entries = nlohmann::json::array(), scales = nlohmann::json::array();
  for (int64_t step = 0; step < batches; ++step) {
    std::map<std::string, at::Tensor> batch = task.TrainBatch(step);
    if (batch.count("inputs") == 0 || batch.count("targets") == 0) {
      return absl::InvalidArgumentError(absl::StrCat(
          "task '", task.name(), "' does not offer its batches (Task::TrainBatch); the PyTorch ",
          "reference has vit_classification and lm_pretrain"));
    }
    nlohmann::json entry;
    for (const char* part : {"inputs", "targets"}) {
      absl::StatusOr<nlohmann::json> t = Append(absl::StrCat("batch", step, ".", part), batch[part], blob);
      if (!t.ok()) return t.status();
      entry[part] = *t;
    }
    batch_entries.push_back(entry);
    scales.push_back(tasks::LrScale(recipe, step, recipe.steps));
  }

  nlohmann::json losses = nlohmann::json::array(), first_grads = nlohmann::json::array();
  for (int64_t step = 0; step < train_steps; ++step) {
    losses.push_back(arm.Step(step).loss);
    if (step == 0) {
      // The clipped gradients of the first step: a far finer check of the model than
      // the loss, a mean that averages differences away.
      for (const auto& item : task.model().named_parameters(/*recurse=*/true)) {
        absl::StatusOr<nlohmann::json> entry = Append(item.key(), item.value().grad(), blob);
        if (!entry.ok()) return entry.status();
        first_grads.push_back(*entry);
      }
    }
  }
  nlohmann::json final_params = nlohmann::json::array();
  if (train_steps > 0) {
    absl::StatusOr<nlohmann::json> after = Parameters(task.model(), blob);
    if (!after.ok()) return after.status();
    final_params = *after;
  }

  const AdamWOptions adamw;  // the arm passes no options: the library's defaults
  const nlohmann::json index = {
      {"format", "gs-reference-dump-1"},
      {"task", task.name()},
      {"preset", config.preset},
      {"seed", config.seed},
      {"model", task.Describe()},
      {"optimizer", {{"name", "adamw"}, {"lr", arm.lr()}, {"weight_decay", arm.weight_decay()},
                     {"beta1", adamw.beta1()}, {"beta2", adamw.beta2()}, {"eps", adamw.eps()}}},
      {"clip", recipe.clip},
      {"lr_scales", scales},
      {"params", *params},
      {"batches", batch_entries},
      {"losses", losses},
      {"first_grads", first_grads},
      {"final_params", final_params}};

  std::error_code error;
  std::filesystem::create_directories(dir, error);
  if (error) return absl::InvalidArgumentError(absl::StrCat(dir, ": cannot create it"));
  // An older dump's index must not describe the new tensors.bin, even for a moment.
  std::filesystem::remove(dir + "/index.json", error);
  if (absl::Status s = tasks::WriteFileAtomic(dir + "/tensors.bin", blob); !s.ok()) return s;
  return tasks::WriteFileAtomic(dir + "/index.json", index.dump(1) + "\n");
}

}  // namespace gs::benchmarks
