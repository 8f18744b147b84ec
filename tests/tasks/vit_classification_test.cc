// //tasks:vit_classification: the run contract, and clear errors for missing or
// truncated Fashion-MNIST files.
#include "tests/tasks/task_contract.h"

namespace gs::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(VitClassification, TaskContract,
                         ::testing::Values(TaskParams{"vit_classification", "test_accuracy",
                                                      "max", {"test_accuracy", "test_loss",
                                                              "val_accuracy", "val_loss"},
                                                      "val_accuracy", "max"}));

TEST(VitClassificationData, MissingOrTruncatedDataExitsTwo) {
  Result r = RunTask("vit_classification",
                     {"--preset=smoke", "--out=" + TempDir("missing"), "--data=" + TempDir("no_such_dir")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("not found"));
  EXPECT_THAT(r.stderr_text, HasSubstr("dataset-fashion-mnist"));

  const std::string truncated = TempDir("truncated_data");
  fs::create_directories(truncated);
  for (const char* name : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                           "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    fs::copy_file(std::string("/usr/share/datasets/fashion-mnist/") + name, truncated + "/" + name);
  }
  fs::resize_file(truncated + "/train-images-idx3-ubyte.gz", 100000);
  r = RunTask("vit_classification",
              {"--preset=smoke", "--out=" + TempDir("truncated"), "--data=" + truncated});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("train-images-idx3-ubyte.gz"));
  EXPECT_FALSE(fs::exists(TempDir("truncated") + "/run.json"));
}

TEST(VitClassificationData, TheLastFiveThousandTrainingImagesAreHeldOutAsVal) {
  const std::string out = TempDir("val_split");
  Result r = RunTask("vit_classification", {"--preset=smoke", "--out=" + out, "--steps=1"});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  const nlohmann::json task = ReadJson(out + "/run.json")["config"]["task"];
  EXPECT_EQ(task["train_examples"], 55000) << "the 5000 validation images are never trained on";
  EXPECT_EQ(task["val_examples"], 1000);
  EXPECT_EQ(task["test_examples"], 1000);
}

}  // namespace
}  // namespace gs::testing
