// run.json (docs/DESIGN.md, "Run directory contract") as one type: the trainer writes a
// RunRecord, the suite, tuning, the Slurm launcher and the reports read one. Reading is
// lenient, field by field, because run directories outlive the code that wrote them and
// each reader decides which missing fields it can live without. Free of LibTorch.
#ifndef GS_TASKS_HARNESS_RUN_RECORD_H_
#define GS_TASKS_HARNESS_RUN_RECORD_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/run_status.h"

namespace gs::tasks {

// A metric and its direction, as primary_metric and selection_metric record them.
struct RecordedMetric {
  std::string name;
  std::string goal;  // "min" | "max"
};

struct RunRecord {
  std::string task;
  // optimizer: {name, tag, options}; older run directories hold a plain name, which
  // reads as both name and tag.
  std::string optimizer_name, optimizer_tag;
  nlohmann::json optimizer_options = nlohmann::json::object();
  nlohmann::json smoothing = nlohmann::json::object();  // RunConfig::SmoothingJson()
  int64_t seed = 0;
  std::string preset;
  nlohmann::json config = nlohmann::json::object();  // every value the run trains with
  RunStatus status = RunStatus::kRunning;
  RecordedMetric primary_metric, selection_metric;
  nlohmann::json final = nlohmann::json::object();  // metric name -> value at the end
  int64_t steps = 0;
  double wall_seconds = 0.0;
  nlohmann::json versions = nlohmann::json::object();
  // Written once known.
  std::optional<double> seconds_per_step;
  std::optional<int64_t> peak_resident_bytes;
  std::optional<int64_t> diverged_at_step;
  std::optional<std::string> error;
  // Data parallel (absent in older records): the world size the run (last) trained
  // under, the backend when distributed, the main rank's optimizer state and its time
  // per step inside collectives.
  std::optional<int64_t> world_size;
  std::optional<std::string> backend;
  std::optional<int64_t> optimizer_state_bytes;
  std::optional<double> communication_seconds_per_step;

  nlohmann::json ToJson() const;
  // The bytes of run.json.
  std::string Text() const;
};

// What a run.json's text holds.
struct RunRecordRead {
  enum class Kind {
    kNotJson,    // empty or torn
    kNotObject,  // JSON, but not a run.json of this suite
    kRecord,     // an object: `record` holds the fields it has
  };
  Kind kind = Kind::kNotJson;
  RunRecord record;
  // The fields absent or of another type, by dotted name ("task", "primary_metric.goal"),
  // in the order of the record's declaration.
  std::vector<std::string> missing;
  // `status` as spelled when it is a string, known to RunStatus or not.
  std::string status_text;

  bool ok() const { return kind == Kind::kRecord; }
  bool Has(absl::string_view field) const;
};

RunRecordRead ParseRunRecord(absl::string_view text);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_RUN_RECORD_H_
