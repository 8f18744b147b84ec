// //reports:runs: what is read from run directories, and which folders are skipped with
// which warning.
#include "reports/runs.h"

#include <filesystem>
#include <regex>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reports/results_tree.h"

namespace gs::reports {
namespace {

namespace fs = std::filesystem;
using ::gs::testing::FakeRun;
using ::gs::testing::TempDir;
using ::gs::testing::WriteRun;
using ::gs::testing::WriteText;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

const reports::Run* Find(const RunSet& set, const std::string& path) {
  for (const reports::Run& r : set.runs) {
    if (r.path == path) return &r;
  }
  return nullptr;
}

TEST(Runs, ReadsTheContractFields) {
  const std::string root = TempDir("fields");
  FakeRun r;
  r.alpha = 0.1;
  r.seed = 7;
  r.value = 0.875;
  r.seconds_per_step = 0.25;
  r.depth_cka = 0.8;
  WriteRun(root + "/a/b", r);
  absl::StatusOr<RunSet> set = ReadRuns(root);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->runs.size(), 1u);
  EXPECT_THAT(set->warnings, ::testing::IsEmpty());
  const reports::Run& run = set->runs[0];
  EXPECT_EQ(run.path, "a/b");
  EXPECT_EQ(run.task, "vit_classification");
  EXPECT_EQ(run.preset, "quick");
  EXPECT_EQ(run.optimizer, "adamw");
  EXPECT_EQ(run.smoothing, "window-a0.1");
  EXPECT_EQ(run.smoothing_name, "window");
  EXPECT_EQ(run.smoothing_label, "window alpha=0.1");
  EXPECT_EQ(run.strength_name, "alpha");
  EXPECT_EQ(run.strength, 0.1);
  // Read from run.json's options, never from the tag.
  EXPECT_EQ(run.smoothing_family,
            "window decay=separate kernel=box radius=1 scope=all target=update variant=standard");
  EXPECT_EQ(run.seed, 7);
  EXPECT_EQ(run.status, tasks::RunStatus::kCompleted);
  EXPECT_EQ(run.metric, "test_accuracy");
  EXPECT_EQ(run.goal, "max");
  EXPECT_EQ(run.value, 0.875);
  EXPECT_EQ(run.seconds_per_step, 0.25);
  // No selection_metric in run.json: the primary metric selects.
  EXPECT_EQ(run.selection_metric, "test_accuracy");
  EXPECT_EQ(run.selection_goal, "max");
  EXPECT_EQ(run.selection_value, 0.875);
  EXPECT_EQ(run.selection.size(), run.primary.size());
  // The configuration without seed, smoothing flags, logging and resources; nested
  // values flattened.
  EXPECT_EQ(run.config, (std::map<std::string, std::string>{{"clip", "1.0"},
                                                           {"lr", "0.004"},
                                                           {"lr_scale", "1.0"},
                                                           {"steps", "600"},
                                                           {"task.depth", "3"},
                                                           {"task.width", "64"},
                                                           {"warmup", "50"},
                                                           {"weight_decay", "0.05"}}));
  // metrics.jsonl: train_loss at 100..600 is 2 - 1.5 step / 600 + seed / 100.
  ASSERT_EQ(run.train_loss.size(), 6u);
  EXPECT_EQ(run.train_loss[0].step, 100);
  EXPECT_DOUBLE_EQ(run.train_loss[0].value, 2.0 - 0.25 + 0.07);
  EXPECT_EQ(run.train_loss[5].step, 600);
  ASSERT_EQ(run.primary.size(), 3u);
  EXPECT_EQ(run.primary[2].step, 600);
  EXPECT_DOUBLE_EQ(run.primary[2].value, 0.875);
  // depth.json: the last record, not the first (whose mean is 0.5).
  ASSERT_EQ(run.depth.size(), 1u);
  EXPECT_EQ(run.depth[0].name, "blocks");
  EXPECT_EQ(run.depth[0].mean_adjacent_cka, 0.8);
  EXPECT_EQ(run.depth[0].mean_increment_cosine, 0.1);
  ASSERT_EQ(run.depth[0].cka.size(), 3u);
  EXPECT_THAT(run.depth[0].cka[0], ElementsAre(1.0, 0.8, 0.8 * 0.8));
}

TEST(Runs, TheSelectionMetricAndItsCurveComeFromTheValSplit) {
  const std::string root = TempDir("selection");
  gs::testing::FakeRun r;
  r.value = 0.8;
  r.selection_metric = "val_accuracy";
  r.selection_curve = {0.5, 0.6, 0.9};
  gs::testing::WriteRun(root + "/a", r);
  absl::StatusOr<RunSet> set = ReadRuns(root);
  ASSERT_TRUE(set.ok()) << set.status();
  ASSERT_EQ(set->runs.size(), 1u);
  const reports::Run& run = set->runs[0];
  EXPECT_EQ(run.metric, "test_accuracy");
  EXPECT_EQ(run.value, 0.8);
  EXPECT_EQ(run.selection_metric, "val_accuracy");
  EXPECT_EQ(run.selection_value, 0.9);
  ASSERT_EQ(run.selection.size(), 3u);
  EXPECT_EQ(run.selection[1].step, 400);
  EXPECT_EQ(run.selection[1].value, 0.6);
  // A tuned arm's folder holding only its tuning.json is not a stray folder.
  gs::testing::WriteText(root + "/tune/t/p/adamw-none/tuning.json", "{}");
  set = ReadRuns(root);
  EXPECT_THAT(set->warnings, ::testing::IsEmpty());
}

TEST(Runs, NoSmoothingHasNoAlpha) {
  const std::string root = TempDir("none");
  WriteRun(root + "/r", FakeRun{});
  absl::StatusOr<RunSet> set = ReadRuns(root);
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->runs.size(), 1u);
  EXPECT_EQ(set->runs[0].smoothing, "none");
  EXPECT_EQ(set->runs[0].smoothing_family, "none");
  EXPECT_FALSE(set->runs[0].strength.has_value());
  EXPECT_FALSE(set->runs[0].seconds_per_step.has_value());  // older runs lack it
  EXPECT_TRUE(set->runs[0].depth.empty());
}

TEST(Runs, BrokenPartialAndForeignFoldersAreWarnings) {
  const std::string root = TempDir("mixed");
  gs::testing::WriteExampleTree(root);
  FakeRun r;
  WriteRun(root + "/extra/no_final", r);
  // A completed run whose final lacks the primary metric.
  WriteText(root + "/extra/no_final/run.json",
            std::regex_replace(gs::testing::ReadText(root + "/extra/no_final/run.json"),
                               std::regex("\"test_accuracy\": 0.0"), "\"other\": 1"));
  WriteRun(root + "/extra/bad_status", r);
  WriteText(root + "/extra/bad_status/run.json",
            std::regex_replace(gs::testing::ReadText(root + "/extra/bad_status/run.json"),
                               std::regex("\"completed\""), "\"paused\""));
  WriteText(root + "/extra/not_a_run/run.json", "{\"hello\": 1}");
  WriteText(root + "/extra/with_metrics/metrics.jsonl", "{}\n");
  WriteRun(root + "/extra/bad_lines", r);
  WriteText(root + "/extra/bad_lines/metrics.jsonl", "{\"step\": 1, \"split\": \"train\", "
                                                     "\"train_loss\": 2}\nnot json\n");
  WriteRun(root + "/extra/bad_depth", r);
  WriteText(root + "/extra/bad_depth/depth.json", "{\"records\": []}");
  fs::create_directories(root + "/extra/empty");

  absl::StatusOr<RunSet> set = ReadRuns(root);
  ASSERT_TRUE(set.ok()) << set.status();
  const std::vector<std::string> expected = {
      "broken: run.json is not valid JSON; skipped",
      "extra/bad_depth/depth.json: not a depth record (records[-1].chains missing); ignored",
      "extra/bad_lines/metrics.jsonl: 1 malformed line(s) skipped",
      "extra/bad_status: unknown status 'paused' (running|completed|diverged|failed); skipped",
      "extra/empty: no run.json, not a run directory; skipped",
      "extra/no_final: completed but final.test_accuracy is missing or not a number (partial "
      "run); skipped",
      "extra/not_a_run: run.json lacks task, preset, optimizer, status, smoothing.tag, "
      "smoothing.name, primary_metric.name, primary_metric.goal, seed, config (partial run); skipped",
      "extra/with_metrics: no run.json, not a run directory; skipped",
      "notes: no run.json, not a run directory; skipped",
      "vit/running: still running (partial run); skipped"};
  EXPECT_EQ(set->warnings, expected);
  // report/ and cache/ are never read; diverged and failed runs are.
  for (const reports::Run& r : set->runs) {
    EXPECT_THAT(r.path, ::testing::Not(HasSubstr("report")));
    EXPECT_THAT(r.path, ::testing::Not(HasSubstr("cache")));
  }
  EXPECT_EQ(set->runs.size(), 23u + 2u);  // the tree's 23 and bad_lines, bad_depth
  ASSERT_NE(Find(*set, "vit/sgd/run4"), nullptr);
  EXPECT_EQ(Find(*set, "vit/sgd/run4")->status, tasks::RunStatus::kDiverged);
  EXPECT_FALSE(Find(*set, "vit/sgd/run4")->value.has_value());
  EXPECT_EQ(Find(*set, "vit/sgd/run5")->status, tasks::RunStatus::kFailed);
  // Paths come in sorted order.
  for (size_t i = 1; i < set->runs.size(); ++i) EXPECT_LT(set->runs[i - 1].path, set->runs[i].path);
}

TEST(Runs, SymbolicLinkLoopsAreReadOnce) {
  const std::string root = TempDir("loop");
  WriteRun(root + "/a/run", FakeRun{});
  fs::create_directory_symlink(root, root + "/a/back_up");
  absl::StatusOr<RunSet> set = ReadRuns(root);
  ASSERT_TRUE(set.ok());
  EXPECT_EQ(set->runs.size(), 1u);
}

TEST(Runs, SkipListAndErrors) {
  const std::string root = TempDir("skip");
  WriteRun(root + "/keep", FakeRun{});
  WriteRun(root + "/out/inner", FakeRun{});
  absl::StatusOr<RunSet> set = ReadRuns(root, {root + "/out"});
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set->runs.size(), 1u);
  EXPECT_EQ(set->runs[0].path, "keep");

  absl::StatusOr<RunSet> missing = ReadRuns(TempDir("nope"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("nope"));
}

}  // namespace
}  // namespace gs::reports
