#include "tasks/harness/trainer.h"

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>

#include <torch/torch.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "optimizers/catalog.h"
#include "optimizers/optimizer.h"
#include "optimizers/torch_module.h"
#include "tasks/harness/blas.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/checkpoint.h"
#include "tasks/harness/run_dir.h"
#include "tasks/harness/weight_ema.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr double kPi = 3.14159265358979323846;

int Fail(int code, const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return code;
}

int ExitCodeFor(const absl::Status& s) {
  return s.code() == absl::StatusCode::kInvalidArgument || s.code() == absl::StatusCode::kNotFound
             ? kExitBadInput
             : kExitFailed;
}

std::string Duration(double seconds) {
  const int64_t s = static_cast<int64_t>(seconds);
  return s >= 3600 ? absl::StrFormat("%dh%02dm", s / 3600, (s / 60) % 60)
                   : absl::StrFormat("%dm%02ds", s / 60, s % 60);
}

// depth.json: {"task", "records": [{"step", "chains": {name: AnalyzeChain(...)}}]},
// rewritten atomically after each record. Checkpoints carry the records up to their step,
// so a resumed run continues from those whatever became of the file.
class DepthLog {
 public:
  DepthLog(std::string path, std::string task) : path_(std::move(path)), task_(std::move(task)) {}

  // The records of the file up to `step`, for a checkpoint that does not carry them.
  absl::Status LoadUpTo(int64_t step) {
    records_ = nlohmann::json::array();
    absl::StatusOr<std::string> text = ReadFile(path_);
    if (!text.ok()) return absl::OkStatus();
    const nlohmann::json old = nlohmann::json::parse(*text, nullptr, false);
    if (!old.is_object() || !old.contains("records") || !old["records"].is_array()) {
      return absl::InvalidArgumentError(absl::StrCat(path_, " is not a depth.json of this suite"));
    }
    for (const nlohmann::json& record : old["records"]) {
      if (record.is_object() && record.value("step", int64_t{0}) <= step) records_.push_back(record);
    }
    return absl::OkStatus();
  }

  // The records as a checkpoint keeps them, and back.
  std::string Text() const { return records_.dump(); }
  absl::Status Parse(const std::string& text) {
    records_ = nlohmann::json::parse(text, nullptr, false);
    if (records_.is_array()) return absl::OkStatus();
    records_ = nlohmann::json::array();
    return absl::InvalidArgumentError("the checkpoint's depth records do not parse");
  }

  absl::Status Add(int64_t step, const std::map<std::string, ChainTrace>& traces) {
    nlohmann::json chains = nlohmann::json::object();
    for (const auto& [name, trace] : traces) chains[name] = AnalyzeChain(trace);
    records_.push_back({{"step", step}, {"chains", chains}});
    return WriteFileAtomic(path_, nlohmann::json{{"task", task_}, {"records", records_}}.dump() + "\n");
  }

 private:
  std::string path_, task_;
  nlohmann::json records_ = nlohmann::json::array();
};

// Task::EvaluateAveraged under the averaged weights, merged into `evaluation`.
void AddAveragedWeightsMetrics(Task& task, WeightEma& ema, bool final,
                               std::map<std::string, nlohmann::json>& evaluation) {
  std::map<std::string, nlohmann::json> averaged;
  {
    WeightEma::Swapped swapped(ema);
    averaged = task.EvaluateAveraged(final);
  }
  for (auto& [split, values] : averaged) {
    nlohmann::json& merged = evaluation[split];
    if (merged.is_null()) merged = nlohmann::json::object();
    for (auto& [name, value] : values.items()) {
      TORCH_CHECK(!merged.contains(name), task.name(), ": EvaluateAveraged repeats the metric ", name);
      merged[name] = value;
    }
  }
}

// The first line of `text` that is not a JSON object with a step (1-based), or 0.
size_t FirstBadLine(const std::string& text) {
  size_t number = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++number;
    if (line.empty() && number > 1) continue;
    const nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step")) return number;
  }
  return 0;
}

// The 1-based line at which `text` stops matching `prefix`.
size_t FirstDifferingLine(const std::string& text, const std::string& prefix) {
  const auto [a, b] = std::mismatch(prefix.begin(), prefix.end(), text.begin(), text.end());
  return 1 + static_cast<size_t>(std::count(prefix.begin(), a, '\n'));
}

// What a checkpoint holds besides the model and optimizer, read before any of it is
// applied.
struct Restored {
  torch::serialize::InputArchive model, optimizer, weight_ema;
  at::Tensor rng;
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  std::map<std::string, double> stat_sums;
  std::optional<std::string> metrics, depth;  // absent in checkpoints before they were kept
};

class Run {
 public:
  Run(Task& task, RunConfig config) : task_(task), config_(std::move(config)) {}

  // Train() with every exception turned into a one-line error, recorded in run.json.
  int Main();

 private:
  int Train();
  absl::Status WriteRunJson() { return WriteFileAtomic(run_json_path_, run_.dump(2) + "\n"); }
  // Writes run.json with `status`, the wall time and the step and memory figures.
  absl::Status Record(const std::string& status);
  int Finish(const std::string& status, int code);
  // Prints "error: <message>" on one line, records status failed and the message in
  // run.json when this run has written one (and says so on the same line when that write
  // fails too), and returns the contract's exit code 1.
  int FailRun(const std::string& message);
  // "<kind>: <text>" on a line of its own, after an unfinished progress line.
  void Say(const char* kind, const std::string& text);
  // Warns about lines of metrics.jsonl that a resume replaces: torn or corrupt ones, or,
  // from a checkpoint, lines that differ from the checkpoint's copy.
  void CheckMetricsFile(const MetricsLog& metrics, int64_t start, bool from_checkpoint);

  Task& task_;
  RunConfig config_;
  nlohmann::json run_;
  std::string run_json_path_;
  bool run_json_ours_ = false;  // run_ has been written to run_json_path_ by this process
  std::string phase_ = "starting";  // what the run is doing, for errors
  bool progress_open_ = false;      // a progress line without its line break
  Clock::time_point start_ = Clock::now();
  double step_seconds_ = 0.0;
  int64_t timed_steps_ = 0;
};

void Run::Say(const char* kind, const std::string& text) {
  std::fprintf(stderr, "%s%s: %s\n", progress_open_ ? "\n" : "", kind, text.c_str());
  progress_open_ = false;
}

absl::Status Run::Record(const std::string& status) {
  run_["status"] = status;
  run_["wall_seconds"] = std::chrono::duration<double>(Clock::now() - start_).count();
  // Forward, backward and optimizer step only (no evaluation or checkpoints), over the
  // steps this process ran.
  if (timed_steps_ > 0) run_["seconds_per_step"] = step_seconds_ / timed_steps_;
  // Peak resident memory of this process (Linux reports kilobytes).
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) run_["peak_resident_bytes"] = int64_t{usage.ru_maxrss} * 1024;
  return WriteRunJson();
}

int Run::Finish(const std::string& status, int code) {
  if (absl::Status s = Record(status); !s.ok()) return FailRun(std::string(s.message()));
  return code;
}

int Run::FailRun(const std::string& message) {
  std::string line = message;
  if (run_json_ours_) {
    run_["error"] = message;
    if (absl::Status s = Record("failed"); !s.ok()) {
      absl::StrAppend(&line, "; run.json could not record the failure: ", s.message());
    }
  }
  Say("error", line);
  return kExitFailed;
}

int Run::Main() {
  try {
    return Train();
  } catch (const c10::Error& e) {
    if (config_.verbose) Say("error", e.what());
    return FailRun(absl::StrCat(phase_, ": ", OneLine(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    return FailRun(absl::StrCat(phase_, ": ", ExceptionCause(e)));
  }
}

void Run::CheckMetricsFile(const MetricsLog& metrics, int64_t start, bool from_checkpoint) {
  absl::StatusOr<std::string> text = ReadFile(metrics.path());
  if (!text.ok()) return;
  const std::string then =
      from_checkpoint ? absl::StrCat("its lines up to step ", start, " come from the checkpoint")
                      : "the run starts again without them";
  if (const size_t bad = FirstBadLine(*text); bad > 0) {
    Say("warning", absl::StrCat(metrics.path(), ": line ", bad, " is torn or corrupt; ", then));
  } else if (from_checkpoint && !absl::StartsWith(*text, metrics.Text())) {
    Say("warning", absl::StrCat(metrics.path(), " differs from the checkpoint's copy at line ",
                                FirstDifferingLine(*text, metrics.Text()), "; ", then));
  }
}

int Run::Train() {
  SetThreads(config_.threads);
  if (config_.device != "cpu" && !torch::cuda::is_available()) {
    return Fail(kExitBadInput, "--device=cuda: no CUDA device is available to this LibTorch");
  }
  torch::manual_seed(static_cast<uint64_t>(config_.seed));
  phase_ = absl::StrCat("setting up ", task_.name());
  if (absl::Status s = task_.Setup(config_); !s.ok()) {
    return Fail(ExitCodeFor(s), std::string(s.message()));
  }
  const Schedule& schedule = task_.schedule();
  const int64_t steps = config_.steps.value_or(schedule.steps);
  const int64_t eval_every = config_.eval_every.value_or(schedule.eval_every);
  const int64_t checkpoint_every = config_.checkpoint_every.value_or(schedule.checkpoint_every);
  double lr;
  if (config_.lr) {
    lr = *config_.lr * config_.lr_scale;
  } else if (auto it = schedule.lr.find(config_.optimizer); it != schedule.lr.end()) {
    lr = it->second * config_.lr_scale;
  } else {
    return Fail(kExitBadInput, absl::StrCat("preset '", config_.preset,
                                            "' has no learning rate for optimizer '",
                                            config_.optimizer, "': pass --lr"));
  }

  const auto decay = schedule.weight_decay.find(config_.optimizer);
  const double weight_decay = config_.optimizer_options.count("weight_decay")
                                  ? config_.optimizer_values.Number("weight_decay")
                              : decay == schedule.weight_decay.end() ? 0.0
                                                                     : decay->second;
  // The optimizer's own options; lr and weight_decay are recorded on their own below.
  nlohmann::json optimizer_options = config_.optimizer_values.ToJson();
  optimizer_options.erase("lr");
  optimizer_options.erase("weight_decay");
  nlohmann::json flags = {{"optimizer", config_.optimizer},
                          {"optimizer_options", optimizer_options},
                          {"smoothing", config_.smoothing},
                          {"smoothing_options", config_.smoothing_values.ToJson()},
                          {"weight_decay_on", config_.weight_decay_on},
                          {"lr", lr},
                          {"lr_scale", config_.lr_scale},
                          {"seed", config_.seed},
                          {"preset", config_.preset},
                          {"steps", steps},
                          {"eval_every", eval_every},
                          {"checkpoint_every", checkpoint_every},
                          {"threads", config_.threads},
                          {"device", config_.device},
                          {"data", config_.data},
                          {"weight_decay", weight_decay},
                          {"warmup", schedule.warmup},
                          {"clip", schedule.clip},
                          {"weight_ema", schedule.weight_ema},
                          {"task", task_.Describe()}};
  // The configuration a checkpoint records, to be matched on resume.
  const std::string configuration = nlohmann::json{{"task", config_.task}, {"config", flags}}.dump();

  std::error_code error;
  fs::create_directories(config_.out, error);
  if (error) {
    return Fail(kExitBadInput, absl::StrCat("--out=", config_.out, ": cannot create it: ", error.message()));
  }
  // One process per run directory: a second one would interleave checkpoints and logs.
  absl::StatusOr<FileLock> lock = FileLock::Acquire(config_.out + "/run.lock", /*wait=*/false);
  if (!lock.ok()) {
    return Fail(lock.status().code() == absl::StatusCode::kUnavailable ? kExitBadInput : kExitFailed,
                absl::StrCat("--out=", config_.out, ": another process is training in this ",
                             "directory (", lock.status().message(), ")"));
  }

  // An existing run directory: the same configuration resumes (or is already done);
  // another configuration is refused, never overwritten. run.json is written atomically,
  // so an empty or torn one was cut short by something else (a copy, a file system
  // without atomic renames): the checkpoints then say whose run this is.
  run_json_path_ = config_.out + "/run.json";
  phase_ = absl::StrCat("reading ", run_json_path_);
  if (fs::exists(run_json_path_)) {
    absl::StatusOr<std::string> text = ReadFile(run_json_path_);
    if (!text.ok()) return Fail(kExitFailed, std::string(text.status().message()));
    nlohmann::json old = nlohmann::json::parse(*text, nullptr, false);
    if (old.is_discarded()) {
      Say("warning", absl::StrCat(run_json_path_, " is empty or torn (", text->size(),
                                  " bytes, not JSON); the checkpoints are checked against this ",
                                  "configuration and run.json written again"));
    } else if (!old.is_object() || !old.contains("config") || !old.contains("task")) {
      return Fail(kExitBadInput, absl::StrCat(run_json_path_, " is not a run.json of this ",
                                              "suite; choose another --out"));
    } else if (old["task"] != config_.task || old["config"] != flags) {
      return Fail(kExitBadInput,
                  absl::StrCat(config_.out, " holds a run with another configuration (",
                               run_json_path_, "); refusing to overwrite it: choose another --out"));
    } else if (old["status"] == "completed") {
      std::fprintf(stderr, "%s: already completed; nothing to do\n", config_.out.c_str());
      return kExitCompleted;
    } else if (old["status"] == "diverged") {
      std::fprintf(stderr, "%s: this run diverged at step %s; nothing to do\n",
                   config_.out.c_str(), old.value("diverged_at_step", nlohmann::json()).dump().c_str());
      return kExitDiverged;
    }
  }

  torch::nn::Module& model = task_.model();
  auto optimizer = CreateOptimizer(NamedParameters(model),
                                   config_.ToOptimizerConfig(lr, weight_decay, task_.chains()));
  if (!optimizer.ok()) return Fail(kExitBadInput, std::string(optimizer.status().message()));
  DepthOptimizer& opt = **optimizer;

  std::optional<WeightEma> ema;
  if (schedule.weight_ema > 0) ema.emplace(model, schedule.weight_ema);

  // Resume from the newest good checkpoint of this configuration. Everything is read
  // from the archive before any of it is applied, so a checkpoint that fails to read
  // leaves the model as it was.
  phase_ = "restoring a checkpoint";
  Checkpointer checkpointer(config_.out + "/checkpoint");
  MetricsLog metrics(config_.out + "/metrics.jsonl");
  DepthLog depth(config_.out + "/depth.json", config_.task);
  int64_t start = 0;
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  std::map<std::string, double> stat_sums;  // StepStats since the last train line
  std::string foreign;         // a checkpoint of another configuration
  std::string half_restored;   // a checkpoint that failed after it began to be applied
  std::optional<std::string> metrics_text, depth_text;
  const std::optional<int64_t> restored = checkpointer.RestoreLatest(
      [&](torch::serialize::InputArchive& archive) -> absl::Status {
        c10::IValue value;
        if (archive.try_read("configuration", value) &&
            (!value.isString() || value.toStringRef() != configuration)) {
          foreign = "its run has another configuration";
          return absl::FailedPreconditionError(foreign);
        }
        Restored r;
        archive.read("model", r.model);
        archive.read("optimizer", r.optimizer);
        if (ema) archive.read("weight_ema", r.weight_ema);
        archive.read("rng", r.rng);
        archive.read("loss_sum", value);
        r.loss_sum = value.toDouble();
        archive.read("loss_count", value);
        r.loss_count = value.toInt();
        archive.read("stat_sums", value);
        const nlohmann::json sums = nlohmann::json::parse(value.toStringRef(), nullptr, false);
        if (!sums.is_object()) return absl::InvalidArgumentError("its stat_sums do not parse");
        r.stat_sums = sums.get<std::map<std::string, double>>();
        if (archive.try_read("metrics", value)) r.metrics = value.toStringRef();
        if (archive.try_read("depth", value)) r.depth = value.toStringRef();

        half_restored = "the model";
        model.load(r.model);
        half_restored = "the optimizer";
        if (absl::Status s = opt.load(r.optimizer); !s.ok()) return s;
        if (ema) {
          half_restored = "the weights' average";
          if (absl::Status s = ema->load(r.weight_ema); !s.ok()) return s;
        }
        at::Generator generator = at::detail::getDefaultCPUGenerator();
        generator.set_state(r.rng);
        half_restored.clear();
        loss_sum = r.loss_sum;
        loss_count = r.loss_count;
        stat_sums = std::move(r.stat_sums);
        metrics_text = std::move(r.metrics);
        depth_text = std::move(r.depth);
        return absl::OkStatus();
      },
      [&](const std::string& warning) { Say("warning", warning); });
  if (!foreign.empty()) {
    return Fail(kExitBadInput, absl::StrCat(config_.out, " holds checkpoints of a run with ",
                                            "another configuration (", config_.out,
                                            "/checkpoint); refusing to overwrite them: choose ",
                                            "another --out"));
  }
  if (!restored && !half_restored.empty()) {
    return Fail(kExitFailed, absl::StrCat("a checkpoint failed while restoring ", half_restored,
                                          " and no other could be restored; remove ", config_.out,
                                          "/checkpoint to start the run again"));
  }
  if (restored) {
    start = *restored;
    std::fprintf(stderr, "%s: resuming from the checkpoint at step %lld\n", config_.out.c_str(),
                 static_cast<long long>(start));
  }
  if (restored && metrics_text) {
    if (absl::Status s = metrics.Parse(*metrics_text); !s.ok()) {
      return Fail(kExitFailed, absl::StrCat(checkpointer.ArchivePath(start), ": ", s.message()));
    }
    CheckMetricsFile(metrics, start, /*from_checkpoint=*/true);
  } else if (restored) {
    if (absl::Status s = metrics.LoadUpTo(start); !s.ok()) {
      return Fail(kExitBadInput, std::string(s.message()));
    }
  } else {
    CheckMetricsFile(metrics, start, /*from_checkpoint=*/false);
  }
  if (restored && depth_text) {
    if (absl::Status s = depth.Parse(*depth_text); !s.ok()) {
      return Fail(kExitFailed, absl::StrCat(checkpointer.ArchivePath(start), ": ", s.message()));
    }
  } else if (restored) {
    if (absl::Status s = depth.LoadUpTo(start); !s.ok()) {
      return Fail(kExitBadInput, std::string(s.message()));
    }
  }

  const PrimaryMetric primary = task_.primary(), selection = task_.selection();
  run_ = {{"task", config_.task},
          {"optimizer", {{"name", config_.optimizer}, {"tag", config_.OptimizerTag()}}},
          {"smoothing", config_.SmoothingJson()},
          {"seed", config_.seed},
          {"preset", config_.preset},
          {"config", flags},
          {"status", "running"},
          {"primary_metric", {{"name", primary.name}, {"goal", primary.goal}}},
          {"selection_metric", {{"name", selection.name}, {"goal", selection.goal}}},
          {"final", nlohmann::json::object()},
          {"steps", steps},
          {"wall_seconds", 0.0},
          {"versions", Versions()}};
  // Every option the base optimizer runs with, the preset's lr and weight decay included.
  run_["optimizer"]["options"] = opt.base().option_values().ToJson();
  if (absl::Status s = WriteRunJson(); !s.ok()) return Fail(kExitFailed, std::string(s.message()));
  run_json_ours_ = true;

  nlohmann::json final_metrics = nlohmann::json::object();
  Clock::time_point last_progress = Clock::now();
  const Clock::time_point loop_start = Clock::now();
  for (int64_t step = start; step < steps; ++step) {
    phase_ = absl::StrCat("training step ", step + 1);
    const Clock::time_point step_start = Clock::now();
    opt.set_lr_scale(LrScale(schedule, step, steps));
    opt.zero_grad();
    at::Tensor loss = task_.TrainLoss(step);
    const double value = loss.item<double>();
    if (!std::isfinite(value)) {
      run_["diverged_at_step"] = step + 1;
      std::fprintf(stderr, "%s%s: loss is %f at step %lld: diverged\n", progress_open_ ? "\n" : "",
                   config_.out.c_str(), value, static_cast<long long>(step + 1));
      metrics.Add({{"step", step + 1}, {"split", "train"}, {"train_loss", value},
                   {"time_s", std::chrono::duration<double>(Clock::now() - start_).count()}});
      (void)metrics.Flush();
      return Finish("diverged", kExitDiverged);
    }
    loss.backward();
    if (schedule.clip > 0) torch::nn::utils::clip_grad_norm_(model.parameters(), schedule.clip);
    opt.step();
    if (ema) ema->Update();
    step_seconds_ += std::chrono::duration<double>(Clock::now() - step_start).count();
    ++timed_steps_;
    loss_sum += value;
    ++loss_count;
    for (const auto& [name, stat] : task_.StepStats()) stat_sums[name] += stat;

    const int64_t done = step + 1;
    const bool last = done == steps;
    const double time_s = std::chrono::duration<double>(Clock::now() - start_).count();
    if (done % schedule.log_every == 0 || last) {
      nlohmann::json line = {{"step", done}, {"split", "train"}, {"train_loss", loss_sum / loss_count}};
      for (const auto& [name, sum] : stat_sums) line[name] = sum / loss_count;
      for (auto& [name, mean] : line.items()) {
        if (name != "step" && name != "split") final_metrics[name] = mean;
      }
      line["lr"] = lr * opt.lr_scale();
      line["time_s"] = time_s;
      metrics.Add(std::move(line));
      loss_sum = 0.0;
      loss_count = 0;
      stat_sums.clear();
    }
    if (done % eval_every == 0 || last) {
      phase_ = absl::StrCat("evaluating at step ", done);
      torch::NoGradGuard no_grad;
      model.eval();
      std::map<std::string, nlohmann::json> evaluation = task_.Evaluate(last);
      if (ema) AddAveragedWeightsMetrics(task_, *ema, last, evaluation);
      for (auto& [split, values] : evaluation) {
        nlohmann::json line = {{"step", done}, {"split", split}};
        line.update(values);
        line["time_s"] = time_s;
        metrics.Add(line);
        if (last) final_metrics.update(values);
      }
      model.train();
    }
    if (last || (config_.depth_every > 0 && done % config_.depth_every == 0)) {
      phase_ = absl::StrCat("analysing depth at step ", done);
      torch::NoGradGuard no_grad;
      model.eval();
      std::map<std::string, ChainTrace> traces = task_.ProbeDepth();
      model.train();
      if (!traces.empty()) {
        if (absl::Status s = depth.Add(done, traces); !s.ok()) return FailRun(std::string(s.message()));
      }
    }
    if (done % schedule.log_every == 0 || done % eval_every == 0 || last) {
      if (absl::Status s = metrics.Flush(); !s.ok()) return FailRun(std::string(s.message()));
    }
    if (done % checkpoint_every == 0 && !last) {
      phase_ = absl::StrCat("checkpointing step ", done);
      absl::Status s = checkpointer.Save(done, [&](torch::serialize::OutputArchive& archive) {
        torch::serialize::OutputArchive model_archive, optimizer_archive;
        model.save(model_archive);
        opt.save(optimizer_archive);
        archive.write("configuration", c10::IValue(configuration));
        archive.write("model", model_archive);
        archive.write("optimizer", optimizer_archive);
        if (ema) {
          torch::serialize::OutputArchive ema_archive;
          ema->save(ema_archive);
          archive.write("weight_ema", ema_archive);
        }
        archive.write("rng", at::detail::getDefaultCPUGenerator().get_state(), true);
        archive.write("loss_sum", c10::IValue(loss_sum));
        archive.write("loss_count", c10::IValue(loss_count));
        archive.write("stat_sums", c10::IValue(nlohmann::json(stat_sums).dump()));
        // The logs up to this step, so a resume never depends on their files.
        archive.write("metrics", c10::IValue(metrics.Text()));
        archive.write("depth", c10::IValue(depth.Text()));
      });
      if (!s.ok()) return FailRun(std::string(s.message()));
    }
    if (Clock::now() - last_progress > std::chrono::seconds(2) || last) {
      last_progress = Clock::now();
      const double elapsed = std::chrono::duration<double>(Clock::now() - loop_start).count();
      const double rate = (done - start) / std::max(elapsed, 1e-9);
      std::fprintf(stderr, "\r%s step %lld/%lld  loss %.4f  %.2f steps/s  ETA %s   ",
                   config_.task.c_str(), static_cast<long long>(done),
                   static_cast<long long>(steps), value, rate,
                   Duration((steps - done) / std::max(rate, 1e-9)).c_str());
      progress_open_ = true;
      if (last) {
        std::fprintf(stderr, "\n");
        progress_open_ = false;
      }
    }
  }
  phase_ = absl::StrCat("writing ", run_json_path_);
  run_["final"] = final_metrics;
  return Finish("completed", kExitCompleted);
}

}  // namespace

at::Generator StreamGenerator(int64_t seed, uint64_t stream) {
  return at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed) * 1000003ULL +
                                                  stream);
}

double LrScale(const Schedule& schedule, int64_t step, int64_t total) {
  if (step < schedule.warmup) return static_cast<double>(step + 1) / schedule.warmup;
  const double span = std::max<int64_t>(1, total - schedule.warmup);
  const double progress = std::min(1.0, (step - schedule.warmup) / span);
  const double cosine = 0.5 * (1.0 + std::cos(kPi * progress));
  return schedule.final_lr_fraction + (1.0 - schedule.final_lr_fraction) * cosine;
}

int RunTask(Task& task, int argc, char** argv) {
  absl::StatusOr<RunConfig> config = ParseRunConfig(argc, argv, task.name());
  if (!config.ok()) return Fail(kExitBadInput, std::string(config.status().message()));
  if (!config->list_optimizers.empty()) {
    const std::string text =
        config->list_optimizers == "json" ? CatalogJson().dump(1) + "\n" : CatalogText();
    std::fputs(text.c_str(), stdout);
    return kExitCompleted;
  }
  try {
    return Run(task, *config).Main();
  } catch (const std::exception& e) {
    return Fail(kExitFailed, ExceptionCause(e));
  }
}

void SetThreads(int64_t threads) {
  at::set_num_threads(static_cast<int>(threads));
  SetBlasThreads(static_cast<int>(threads));
}

int TaskMain(std::unique_ptr<Task> task, int argc, char** argv) {
  ExitOneOnTerminate(task->name());
  UseFastBlasKernels(argv);
  KeepFreedMemoryForReuse();
  return RunTask(*task, argc, argv);
}

}  // namespace gs::tasks
