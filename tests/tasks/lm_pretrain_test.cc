// //tasks:lm_pretrain: the run contract, and clear errors for missing or too short
// text files.
#include "tests/tasks/task_contract.h"

namespace gs::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(LmPretrain, TaskContract,
                         ::testing::Values(TaskParams{"lm_pretrain", "test_loss", "min",
                                                      {"test_loss", "test_bits_per_byte", "val_loss",
                                                       "val_bits_per_byte", "train_loss"},
                                                      "val_loss", "min"}));

TEST(LmPretrainData, MissingOrShortTextExitsTwo) {
  Result r = RunTask("lm_pretrain", {"--preset=smoke", "--out=" + TempDir("missing"),
                                     "--data=" + TempDir("no_such_file.txt")});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("no_such_file.txt"));
  EXPECT_THAT(r.stderr_text, HasSubstr("not found"));

  const std::string short_text = TempDir("short.txt");
  std::ofstream(short_text) << "Call me Ishmael.";
  r = RunTask("lm_pretrain", {"--preset=smoke", "--out=" + TempDir("short"), "--data=" + short_text});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_THAT(r.stderr_text, HasSubstr("too short"));
}

TEST(LmPretrainData, AnyTextFileTrains) {
  const std::string text = TempDir("text.txt");
  {
    std::ofstream out(text);
    for (int i = 0; i < 400; ++i) out << "the quick brown fox jumps over the lazy dog " << i << "\n";
  }
  const std::string out = TempDir("own_text");
  Result r = RunTask("lm_pretrain", {"--preset=smoke", "--out=" + out, "--data=" + text});
  ASSERT_EQ(r.exit_code, 0) << r.stderr_text;
  EXPECT_EQ(ReadJson(out + "/run.json")["config"]["data"], text);
}

}  // namespace
}  // namespace gs::testing
