// Grid files: every shipped grid parses and expands to the runs its description promises
// (counts computed here by hand), directories are unique and named as the task binaries
// name their smoothing, and every mistake is an error naming the file, key and choices.
#include "benchmarks/grid.h"

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

TEST(Grid, EveryShippedGridParsesToTheRunsItPromises) {
  // tasks x presets x optimizers x smoothing settings x flag values x seeds, by hand.
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
    EXPECT_EQ(grid->runs.size(), count) << name;
    std::set<std::string> dirs;
    for (const RunSpec& run : grid->runs) dirs.insert(run.dir);
    EXPECT_EQ(dirs.size(), grid->runs.size()) << name << ": run directories are not unique";
  }
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
                 "smoothing, seeds, flags"}},
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
                {"experiments[0].flags.batch: unknown key; allowed: lr, steps, eval_every, "
                 "checkpoint_every, threads"}},
        BadGrid{Experiment(R"("flags": {"lr": [0.1, -0.1]})"),
                {"experiments[0].flags.lr[1]: expected a number > 0, got -0.1"}},
        BadGrid{Experiment(R"("flags": {"steps": "100"})"),
                {"experiments[0].flags.steps: expected an integer >= 1, got \"100\""}},
        BadGrid{Experiment(R"("flags": {"threads": 2000})"),
                {"experiments[0].flags.threads: expected an integer in [1, 1024], got 2000"}},
        BadGrid{Experiment(R"("flags": [1])"),
                {"experiments[0].flags: expected an object {...}, got [1]"}}));

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
