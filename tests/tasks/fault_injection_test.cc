// Every fault a run can meet, injected into real processes and survived (README.md,
// "Reliability"): lm_pretrain on its smoke preset killed with SIGKILL at spread times and
// at every write it makes (before it and half-way through it), the disk filling at every
// write (for good, or once), every byte range of the newest checkpoint and its manifest
// corrupted or cut short, metrics.jsonl torn, run.json empty or half written; and the
// suite killed at spread times and at its own writes. Each fault is followed by the same
// command again, which must end with the same metrics.jsonl (times apart), final metrics
// and depth.json as an uninterrupted run (the suite: the same report, byte for byte).
//
// Faults at writes come from tests/tasks/fault_shim.c (LD_PRELOAD). Between two writes a
// process changes nothing on disk, so a kill before each write and one half-way through
// each reach every state a kill can leave; the timed kills add kills during computation
// (training steps, evaluation) as they land.
//
// The default samples the fault points to stay within the test budget;
// GS_FAULT_EXHAUSTIVE=1 (bazel test --test_env=GS_FAULT_EXHAUSTIVE=1) injects them all.
// Each test prints "faults <kind>: injected N, survived N, data lost N", and the totals go
// to $TEST_UNDECLARED_OUTPUTS_DIR/faults.json.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <zlib.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "nlohmann/json.hpp"
#include "tests/tasks/task_runner.h"

namespace gs::testing {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

constexpr char kTask[] = "lm_pretrain";

bool Exhaustive() {
  const char* e = std::getenv("GS_FAULT_EXHAUSTIVE");
  return e != nullptr && std::string(e) == "1";
}

// `n` of the points 0..count-1, evenly spread (all of them when n >= count).
std::vector<size_t> Spread(size_t count, size_t n) {
  std::vector<size_t> points;
  if (count == 0) return points;
  if (n >= count) n = count;
  for (size_t i = 0; i < n; ++i) {
    const size_t p = n == 1 ? count / 2 : (i * (count - 1)) / (n - 1);
    if (points.empty() || points.back() != p) points.push_back(p);
  }
  return points;
}

std::vector<std::string> Args(const std::string& out, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"--preset=smoke", "--out=" + out, "--cache_dir=" + TempDir("cache")};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

std::string Runfile(const std::string& path) {
  return std::string(std::getenv("TEST_SRCDIR")) + "/gradient_smoothing/" + path;
}

// The shim's environment: faults (or only counting, with `at` 0) at writes under `dir`.
Env Faults(const std::string& dir, const std::string& log, size_t at = 0,
           const std::string& action = "", const std::string& program = "") {
  Env env{{"LD_PRELOAD", Runfile("tests/tasks/libfault_shim.so")}, {"GS_FAULT_DIR", dir}};
  if (!log.empty()) env.push_back({"GS_FAULT_LOG", log});
  if (at > 0) {
    env.push_back({"GS_FAULT_AT", std::to_string(at)});
    env.push_back({"GS_FAULT_ACTION", action});
  }
  if (!program.empty()) env.push_back({"GS_FAULT_PROGRAM", program});
  return env;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::stringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct Write {
  std::string path;
  double seconds = 0;  // on std::chrono::steady_clock
};

// The writes a shim log lists, in order.
std::vector<Write> Writes(const std::string& log) {
  std::vector<Write> writes;
  for (const std::string& line : Lines(ReadText(log))) {
    std::istringstream in(line);
    long k;
    size_t bytes;
    Write w;
    in >> k >> bytes >> w.seconds;
    std::getline(in >> std::ws, w.path);
    writes.push_back(w);
  }
  return writes;
}

double Since(Clock::time_point start, double seconds) {
  return seconds - std::chrono::duration<double>(start.time_since_epoch()).count();
}

// ---- What is counted -------------------------------------------------------------------

struct Tally {
  int injected = 0;  // faults that happened (the process was killed, the write failed, ...)
  int survived = 0;  // ... after which every promise held
  int lost = 0;      // ... after which a rerun did not end as an uninterrupted run
};

std::map<std::string, Tally>& Tallies() {
  static std::map<std::string, Tally> tallies;
  return tallies;
}

void PrintTally(const std::string& kind) {
  const Tally& t = Tallies()[kind];
  std::printf("faults %s: injected %d, survived %d, data lost %d\n", kind.c_str(), t.injected,
              t.survived, t.lost);
  std::fflush(stdout);
}

class FaultReport : public ::testing::Environment {
 public:
  void TearDown() override {
    Tally total;
    nlohmann::json json = nlohmann::json::object();
    for (const auto& [kind, t] : Tallies()) {
      total.injected += t.injected;
      total.survived += t.survived;
      total.lost += t.lost;
      json[kind] = {{"injected", t.injected}, {"survived", t.survived}, {"data_lost", t.lost}};
    }
    json["total"] = {{"injected", total.injected}, {"survived", total.survived},
                     {"data_lost", total.lost}, {"exhaustive", Exhaustive()}};
    std::printf("faults total%s: injected %d, survived %d, data lost %d\n",
                Exhaustive() ? " (exhaustive)" : "", total.injected, total.survived, total.lost);
    if (const char* dir = std::getenv("TEST_UNDECLARED_OUTPUTS_DIR")) {
      std::ofstream(std::string(dir) + "/faults.json") << json.dump(1) << "\n";
    }
  }
};

const ::testing::Environment* const kFaultReport =
    ::testing::AddGlobalTestEnvironment(new FaultReport);

// ---- The uninterrupted run and what a run leaves ---------------------------------------

// What an uninterrupted run ends with: metrics.jsonl without times, final, depth.json.
struct Outcome {
  std::string status, metrics, final, depth;
  bool operator==(const Outcome& o) const {
    return status == o.status && metrics == o.metrics && final == o.final && depth == o.depth;
  }
};

Outcome Read(const std::string& out) {
  const nlohmann::json run = ReadJson(out + "/run.json");
  Outcome o;
  if (run.is_object()) {
    o.status = run.value("status", "");
    o.final = run.value("final", nlohmann::json()).dump();
  }
  if (fs::exists(out + "/metrics.jsonl")) o.metrics = MetricsWithoutTimes(out);
  o.depth = ReadText(out + "/depth.json");
  return o;
}

struct Reference {
  std::string dir;
  std::vector<std::string> writes;  // the paths of its writes, in order
  // When the first and the last write came, in seconds after the process started: the
  // span in which a kill can change what is on disk.
  double first_write = 0, last_write = 0;
  Outcome outcome;
};

// One uninterrupted run, with the shim counting its writes.
const Reference& Ref() {
  static const Reference ref = [] {
    Reference r;
    r.dir = TempDir("reference");
    const std::string log = TempDir("reference.writes");
    const Clock::time_point start = Clock::now();
    const Result result = RunTask(kTask, Args(r.dir), Faults(r.dir, log));
    EXPECT_EQ(result.exit_code, 0) << result.stderr_text;
    const std::vector<Write> writes = Writes(log);
    for (const Write& w : writes) r.writes.push_back(w.path);
    if (!writes.empty()) {
      r.first_write = Since(start, writes.front().seconds);
      r.last_write = Since(start, writes.back().seconds);
    }
    r.outcome = Read(r.dir);
    EXPECT_EQ(r.outcome.status, "completed");
    EXPECT_GE(r.writes.size(), 10u) << "the shim saw too few writes";
    return r;
  }();
  return ref;
}

// zlib's CRC-32, computed here independently of tasks/harness/files.cc.
uint32_t Crc(const std::string& bytes) {
  return static_cast<uint32_t>(
      crc32(crc32(0L, Z_NULL, 0), reinterpret_cast<const Bytef*>(bytes.data()), bytes.size()));
}

// What in `out` a rerun could not read: a run.json that does not parse, a checkpoint
// manifest that does not parse or whose archive does not have its size and CRC-32.
std::vector<std::string> Unreadable(const std::string& out) {
  std::vector<std::string> problems;
  if (fs::exists(out + "/run.json") && !ReadJson(out + "/run.json").is_object()) {
    problems.push_back("run.json does not parse");
  }
  const std::string dir = out + "/checkpoint";
  if (!fs::is_directory(dir)) return problems;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string path = entry.path().string();
    if (entry.path().extension() != ".json") continue;
    const nlohmann::json manifest = ReadJson(path);
    const std::string archive = path.substr(0, path.size() - 5) + ".pt";
    const std::string bytes = ReadText(archive);
    if (!manifest.is_object() || !fs::exists(archive) ||
        manifest.value("bytes", uint64_t{0}) != bytes.size() ||
        manifest.value("crc32", uint64_t{0}) != Crc(bytes)) {
      problems.push_back(path + " does not describe " + archive);
    }
  }
  return problems;
}

std::vector<std::string> TemporaryFiles(const std::string& out) {
  std::vector<std::string> found;
  for (const auto& entry : fs::recursive_directory_iterator(out)) {
    if (entry.path().extension() == ".tmp") found.push_back(entry.path().string());
  }
  return found;
}

bool EndsWith(const std::string& text, const std::string& end) {
  return text.size() >= end.size() && text.compare(text.size() - end.size(), end.size(), end) == 0;
}

// The lines a process printed that report an error, and any sign of an abort.
std::vector<std::string> ErrorLines(const std::string& text) {
  std::vector<std::string> errors;
  for (const std::string& line : Lines(text)) {
    const size_t at = line.find("error: ");
    if (at != std::string::npos) errors.push_back(line.substr(at));
  }
  return errors;
}

bool Aborted(const std::string& text) {
  for (const char* sign : {"terminate called", "frame #", "Aborted", "core dumped", "what():"}) {
    if (text.find(sign) != std::string::npos) return true;
  }
  return false;
}

// Runs the same command again, without faults: it must complete as the uninterrupted
// run did. Returns whether it did; `why` says what differed.
bool RerunEndsAsReference(const std::string& out, std::string* why) {
  const Result r = RunTask(kTask, Args(out));
  const std::vector<std::string> problems = Unreadable(out);
  const Outcome o = Read(out);
  if (r.exit_code != 0) {
    *why = "the rerun exited " + std::to_string(r.exit_code) + ": " + r.stderr_text;
  } else if (Aborted(r.stderr_text)) {
    *why = "the rerun printed an abort: " + r.stderr_text;
  } else if (!(o == Ref().outcome)) {
    *why = "the rerun ended otherwise than the uninterrupted run (status " + o.status + ")";
  } else if (!problems.empty()) {
    *why = problems.front();
  } else {
    return true;
  }
  return false;
}

// Copies a prepared run directory for one case.
std::string Copy(const std::string& from, const std::string& name) {
  const std::string to = TempDir(name);
  fs::remove_all(to);
  fs::copy(from, to, fs::copy_options::recursive);
  return to;
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

// ---- Kills ------------------------------------------------------------------------------

TEST(FaultInjection, KillNineAtSpreadTimesResumesToTheSameEnd) {
  // Spread over the span of the uninterrupted run's writes (training, evaluation and
  // checkpoints; before it nothing is on disk yet), and a little past it.
  const size_t n = Exhaustive() ? 60 : 20;
  const double span = Ref().last_write - Ref().first_write;
  Tally& tally = Tallies()["kill at a time"];
  std::set<size_t> states;  // how many writes had been made when the kill came
  for (size_t i = 0; i < n; ++i) {
    const std::string out = TempDir("time_kill_" + std::to_string(i));
    const std::string log = out + ".writes";
    const double at = Ref().first_write + (i + 0.5) / n * 1.05 * span;
    const std::string err = out + ".stderr";
    const pid_t pid = Start(TaskBinary(kTask), Args(out), err, Faults(out, log));
    std::this_thread::sleep_for(std::chrono::duration<double>(at));
    kill(pid, SIGKILL);
    const Result killed = Wait(pid, err);
    if (killed.exit_code != 128 + SIGKILL) continue;  // it had finished: no fault
    ++tally.injected;
    states.insert(Lines(ReadText(log)).size());
    const std::vector<std::string> problems = Unreadable(out);
    EXPECT_TRUE(problems.empty()) << "killed at " << at << " s: " << problems.front();
    std::string why;
    const bool same = RerunEndsAsReference(out, &why);
    EXPECT_TRUE(same) << "killed at " << at << " s: " << why;
    tally.survived += same && problems.empty();
    tally.lost += !same;
    fs::remove_all(out);
  }
  std::printf("timed kills landed after %zu different numbers of writes (of %zu)\n",
              states.size(), Ref().writes.size() + 1);
  PrintTally("kill at a time");
  EXPECT_GE(tally.injected, static_cast<int>(n / 2)) << "most kills came after the run ended";
  EXPECT_GE(states.size(), 3u) << "the kills did not spread over the run";
  EXPECT_EQ(tally.lost, 0);
}

TEST(FaultInjection, KillNineAtEveryWriteResumesToTheSameEnd) {
  const size_t writes = Ref().writes.size();
  Tally& tally = Tallies()["kill at a write"];
  bool hit_checkpoint = false;
  for (const std::string action : {"kill", "kill_torn"}) {
    // Sampled: each write once, alternately before it and half-way through it.
    for (size_t k = 1; k <= writes; ++k) {
      if (!Exhaustive() && (k % 2 == 0) != (action == std::string("kill_torn"))) continue;
      const std::string out = TempDir("write_kill_" + std::to_string(k) + action);
      const Result killed = RunTask(kTask, Args(out), Faults(out, "", k, action));
      EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << action << " at write " << k;
      if (killed.exit_code != 128 + SIGKILL) continue;
      ++tally.injected;
      hit_checkpoint |= Ref().writes[k - 1].find("/checkpoint/") != std::string::npos;
      const std::vector<std::string> problems = Unreadable(out);
      EXPECT_TRUE(problems.empty()) << action << " at write " << k << ": " << problems.front();
      std::string why;
      const bool same = RerunEndsAsReference(out, &why);
      EXPECT_TRUE(same) << action << " at write " << k << " (" << Ref().writes[k - 1] << "): " << why;
      tally.survived += same && problems.empty();
      tally.lost += !same;
      fs::remove_all(out);
    }
  }
  EXPECT_TRUE(hit_checkpoint);
  PrintTally("kill at a write");
  EXPECT_EQ(tally.lost, 0);
}

// ---- A full disk ------------------------------------------------------------------------

TEST(FaultInjection, DiskFullAtEveryWriteFailsCleanlyAndResumes) {
  const size_t writes = Ref().writes.size();
  Tally& tally = Tallies()["disk full"];
  for (const std::string action : {"enospc", "enospc_once"}) {
    const bool once = action == "enospc_once";
    for (size_t k = 1; k <= writes; ++k) {
      // Sampled: the disk that stays full at every write, the one that frees at two.
      if (!Exhaustive() && once && k != writes / 3 && k != 2 * writes / 3) continue;
      const std::string out = TempDir("disk_full_" + std::to_string(k) + action);
      const std::string at = action + " at write " + std::to_string(k) + " (" + Ref().writes[k - 1] + ")";
      const Result failed = RunTask(kTask, Args(out), Faults(out, "", k, action));
      ++tally.injected;
      bool clean = failed.exit_code == 1 && !Aborted(failed.stderr_text);
      EXPECT_EQ(failed.exit_code, 1) << at << ": " << failed.stderr_text;
      EXPECT_FALSE(Aborted(failed.stderr_text)) << at << ": " << failed.stderr_text;
      // One line naming the file and the cause.
      const std::vector<std::string> errors = ErrorLines(failed.stderr_text);
      static const std::regex kMessage(
          "error: writing /[^:]+: No space left on device"
          "(; run\\.json could not record the failure: writing /[^:]+/run\\.json: No space left on device)?");
      clean &= errors.size() == 1 && std::regex_match(errors.front(), kMessage);
      EXPECT_EQ(errors.size(), 1u) << at << ": " << failed.stderr_text;
      if (!errors.empty()) {
        EXPECT_TRUE(std::regex_match(errors.front(), kMessage)) << at << ": " << errors.front();
        EXPECT_THAT(errors.front(), HasSubstr("writing " + out + "/")) << at;
      }
      // run.json says failed, with the message, wherever it could still be written.
      const nlohmann::json run = ReadJson(out + "/run.json");
      if (once && k > 1) {
        const bool recorded = run.is_object() && run.value("status", "") == "failed" &&
                              !errors.empty() && "error: " + run.value("error", "") == errors.front();
        EXPECT_TRUE(recorded) << at << ": " << run.dump();
        clean &= recorded;
      }
      const std::vector<std::string> problems = Unreadable(out);
      EXPECT_TRUE(problems.empty()) << at << ": " << problems.front();
      const std::vector<std::string> leftovers = fs::exists(out) ? TemporaryFiles(out) : std::vector<std::string>{};
      EXPECT_TRUE(leftovers.empty()) << at << ": left " << leftovers.front();
      clean &= problems.empty() && leftovers.empty();
      std::string why;
      const bool same = RerunEndsAsReference(out, &why);
      EXPECT_TRUE(same) << at << ": " << why;
      tally.survived += same && clean;
      tally.lost += !same;
      fs::remove_all(out);
    }
  }
  PrintTally("disk full");
  EXPECT_EQ(tally.lost, 0);
}

// ---- Corrupt and torn files --------------------------------------------------------------

// A run killed right after its newest checkpoint (step 30) and that checkpoint's manifest
// were written: checkpoints 20 and 30, metrics.jsonl up to step 30.
const std::string& Prepared() {
  static const std::string dir = [] {
    size_t last_manifest = 0;
    for (size_t k = 1; k <= Ref().writes.size(); ++k) {
      const std::string& w = Ref().writes[k - 1];
      if (w.find("/checkpoint/") != std::string::npos && w.find(".json.tmp") != std::string::npos) {
        last_manifest = k;
      }
    }
    const std::string out = TempDir("prepared");
    const Result r = RunTask(kTask, Args(out), Faults(out, "", last_manifest + 1, "kill"));
    EXPECT_EQ(r.exit_code, 128 + SIGKILL);
    EXPECT_TRUE(fs::exists(out + "/checkpoint/step_000000030.json"));
    EXPECT_TRUE(fs::exists(out + "/checkpoint/step_000000020.json"));
    return out;
  }();
  return dir;
}

struct Corruption {
  std::string name;
  std::function<void(const std::string& out)> apply;
  std::vector<std::string> expected;  // in the rerun's stderr
};

void RunCorruptions(const std::string& kind, const std::vector<Corruption>& cases) {
  Tally& tally = Tallies()[kind];
  int i = 0;
  for (const Corruption& c : cases) {
    const std::string out = Copy(Prepared(), kind.substr(0, 8) + "_" + std::to_string(i++));
    c.apply(out);
    ++tally.injected;
    const Result r = RunTask(kTask, Args(out));
    bool detected = true;
    for (const std::string& e : c.expected) {
      const bool found = r.stderr_text.find(e) != std::string::npos;
      EXPECT_TRUE(found) << c.name << ": no '" << e << "' in " << r.stderr_text;
      detected &= found;
    }
    const bool same = r.exit_code == 0 && !Aborted(r.stderr_text) && Read(out) == Ref().outcome;
    EXPECT_EQ(r.exit_code, 0) << c.name << ": " << r.stderr_text;
    EXPECT_TRUE(same) << c.name << ": the rerun ended otherwise than the uninterrupted run";
    tally.survived += same && detected;
    tally.lost += !same;
    fs::remove_all(out);
  }
  PrintTally(kind);
  EXPECT_EQ(tally.lost, 0);
}

const char kCorrupt30[] = "step_000000030.pt is missing or corrupt";
const char kFrom20[] = "resuming from the checkpoint at step 20";
const char kFrom30[] = "resuming from the checkpoint at step 30";

TEST(FaultInjection, EveryByteRangeOfTheNewestCheckpointCorruptOrCutFallsBack) {
  const std::string archive = "/checkpoint/step_000000030.pt";
  const size_t size = fs::file_size(Prepared() + archive);
  std::vector<Corruption> cases;
  // A byte flipped in each of `ranges` equal ranges of the archive.
  const size_t ranges = Exhaustive() ? 256 : 3;
  for (size_t r = 0; r < ranges; ++r) {
    const size_t offset = (2 * r + 1) * size / (2 * ranges);
    cases.push_back({"flip at " + std::to_string(offset), [=](const std::string& out) {
                       std::string bytes = ReadText(out + archive);
                       bytes[offset] = static_cast<char>(bytes[offset] ^ 0xff);
                       WriteBytes(out + archive, bytes);
                     }, {kCorrupt30, kFrom20}});
  }
  for (size_t p : Spread(size, Exhaustive() ? 32 : 1)) {
    cases.push_back({"cut to " + std::to_string(p), [=](const std::string& out) {
                       fs::resize_file(out + archive, p);
                     }, {kCorrupt30, kFrom20}});
  }
  // Both checkpoints corrupt: the run starts again.
  cases.push_back({"both corrupt", [](const std::string& out) {
                     for (const char* step : {"20", "30"}) {
                       const std::string path = out + "/checkpoint/step_0000000" + step + ".pt";
                       fs::resize_file(path, fs::file_size(path) / 2);
                     }
                   }, {kCorrupt30, "step_000000020.pt is missing or corrupt"}});
  RunCorruptions("corrupt checkpoint", cases);
}

TEST(FaultInjection, EveryByteOfTheNewestManifestCorruptOrCutFallsBack) {
  const std::string manifest = "/checkpoint/step_000000030.json";
  const size_t size = fs::file_size(Prepared() + manifest);
  std::vector<Corruption> cases;
  for (size_t offset : Spread(size, Exhaustive() ? size : 3)) {
    cases.push_back({"flip at " + std::to_string(offset), [=](const std::string& out) {
                       std::string bytes = ReadText(out + manifest);
                       bytes[offset] = static_cast<char>(bytes[offset] ^ 0xff);
                       WriteBytes(out + manifest, bytes);
                     }, {kCorrupt30, kFrom20}});
  }
  // Characters that keep it JSON: a digit changed, a key renamed, a value of another type.
  std::vector<std::pair<std::string, std::string>> edits = {
      {"\"bytes\"", "\"bytez\""}, {"\"crc32\":", "\"crc32\":\"x\",\"c\":"},
      {"\"step\":30", "\"step\":20"}, {"\"bytes\":", "\"bytes\":-"}};
  if (!Exhaustive()) edits.resize(2);
  for (const auto& [from, to] : edits) {
    cases.push_back({"edit " + from, [=, from = from, to = to](const std::string& out) {
                       std::string text = ReadText(out + manifest);
                       const size_t at = text.find(from);
                       ASSERT_NE(at, std::string::npos) << text;
                       WriteBytes(out + manifest, text.replace(at, from.size(), to));
                     }, {kCorrupt30, kFrom20}});
  }
  for (size_t p : Spread(size, Exhaustive() ? size : 1)) {
    cases.push_back({"cut to " + std::to_string(p), [=](const std::string& out) {
                       fs::resize_file(out + manifest, p);
                     }, {kCorrupt30, kFrom20}});
  }
  RunCorruptions("corrupt manifest", cases);
}

TEST(FaultInjection, TornOrCorruptLogsAreReportedAndRebuilt) {
  const std::string metrics = ReadText(Prepared() + "/metrics.jsonl");
  ASSERT_FALSE(metrics.empty());
  const size_t last_line = metrics.rfind('\n', metrics.size() - 2) + 1;
  std::vector<Corruption> cases;
  // The last line cut short at any of its bytes (the newline alone included).
  for (size_t p : Spread(metrics.size() - last_line, Exhaustive() ? metrics.size() : 2)) {
    const size_t length = last_line + p;
    cases.push_back({"metrics.jsonl cut to " + std::to_string(length), [=](const std::string& out) {
                       fs::resize_file(out + "/metrics.jsonl", length);
                     }, {"metrics.jsonl", kFrom30}});
  }
  cases.push_back({"metrics.jsonl: a byte of line 2 flipped", [=](const std::string& out) {
                     std::string bytes = metrics;
                     const size_t at = metrics.find('\n') + 5;
                     bytes[at] = static_cast<char>(bytes[at] ^ 0xff);
                     WriteBytes(out + "/metrics.jsonl", bytes);
                   }, {"metrics.jsonl: line 2 is torn or corrupt", kFrom30}});
  cases.push_back({"metrics.jsonl gone", [](const std::string& out) {
                     fs::remove(out + "/metrics.jsonl");
                   }, {kFrom30}});
  cases.push_back({"depth.json garbage", [](const std::string& out) {
                     WriteBytes(out + "/depth.json", "{\"records\": [{\"st");
                   }, {kFrom30}});
  // run.json empty or cut short anywhere.
  const size_t run_size = fs::file_size(Prepared() + "/run.json");
  for (size_t p : Spread(run_size - 1, Exhaustive() ? 64 : 2)) {
    cases.push_back({"run.json cut to " + std::to_string(p), [=](const std::string& out) {
                       fs::resize_file(out + "/run.json", p);
                     }, {"run.json is empty or torn", kFrom30}});
  }
  RunCorruptions("torn logs", cases);
}

TEST(FaultInjection, ATornRunJsonNeverLetsAnotherConfigurationOverwriteTheRun) {
  const std::string out = Copy(Prepared(), "torn_other_configuration");
  fs::resize_file(out + "/run.json", 0);
  const std::string before = ReadText(out + "/checkpoint/step_000000030.pt");
  const Result r = RunTask(kTask, Args(out, {"--seed=1"}));
  EXPECT_EQ(r.exit_code, 2) << r.stderr_text;
  EXPECT_THAT(r.stderr_text, HasSubstr("another configuration"));
  EXPECT_EQ(ReadText(out + "/checkpoint/step_000000030.pt"), before);
  EXPECT_EQ(fs::file_size(out + "/run.json"), 0u);
  // The run's own command still resumes it.
  std::string why;
  EXPECT_TRUE(RerunEndsAsReference(out, &why)) << why;
}

// ---- The suite --------------------------------------------------------------------------

std::string SuiteGrid() {
  static const std::string path = [] {
    const std::string p = TempDir("grid.json");
    std::ofstream(p) << R"({"description": "faults", "experiments": [{"tasks": ["lm_pretrain"],
        "preset": "smoke", "optimizers": ["adamw"],
        "smoothing": [{"smoothing": "window", "alpha": 0.2}],
        "seeds": [0, 1, 2], "flags": {"steps": 20}}]})";
    return p;
  }();
  return path;
}

std::vector<std::string> SuiteArgs(const std::string& results) {
  return {"--grid=" + SuiteGrid(), "--results=" + results};
}

// Every file under `dir` with its bytes.
std::map<std::string, std::string> Files(const std::string& dir) {
  std::map<std::string, std::string> files;
  if (!fs::is_directory(dir)) return files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file()) {
      files[fs::relative(entry.path(), dir).string()] = ReadText(entry.path().string());
    }
  }
  return files;
}

struct SuiteReference {
  double seconds = 0;
  std::map<std::string, std::string> report;
  size_t writes = 0;  // the suite's own writes under the results folder
};

const SuiteReference& SuiteRef() {
  static const SuiteReference ref = [] {
    SuiteReference r;
    const std::string results = TempDir("suite_reference");
    const std::string log = TempDir("suite_reference.writes");
    const std::string err = TempDir("suite_reference.stderr");
    const Clock::time_point start = Clock::now();
    const Result done = Wait(Start(Runfile("benchmarks/suite"), SuiteArgs(results), err,
                                   Faults(results, log, 0, "", "suite")),
                             err);
    r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
    EXPECT_EQ(done.exit_code, 0) << done.stderr_text;
    r.report = Files(results + "/report");
    EXPECT_GE(r.report.size(), 5u);
    r.writes = Writes(log).size();
    return r;
  }();
  return ref;
}

std::string RunDir(const std::string& results, int seed) {
  return results + "/lm_pretrain/smoke/adamw-window-a0.2-steps20/seed" + std::to_string(seed);
}

// After a killed suite: runs it again and checks that only unfinished runs ran again and
// that the report is the uninterrupted one's, byte for byte.
bool SuiteRerunFinishesWhatIsMissing(const std::string& results, const std::string& at) {
  std::vector<std::string> completed;  // run.json of runs the killed suite completed
  for (int seed = 0; seed < 3; ++seed) {
    const nlohmann::json run = ReadJson(RunDir(results, seed) + "/run.json");
    completed.push_back(run.is_object() && run.value("status", "") == "completed"
                            ? ReadText(RunDir(results, seed) + "/run.json")
                            : "");
  }
  const std::string err = results + ".rerun.stderr";
  const Result r = Wait(Start(Runfile("benchmarks/suite"), SuiteArgs(results), err), err);
  bool ok = r.exit_code == 0;
  EXPECT_EQ(r.exit_code, 0) << at << ": " << r.stderr_text;
  for (int seed = 0; seed < 3; ++seed) {
    if (completed[seed].empty()) continue;
    const bool untouched = ReadText(RunDir(results, seed) + "/run.json") == completed[seed];
    EXPECT_TRUE(untouched) << at << ": seed " << seed << " was run again";
    ok &= untouched;
  }
  const bool same = Files(results + "/report") == SuiteRef().report;
  EXPECT_TRUE(same) << at << ": the report differs from the uninterrupted suite's";
  return ok && same;
}

TEST(FaultInjection, SuiteKilledAtSpreadTimesAndWritesFinishesOnlyWhatIsMissing) {
  // Orphaned task processes become children of this test, to be waited for.
  ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  Tally& tally = Tallies()["suite killed"];
  const size_t n = Exhaustive() ? 20 : 3;
  for (size_t i = 0; i < n; ++i) {
    const std::string results = TempDir("suite_time_" + std::to_string(i));
    const double at = (i + 0.5) / n * SuiteRef().seconds;
    const std::string err = results + ".stderr";
    const pid_t pid = Start(Runfile("benchmarks/suite"), SuiteArgs(results), err);
    std::this_thread::sleep_for(std::chrono::duration<double>(at));
    kill(pid, SIGKILL);
    const Result killed = Wait(pid, err);
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (killed.exit_code != 128 + SIGKILL) continue;
    ++tally.injected;
    const bool ok = SuiteRerunFinishesWhatIsMissing(results, "killed at " + std::to_string(at) + " s");
    tally.survived += ok;
    tally.lost += Files(results + "/report") != SuiteRef().report;
    fs::remove_all(results);
  }
  // At the suite's own writes (run logs, locks, every report file), before and half-way.
  for (const std::string action : {"kill", "kill_torn"}) {
    for (size_t k = 1; k <= SuiteRef().writes; ++k) {
      // Sampled: half-way through a run's log header and through a report file.
      if (!Exhaustive() && (action == std::string("kill") || (k != 3 && k != SuiteRef().writes - 2))) {
        continue;
      }
      const std::string results = TempDir("suite_write_" + std::to_string(k) + action);
      const std::string err = results + ".stderr";
      const Result killed = Wait(Start(Runfile("benchmarks/suite"), SuiteArgs(results), err,
                                       Faults(results, "", k, action, "suite")),
                                 err);
      while (waitpid(-1, nullptr, WNOHANG) > 0) {
      }
      EXPECT_EQ(killed.exit_code, 128 + SIGKILL) << action << " at write " << k;
      if (killed.exit_code != 128 + SIGKILL) continue;
      ++tally.injected;
      const bool ok = SuiteRerunFinishesWhatIsMissing(results, action + " at write " + std::to_string(k));
      tally.survived += ok;
      tally.lost += Files(results + "/report") != SuiteRef().report;
      fs::remove_all(results);
    }
  }
  PrintTally("suite killed");
  EXPECT_GE(tally.injected, static_cast<int>(n / 2));
  EXPECT_EQ(tally.lost, 0);
}

// ---- Errors at the boundary of the suite and the report generator ----------------------

TEST(FaultInjection, SuiteAndReportGeneratorOnAFullDiskSayWhichFileInOneLine) {
  Tally& tally = Tallies()["report disk full"];
  const std::string results = TempDir("report_disk_full");
  {
    const std::string err = results + ".stderr";
    ASSERT_EQ(Wait(Start(Runfile("benchmarks/suite"), SuiteArgs(results), err), err).exit_code, 0);
  }
  // The report generator, at each of its writes (sampled: one); gnuplot's images are
  // another program's.
  const std::string out = results + "/report";
  const std::string count_log = results + ".tables.writes";
  {
    const std::string err = results + ".tables.stderr";
    ASSERT_EQ(Wait(Start(Runfile("reports/tables"), {"--results=" + results}, err,
                         Faults(out, count_log, 0, "", "tables")),
                   err).exit_code, 0);
  }
  const size_t report_writes = Writes(count_log).size();
  ASSERT_GE(report_writes, 4u);
  for (size_t k : Spread(report_writes, Exhaustive() ? report_writes : 1)) {
    const std::string err = results + ".tables.stderr";
    const Result r = Wait(Start(Runfile("reports/tables"), {"--results=" + results}, err,
                                Faults(out, "", k + 1, "enospc", "tables")),
                          err);
    ++tally.injected;
    const std::vector<std::string> errors = ErrorLines(r.stderr_text);
    const bool clean = r.exit_code == 1 && !Aborted(r.stderr_text) && errors.size() == 1 &&
                       errors[0].rfind("error: writing " + out + "/", 0) == 0 &&
                       EndsWith(errors[0], ": No space left on device");
    EXPECT_TRUE(clean) << "enospc at write " << k + 1 << ": exit " << r.exit_code << ": " << r.stderr_text;
    EXPECT_TRUE(TemporaryFiles(out).empty());
    // With space again, the same report.
    const Result again = Wait(Start(Runfile("reports/tables"), {"--results=" + results}, err), err);
    const bool same = again.exit_code == 0 && Files(out) == SuiteRef().report;
    EXPECT_TRUE(same) << again.stderr_text;
    tally.survived += clean && same;
    tally.lost += !same;
  }
  // The suite writing its report onto a full disk.
  {
    const std::string err = results + ".suite.stderr";
    const Result r = Wait(Start(Runfile("benchmarks/suite"), SuiteArgs(results), err,
                                Faults(out, "", 2, "enospc", "suite")),
                          err);
    ++tally.injected;
    const bool clean = r.exit_code == 1 && !Aborted(r.stderr_text) &&
                       r.stderr_text.find("suite: the report failed: writing " + out + "/") !=
                           std::string::npos &&
                       r.stderr_text.find("No space left on device\n") != std::string::npos;
    EXPECT_TRUE(clean) << r.stderr_text;
    const Result again = Wait(Start(Runfile("benchmarks/suite"), SuiteArgs(results), err), err);
    const bool same = again.exit_code == 0 && Files(out) == SuiteRef().report;
    EXPECT_TRUE(same) << again.stderr_text;
    tally.survived += clean && same;
    tally.lost += !same;
  }
  PrintTally("report disk full");
}

TEST(FaultInjection, BadFlagsExitTwoNamingTheFlag) {
  struct Case {
    std::string binary;
    std::vector<std::string> args;
    std::string expected;
  };
  for (const Case& c : std::vector<Case>{
           {"tasks/lm_pretrain", {"--seed=abc"}, "error: --seed=abc is not allowed; use an integer"},
           {"tasks/lm_pretrain", {"--steps"}, "error: --steps needs a value: an integer"},
           {"tasks/lm_pretrain", {"--lr=fast"}, "error: --lr=fast is not allowed; use a number"},
           {"tasks/lm_pretrain", {"--list_optimizers=maybe"}, "use true or false"},
           {"tasks/lm_pretrain", {"--sed=1"}, "unknown flag --sed"},
           {"benchmarks/suite", {"--jobs=two"}, "suite: --jobs=two is not allowed; use an integer"},
           {"reports/tables", {"--results=x", "--outt=y"}, "error: --outt=y: unknown flag --outt"}}) {
    const std::string err = TempDir("bad_flag.stderr");
    const Result r = Wait(Start(Runfile(c.binary), c.args, err), err);
    EXPECT_EQ(r.exit_code, 2) << c.binary << " " << c.args[0] << ": " << r.stderr_text;
    EXPECT_THAT(r.stderr_text, HasSubstr(c.expected)) << c.binary;
    EXPECT_EQ(Lines(r.stderr_text).size(), 1u) << r.stderr_text;
  }
}

}  // namespace
}  // namespace gs::testing
