// The tuning rule on run directories written here (the suite test runs it on real smoke
// runs): the best mean selection metric wins, goal-aware; a diverged seed, a missing
// metric or a test metric never decide; ties go to the earlier candidate (the smaller
// lr_scale); an unfinished or failed trial makes the arm wait; tuning.json records it
// and is not rewritten when nothing changed.
#include "benchmarks/tuning.h"

#include <sys/stat.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/benchmarks/process_util.h"

namespace gs::benchmarks {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

using ::gs::testing::ReadText;

std::string Dir(const std::string& name) { return ::gs::testing::Tmp(name); }

// An arm of `scales.size()` candidates "lr_scale<s>" with the given tuning seeds.
TunedArm Arm(const std::vector<double>& scales, std::vector<int64_t> seeds) {
  TunedArm arm;
  arm.name = "vit_classification/smoke/adamw-none";
  arm.task = "vit_classification";
  arm.preset = "smoke";
  arm.optimizer = "adamw";
  arm.smoothing = "none";
  arm.tuning_seeds = std::move(seeds);
  arm.evaluation_seeds = {0, 1};
  for (double s : scales) {
    Candidate c;
    std::ostringstream name;
    name << "lr_scale" << s;
    c.name = name.str();
    c.lr_scale = s;
    c.run.task = arm.task;
    arm.candidates.push_back(c);
  }
  return arm;
}

// A trial's run.json: `status`, and in final the selection metric val_accuracy = `val`
// (left out when NaN) and the test metric test_accuracy = `test`.
void Trial(const std::string& results, const TunedArm& arm, size_t candidate, int64_t seed,
           const std::string& status, double val, double test = 0.5,
           bool declare_selection = true) {
  const std::string dir = results + "/" + arm.Trial(candidate, seed).dir;
  fs::create_directories(dir);
  json final = {{"test_accuracy", test}};
  if (!std::isnan(val)) final["val_accuracy"] = val;
  json run = {{"task", arm.task},
              {"status", status},
              {"primary_metric", {{"name", "test_accuracy"}, {"goal", "max"}}},
              {"final", status == "completed" ? final : json::object()}};
  if (declare_selection) run["selection_metric"] = {{"name", "val_accuracy"}, {"goal", "max"}};
  std::ofstream(dir + "/run.json") << run.dump(2);
}

TEST(Tuning, BestCandidateIsGoalAwareAndTheEarliestWinsATie) {
  using V = std::vector<std::optional<double>>;
  EXPECT_EQ(BestCandidate(V{0.5, 0.7, 0.6}, "max"), 1);
  EXPECT_EQ(BestCandidate(V{0.5, 0.7, 0.6}, "min"), 0);
  EXPECT_EQ(BestCandidate(V{0.7, 0.5, 0.7}, "max"), 0);
  EXPECT_EQ(BestCandidate(V{std::nullopt, 0.4, 0.4, 0.3}, "min"), 3);
  EXPECT_EQ(BestCandidate(V{std::nullopt, 0.4, 0.4}, "min"), 1);
  EXPECT_EQ(BestCandidate(V{std::nullopt, std::nullopt}, "max"), -1);
  EXPECT_EQ(BestCandidate(V{}, "max"), -1);
}

TEST(Tuning, TheBestMeanValidationMetricWinsAndDivergedOrTestMetricsNeverDecide) {
  const std::string results = Dir("best_mean");
  const TunedArm arm = Arm({0.5, 1, 2, 4}, {100, 101});
  // lr_scale 0.5: val 0.80, 0.82 (mean 0.81), the best test accuracy of all (not read);
  // 1: 0.85, 0.83 (mean 0.84); 2: best on seed 100, diverged on 101; 4: diverged on 100.
  Trial(results, arm, 0, 100, "completed", 0.80, 0.99);
  Trial(results, arm, 0, 101, "completed", 0.82, 0.99);
  Trial(results, arm, 1, 100, "completed", 0.85);
  Trial(results, arm, 1, 101, "completed", 0.83);
  Trial(results, arm, 2, 100, "completed", 0.95);
  Trial(results, arm, 2, 101, "diverged", NAN);
  Trial(results, arm, 3, 100, "diverged", NAN);
  Trial(results, arm, 3, 101, "completed", 0.9);
  const ArmChoice choice = ChooseCandidate(arm, results);
  EXPECT_EQ(choice.state, ArmState::kChosen);
  EXPECT_EQ(choice.chosen, 1);
  EXPECT_EQ(choice.metric, "val_accuracy");
  EXPECT_EQ(choice.goal, "max");
  ASSERT_EQ(choice.candidates.size(), 4u);
  EXPECT_DOUBLE_EQ(*choice.candidates[0].value, (0.80 + 0.82) / 2);
  EXPECT_DOUBLE_EQ(*choice.candidates[1].value, (0.85 + 0.83) / 2);
  EXPECT_FALSE(choice.candidates[2].value);
  EXPECT_EQ(choice.candidates[2].excluded, "diverged (seed 101)");
  EXPECT_EQ(choice.candidates[3].excluded, "diverged (seed 100)");
  EXPECT_EQ(*choice.candidates[2].trials[0].value, 0.95);
  EXPECT_EQ(choice.candidates[2].trials[1].status, "diverged");

  const json j = TuningJson(arm, choice);
  EXPECT_EQ(j["state"], "chosen");
  EXPECT_EQ(j["chosen"]["name"], "lr_scale1");
  EXPECT_EQ(j["chosen"]["lr_scale"], 1.0);
  EXPECT_EQ(j["selection_metric"], (json{{"name", "val_accuracy"}, {"goal", "max"}}));
  EXPECT_EQ(j["rule"], kTuningRule);
  EXPECT_EQ(j["tuning_seeds"], (json{100, 101}));
  EXPECT_EQ(j["evaluation_runs"],
            (json{"tuned/vit_classification/smoke/adamw-none/lr_scale1/seed0",
                  "tuned/vit_classification/smoke/adamw-none/lr_scale1/seed1"}));
  EXPECT_EQ(j["candidates"][2]["excluded"], "diverged (seed 101)");
  EXPECT_TRUE(j["candidates"][2]["value"].is_null());
  EXPECT_EQ(j["candidates"][0]["trials"][1]["dir"],
            "tune/vit_classification/smoke/adamw-none/lr_scale0.5/seed101");
  EXPECT_THAT(
      ChoiceText(arm, choice),
      HasSubstr("adamw-none: chose lr_scale1 (val_accuracy 0.84, mean over 2 tuning seed(s)); "
                "2 evaluation runs"));
}

TEST(Tuning, EqualValuesGoToTheSmallerScaleAndMinGoalsAreMinimised) {
  const std::string results = Dir("ties");
  const TunedArm arm = Arm({0.25, 0.5, 1}, {100});
  Trial(results, arm, 0, 100, "completed", 0.7);
  Trial(results, arm, 1, 100, "completed", 0.9);
  Trial(results, arm, 2, 100, "completed", 0.9);
  EXPECT_EQ(ChooseCandidate(arm, results).chosen, 1);

  // A task without a selection metric: its primary metric, here a loss to minimise.
  const std::string loss = Dir("primary_fallback");
  for (size_t c = 0; c < 3; ++c) {
    const std::string dir = loss + "/" + arm.Trial(c, 100).dir;
    fs::create_directories(dir);
    std::ofstream(dir + "/run.json")
        << json{{"status", "completed"},
                {"primary_metric", {{"name", "val_loss"}, {"goal", "min"}}},
                {"final", {{"val_loss", 2.0 - 0.5 * (c == 1)}}}}
               .dump();
  }
  const ArmChoice choice = ChooseCandidate(arm, loss);
  EXPECT_EQ(choice.metric, "val_loss");
  EXPECT_EQ(choice.goal, "min");
  EXPECT_EQ(choice.chosen, 1);
}

TEST(Tuning, UnfinishedOrFailedTrialsMakeTheArmWait) {
  const std::string results = Dir("pending");
  const TunedArm arm = Arm({1, 2, 4}, {100});
  Trial(results, arm, 0, 100, "completed", 0.7);
  Trial(results, arm, 1, 100, "failed", NAN);
  ArmChoice choice = ChooseCandidate(arm, results);  // candidate 2 was never run
  EXPECT_EQ(choice.state, ArmState::kPending);
  EXPECT_EQ(choice.chosen, -1);
  EXPECT_EQ(choice.candidates[1].trials[0].status, "failed");
  EXPECT_EQ(choice.candidates[2].trials[0].status, "new");
  EXPECT_EQ(choice.candidates[2].excluded, "not finished (seed 100)");
  EXPECT_DOUBLE_EQ(*choice.candidates[0].value, 0.7);
  EXPECT_EQ(TuningJson(arm, choice)["state"], "pending");
  EXPECT_TRUE(TuningJson(arm, choice)["chosen"].is_null());
  EXPECT_TRUE(TuningJson(arm, choice)["evaluation_runs"].empty());
  EXPECT_THAT(ChoiceText(arm, choice), HasSubstr("waiting for 2 of 3 trials"));

  Trial(results, arm, 1, 100, "running", NAN);
  Trial(results, arm, 2, 100, "completed", 0.9);
  EXPECT_EQ(ChooseCandidate(arm, results).state, ArmState::kPending);
  Trial(results, arm, 1, 100, "completed", 0.8);
  choice = ChooseCandidate(arm, results);
  EXPECT_EQ(choice.state, ArmState::kChosen);
  EXPECT_EQ(choice.chosen, 2);
}

TEST(Tuning, AnArmWhoseEveryCandidateDivergedOrLacksTheMetricIsNotEvaluated) {
  const std::string results = Dir("none_eligible");
  const TunedArm arm = Arm({1, 1e13}, {100});
  Trial(results, arm, 0, 100, "completed", NAN);  // no val_accuracy in final
  Trial(results, arm, 1, 100, "diverged", NAN);
  const ArmChoice choice = ChooseCandidate(arm, results);
  EXPECT_EQ(choice.state, ArmState::kNoneEligible);
  EXPECT_EQ(choice.candidates[0].excluded, "no final val_accuracy (seed 100)");
  EXPECT_EQ(choice.candidates[1].excluded, "diverged (seed 100)");
  EXPECT_EQ(TuningJson(arm, choice)["state"], "none_eligible");
  EXPECT_THAT(ChoiceText(arm, choice), HasSubstr("this arm is not evaluated"));
}

TEST(Tuning, ATestMetricIsNeverChosenOnEvenWhenARunDeclaresNoSelectionMetric) {
  const std::string results = Dir("test_metric");
  const TunedArm arm = Arm({1, 2}, {100});
  // No selection_metric: the primary one, test_accuracy, would be the fallback.
  Trial(results, arm, 0, 100, "completed", 0.7, 0.9, /*declare_selection=*/false);
  Trial(results, arm, 1, 100, "completed", 0.6, 0.8, /*declare_selection=*/false);
  const ArmChoice choice = ChooseCandidate(arm, results);
  EXPECT_EQ(choice.state, ArmState::kNoneEligible);
  EXPECT_EQ(choice.metric, "");
  EXPECT_EQ(choice.candidates[0].excluded,
            "no selection metric (none declared, and the primary is a test metric) (seed 100)");
}

TEST(Tuning, TuningJsonIsWrittenOnceAndLeftAloneWhenUnchanged) {
  const std::string results = Dir("write");
  const TunedArm arm = Arm({1, 2}, {100});
  Trial(results, arm, 0, 100, "completed", 0.7);
  Trial(results, arm, 1, 100, "completed", 0.6);
  const ArmChoice choice = ChooseCandidate(arm, results);
  ASSERT_TRUE(WriteTuningJson(arm, choice, results).ok());
  const std::string path = results + "/tune/vit_classification/smoke/adamw-none/tuning.json";
  EXPECT_EQ(json::parse(ReadText(path)), TuningJson(arm, choice));
  struct stat before {
  }, after{};
  stat(path.c_str(), &before);
  ASSERT_TRUE(WriteTuningJson(arm, choice, results).ok());
  stat(path.c_str(), &after);
  EXPECT_EQ(before.st_mtim.tv_nsec, after.st_mtim.tv_nsec);
  EXPECT_EQ(before.st_ino, after.st_ino) << "rewritten although unchanged";
  // The arm's folder is made when no trial made it.
  const TunedArm fresh = Arm({1}, {100});
  ASSERT_TRUE(WriteTuningJson(fresh, ChooseCandidate(fresh, Dir("fresh")), Dir("fresh")).ok());
  EXPECT_TRUE(fs::exists(Dir("fresh") + "/tune/vit_classification/smoke/adamw-none/tuning.json"));
}

}  // namespace
}  // namespace gs::benchmarks
