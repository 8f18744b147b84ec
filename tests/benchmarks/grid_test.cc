// Grid files: every shipped grid parses and expands to the runs its description promises
// (counts computed here by hand), directories are unique and named as the task binaries
// name their smoothing, tuned arms get equal trial budgets with the baseline's extra
// learning-rate points log-spaced over the same range, and every mistake is an error
// naming the file, key and choices.
#include "benchmarks/grid.h"

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "benchmarks/suite_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace gs::benchmarks {
namespace {

using ::testing::AllOf;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string Runfiles() { return std::getenv("TEST_SRCDIR"); }

// The suite's names, with the optimizers and transforms a task binary reports.
GridNames Names() {
  static const GridNames* names = [] {
    absl::StatusOr<GridNames> n = LoadGridNames(Runfiles());
    EXPECT_TRUE(n.ok()) << n.status();
    absl::Status s = LoadCatalog(TaskBinaryPath(Runfiles(), "lm_pretrain"), &*n);
    EXPECT_TRUE(s.ok()) << s;
    return new GridNames(*n);
  }();
  return *names;
}

absl::StatusOr<Grid> Load(const std::string& name) {
  absl::StatusOr<GridFile> file = ResolveGrid(name, Runfiles(), "/nonexistent");
  if (!file.ok()) return file.status();
  return LoadGrid(file->path, Names(), file->shown);
}

// Parses `text` written to a file in TEST_TMPDIR, as the suite reads a user's grid.
absl::StatusOr<Grid> FromFile(const std::string& text) {
  static int counter = 0;
  const std::string path =
      std::string(std::getenv("TEST_TMPDIR")) + "/grid" + std::to_string(counter++) + ".json";
  std::ofstream(path) << text;
  return LoadGrid(path, Names());
}

// One experiment with `change` spliced into its keys.
std::string Experiment(const std::string& change) {
  return R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
             "smoothing": [{"smoothing": "none"}], "seeds": [0])" +
         std::string(change.empty() ? "" : ", ") + change + "}]}";
}

TEST(Grid, NamesComeFromTheBuildFile) {
  const GridNames names = Names();
  EXPECT_THAT(names.tasks,
              ElementsAre("vit_classification", "lm_pretrain", "diffusion", "rl_reasoning"));
  EXPECT_THAT(names.optimizers, ElementsAre("sgd", "adamw", "muon"));
}

// Untuned runs, tuning trials and evaluation runs of a grid.
size_t AllRuns(const Grid& grid) {
  size_t n = grid.runs.size();
  for (const TunedArm& arm : grid.tuned) n += arm.Trials().size() + arm.evaluation_seeds.size();
  return n;
}

TEST(Grid, EveryShippedGridParsesToTheRunsItPromises) {
  // tasks x presets x optimizers x smoothing settings x flag values x seeds, by hand; a
  // tuned grid: arms x (candidates x tuning seeds + evaluation seeds).
  const std::map<std::string, size_t> expected = {
      {"smoke", 4 * 3 * 2 * 1 + 2},
      {"demo", 2 * (1 * 2 * 2)},
      {"quick", 4 * 3 * 2 * 5},
      {"paper", 4 * 3 * 2 * 3},
      {"ablation_alpha", 2 * 1 * 5 * 3},
      {"ablation_family", 2 * 1 * 8 * 3},
      {"ablation_window", 2 * 1 * (1 + 1 + 2 * 3) * 3},
      {"ablation_variant", 2 * 2 * 4 * 3},
      {"ablation_scope", 2 * 2 * 3 * 3},
      {"ablation_target", 2 * 3 * 3 * 3},
      {"lr_sweep", 4 * 3 * 2 * 3 * 2},
      {"tuned_quick", 4 * 2 * 2 * (5 * 1 + 5)},
      {"tuned_smoke", 1 * 1 * 2 * (4 * 1 + 2)},
  };
  std::vector<std::string> shipped = GridNamesInRunfiles(Runfiles());
  std::vector<std::string> promised;
  for (const auto& [name, count] : expected) promised.push_back(name);
  std::sort(promised.begin(), promised.end());
  EXPECT_EQ(shipped, promised);
  for (const auto& [name, count] : expected) {
    absl::StatusOr<Grid> grid = Load(name);
    ASSERT_TRUE(grid.ok()) << grid.status();
    EXPECT_EQ(grid->path, "benchmarks/grids/" + name + ".json");
    EXPECT_FALSE(grid->description.empty()) << name;
    EXPECT_EQ(AllRuns(*grid), count) << name;
    std::set<std::string> dirs;
    std::vector<RunSpec> runs = grid->runs;
    for (const TunedArm& arm : grid->tuned) {
      for (const RunSpec& trial : arm.Trials()) runs.push_back(trial);
      for (size_t c = 0; c < arm.candidates.size(); ++c) {
        for (int64_t seed : arm.evaluation_seeds) runs.push_back(arm.Evaluation(c, seed));
      }
    }
    for (const RunSpec& run : runs) {
      dirs.insert(run.dir);
      // Learning rates are multiples of the presets' own, never absolute.
      for (const auto& [flag, value] : run.overrides) EXPECT_NE(flag, "lr") << name << ": " << run.dir;
    }
    EXPECT_EQ(dirs.size(), runs.size()) << name << ": run directories are not unique";
  }
}

TEST(Grid, TunedQuickHasEveryArmWithFiveScalesAndFreshSeeds) {
  absl::StatusOr<Grid> grid = Load("tuned_quick");
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_TRUE(grid->runs.empty());
  ASSERT_EQ(grid->tuned.size(), 16u);
  std::set<std::string> names;
  for (const TunedArm& arm : grid->tuned) {
    names.insert(arm.name);
    EXPECT_EQ(arm.tuning_seeds, std::vector<int64_t>{100}) << arm.name;
    EXPECT_EQ(arm.evaluation_seeds, (std::vector<int64_t>{0, 1, 2, 3, 4})) << arm.name;
    ASSERT_EQ(arm.candidates.size(), 5u) << arm.name;
    const double scales[] = {0.25, 0.5, 1, 2, 4};
    for (size_t c = 0; c < 5; ++c) EXPECT_EQ(arm.candidates[c].lr_scale, scales[c]) << arm.name;
    EXPECT_EQ(arm.baseline, arm.smoothing == "none" ? "" : arm.task + "/quick/" + arm.optimizer + "-none");
  }
  for (const char* task : {"vit_classification", "lm_pretrain", "diffusion", "rl_reasoning"}) {
    for (const char* optimizer : {"adamw", "muon"}) {
      for (const char* tag : {"none", "window-a0.2"}) {
        EXPECT_EQ(names.count(std::string(task) + "/quick/" + optimizer + "-" + tag), 1u)
            << task << " " << optimizer << " " << tag;
      }
    }
  }
  EXPECT_EQ(grid->tuned[1].Trial(3, 100).dir,
            "tune/vit_classification/quick/adamw-window-a0.2/lr_scale2/seed100");
  EXPECT_EQ(grid->tuned[1].Evaluation(3, 4).dir,
            "tuned/vit_classification/quick/adamw-window-a0.2/lr_scale2/seed4");
  EXPECT_THAT(grid->tuned[1].Trial(0, 100).TaskArgs(),
              ElementsAre("--preset=quick", "--optimizer=adamw", "--smoothing=window",
                          "--smoothing_options=alpha=0.2", "--seed=100", "--lr_scale=0.25"));
}

TEST(Grid, ASweptStrengthGivesTheBaselineAsManyLogSpacedLearningRates) {
  absl::StatusOr<Grid> grid = Load("tuned_smoke");
  ASSERT_TRUE(grid.ok()) << grid.status();
  ASSERT_EQ(grid->tuned.size(), 2u);
  const TunedArm& base = grid->tuned[0];
  const TunedArm& smoothed = grid->tuned[1];
  EXPECT_EQ(base.name, "lm_pretrain/smoke/sgd-none-steps20");
  EXPECT_EQ(smoothed.name, "lm_pretrain/smoke/sgd-window-steps20") << "named without alpha";
  EXPECT_EQ(smoothed.baseline, base.name);
  EXPECT_EQ(smoothed.swept, std::vector<std::string>{"alpha"});
  // 2 alphas x 2 scales for the smoothed arm, in tie order: lr_scale, then alpha.
  std::vector<std::string> names;
  for (const Candidate& c : smoothed.candidates) names.push_back(c.name);
  EXPECT_THAT(names, ElementsAre("a0.1-lr_scale1", "a0.4-lr_scale1", "a0.1-lr_scale1e+13",
                                 "a0.4-lr_scale1e+13"));
  EXPECT_THAT(smoothed.Trial(1, 100).TaskArgs(),
              ElementsAre("--preset=smoke", "--optimizer=sgd", "--smoothing=window",
                          "--smoothing_options=alpha=0.4", "--seed=100", "--lr_scale=1",
                          "--steps=20"));
  // The baseline: the same 4 trials, 1 to 1e13 in equal ratios (10^(13 i / 3)), the
  // inner points to 4 digits.
  ASSERT_EQ(base.candidates.size(), smoothed.candidates.size());
  for (size_t i = 0; i < 4; ++i) {
    const double exact = std::pow(10.0, 13.0 * i / 3);
    EXPECT_NEAR(base.candidates[i].lr_scale, exact, exact * 5e-4) << i;
    EXPECT_TRUE(base.candidates[i].options.empty());
  }
  EXPECT_EQ(base.candidates[1].lr_scale, 2.154e4);
  EXPECT_EQ(base.candidates[2].lr_scale, 4.642e8);
  EXPECT_EQ(base.candidates[3].lr_scale, 1e13);
  EXPECT_EQ(base.candidates[1].name, "lr_scale21540");
  EXPECT_THAT(base.Trial(2, 100).TaskArgs(),
              ElementsAre("--preset=smoke", "--optimizer=sgd", "--smoothing=none", "--seed=100",
                          "--lr_scale=4.642e+08", "--steps=20"));
  EXPECT_EQ(base.Trials().size(), 4u);
  EXPECT_EQ(base.TuningJsonPath(), "tune/lm_pretrain/smoke/sgd-none-steps20/tuning.json");
}

TEST(Grid, TunedArmsOfTwoExperimentsAndTheirFlags) {
  absl::StatusOr<Grid> grid = FromFile(R"({"experiments": [
      {"tasks": "lm_pretrain", "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "window", "smoothing_alpha": 0.1, "window_radius": 2}],
       "seeds": [0, 1], "flags": {"lr": 0.01, "steps": [10, 20]},
       "tune": {"lr_scale": [2, 0.5], "seeds": [7, 8]}},
      {"tasks": "lm_pretrain", "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}], "seeds": [0], "flags": {"lr_scale": 0.5}}]})");
  ASSERT_TRUE(grid.ok()) << grid.status();
  ASSERT_EQ(grid->runs.size(), 1u);
  EXPECT_EQ(grid->runs[0].dir, "lm_pretrain/smoke/adamw-none-lr_scale0.5/seed0");
  EXPECT_THAT(grid->runs[0].TaskArgs(), Contains("--lr_scale=0.5"));
  ASSERT_EQ(grid->tuned.size(), 2u);
  const TunedArm& arm = grid->tuned[1];
  EXPECT_EQ(arm.name, "lm_pretrain/smoke/adamw-window-a0.1-r2-lr0.01-steps20");
  EXPECT_EQ(arm.baseline, "") << "no baseline entry in the experiment";
  ASSERT_EQ(arm.candidates.size(), 2u);
  EXPECT_EQ(arm.candidates[0].name, "lr_scale0.5") << "ordered by lr_scale";
  EXPECT_THAT(arm.Trial(1, 8).TaskArgs(),
              ElementsAre("--preset=smoke", "--optimizer=adamw", "--smoothing=window",
                          "--smoothing_options=alpha=0.1,radius=2", "--seed=8", "--lr=0.01",
                          "--lr_scale=2", "--steps=20"));
  // Seeds slowest.
  std::vector<std::string> trials;
  for (const RunSpec& t : arm.Trials()) trials.push_back(t.dir.substr(t.dir.rfind('/', t.dir.size() - 7) + 1));
  EXPECT_THAT(trials, ElementsAre("lr_scale0.5/seed7", "lr_scale2/seed7", "lr_scale0.5/seed8",
                                  "lr_scale2/seed8"));
}

TEST(Grid, QuickRunsAreTheFullCrossProduct) {
  absl::StatusOr<Grid> grid = Load("quick");
  ASSERT_TRUE(grid.ok()) << grid.status();
  std::set<std::string> dirs;
  for (const RunSpec& run : grid->runs) dirs.insert(run.dir);
  for (const char* task : {"vit_classification", "lm_pretrain", "diffusion", "rl_reasoning"}) {
    for (const char* optimizer : {"sgd", "adamw", "muon"}) {
      for (const char* tag : {"none", "window-a0.2"}) {
        for (int seed = 0; seed < 5; ++seed) {
          const std::string dir = std::string(task) + "/quick/" + optimizer + "-" + tag +
                                  "/seed" + std::to_string(seed);
          EXPECT_EQ(dirs.count(dir), 1) << dir;
        }
      }
    }
  }
  // Seeds vary slowest: the first 24 runs are every configuration at seed 0.
  for (size_t i = 0; i < grid->runs.size(); ++i) EXPECT_EQ(grid->runs[i].seed, i / 24);
}

TEST(Grid, RunFlagsDirectoryAndTags) {
  absl::StatusOr<Grid> grid = FromFile(R"({"experiments": [{
      "tasks": "lm_pretrain", "preset": ["smoke", "quick"], "optimizers": "muon",
      "smoothing": {"smoothing": "window", "smoothing_alpha": 0.05, "window_radius": 2,
                    "smoothing_kernel": "triangle", "smoothing_variant": "norm",
                    "smoothing_scope": "matrices", "smoothing_target": "gradient"},
      "seeds": 7, "flags": {"threads": 2, "lr": [0.001, 0.0025], "steps": 100}}]})");
  ASSERT_TRUE(grid.ok()) << grid.status();
  ASSERT_EQ(grid->runs.size(), 4);
  const RunSpec& run = grid->runs[1];
  EXPECT_EQ(run.dir,
            "lm_pretrain/smoke/muon-window-a0.05-r2-triangle-norm-matrices-gradient-"
            "lr0.0025-steps100-threads2/seed7");
  EXPECT_THAT(run.TaskArgs(),
              ElementsAre("--preset=smoke", "--optimizer=muon", "--smoothing=window",
                          "--smoothing_options=alpha=0.05,kernel=triangle,radius=2,"
                          "scope=matrices,target=gradient,variant=norm",
                          "--seed=7", "--lr=0.0025", "--steps=100", "--threads=2"));
  EXPECT_EQ(grid->runs[2].dir,
            "lm_pretrain/quick/muon-window-a0.05-r2-triangle-norm-matrices-gradient-"
            "lr0.001-steps100-threads2/seed7");
  // Defaults fill an entry as the task binaries' flags do: the tag names the strength
  // and the options off their defaults, for any registered transform.
  absl::StatusOr<Grid> family = FromFile(R"({"experiments": [{
      "tasks": "lm_pretrain", "preset": "smoke", "optimizers": "adamw",
      "smoothing": [{"smoothing": "window"}, {"smoothing": "laplacian", "alpha": 0.1},
                    {"smoothing": "ema", "rho": 0.3, "direction": "backward", "decay": "smoothed"}],
      "seeds": 0}]})");
  ASSERT_TRUE(family.ok()) << family.status();
  ASSERT_EQ(family->runs.size(), 3);
  EXPECT_EQ(family->runs[0].dir, "lm_pretrain/smoke/adamw-window-a0.2/seed0");
  EXPECT_EQ(family->runs[1].dir, "lm_pretrain/smoke/adamw-laplacian-a0.1/seed0");
  EXPECT_EQ(family->runs[2].dir, "lm_pretrain/smoke/adamw-ema-rho0.3-backward-smoothed/seed0");
  EXPECT_THAT(family->runs[2].TaskArgs(),
              ElementsAre("--preset=smoke", "--optimizer=adamw", "--smoothing=ema",
                          "--smoothing_options=decay=smoothed,direction=backward,rho=0.3",
                          "--seed=0"));
  EXPECT_EQ(Smoothing().Tag(), "none");
}

TEST(Grid, TheSameRunTwiceIsKeptOnce) {
  absl::StatusOr<Grid> grid = FromFile(R"({"experiments": [
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}, {"smoothing": "window", "smoothing_alpha": 0.1}],
       "seeds": [0, 1]},
      {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
       "smoothing": [{"smoothing": "none"}, {"smoothing": "window", "smoothing_alpha": 0.4}],
       "seeds": [0, 1, 0]}]})");
  ASSERT_TRUE(grid.ok()) << grid.status();
  EXPECT_EQ(grid->runs.size(), 6);
}

TEST(Grid, TwoRunsInOneDirectoryAreAnError) {
  absl::StatusOr<Grid> grid = FromFile(Experiment(
      R"("flags": {"lr": [0.002, 0.0020000001]})"));
  ASSERT_FALSE(grid.ok());
  EXPECT_THAT(grid.status().message(),
              AllOf(HasSubstr("experiments[0]"), HasSubstr("--lr=0.002 "),
                    HasSubstr("--lr=0.0020000001"), HasSubstr("lr0.002/seed0")));
}

struct BadGrid {
  std::string text;
  std::vector<std::string> message;  // parts the error must contain
};

class BadGrids : public ::testing::TestWithParam<BadGrid> {};

TEST_P(BadGrids, AreErrorsNamingFileKeyAndChoices) {
  absl::StatusOr<Grid> grid = FromFile(GetParam().text);
  ASSERT_FALSE(grid.ok());
  EXPECT_EQ(grid.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(grid.status().message()), HasSubstr(std::getenv("TEST_TMPDIR")));
  for (const std::string& part : GetParam().message) {
    EXPECT_THAT(std::string(grid.status().message()), HasSubstr(part));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Grid, BadGrids,
    ::testing::Values(
        BadGrid{"{\"experiments\": [", {"not valid JSON"}},
        BadGrid{"[]", {"expected an object"}},
        BadGrid{R"({"experiments": []})", {"experiments: expected a non-empty list"}},
        BadGrid{R"({"experiments": [{}], "author": "x"})",
                {"author: unknown key; allowed: description, experiments"}},
        BadGrid{R"({"description": 3, "experiments": [{}]})", {"description: expected a string"}},
        BadGrid{Experiment(R"("optimizer": "sgd")"),
                {"experiments[0].optimizer: unknown key; allowed: tasks, preset, optimizers, "
                 "smoothing, seeds, flags, tune"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"]}]})",
                {"experiments[0]: missing key 'preset'"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain", "image_gen"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"}], "seeds": [0]}]})",
                {"experiments[0].tasks[1]: unknown task 'image_gen'; allowed: vit_classification "
                 "| lm_pretrain | diffusion | rl_reasoning"}},
        BadGrid{R"({"experiments": [{"tasks": [], "preset": "smoke"}]})",
                {"experiments[0].tasks: an empty list"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "huge"}]})",
                {"experiments[0].preset: unknown preset 'huge'; allowed: smoke | quick | paper"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw", "lion"]}]})",
                {"experiments[0].optimizers[1]: unknown optimizer 'lion'; allowed: sgd | adamw | muon"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": [7]}]})",
                {"experiments[0].optimizers[0]: expected a string (optimizer: sgd | adamw | "
                 "muon), got 7"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"}], "seeds": ["0"]}]})",
                {"experiments[0].seeds[0]: expected an integer >= 0, got \"0\""}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"}], "seeds": [-1]}]})",
                {"experiments[0].seeds[0]: expected an integer >= 0, got -1"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"},
                   {"smoothing": "window", "smoothing_alpha": 1.5}]}]})",
                {"experiments[0].smoothing[1].smoothing_alpha: window option alpha=1.5 is not "
                 "allowed; use a number in [0, 1]"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "window",
                   "window_radius": 1.5}]}]})",
                {"experiments[0].smoothing[0].window_radius: window option radius=1.5 is not "
                 "allowed; use an integer >= 1"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "window",
                   "smoothing_kernel": "cosine"}]}]})",
                {"experiments[0].smoothing[0].smoothing_kernel: window option kernel=cosine is "
                 "not allowed; use one of box | triangle | gaussian"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "window",
                   "rho": 0.1}]}]})",
                {"experiments[0].smoothing[0].rho: smoothing 'window' has no option 'rho'; its "
                 "options: alpha, radius, kernel, variant, scope, target, decay"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "ema",
                   "rho": 1.5}]}]})",
                {"experiments[0].smoothing[0].rho: ema option rho=1.5 is not allowed; use a "
                 "number in [0, 1)"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing_alpha": 0.1}]}]})",
                {"experiments[0].smoothing[0]: missing key 'smoothing' (none | ema | identity | "
                 "laplacian | window)"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none",
                   "smoothing_alpha": 0.1}]}]})",
                {"experiments[0].smoothing[0]: smoothing 'none' takes no other smoothing keys"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": ["window"]}]})",
                {"experiments[0].smoothing[0]: expected an object {\"smoothing\": ...}, got "
                 "\"window\""}},
        BadGrid{Experiment(R"("flags": {"batch": 8})"),
                {"experiments[0].flags.batch: unknown key; allowed: lr, lr_scale, steps, "
                 "eval_every, checkpoint_every, threads"}},
        BadGrid{Experiment(R"("flags": {"lr": [0.1, -0.1]})"),
                {"experiments[0].flags.lr[1]: expected a number > 0, got -0.1"}},
        BadGrid{Experiment(R"("flags": {"steps": "100"})"),
                {"experiments[0].flags.steps: expected an integer >= 1, got \"100\""}},
        BadGrid{Experiment(R"("flags": {"threads": 2000})"),
                {"experiments[0].flags.threads: expected an integer in [1, 1024], got 2000"}},
        BadGrid{Experiment(R"("flags": [1])"),
                {"experiments[0].flags: expected an object {...}, got [1]"}},
        BadGrid{Experiment(R"("flags": {"lr_scale": 0})"),
                {"experiments[0].flags.lr_scale: expected a number > 0, got 0"}},
        BadGrid{Experiment(R"("tune": [1])"),
                {"experiments[0].tune: expected an object {\"lr_scale\": [...], \"seeds\": [...]}"}},
        BadGrid{Experiment(R"("tune": {"seeds": [1]})"),
                {"experiments[0].tune: missing key 'lr_scale'"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1, 2]})"),
                {"experiments[0].tune: missing key 'seeds'"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [], "seeds": [1]})"),
                {"experiments[0].tune.lr_scale: an empty list"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1, -2], "seeds": [1]})"),
                {"experiments[0].tune.lr_scale[1]: expected a number > 0, got -2"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1, 1.0], "seeds": [1]})"),
                {"experiments[0].tune.lr_scale[1]: lr_scale 1.0 is given twice"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1], "seeds": [3, 0]})"),
                {"experiments[0].tune.seeds[1]: seed 0 is also an evaluation seed "
                 "(experiments[0].seeds); tuning seeds must be fresh"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1], "seeds": [3, 3]})"),
                {"experiments[0].tune.seeds[1]: seed 3 is given twice"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1], "seeds": [3], "smoothing_alpha": [0.1]})"),
                {"experiments[0].tune.smoothing_alpha: no smoothed entry in experiments[0].smoothing"}},
        BadGrid{Experiment(R"("tune": {"lr_scale": [1], "seeds": [3]}, "flags": {"lr_scale": 2})"),
                {"experiments[0].flags.lr_scale: this experiment tunes lr_scale"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"},
                   {"smoothing": "ema"}], "seeds": [0],
                   "tune": {"lr_scale": [1], "seeds": [3], "alpha": [0.1]}}]})",
                {"experiments[0].tune.alpha: smoothing 'ema' (experiments[0].smoothing[1]) has "
                 "no option 'alpha'"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "window",
                   "smoothing_alpha": 0.2}], "seeds": [0],
                   "tune": {"lr_scale": [1], "seeds": [3], "smoothing_alpha": [0.1]}}]})",
                {"experiments[0].smoothing[0]: option 'alpha' is swept by "
                 "experiments[0].tune.smoothing_alpha; leave it out of the entry"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "window"}], "seeds": [0],
                   "tune": {"lr_scale": [1], "seeds": [3], "smoothing_alpha": [0.1, 1.5]}}]})",
                {"experiments[0].tune.smoothing_alpha[1]: window option alpha=1.5 is not allowed"}},
        BadGrid{R"({"experiments": [{"tasks": ["lm_pretrain"], "preset": "smoke",
                   "optimizers": ["adamw"], "smoothing": [{"smoothing": "none"},
                   {"smoothing": "window"}], "seeds": [0],
                   "tune": {"lr_scale": [1], "seeds": [3], "smoothing_alpha": [0.1, 0.2]}}]})",
                {"experiments[0].tune.lr_scale: give two or more values: the smoothed arms try 2 "
                 "settings at each"}},
        BadGrid{R"({"experiments": [
                   {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
                    "smoothing": [{"smoothing": "none"}], "seeds": [0],
                    "tune": {"lr_scale": [1, 2], "seeds": [3]}},
                   {"tasks": ["lm_pretrain"], "preset": "smoke", "optimizers": ["adamw"],
                    "smoothing": [{"smoothing": "none"}], "seeds": [0],
                    "tune": {"lr_scale": [1, 4], "seeds": [3]}}]})",
                {"experiments[1]: the tuned arm lm_pretrain/smoke/adamw-none is also made by "
                 "experiments[0] with other candidates or seeds"}}));

TEST(Grid, NamesAndPaths) {
  EXPECT_THAT(ResolveGrid("nope", Runfiles(), "/w").status().message(),
              AllOf(HasSubstr("--grid=nope: no such grid; known: ablation_alpha"),
                    HasSubstr("quick"), HasSubstr("smoke")));
  EXPECT_THAT(ResolveGrid("", Runfiles(), "/w").status().message(),
              HasSubstr("--grid is required"));
  absl::StatusOr<GridFile> file = ResolveGrid("mine/g.json", Runfiles(), "/w");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->path, "/w/mine/g.json");
  file = ResolveGrid("g.json", Runfiles(), "/w");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->path, "/w/g.json");
  file = ResolveGrid("/abs/g", Runfiles(), "/w");
  ASSERT_TRUE(file.ok());
  EXPECT_EQ(file->path, "/abs/g");
  EXPECT_EQ(LoadGrid("/w/missing.json", Names()).status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace gs::benchmarks
