// Writes run directories as the task binaries do (README.md: run.json,
// metrics.jsonl, depth.json), so the report's tests read the same files users have.
#ifndef GS_TESTS_REPORTS_RESULTS_TREE_H_
#define GS_TESTS_REPORTS_RESULTS_TREE_H_

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "nlohmann/json.hpp"

namespace gs::testing {

inline std::string TempDir(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR")) + "/" + name;
}

inline std::string ReadText(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void WriteText(const std::string& path, const std::string& text) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

struct FakeRun {
  std::string task = "vit_classification";
  std::string preset = "quick";
  std::string optimizer = "adamw";
  std::optional<double> alpha;  // smoothing off when unset
  std::string transform = "window";  // with alpha set: window (alpha) or ema (rho = alpha)
  int seed = 0;
  std::string status = "completed";
  std::string metric = "test_accuracy";
  std::string goal = "max";
  double value = 0.0;  // the final primary metric
  double lr = 0.004;
  std::optional<double> seconds_per_step;
  // depth.json with one chain "blocks": adjacent CKA `cka` between the 3 blocks,
  // cka[0][2] = cka * cka, and a mean increment cosine.
  std::optional<double> depth_cka;
  double increment_cosine = 0.1;
  // A selection metric (goal selection_goal) with its value at steps 200, 400, 600 on
  // the val split; none (the primary metric selects) when empty.
  std::string selection_metric;
  std::string selection_goal = "max";
  std::vector<double> selection_curve;
  double lr_scale = 1.0;
};

inline std::string Strength(const FakeRun& r) { return r.transform == "ema" ? "rho" : "alpha"; }

inline std::string Number(double x) {
  std::ostringstream a;
  a << x;
  return a.str();
}

// As the task binaries write them: "window-a0.1" and "window alpha=0.1".
inline std::string Tag(const FakeRun& r) {
  if (!r.alpha) return "none";
  return r.transform + "-" + (r.transform == "ema" ? "rho" : "a") + Number(*r.alpha);
}

inline std::string Label(const FakeRun& r) {
  return r.alpha ? r.transform + " " + Strength(r) + "=" + Number(*r.alpha) : "none";
}

inline void WriteRun(const std::string& dir, const FakeRun& r) {
  std::filesystem::create_directories(dir);
  nlohmann::json options = nlohmann::json::object();
  if (r.alpha) {
    options = {{Strength(r), *r.alpha}, {"variant", "standard"}, {"scope", "all"},
               {"target", "update"}, {"decay", "separate"}};
    if (r.transform == "window") options.update({{"radius", 1}, {"kernel", "box"}});
    if (r.transform == "ema") options["direction"] = "forward";
  }
  const nlohmann::json smoothing = {{"name", r.alpha ? r.transform : "none"},
                                    {"tag", Tag(r)},
                                    {"label", Label(r)},
                                    {"strength", r.alpha ? Strength(r) : ""},
                                    {"options", options}};
  nlohmann::json config = {{"optimizer", r.optimizer}, {"lr", r.lr},       {"seed", r.seed},
                           {"preset", r.preset},       {"steps", 600},     {"eval_every", 200},
                           {"checkpoint_every", 200},  {"threads", 1},     {"device", "cpu"},
                           {"data", ""},               {"weight_decay", 0.05}, {"warmup", 50},
                           {"clip", 1.0},              {"task", {{"width", 64}, {"depth", 3}}},
                           {"lr_scale", r.lr_scale}};
  config["smoothing"] = smoothing["name"];
  config["smoothing_options"] = options;
  config["optimizer_options"] = {{"beta1", 0.9}};
  nlohmann::json run = {{"task", r.task},
                        {"optimizer", {{"name", r.optimizer}, {"tag", r.optimizer}}},
                        {"smoothing", smoothing},
                        {"seed", r.seed},
                        {"preset", r.preset},
                        {"config", config},
                        {"status", r.status},
                        {"primary_metric", {{"name", r.metric}, {"goal", r.goal}}},
                        {"final", nlohmann::json::object()},
                        {"steps", 600},
                        {"wall_seconds", 12.5},
                        {"versions", {{"libtorch", "1.13.1"}}}};
  if (r.status == "completed") run["final"] = {{r.metric, r.value}, {"train_loss", 0.5}};
  if (!r.selection_metric.empty()) {
    run["selection_metric"] = {{"name", r.selection_metric}, {"goal", r.selection_goal}};
    if (r.status == "completed") run["final"][r.selection_metric] = r.selection_curve.back();
  }
  if (r.status == "diverged") run["diverged_at_step"] = 300;
  if (r.seconds_per_step) run["seconds_per_step"] = *r.seconds_per_step;
  WriteText(dir + "/run.json", run.dump(2) + "\n");

  // Training loss falls linearly to 0.5 + seed/100; the metric reaches `value` at 600.
  std::string metrics;
  for (int step = 100; step <= 600; step += 100) {
    metrics += nlohmann::json({{"step", step}, {"split", "train"},
                               {"train_loss", 2.0 - 1.5 * step / 600.0 + r.seed / 100.0},
                               {"lr", r.lr}, {"time_s", step * 0.4}})
                   .dump() +
               "\n";
    if (step % 200 == 0) {
      const std::string split = r.metric.rfind("val", 0) == 0 ? "val" : "test";
      metrics += nlohmann::json({{"step", step}, {"split", split},
                                 {r.metric, r.value * step / 600.0}, {"time_s", step * 0.4}})
                     .dump() +
                 "\n";
      if (!r.selection_metric.empty()) {
        metrics += nlohmann::json({{"step", step}, {"split", "val"},
                                   {r.selection_metric, r.selection_curve[step / 200 - 1]},
                                   {"time_s", step * 0.4}})
                       .dump() +
                   "\n";
      }
    }
  }
  WriteText(dir + "/metrics.jsonl", metrics);

  if (r.depth_cka) {
    const double c = *r.depth_cka;
    nlohmann::json chain = {{"blocks", 3},
                            {"samples", 64},
                            {"cka", {{1.0, c, c * c}, {c, 1.0, c}, {c * c, c, 1.0}}},
                            {"adjacent_cka", {c, c}},
                            {"mean_adjacent_cka", c},
                            {"increment_cosine", {r.increment_cosine, r.increment_cosine}},
                            {"mean_increment_cosine", r.increment_cosine}};
    nlohmann::json depth = {{"task", r.task},
                            {"records", {{{"step", 300}, {"chains", {{"blocks", chain}}}},
                                         {{"step", 600}, {"chains", {{"blocks", chain}}}}}}};
    // The earlier record differs, so reading the last one is what the tests see.
    depth["records"][0]["chains"]["blocks"]["mean_adjacent_cka"] = 0.5;
    WriteText(dir + "/depth.json", depth.dump() + "\n");
  }
}


// The tree most tests read; every expected number in the tests is derived from these
// values by hand.
//   vit_classification / quick (test_accuracy, max):
//     sgd none       seeds 0,1: 0.70, 0.74
//     sgd +GS        seeds 0,1: 0.75, 0.77; seed 2 diverged; seed 3 failed
//     adamw none     seeds 0,1,2: 0.80, 0.82, 0.84   (s/step 0.40, 0.42, 0.41; CKA 0.90, 0.92, 0.94)
//     adamw +GS      seeds 0,1,2: 0.83, 0.84, 0.88   (s/step 0.43, 0.44, 0.45; CKA 0.95, 0.96, 0.97)
//     adamw a0.1     seeds 0,1: 0.82, 0.83
//     adamw none lr=0.002  seeds 0,1: 0.78, 0.79
//     muon none      seed 0: 0.79
//     adamw none     seed 5: still running (not counted)
//   lm_pretrain / quick (val_loss, min):
//     adamw none     seeds 0,1,2: 1.50, 1.52, 1.55
//     adamw +GS      seeds 0,1,3: 1.45, 1.47, 1.46
//   plus: a broken run.json, a foreign folder, report/ and cache/ folders with junk.
inline void WriteExampleTree(const std::string& root) {
  int k = 0;
  auto add = [&](const std::string& sub, FakeRun r) {
    WriteRun(root + "/" + sub + "/run" + std::to_string(k++), r);
  };
  auto vit = [](const std::string& opt, std::optional<double> alpha, int seed, double value) {
    FakeRun r;
    r.optimizer = opt;
    r.alpha = alpha;
    r.seed = seed;
    r.value = value;
    if (opt == "sgd") r.lr = 0.2;
    if (opt == "muon") r.lr = 0.02;
    return r;
  };
  const double sgd_v[] = {0.70, 0.74}, sgd_gs[] = {0.75, 0.77};
  for (int s = 0; s < 2; ++s) add("vit/sgd", vit("sgd", std::nullopt, s, sgd_v[s]));
  for (int s = 0; s < 2; ++s) add("vit/sgd", vit("sgd", 0.2, s, sgd_gs[s]));
  FakeRun diverged = vit("sgd", 0.2, 2, 0.0);
  diverged.status = "diverged";
  add("vit/sgd", diverged);
  FakeRun failed = vit("sgd", 0.2, 3, 0.0);
  failed.status = "failed";
  add("vit/sgd", failed);
  const double none_v[] = {0.80, 0.82, 0.84}, gs_v[] = {0.83, 0.84, 0.88};
  const double none_t[] = {0.40, 0.42, 0.41}, gs_t[] = {0.43, 0.44, 0.45};
  const double none_c[] = {0.90, 0.92, 0.94}, gs_c[] = {0.95, 0.96, 0.97};
  for (int s = 0; s < 3; ++s) {
    FakeRun a = vit("adamw", std::nullopt, s, none_v[s]);
    a.seconds_per_step = none_t[s];
    a.depth_cka = none_c[s];
    add("vit/adamw", a);
    FakeRun b = vit("adamw", 0.2, s, gs_v[s]);
    b.seconds_per_step = gs_t[s];
    b.depth_cka = gs_c[s];
    b.increment_cosine = 0.3;
    add("vit/adamw", b);
  }
  add("vit/adamw_alpha", vit("adamw", 0.1, 0, 0.82));
  add("vit/adamw_alpha", vit("adamw", 0.1, 1, 0.83));
  FakeRun low_lr = vit("adamw", std::nullopt, 0, 0.78);
  low_lr.lr = 0.002;
  add("vit/adamw_lr", low_lr);
  low_lr.seed = 1;
  low_lr.value = 0.79;
  add("vit/adamw_lr", low_lr);
  add("vit/muon", vit("muon", std::nullopt, 0, 0.79));
  FakeRun running = vit("adamw", std::nullopt, 5, 0.0);
  running.status = "running";
  WriteRun(root + "/vit/running", running);

  auto lm = [](std::optional<double> alpha, int seed, double value) {
    FakeRun r;
    r.task = "lm_pretrain";
    r.metric = "val_loss";
    r.goal = "min";
    r.alpha = alpha;
    r.seed = seed;
    r.value = value;
    return r;
  };
  const double lm_none[] = {1.50, 1.52, 1.55}, lm_gs[] = {1.45, 1.47, 1.46};
  const int lm_gs_seeds[] = {0, 1, 3};
  for (int s = 0; s < 3; ++s) add("lm", lm(std::nullopt, s, lm_none[s]));
  for (int s = 0; s < 3; ++s) add("lm", lm(0.2, lm_gs_seeds[s], lm_gs[s]));

  WriteText(root + "/broken/run.json", "{\"task\": \"vit_classification\", ");
  WriteText(root + "/notes/readme.txt", "not a run\n");
  WriteText(root + "/report/run.json", "{junk");
  WriteText(root + "/cache/x/run.json", "{junk");
}

// A tuned arm's tuning.json as the suite writes it (benchmarks/tuning.h): candidates
// "lr_scale<s>" with their mean selection value (NaN: diverged), the chosen one's
// evaluation runs under tuned/.
struct FakeArm {
  std::string arm;  // "vit_classification/quick/adamw-none"
  std::string task = "vit_classification", preset = "quick", optimizer = "adamw";
  std::string smoothing = "none", baseline;
  std::string state = "chosen";
  std::vector<std::pair<double, double>> candidates;  // lr_scale, value
  int chosen = -1;
  std::vector<int> evaluation_seeds = {0, 1, 2};
};

inline std::string CandidateName(double lr_scale) { return "lr_scale" + Number(lr_scale); }

inline void WriteArm(const std::string& root, const FakeArm& a) {
  nlohmann::json candidates = nlohmann::json::array();
  for (const auto& [scale, value] : a.candidates) {
    const bool diverged = std::isnan(value);
    candidates.push_back(
        {{"name", CandidateName(scale)}, {"lr_scale", scale}, {"options", nlohmann::json::object()},
         {"value", diverged ? nlohmann::json() : nlohmann::json(value)},
         {"excluded", diverged ? "diverged (seed 100)" : ""},
         {"trials", {{{"seed", 100}, {"dir", "tune/" + a.arm + "/" + CandidateName(scale) + "/seed100"},
                      {"status", diverged ? "diverged" : "completed"},
                      {"value", diverged ? nlohmann::json() : nlohmann::json(value)}}}}});
  }
  nlohmann::json chosen, evaluation = nlohmann::json::array();
  if (a.chosen >= 0) {
    chosen = candidates[a.chosen];
    chosen.erase("trials");
    chosen.erase("excluded");
    for (int seed : a.evaluation_seeds) {
      evaluation.push_back("tuned/" + a.arm + "/" + chosen["name"].get<std::string>() + "/seed" +
                           std::to_string(seed));
    }
  }
  const nlohmann::json j = {{"arm", a.arm}, {"task", a.task}, {"preset", a.preset},
                            {"optimizer", a.optimizer}, {"smoothing", a.smoothing},
                            {"baseline", a.baseline}, {"swept", nlohmann::json::array()},
                            {"selection_metric", {{"name", "val_accuracy"}, {"goal", "max"}}},
                            {"rule", "..."}, {"tuning_seeds", {100}},
                            {"evaluation_seeds", a.evaluation_seeds}, {"state", a.state},
                            {"candidates", candidates}, {"chosen", chosen},
                            {"evaluation_runs", evaluation}};
  WriteText(root + "/tune/" + a.arm + "/tuning.json", j.dump(2) + "\n");
}

// A tuned grid's results, every expected number in the tests worked out from these:
//   vit_classification / quick, selection val_accuracy (max), reported test_accuracy:
//     adamw-none        candidates 0.5: 0.80, 1: 0.83, 2: 0.86 (chosen), 4: diverged
//                       evaluation seeds 0,1,2: test 0.80, 0.82, 0.84;
//                       val at steps 200/400/600: (0.70 0.80 0.84) (0.72 0.78 0.86) (0.68 0.82 0.85)
//     adamw-window-a0.2 candidates 0.5: 0.84, 1: 0.87 (chosen), 2: 0.85, 4: diverged
//                       test 0.83, 0.84, 0.88; val (0.75 0.85 0.88) (0.74 0.84 0.87) (0.80 0.86 0.86)
//     adamw-window-a0.4 candidates 1: 0.80 (chosen); test 0.70, 0.71, 0.72;
//                       val (0.60 0.70 0.80) (0.61 0.71 0.81) (0.62 0.72 0.82)
//     muon-none         every candidate diverged (none_eligible)
//   plus one untuned run (vit_classification/quick/adamw-none/seed0, test 0.81).
inline void WriteTunedTree(const std::string& root) {
  const double nan = std::nan("");
  WriteArm(root, {"vit_classification/quick/adamw-none", "vit_classification", "quick", "adamw",
                  "none", "", "chosen", {{0.5, 0.80}, {1, 0.83}, {2, 0.86}, {4, nan}}, 2});
  WriteArm(root, {"vit_classification/quick/adamw-window-a0.2", "vit_classification", "quick",
                  "adamw", "window", "vit_classification/quick/adamw-none", "chosen",
                  {{0.5, 0.84}, {1, 0.87}, {2, 0.85}, {4, nan}}, 1});
  WriteArm(root, {"vit_classification/quick/adamw-window-a0.4", "vit_classification", "quick",
                  "adamw", "window", "vit_classification/quick/adamw-none", "chosen", {{1, 0.80}}, 0});
  WriteArm(root, {"vit_classification/quick/muon-none", "vit_classification", "quick", "muon",
                  "none", "", "none_eligible", {{1, nan}, {2, nan}}, -1});
  struct Evaluation {
    std::string arm;
    std::optional<double> alpha;
    double lr_scale;
    double test[3];
    std::vector<double> val[3];
  };
  const std::vector<Evaluation> evaluations = {
      {"adamw-none", std::nullopt, 2, {0.80, 0.82, 0.84},
       {{0.70, 0.80, 0.84}, {0.72, 0.78, 0.86}, {0.68, 0.82, 0.85}}},
      {"adamw-window-a0.2", 0.2, 1, {0.83, 0.84, 0.88},
       {{0.75, 0.85, 0.88}, {0.74, 0.84, 0.87}, {0.80, 0.86, 0.86}}},
      {"adamw-window-a0.4", 0.4, 1, {0.70, 0.71, 0.72},
       {{0.60, 0.70, 0.80}, {0.61, 0.71, 0.81}, {0.62, 0.72, 0.82}}}};
  for (const Evaluation& e : evaluations) {
    for (int seed = 0; seed < 3; ++seed) {
      FakeRun r;
      r.alpha = e.alpha;
      r.seed = seed;
      r.value = e.test[seed];
      r.lr_scale = e.lr_scale;
      r.lr = 0.004 * e.lr_scale;
      r.selection_metric = "val_accuracy";
      r.selection_curve = e.val[seed];
      WriteRun(root + "/tuned/vit_classification/quick/" + e.arm + "/" + CandidateName(e.lr_scale) +
                   "/seed" + std::to_string(seed),
               r);
    }
  }
  FakeRun untuned;
  untuned.value = 0.81;
  WriteRun(root + "/vit_classification/quick/adamw-none/seed0", untuned);
  // A trial, as the suite leaves it: not a row of the untuned tables.
  FakeRun trial;
  trial.seed = 100;
  trial.value = 0.5;
  trial.lr_scale = 2;
  WriteRun(root + "/tune/vit_classification/quick/adamw-none/lr_scale2/seed100", trial);
}

}  // namespace gs::testing

#endif  // GS_TESTS_REPORTS_RESULTS_TREE_H_
