// The same-work check of the PyTorch reference, run as real processes: our C++ task
// (//benchmarks:dump_reference) records its first AdamW steps, and the eager PyTorch
// model (benchmarks/pytorch_reference/reference.py, run by /usr/bin/python3) replays
// them. It must agree for both models and must fail when the weights, the parameter
// names or the model itself differ.
#include <filesystem>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/benchmarks/process_util.h"

namespace {

using ::gs::testing::ReadText;
using ::gs::testing::Result;
using ::gs::testing::Runfile;
using ::gs::testing::Shell;
using ::gs::testing::Tmp;
using ::gs::testing::WriteText;
using ::testing::HasSubstr;

constexpr char kPython[] = "/usr/bin/python3";

std::string Script() { return Runfile("benchmarks/pytorch_reference/reference.py"); }

// Dumps `task` (smoke preset, 3 recorded steps) once per test binary run.
std::string Dump(const std::string& task) {
  const std::string dir = Tmp("dump_" + task);
  if (!std::filesystem::exists(dir + "/index.json")) {
    const Result r = Shell(Runfile("benchmarks/dump_reference") + " --task=" + task +
                         " --preset=smoke --steps=3 --out=" + dir);
    EXPECT_EQ(r.exit_code, 0) << r.output;
  }
  return dir;
}

// A copy of the dump in `name` to tamper with.
std::string CopyOf(const std::string& dir, const std::string& name) {
  const std::string copy = Tmp(name);
  std::filesystem::remove_all(copy);
  std::filesystem::copy(dir, copy);
  return copy;
}

Result Check(const std::string& dir) { return Shell(std::string(kPython) + " " + Script() + " check --dump=" + dir); }

TEST(PytorchReferenceTest, GptDoesTheSameWork) {
  const Result r = Check(Dump("lm_pretrain"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("same work: yes"));
  EXPECT_THAT(r.output, HasSubstr("step 2:"));
}

TEST(PytorchReferenceTest, VitDoesTheSameWork) {
  const Result r = Check(Dump("vit_classification"));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  EXPECT_THAT(r.output, HasSubstr("same work: yes"));
}

TEST(PytorchReferenceTest, DumpHoldsWhatTheIndexSays) {
  const std::string dir = Dump("lm_pretrain");
  const nlohmann::json index = nlohmann::json::parse(ReadText(dir + "/index.json"));
  EXPECT_EQ(index["task"], "lm_pretrain");
  EXPECT_EQ(index["losses"].size(), 3u);
  EXPECT_EQ(index["batches"].size(), 3u);
  EXPECT_EQ(index["optimizer"]["name"], "adamw");
  // The smoke GPT: context 32, batch 8; inputs and targets are the window shifted by one.
  EXPECT_EQ(index["batches"][0]["inputs"]["shape"], nlohmann::json({8, 32}));
  EXPECT_EQ(index["batches"][0]["targets"]["dtype"], "int64");
  size_t end = 0;
  for (const char* key : {"params", "first_grads", "final_params"}) {
    for (const nlohmann::json& e : index[key]) end = std::max<size_t>(end, e["offset"].get<size_t>() + e["bytes"].get<size_t>());
  }
  EXPECT_EQ(std::filesystem::file_size(dir + "/tensors.bin"), end);
  // First lr multiplier of the smoke schedule: warm-up of 5 steps, (0 + 1) / 5.
  EXPECT_DOUBLE_EQ(index["lr_scales"][0].get<double>(), 0.2);
}

TEST(PytorchReferenceTest, FailsWhenAWeightDiffers) {
  const std::string dir = CopyOf(Dump("lm_pretrain"), "changed_weight");
  const nlohmann::json index = nlohmann::json::parse(ReadText(dir + "/index.json"));
  std::string blob = ReadText(dir + "/tensors.bin");
  bool changed = false;
  for (const nlohmann::json& e : index["params"]) {
    if (e["name"] != "blocks.3.mlp.fc.weight") continue;
    float* w = reinterpret_cast<float*>(&blob[e["offset"].get<size_t>()]);
    for (size_t i = 0; i < e["bytes"].get<size_t>() / 4; ++i) w[i] *= 1.01f;  // 1% larger
    changed = true;
  }
  ASSERT_TRUE(changed);
  WriteText(dir + "/tensors.bin", blob);
  const Result r = Check(dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("DIFFERENT"));
  EXPECT_THAT(r.output, HasSubstr("same work: NO"));
}

TEST(PytorchReferenceTest, FailsWhenParameterNamesDiffer) {
  const std::string dir = CopyOf(Dump("lm_pretrain"), "renamed");
  nlohmann::json index = nlohmann::json::parse(ReadText(dir + "/index.json"));
  index["params"][index["params"].size() - 1]["name"] = "head.renamed";
  WriteText(dir + "/index.json", index.dump());
  const Result r = Check(dir);
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("parameter names differ"));
}

TEST(PytorchReferenceTest, FailsWhenTheModelDiffers) {
  // The reference with tanh-approximated GELU instead of the exact (erf) one our
  // blocks use: the losses move by only ~1e-5, the gradients by ~2e-4.
  const std::string dir = Dump("lm_pretrain");
  const std::string code =
      "import sys; sys.path.insert(0, '" + std::filesystem::path(Script()).parent_path().string() +
      "'); import reference; g = reference.F.gelu; "
      "reference.F.gelu = lambda x: g(x, approximate='tanh'); "
      "sys.argv = ['reference.py', 'check', '--dump=" + dir + "']; sys.exit(reference.main())";
  const Result r = Shell(std::string(kPython) + " -c \"" + code + "\"");
  EXPECT_EQ(r.exit_code, 1) << r.output;
  EXPECT_THAT(r.output, HasSubstr("gradients (clipped)"));
  EXPECT_THAT(r.output, HasSubstr("same work: NO"));
}

}  // namespace
