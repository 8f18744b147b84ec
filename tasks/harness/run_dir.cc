#include "tasks/harness/run_dir.h"

#include <cstdio>
#include <cstdlib>

#include <torch/version.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "tasks/harness/blas.h"

namespace gs::tasks {

absl::Status MetricsLog::LoadUpTo(int64_t step) {
  lines_.clear();
  absl::StatusOr<std::string> text = ReadFile(path_);
  if (!text.ok()) return absl::OkStatus();  // nothing logged yet
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": malformed line: ", line));
    }
    if (j["step"].get<int64_t>() <= step) lines_.push_back(std::move(j));
  }
  return absl::OkStatus();
}

absl::Status MetricsLog::Parse(const std::string& text) {
  lines_.clear();
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object() || !j.contains("step")) {
      return absl::InvalidArgumentError(absl::StrCat("malformed line: ", line));
    }
    lines_.push_back(std::move(j));
  }
  return absl::OkStatus();
}

std::string MetricsLog::Text() const {
  std::string text;
  for (const nlohmann::json& line : lines_) absl::StrAppend(&text, line.dump(), "\n");
  return text;
}

absl::Status MetricsLog::Flush() const { return WriteFileAtomic(path_, Text()); }

nlohmann::json Versions() {
  nlohmann::json v;
  v["libtorch"] = TORCH_VERSION;
#if defined(__clang__)
  v["compiler"] = absl::StrCat("clang ", __clang_version__);
#elif defined(__GNUC__)
  v["compiler"] = absl::StrCat("gcc ", __VERSION__);
#endif
  v["blas_kernels"] = BlasCoreName();
  const char* commit = std::getenv("GS_SUITE_COMMIT");
  v["suite_commit"] = commit != nullptr ? commit : "unknown";
  return v;
}

}  // namespace gs::tasks
