// //tasks:diffusion: the run contract (its resume test covers the weight EMA: the
// primary metric is the averaged weights'); the held-out loss per timestep bin and its
// mean, for the raw and the averaged weights; the Frechet floor and ceiling; the sample
// grid as a valid PNG; the feature classifier's cache reused when intact, rebuilt (to the
// same bytes) when corrupt; an unusable --cache_dir.
#include "tests/tasks/task_contract.h"

namespace gs::testing {
namespace {

INSTANTIATE_TEST_SUITE_P(Diffusion, TaskContract,
                         ::testing::Values(TaskParams{
                             "diffusion", "val_loss_ema", "min",
                             {"val_loss", "val_loss_ema", "val_loss_t0_ema", "val_loss_t9",
                              "test_loss", "test_loss_ema", "frechet_distance", "frechet_floor",
                              "frechet_ceiling", "train_loss"}}));

constexpr char kClassifier[] = "fashion_mnist_features_v2.pt";
constexpr char kBuilding[] = "building the Fashion-MNIST feature classifier";
constexpr char kCeiling[] = "sampling an untrained model for the Frechet ceiling";

uint32_t BigEndian(const std::string& s, size_t at) {
  uint32_t v = 0;
  for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(s[at + i]);
  return v;
}

// A one-step smoke run (training, evaluation, sampling) with its own cache directory.
Result OneStep(const std::string& name, const std::string& cache) {
  return RunTask("diffusion", {"--preset=smoke", "--steps=1", "--out=" + TempDir(name),
                               "--cache_dir=" + cache});
}

TEST(DiffusionRun, HeldOutLossPerBinSamplesPngAndClassifierCache) {
  const std::string cache = TempDir("own_cache"), file = cache + "/" + kClassifier;
  Result first = OneStep("first", cache);
  ASSERT_EQ(first.exit_code, 0) << first.stderr_text;
  EXPECT_THAT(first.stderr_text, HasSubstr(kBuilding));
  ASSERT_TRUE(fs::exists(file));
  const std::string built = ReadText(file);

  EXPECT_THAT(first.stderr_text, HasSubstr(kCeiling));

  // Each loss is the mean of its ten bins, for the raw weights and for their average
  // (which after one step from a fresh model is close to but not the raw weights).
  const nlohmann::json final = ReadJson(TempDir("first") + "/run.json")["final"];
  for (const std::string split : {"val", "test"}) {
    for (const std::string suffix : {"", "_ema"}) {
      double sum = 0.0;
      for (int k = 0; k < 10; ++k) {
        const std::string key = split + "_loss_t" + std::to_string(k) + suffix;
        ASSERT_TRUE(final.contains(key)) << key;
        const double bin = final[key].get<double>();
        EXPECT_GT(bin, 0.1) << key;  // near the noise's variance 1
        EXPECT_LT(bin, 3.0) << key;
        sum += bin;
      }
      EXPECT_NEAR(final[split + "_loss" + suffix].get<double>(), sum / 10, 1e-12) << split << suffix;
    }
  }
  EXPECT_NE(final["val_loss"], final["val_loss_ema"]);
  // Real images against real ones sit far below an untrained model's samples.
  EXPECT_GT(final["frechet_floor"].get<double>(), 0.0);
  EXPECT_GT(final["frechet_ceiling"].get<double>(), 4 * final["frechet_floor"].get<double>());
  EXPECT_GT(final["frechet_distance"].get<double>(), final["frechet_floor"].get<double>());

  // The grid: 40 samples in 10 columns of 28 + 2 pixels, plus a 2-pixel border.
  const std::string png = ReadText(TempDir("first") + "/samples.png");
  ASSERT_GT(png.size(), 33u);
  EXPECT_EQ(png.substr(0, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  EXPECT_EQ(png.substr(12, 4), "IHDR");
  EXPECT_EQ(BigEndian(png, 16), 10u * 30 + 2);
  EXPECT_EQ(BigEndian(png, 20), 4u * 30 + 2);
  EXPECT_FALSE(fs::exists(TempDir("first") + "/samples.png.tmp"));

  // Intact: reused, not rebuilt.
  const auto written = fs::last_write_time(file);
  Result second = OneStep("second", cache);
  ASSERT_EQ(second.exit_code, 0) << second.stderr_text;
  EXPECT_THAT(second.stderr_text, ::testing::Not(HasSubstr(kBuilding)));
  EXPECT_THAT(second.stderr_text, ::testing::Not(HasSubstr(kCeiling)));
  EXPECT_EQ(fs::last_write_time(file), written);
  EXPECT_EQ(ReadJson(TempDir("second") + "/run.json")["final"], final);

  // One flipped byte: reported and rebuilt (trained again, deterministically: the same
  // results).
  {
    std::fstream f(file, std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(built.size() / 2);
    const char c = static_cast<char>(f.get());
    f.seekp(built.size() / 2);
    f.put(static_cast<char>(c ^ 0x01));
  }
  const std::string corrupted = ReadText(file);
  ASSERT_NE(corrupted, built);
  Result third = OneStep("third", cache);
  ASSERT_EQ(third.exit_code, 0) << third.stderr_text;
  EXPECT_THAT(third.stderr_text, HasSubstr("is corrupt"));
  EXPECT_THAT(third.stderr_text, HasSubstr(kBuilding));
  EXPECT_NE(ReadText(file), corrupted);
  EXPECT_EQ(ReadText(file).size(), built.size());
  EXPECT_EQ(ReadJson(TempDir("third") + "/run.json")["final"], final);
}

TEST(DiffusionRun, UnusableCacheDirExitsTwoAndNamesTheFlag) {
  const std::string blocker = TempDir("a_file");
  std::ofstream(blocker) << "not a directory";
  Result r = RunTask("diffusion", {"--preset=smoke", "--out=" + TempDir("no_cache"),
                                   "--cache_dir=" + blocker + "/cache"});
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("--cache_dir"));
}

}  // namespace
}  // namespace gs::testing
