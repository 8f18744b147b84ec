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
#include "optimizers/communicator.h"
#include "optimizers/optimizer.h"
#include "optimizers/torch_module.h"
#include "tasks/harness/blas.h"
#include "tasks/harness/boundary.h"
#include "tasks/harness/checkpoint.h"
#include "tasks/harness/duration.h"
#include "tasks/harness/files.h"
#include "tasks/harness/run_dir.h"
#include "tasks/harness/run_record.h"
#include "tasks/harness/run_status.h"
#include "tasks/harness/weight_ema.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr double kPi = 3.14159265358979323846;

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

// A checkpoint holds the configuration it belongs to, the model, the optimizer, the
// weights' average, the generator, the train line being accumulated, and the logs up to
// its step (so a resume never depends on their files): TrainingRun::SaveCheckpointTo and
// TrainingRun::ReadCheckpoint.

// The sums of the train line being accumulated (StepStats since the last train line).
struct TrainLineSums {
  double loss_sum = 0.0;
  int64_t loss_count = 0;
  std::map<std::string, double> stat_sums;
};

// The logs a checkpoint carries; absent in checkpoints before they were kept.
struct CheckpointLogs {
  std::optional<std::string> metrics, depth;
};

// One training run of a task in its run directory, from the flags to the exit code. Each
// piece below is one job of the run in the order Train() calls them; a piece that ends
// the run returns its exit code, one that lets it go on returns nullopt.
class TrainingRun {
 public:
  TrainingRun(Task& task, RunConfig config)
      : task_(task),
        ranks_(task.ranks()),
        config_(std::move(config)),
        run_json_path_(config_.out + "/run.json"),
        checkpointer_(config_.out + "/checkpoint"),
        metrics_(config_.out + "/metrics.jsonl"),
        depth_(config_.out + "/depth.json", config_.task) {}

  // Train() with every exception turned into a one-line error, recorded in run.json.
  int Main();

 private:
  using ExitCode = std::optional<int>;

  int Train();
  // SetUpTask to StartRunJson: everything before the first step.
  ExitCode Prepare();
  // Data parallel: every rank learns whether any stopped before the first step (each
  // says why itself) and checks that all resume from the same step.
  ExitCode AgreeToStart(ExitCode code);
  // Threads, device, seed, Task::Setup, then the hyper-parameters and the flags that
  // identify the run.
  ExitCode SetUpTask();
  // Creates --out and takes its lock: one process per run directory.
  ExitCode LockRunDirectory();
  // An existing run.json: the same configuration resumes (or is already done); another
  // is refused, never overwritten.
  ExitCode CheckExistingRunJson();
  ExitCode CreateOptimizer();
  // Resumes from the newest good checkpoint of this configuration, logs included.
  ExitCode RestoreCheckpoint();
  absl::Status ReadCheckpoint(torch::serialize::InputArchive& archive, std::string& foreign,
                              std::string& half_restored, CheckpointLogs& logs);
  ExitCode RestoreLogs(bool restored, const CheckpointLogs& logs);
  void SaveCheckpointTo(torch::serialize::OutputArchive& archive);
  // The main rank writes the checkpoint; the others take part in gathering the
  // optimizer's sharded state into it.
  absl::Status SaveCheckpoint(int64_t done);
  // Task::StepStats, averaged over ranks.
  std::map<std::string, double> StepStatsOverRanks();
  // run.json with status running, written before the first step.
  ExitCode StartRunJson();
  // The loop: steps, train lines, evaluations, depth probes, checkpoints, progress.
  int TrainLoop();
  int Diverge(int64_t step, double loss);
  void LogTrainLine(int64_t done, double time_s);
  void Evaluate(int64_t done, bool last, double time_s);
  absl::Status ProbeDepth(int64_t done);
  void ShowProgress(int64_t done, bool last, double loss);

  // Exit policy: run.json records how the run ended, the exit code says it.
  absl::Status WriteRunJson() { return WriteFileAtomic(run_json_path_, run_.Text()); }
  // Writes run.json with `status`, the wall time and the step and memory figures.
  absl::Status Record(RunStatus status);
  int Finish(RunStatus status, int code);
  // Prints "error: <message>" on one line, records status failed and the message in
  // run.json when this run has written one (and says so on the same line when that write
  // fails too), and returns the contract's exit code 1.
  int FailRun(const std::string& message);
  // "<kind>: <text>" on a line of its own, after an unfinished progress line.
  void Say(const char* kind, const std::string& text);
  // Warns about lines of metrics.jsonl that a resume replaces: torn or corrupt ones, or,
  // from a checkpoint, lines that differ from the checkpoint's copy.
  void CheckMetricsFile(int64_t start, bool from_checkpoint);

  Task& task_;
  const Ranks ranks_;
  RunConfig config_;
  HyperParameters hp_;
  nlohmann::json flags_;       // run.json's config
  std::string configuration_;  // what a checkpoint records, to be matched on resume
  RunRecord run_;
  const std::string run_json_path_;
  bool run_json_ours_ = false;  // run_ has been written to run_json_path_ by this process
  std::optional<FileLock> lock_;
  std::unique_ptr<DepthOptimizer> optimizer_;
  std::optional<WeightEma> ema_;
  Checkpointer checkpointer_;
  MetricsLog metrics_;
  DepthLog depth_;
  int64_t start_step_ = 0;
  TrainLineSums accumulated_;
  nlohmann::json final_metrics_ = nlohmann::json::object();
  std::string phase_ = "starting";  // what the run is doing, for errors
  bool progress_open_ = false;      // a progress line without its line break
  Clock::time_point start_ = Clock::now();
  Clock::time_point loop_start_, last_progress_;
  double step_seconds_ = 0.0;
  double communication_seconds_ = 0.0;
  int64_t timed_steps_ = 0;
};

void TrainingRun::Say(const char* kind, const std::string& text) {
  std::fprintf(stderr, "%s%s: %s\n", progress_open_ ? "\n" : "", kind, text.c_str());
  progress_open_ = false;
}

absl::Status TrainingRun::Record(RunStatus status) {
  run_.status = status;
  run_.wall_seconds = std::chrono::duration<double>(Clock::now() - start_).count();
  // Forward, backward and optimizer step only (no evaluation or checkpoints), over the
  // steps this process ran.
  if (timed_steps_ > 0) run_.seconds_per_step = step_seconds_ / timed_steps_;
  // Of which inside collectives (waiting for the slowest rank included).
  if (timed_steps_ > 0 && ranks_.world_size() > 1) {
    run_.communication_seconds_per_step = communication_seconds_ / timed_steps_;
  }
  // Peak resident memory of this process (Linux reports kilobytes).
  struct rusage usage;
  if (getrusage(RUSAGE_SELF, &usage) == 0) run_.peak_resident_bytes = int64_t{usage.ru_maxrss} * 1024;
  // The main rank's: with a sharded optimizer, about 1/world_size of one process's.
  if (optimizer_) run_.optimizer_state_bytes = optimizer_->state_bytes();
  if (!ranks_.is_main()) return absl::OkStatus();
  return WriteRunJson();
}

int TrainingRun::Finish(RunStatus status, int code) {
  if (absl::Status s = Record(status); !s.ok()) return FailRun(std::string(s.message()));
  return code;
}

int TrainingRun::FailRun(const std::string& message) {
  std::string line = message;
  if (run_json_ours_) {
    run_.error = message;
    if (absl::Status s = Record(RunStatus::kFailed); !s.ok()) {
      absl::StrAppend(&line, "; run.json could not record the failure: ", s.message());
    }
  }
  Say("error", line);
  return kExitFailed;
}

int TrainingRun::Main() {
  try {
    return Train();
  } catch (const c10::Error& e) {
    if (config_.verbose) Say("error", e.what());
    return FailRun(absl::StrCat(phase_, ": ", OneLine(e.what_without_backtrace())));
  } catch (const std::exception& e) {
    return FailRun(absl::StrCat(phase_, ": ", ExceptionCause(e)));
  }
}

void TrainingRun::CheckMetricsFile(int64_t start, bool from_checkpoint) {
  absl::StatusOr<std::string> text = ReadFile(metrics_.path());
  if (!text.ok()) return;
  const std::string then =
      from_checkpoint ? absl::StrCat("its lines up to step ", start, " come from the checkpoint")
                      : "the run starts again without them";
  if (const size_t bad = FirstBadLine(*text); bad > 0) {
    Say("warning", absl::StrCat(metrics_.path(), ": line ", bad, " is torn or corrupt; ", then));
  } else if (from_checkpoint && !absl::StartsWith(*text, metrics_.Text())) {
    Say("warning", absl::StrCat(metrics_.path(), " differs from the checkpoint's copy at line ",
                                FirstDifferingLine(*text, metrics_.Text()), "; ", then));
  }
}

int TrainingRun::Train() {
  ExitCode code = Prepare();
  if (ranks_.world_size() > 1) code = AgreeToStart(code);
  if (code) return *code;
  return TrainLoop();
}

TrainingRun::ExitCode TrainingRun::Prepare() {
  if (ExitCode code = SetUpTask()) return code;
  if (ExitCode code = LockRunDirectory()) return code;
  if (ExitCode code = CheckExistingRunJson()) return code;
  if (ExitCode code = CreateOptimizer()) return code;
  if (ExitCode code = RestoreCheckpoint()) return code;
  return StartRunJson();
}

TrainingRun::ExitCode TrainingRun::AgreeToStart(ExitCode code) {
  phase_ = "waiting for every rank to be ready";
  Communicator& communicator = *ranks_.communicator();
  communicator.WaitForAll("start");
  at::Tensor votes = torch::tensor({code ? 1.0 : 0.0, static_cast<double>(start_step_)}, torch::kFloat64);
  communicator.AllReduceSum(votes);
  const double world = ranks_.world_size();
  if (votes[0].item<double>() > 0) {
    if (code) return code;
    return PrintError(kExitFailed, "another rank stopped before the first step (its error says why)");
  }
  if (votes[1].item<double>() != world * static_cast<double>(start_step_)) {
    return FailRun(absl::StrCat("the ranks resume from different checkpoints (this one from step ",
                                start_step_, "); remove ", config_.out, "/checkpoint to start again"));
  }
  return std::nullopt;
}

TrainingRun::ExitCode TrainingRun::SetUpTask() {
  SetThreads(config_.threads);
  if (config_.device != "cpu" && !torch::cuda::is_available()) {
    return PrintError(kExitBadInput, "--device=cuda: no CUDA device is available to this LibTorch");
  }
  torch::manual_seed(static_cast<uint64_t>(config_.seed));
  phase_ = absl::StrCat("setting up ", task_.name());
  if (absl::Status s = task_.Setup(config_); !s.ok()) {
    return PrintError(ExitCodeFor(s), s.message());
  }
  absl::StatusOr<HyperParameters> hp = ResolveHyperParameters(task_.recipe(), config_);
  if (!hp.ok()) return PrintError(kExitBadInput, hp.status().message());
  hp_ = *hp;
  flags_ = ConfigJson(task_, config_, hp_);
  configuration_ = nlohmann::json{{"task", config_.task}, {"config", flags_}}.dump();
  return std::nullopt;
}

TrainingRun::ExitCode TrainingRun::LockRunDirectory() {
  if (!ranks_.is_main()) return std::nullopt;  // the main rank alone writes the directory
  std::error_code error;
  fs::create_directories(config_.out, error);
  if (error) {
    return PrintError(kExitBadInput,
                      absl::StrCat("--out=", config_.out, ": cannot create it: ", error.message()));
  }
  // One process per run directory: a second one would interleave checkpoints and logs.
  absl::StatusOr<FileLock> lock = FileLock::Acquire(config_.out + "/run.lock", /*wait=*/false);
  if (!lock.ok()) {
    return PrintError(lock.status().code() == absl::StatusCode::kUnavailable ? kExitBadInput : kExitFailed,
                      absl::StrCat("--out=", config_.out, ": another process is training in this ",
                                   "directory (", lock.status().message(), ")"));
  }
  lock_.emplace(std::move(*lock));
  return std::nullopt;
}

// run.json is written atomically, so an empty or torn one was cut short by something
// else (a copy, a file system without atomic renames): the checkpoints then say whose
// run this is.
TrainingRun::ExitCode TrainingRun::CheckExistingRunJson() {
  phase_ = absl::StrCat("reading ", run_json_path_);
  if (!fs::exists(run_json_path_)) return std::nullopt;
  absl::StatusOr<std::string> text = ReadFile(run_json_path_);
  if (!text.ok()) return PrintError(kExitFailed, text.status().message());
  const RunRecordRead old = ParseRunRecord(*text);
  if (old.kind == RunRecordRead::Kind::kNotJson) {
    Say("warning", absl::StrCat(run_json_path_, " is empty or torn (", text->size(),
                                " bytes, not JSON); the checkpoints are checked against this ",
                                "configuration and run.json written again"));
    return std::nullopt;
  }
  if (!old.Has("config") || !old.Has("task")) {
    return PrintError(kExitBadInput, absl::StrCat(run_json_path_, " is not a run.json of this ",
                                                  "suite; choose another --out"));
  }
  if (old.record.task != config_.task || old.record.config != flags_) {
    return PrintError(kExitBadInput,
                      absl::StrCat(config_.out, " holds a run with another configuration (",
                                   run_json_path_, "); refusing to overwrite it: choose another --out"));
  }
  const std::optional<RunStatus> status =
      old.Has("status") ? std::optional<RunStatus>(old.record.status) : std::nullopt;
  if (status == RunStatus::kCompleted) {
    std::fprintf(stderr, "%s: already completed; nothing to do\n", config_.out.c_str());
    return kExitCompleted;
  }
  if (status == RunStatus::kDiverged) {
    std::fprintf(stderr, "%s: this run diverged at step %s; nothing to do\n",
                 config_.out.c_str(),
                 old.record.diverged_at_step ? absl::StrCat(*old.record.diverged_at_step).c_str() : "null");
    return kExitDiverged;
  }
  return std::nullopt;
}

TrainingRun::ExitCode TrainingRun::CreateOptimizer() {
  torch::nn::Module& model = task_.model();
  OptimizerConfig optimizer_config =
      config_.ToOptimizerConfig(hp_.lr, hp_.weight_decay, task_.chains());
  optimizer_config.communicator = ranks_.communicator();
  auto optimizer = gs::CreateOptimizer(NamedParameters(model), optimizer_config);
  if (!optimizer.ok()) return PrintError(kExitBadInput, optimizer.status().message());
  optimizer_ = std::move(*optimizer);
  if (task_.recipe().weight_ema > 0) ema_.emplace(model, task_.recipe().weight_ema);
  return std::nullopt;
}

// Everything is read from the archive before any of it is applied, so a checkpoint that
// fails to read leaves the model as it was.
absl::Status TrainingRun::ReadCheckpoint(torch::serialize::InputArchive& archive,
                                         std::string& foreign, std::string& half_restored,
                                         CheckpointLogs& logs) {
  c10::IValue value;
  if (archive.try_read("configuration", value) &&
      (!value.isString() || value.toStringRef() != configuration_)) {
    foreign = "its run has another configuration";
    return absl::FailedPreconditionError(foreign);
  }
  torch::serialize::InputArchive model_archive, optimizer_archive, ema_archive;
  at::Tensor rng;
  TrainLineSums state;
  CheckpointLogs read_logs;
  archive.read("model", model_archive);
  archive.read("optimizer", optimizer_archive);
  if (ema_) archive.read("weight_ema", ema_archive);
  archive.read("rng", rng);
  archive.read("loss_sum", value);
  state.loss_sum = value.toDouble();
  archive.read("loss_count", value);
  state.loss_count = value.toInt();
  archive.read("stat_sums", value);
  const nlohmann::json sums = nlohmann::json::parse(value.toStringRef(), nullptr, false);
  if (!sums.is_object()) return absl::InvalidArgumentError("its stat_sums do not parse");
  state.stat_sums = sums.get<std::map<std::string, double>>();
  if (archive.try_read("metrics", value)) read_logs.metrics = value.toStringRef();
  if (archive.try_read("depth", value)) read_logs.depth = value.toStringRef();

  half_restored = "the model";
  task_.model().load(model_archive);
  half_restored = "the optimizer";
  if (absl::Status s = optimizer_->load(optimizer_archive); !s.ok()) return s;
  if (ema_) {
    half_restored = "the weights' average";
    if (absl::Status s = ema_->load(ema_archive); !s.ok()) return s;
  }
  at::Generator generator = at::detail::getDefaultCPUGenerator();
  generator.set_state(rng);
  half_restored.clear();
  accumulated_ = std::move(state);
  logs = std::move(read_logs);
  return absl::OkStatus();
}

void TrainingRun::SaveCheckpointTo(torch::serialize::OutputArchive& archive) {
  torch::serialize::OutputArchive model_archive, optimizer_archive;
  task_.model().save(model_archive);
  optimizer_->save(optimizer_archive);
  archive.write("configuration", c10::IValue(configuration_));
  archive.write("model", model_archive);
  archive.write("optimizer", optimizer_archive);
  if (ema_) {
    torch::serialize::OutputArchive ema_archive;
    ema_->save(ema_archive);
    archive.write("weight_ema", ema_archive);
  }
  archive.write("rng", at::detail::getDefaultCPUGenerator().get_state(), true);
  archive.write("loss_sum", c10::IValue(accumulated_.loss_sum));
  archive.write("loss_count", c10::IValue(accumulated_.loss_count));
  archive.write("stat_sums", c10::IValue(nlohmann::json(accumulated_.stat_sums).dump()));
  archive.write("metrics", c10::IValue(metrics_.Text()));
  archive.write("depth", c10::IValue(depth_.Text()));
}

absl::Status TrainingRun::SaveCheckpoint(int64_t done) {
  phase_ = absl::StrCat("checkpointing step ", done);
  if (!ranks_.is_main()) {
    torch::serialize::OutputArchive gathered_elsewhere;
    optimizer_->save(gathered_elsewhere);
    return absl::OkStatus();
  }
  return checkpointer_.Save(
      done, [&](torch::serialize::OutputArchive& archive) { SaveCheckpointTo(archive); });
}

std::map<std::string, double> TrainingRun::StepStatsOverRanks() {
  std::map<std::string, double> stats = task_.StepStats();
  if (ranks_.world_size() == 1 || stats.empty()) return stats;
  std::vector<double> sums;
  for (const auto& [name, value] : stats) sums.push_back(value);
  ranks_.Sum(sums);
  size_t i = 0;
  for (auto& [name, value] : stats) value = sums[i++] / ranks_.world_size();
  return stats;
}

TrainingRun::ExitCode TrainingRun::RestoreCheckpoint() {
  phase_ = "restoring a checkpoint";
  std::string foreign;        // a checkpoint of another configuration
  std::string half_restored;  // a checkpoint that failed after it began to be applied
  CheckpointLogs logs;
  const std::optional<int64_t> restored = checkpointer_.RestoreLatest(
      [&](torch::serialize::InputArchive& archive) {
        return ReadCheckpoint(archive, foreign, half_restored, logs);
      },
      [&](const std::string& warning) { Say("warning", warning); });
  if (!foreign.empty()) {
    return PrintError(kExitBadInput, absl::StrCat(config_.out, " holds checkpoints of a run with ",
                                                  "another configuration (", config_.out,
                                                  "/checkpoint); refusing to overwrite them: choose ",
                                                  "another --out"));
  }
  if (!restored && !half_restored.empty()) {
    return PrintError(kExitFailed, absl::StrCat("a checkpoint failed while restoring ", half_restored,
                                                " and no other could be restored; remove ", config_.out,
                                                "/checkpoint to start the run again"));
  }
  if (restored) {
    start_step_ = *restored;
    std::fprintf(stderr, "%s: resuming from the checkpoint at step %lld\n", config_.out.c_str(),
                 static_cast<long long>(start_step_));
  }
  return RestoreLogs(restored.has_value(), logs);
}

// From the checkpoint's copies where it has them, else from the files up to its step.
TrainingRun::ExitCode TrainingRun::RestoreLogs(bool restored, const CheckpointLogs& logs) {
  const int64_t start = start_step_;
  if (restored && logs.metrics) {
    if (absl::Status s = metrics_.Parse(*logs.metrics); !s.ok()) {
      return PrintError(kExitFailed, absl::StrCat(checkpointer_.ArchivePath(start), ": ", s.message()));
    }
    CheckMetricsFile(start, /*from_checkpoint=*/true);
  } else if (restored) {
    if (absl::Status s = metrics_.LoadUpTo(start); !s.ok()) return PrintError(kExitBadInput, s.message());
  } else {
    CheckMetricsFile(start, /*from_checkpoint=*/false);
  }
  if (restored && logs.depth) {
    if (absl::Status s = depth_.Parse(*logs.depth); !s.ok()) {
      return PrintError(kExitFailed, absl::StrCat(checkpointer_.ArchivePath(start), ": ", s.message()));
    }
  } else if (restored) {
    if (absl::Status s = depth_.LoadUpTo(start); !s.ok()) return PrintError(kExitBadInput, s.message());
  }
  return std::nullopt;
}

TrainingRun::ExitCode TrainingRun::StartRunJson() {
  const PrimaryMetric primary = task_.primary(), selection = task_.selection();
  run_ = RunRecord();
  run_.task = config_.task;
  run_.optimizer_name = config_.optimizer;
  run_.optimizer_tag = config_.OptimizerTag();
  // Every option the base optimizer runs with, the preset's lr and weight decay included.
  run_.optimizer_options = optimizer_->base().option_values().ToJson();
  run_.smoothing = config_.SmoothingJson();
  run_.seed = config_.seed;
  run_.preset = config_.preset;
  run_.config = flags_;
  run_.status = RunStatus::kRunning;
  run_.primary_metric = {primary.name, primary.goal};
  run_.selection_metric = {selection.name, selection.goal};
  run_.steps = hp_.steps;
  run_.versions = Versions();
  run_.world_size = ranks_.world_size();
  if (ranks_.world_size() > 1) run_.backend = ranks_.communicator()->backend();
  if (!ranks_.is_main()) return std::nullopt;
  if (absl::Status s = WriteRunJson(); !s.ok()) return PrintError(kExitFailed, s.message());
  run_json_ours_ = true;
  return std::nullopt;
}

int TrainingRun::Diverge(int64_t step, double loss) {
  run_.diverged_at_step = step + 1;
  std::fprintf(stderr, "%s%s: loss is %f at step %lld: diverged\n", progress_open_ ? "\n" : "",
               config_.out.c_str(), loss, static_cast<long long>(step + 1));
  metrics_.Add({{"step", step + 1}, {"split", "train"}, {"train_loss", loss},
                {"time_s", std::chrono::duration<double>(Clock::now() - start_).count()}});
  if (ranks_.is_main()) (void)metrics_.Flush();
  return Finish(RunStatus::kDiverged, kExitDiverged);
}

void TrainingRun::LogTrainLine(int64_t done, double time_s) {
  TrainLineSums& a = accumulated_;
  nlohmann::json line = {{"step", done}, {"split", "train"}, {"train_loss", a.loss_sum / a.loss_count}};
  for (const auto& [name, sum] : a.stat_sums) line[name] = sum / a.loss_count;
  for (auto& [name, mean] : line.items()) {
    if (name != "step" && name != "split") final_metrics_[name] = mean;
  }
  line["lr"] = hp_.lr * optimizer_->lr_scale();
  line["time_s"] = time_s;
  metrics_.Add(std::move(line));
  a.loss_sum = 0.0;
  a.loss_count = 0;
  a.stat_sums.clear();
}

void TrainingRun::Evaluate(int64_t done, bool last, double time_s) {
  phase_ = absl::StrCat("evaluating at step ", done);
  torch::NoGradGuard no_grad;
  task_.model().eval();
  std::map<std::string, nlohmann::json> evaluation = task_.Evaluate(last);
  if (ema_) AddAveragedWeightsMetrics(task_, *ema_, last, evaluation);
  for (auto& [split, values] : evaluation) {
    nlohmann::json line = {{"step", done}, {"split", split}};
    line.update(values);
    line["time_s"] = time_s;
    metrics_.Add(line);
    if (last) final_metrics_.update(values);
  }
  task_.model().train();
}

absl::Status TrainingRun::ProbeDepth(int64_t done) {
  phase_ = absl::StrCat("analysing depth at step ", done);
  torch::NoGradGuard no_grad;
  task_.model().eval();
  std::map<std::string, ChainTrace> traces = task_.ProbeDepth();
  task_.model().train();
  return traces.empty() ? absl::OkStatus() : depth_.Add(done, traces);
}

void TrainingRun::ShowProgress(int64_t done, bool last, double loss) {
  if (Clock::now() - last_progress_ <= std::chrono::seconds(2) && !last) return;
  last_progress_ = Clock::now();
  const double elapsed = std::chrono::duration<double>(Clock::now() - loop_start_).count();
  const double rate = (done - start_step_) / std::max(elapsed, 1e-9);
  std::fprintf(stderr, "\r%s step %lld/%lld  loss %.4f  %.2f steps/s  ETA %s   ",
               config_.task.c_str(), static_cast<long long>(done),
               static_cast<long long>(hp_.steps), loss, rate,
               FormatDuration((hp_.steps - done) / std::max(rate, 1e-9)).c_str());
  progress_open_ = true;
  if (last) {
    std::fprintf(stderr, "\n");
    progress_open_ = false;
  }
}

int TrainingRun::TrainLoop() {
  const int64_t steps = hp_.steps;
  const int64_t log_every = task_.recipe().log_every;
  last_progress_ = loop_start_ = Clock::now();
  for (int64_t step = start_step_; step < steps; ++step) {
    phase_ = absl::StrCat("training step ", step + 1);
    if (ranks_.world_size() > 1) ranks_.communicator()->TakeCommunicationSeconds();  // not the step's
    const Clock::time_point step_start = Clock::now();
    const double loss = TrainingStep(task_, *optimizer_, step, steps);
    if (!std::isfinite(loss)) return Diverge(step, loss);
    if (ema_) ema_->Update();
    step_seconds_ += std::chrono::duration<double>(Clock::now() - step_start).count();
    if (ranks_.world_size() > 1) communication_seconds_ += ranks_.communicator()->TakeCommunicationSeconds();
    ++timed_steps_;
    accumulated_.loss_sum += loss;
    ++accumulated_.loss_count;
    for (const auto& [name, stat] : StepStatsOverRanks()) accumulated_.stat_sums[name] += stat;

    const int64_t done = step + 1;
    const bool last = done == steps;
    const double time_s = std::chrono::duration<double>(Clock::now() - start_).count();
    if (done % log_every == 0 || last) LogTrainLine(done, time_s);
    if (done % hp_.eval_every == 0 || last) Evaluate(done, last, time_s);
    const bool probe = last || (config_.depth_every > 0 && done % config_.depth_every == 0);
    if (probe && ranks_.is_main()) {
      if (absl::Status s = ProbeDepth(done); !s.ok()) return FailRun(std::string(s.message()));
    }
    if ((done % log_every == 0 || done % hp_.eval_every == 0 || last) && ranks_.is_main()) {
      if (absl::Status s = metrics_.Flush(); !s.ok()) return FailRun(std::string(s.message()));
    }
    if (done % hp_.checkpoint_every == 0 && !last) {
      if (absl::Status s = SaveCheckpoint(done); !s.ok()) return FailRun(std::string(s.message()));
    }
    if (ranks_.is_main()) ShowProgress(done, last, loss);
  }
  phase_ = absl::StrCat("writing ", run_json_path_);
  run_.final = final_metrics_;
  return Finish(RunStatus::kCompleted, kExitCompleted);
}

}  // namespace

absl::StatusOr<HyperParameters> ResolveHyperParameters(const TrainingRecipe& recipe,
                                                       const RunConfig& config) {
  HyperParameters hp;
  hp.steps = config.steps.value_or(recipe.steps);
  hp.eval_every = config.eval_every.value_or(recipe.eval_every);
  hp.checkpoint_every = config.checkpoint_every.value_or(recipe.checkpoint_every);
  if (config.lr) {
    hp.lr = *config.lr * config.lr_scale;
  } else if (auto it = recipe.lr.find(config.optimizer); it != recipe.lr.end()) {
    hp.lr = it->second * config.lr_scale;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("preset '", config.preset,
                                                   "' has no learning rate for optimizer '",
                                                   config.optimizer, "': pass --lr"));
  }
  const auto decay = recipe.weight_decay.find(config.optimizer);
  hp.weight_decay = config.optimizer_options.count("weight_decay")
                        ? config.optimizer_values.Number("weight_decay")
                    : decay == recipe.weight_decay.end() ? 0.0
                                                           : decay->second;
  return hp;
}

nlohmann::json ConfigJson(const Task& task, const RunConfig& config, const HyperParameters& hp) {
  const TrainingRecipe& recipe = task.recipe();
  // The optimizer's own options; lr and weight_decay are recorded on their own below.
  nlohmann::json optimizer_options = config.optimizer_values.ToJson();
  optimizer_options.erase("lr");
  optimizer_options.erase("weight_decay");
  return {{"optimizer", config.optimizer},
          {"optimizer_options", optimizer_options},
          {"smoothing", config.smoothing},
          {"smoothing_options", config.smoothing_values.ToJson()},
          {"weight_decay_on", config.weight_decay_on},
          {"lr", hp.lr},
          {"lr_scale", config.lr_scale},
          {"seed", config.seed},
          {"preset", config.preset},
          {"steps", hp.steps},
          {"eval_every", hp.eval_every},
          {"checkpoint_every", hp.checkpoint_every},
          {"threads", config.threads},
          {"device", config.device},
          {"data", config.data},
          {"weight_decay", hp.weight_decay},
          {"warmup", recipe.warmup},
          {"clip", recipe.clip},
          {"weight_ema", recipe.weight_ema},
          {"task", task.Describe()}};
}

double TrainingStep(Task& task, DepthOptimizer& optimizer, int64_t step, int64_t total,
                    double* optimizer_seconds) {
  const TrainingRecipe& recipe = task.recipe();
  optimizer.set_lr_scale(LrScale(recipe, step, total));
  optimizer.zero_grad();
  at::Tensor loss = task.TrainLoss(step);
  double value = loss.item<double>();
  const Ranks& ranks = task.ranks();
  if (ranks.world_size() > 1) value = ranks.Sum(value) / ranks.world_size();
  if (!std::isfinite(value)) return value;
  loss.backward();
  optimizer.AverageGradients();
  if (recipe.clip > 0) torch::nn::utils::clip_grad_norm_(task.model().parameters(), recipe.clip);
  const Clock::time_point before_step = Clock::now();
  optimizer.step();
  if (optimizer_seconds != nullptr) {
    *optimizer_seconds = std::chrono::duration<double>(Clock::now() - before_step).count();
  }
  return value;
}

at::Generator StreamGenerator(int64_t seed, uint64_t stream) {
  return at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed) * 1000003ULL +
                                                  stream);
}

double LrScale(const TrainingRecipe& recipe, int64_t step, int64_t total) {
  if (step < recipe.warmup) return static_cast<double>(step + 1) / recipe.warmup;
  const double span = std::max<int64_t>(1, total - recipe.warmup);
  const double progress = std::min(1.0, (step - recipe.warmup) / span);
  const double cosine = 0.5 * (1.0 + std::cos(kPi * progress));
  return recipe.final_lr_fraction + (1.0 - recipe.final_lr_fraction) * cosine;
}

absl::StatusOr<Ranks> JoinRanks(const RunConfig& config) {
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(config.dist_timeout * 1000));
  absl::StatusOr<std::optional<CommunicatorOptions>> options =
      Communicator::OptionsFromEnvironment(timeout);
  if (!options.ok()) return options.status();
  if (!options->has_value() || (*options)->world_size == 1) return Ranks();
  if (config.device != "cpu") {
    return absl::InvalidArgumentError(absl::StrCat(
        "--device=", config.device, " with WORLD_SIZE=", (*options)->world_size,
        ": data parallel runs on the CPU (Gloo) in this build"));
  }
  absl::StatusOr<std::shared_ptr<Communicator>> communicator = Communicator::Connect(**options);
  if (!communicator.ok()) return communicator.status();
  return Ranks(*std::move(communicator));
}

int RunTask(Task& task, int argc, char** argv) {
  absl::StatusOr<RunConfig> config = ParseRunConfig(argc, argv, task.name());
  if (!config.ok()) return PrintError(kExitBadInput, config.status().message());
  if (!config->list_optimizers.empty()) {
    const std::string text =
        config->list_optimizers == "json" ? CatalogJson().dump(1) + "\n" : CatalogText();
    std::fputs(text.c_str(), stdout);
    return kExitCompleted;
  }
  if (config->device == "cpu") {
    // CPU-only process settings (tasks/harness/blas.h); a GPU run keeps the defaults.
    UseFastBlasKernels(argv);
    KeepFreedMemoryForReuse();
  }
  absl::StatusOr<Ranks> ranks = JoinRanks(*config);
  if (!ranks.ok()) return PrintError(ExitCodeFor(ranks.status()), ranks.status().message());
  task.set_ranks(*ranks);
  int code = kExitFailed;
  try {
    code = TrainingRun(task, *config).Main();
  } catch (const std::exception& e) {
    code = PrintError(kExitFailed, ExceptionCause(e));
  }
  // Leaving the job (the communicator's farewell) before the task goes.
  task.set_ranks(Ranks());
  return code;
}

void SetThreads(int64_t threads) {
  at::set_num_threads(static_cast<int>(threads));
  SetBlasThreads(static_cast<int>(threads));
}

int TaskMain(std::unique_ptr<Task> task, int argc, char** argv) {
  ExitOneOnTerminate(task->name());
  return RunTask(*task, argc, argv);
}

}  // namespace gs::tasks
