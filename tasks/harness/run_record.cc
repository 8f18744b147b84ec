#include "tasks/harness/run_record.h"

#include <algorithm>

namespace gs::tasks {
namespace {

using nlohmann::json;

// One field at a time: a field that is absent or of another type is named in `missing`.
class FieldReader {
 public:
  FieldReader(const json& object, std::vector<std::string>& missing)
      : object_(object), missing_(missing) {}

  void String(const char* key, std::string& out, const std::string& name = "") {
    const json* v = Find(key);
    if (v != nullptr && v->is_string()) {
      out = v->get<std::string>();
    } else {
      missing_.push_back(name.empty() ? key : name);
    }
  }
  void Object(const char* key, json& out) {
    const json* v = Find(key);
    if (v != nullptr && v->is_object()) {
      out = *v;
    } else {
      missing_.push_back(key);
    }
  }
  void Integer(const char* key, int64_t& out) {
    const json* v = Find(key);
    if (v != nullptr && v->is_number_integer()) {
      out = v->get<int64_t>();
    } else {
      missing_.push_back(key);
    }
  }
  void Number(const char* key, double& out) {
    const json* v = Find(key);
    if (v != nullptr && v->is_number()) {
      out = v->get<double>();
    } else {
      missing_.push_back(key);
    }
  }
  void Metric(const char* key, RecordedMetric& out) {
    const json* v = Find(key);
    const json object = v != nullptr && v->is_object() ? *v : json::object();
    FieldReader metric(object, missing_);
    metric.String("name", out.name, std::string(key) + ".name");
    metric.String("goal", out.goal, std::string(key) + ".goal");
  }
  // Optional fields: absent or of another type leaves them unset.
  template <typename T>
  void Optional(const char* key, std::optional<T>& out) {
    const json* v = Find(key);
    if (v == nullptr) return;
    if constexpr (std::is_same_v<T, std::string>) {
      if (v->is_string()) out = v->get<std::string>();
    } else if constexpr (std::is_integral_v<T>) {
      if (v->is_number_integer()) out = v->get<T>();
    } else {
      if (v->is_number()) out = v->get<T>();
    }
  }
  const json* Find(const char* key) const {
    const auto it = object_.find(key);
    return it == object_.end() ? nullptr : &*it;
  }

 private:
  const json& object_;
  std::vector<std::string>& missing_;
};

void ReadOptimizer(FieldReader& fields, RunRecord& record, std::vector<std::string>& missing) {
  const json* optimizer = fields.Find("optimizer");
  if (optimizer != nullptr && optimizer->is_object()) {
    FieldReader inner(*optimizer, missing);
    inner.String("tag", record.optimizer_tag, "optimizer.tag");
    std::vector<std::string> ignored;  // older records lack the name and the options
    FieldReader lenient(*optimizer, ignored);
    lenient.String("name", record.optimizer_name);
    lenient.Object("options", record.optimizer_options);
  } else if (optimizer != nullptr && optimizer->is_string()) {
    record.optimizer_name = record.optimizer_tag = optimizer->get<std::string>();
  } else {
    missing.push_back("optimizer");
  }
}

void ReadStatus(FieldReader& fields, RunRecordRead& read) {
  const json* status = fields.Find("status");
  if (status != nullptr && status->is_string()) read.status_text = status->get<std::string>();
  const std::optional<RunStatus> parsed = ParseRunStatus(read.status_text);
  if (parsed) {
    read.record.status = *parsed;
  } else {
    read.missing.push_back("status");
  }
}

}  // namespace

json RunRecord::ToJson() const {
  // nlohmann's object keeps its keys sorted, so the order of the statements below does
  // not change the bytes.
  json j = {{"task", task},
            {"optimizer", {{"name", optimizer_name}, {"tag", optimizer_tag}, {"options", optimizer_options}}},
            {"smoothing", smoothing},
            {"seed", seed},
            {"preset", preset},
            {"config", config},
            {"status", RunStatusName(status)},
            {"primary_metric", {{"name", primary_metric.name}, {"goal", primary_metric.goal}}},
            {"selection_metric", {{"name", selection_metric.name}, {"goal", selection_metric.goal}}},
            {"final", final},
            {"steps", steps},
            {"wall_seconds", wall_seconds},
            {"versions", versions}};
  if (seconds_per_step) j["seconds_per_step"] = *seconds_per_step;
  if (peak_resident_bytes) j["peak_resident_bytes"] = *peak_resident_bytes;
  if (diverged_at_step) j["diverged_at_step"] = *diverged_at_step;
  if (error) j["error"] = *error;
  if (world_size) j["world_size"] = *world_size;
  if (backend) j["backend"] = *backend;
  if (optimizer_state_bytes) j["optimizer_state_bytes"] = *optimizer_state_bytes;
  if (communication_seconds_per_step) {
    j["communication_seconds_per_step"] = *communication_seconds_per_step;
  }
  return j;
}

std::string RunRecord::Text() const { return ToJson().dump(2) + "\n"; }

bool RunRecordRead::Has(absl::string_view field) const {
  return ok() && std::find(missing.begin(), missing.end(), field) == missing.end();
}

RunRecordRead ParseRunRecord(absl::string_view text) {
  RunRecordRead read;
  const json j = json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return read;
  read.kind = RunRecordRead::Kind::kNotObject;
  if (!j.is_object()) return read;
  read.kind = RunRecordRead::Kind::kRecord;
  RunRecord& r = read.record;
  FieldReader fields(j, read.missing);
  fields.String("task", r.task);
  ReadOptimizer(fields, r, read.missing);
  fields.Object("smoothing", r.smoothing);
  fields.Integer("seed", r.seed);
  fields.String("preset", r.preset);
  fields.Object("config", r.config);
  ReadStatus(fields, read);
  fields.Metric("primary_metric", r.primary_metric);
  fields.Metric("selection_metric", r.selection_metric);
  fields.Object("final", r.final);
  fields.Integer("steps", r.steps);
  fields.Number("wall_seconds", r.wall_seconds);
  fields.Object("versions", r.versions);
  fields.Optional("seconds_per_step", r.seconds_per_step);
  fields.Optional("peak_resident_bytes", r.peak_resident_bytes);
  fields.Optional("diverged_at_step", r.diverged_at_step);
  fields.Optional("error", r.error);
  fields.Optional("world_size", r.world_size);
  fields.Optional("backend", r.backend);
  fields.Optional("optimizer_state_bytes", r.optimizer_state_bytes);
  fields.Optional("communication_seconds_per_step", r.communication_seconds_per_step);
  return read;
}

}  // namespace gs::tasks
