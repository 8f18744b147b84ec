#include "tasks/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <vector>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tasks/run_dir.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;

std::string Stem(int64_t step) { return absl::StrFormat("step_%09d", step); }

// Steps with a manifest, newest first.
std::vector<int64_t> ManifestSteps(const std::string& dir) {
  std::vector<int64_t> steps;
  if (!fs::is_directory(dir)) return steps;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    int64_t step;
    if (name.size() == 19 && name.rfind("step_", 0) == 0 && name.substr(14) == ".json" &&
        absl::SimpleAtoi(name.substr(5, 9), &step)) {
      steps.push_back(step);
    }
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

}  // namespace

absl::Status Checkpointer::Save(
    int64_t step, const std::function<void(torch::serialize::OutputArchive&)>& fill) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) return absl::InternalError(absl::StrCat("cannot create ", dir_));
  const std::string stem = dir_ + "/" + Stem(step);
  const std::string tmp = stem + ".pt.tmp";
  try {
    torch::serialize::OutputArchive archive;
    fill(archive);
    archive.save_to(tmp);
  } catch (const c10::Error& e) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat("writing ", tmp, ": ", e.what_without_backtrace()));
  }
  absl::StatusOr<std::string> bytes = ReadFile(tmp);
  if (!bytes.ok()) return bytes.status();
  if (std::rename(tmp.c_str(), (stem + ".pt").c_str()) != 0) {
    return absl::InternalError(absl::StrCat("renaming ", tmp));
  }
  const nlohmann::json manifest = {
      {"step", step}, {"bytes", bytes->size()}, {"crc32", Crc32(*bytes)}};
  if (absl::Status s = WriteFileAtomic(stem + ".json", manifest.dump()); !s.ok()) return s;
  // Keep this checkpoint and the one before it.
  const std::vector<int64_t> steps = ManifestSteps(dir_);
  for (size_t i = 2; i < steps.size(); ++i) {
    fs::remove(dir_ + "/" + Stem(steps[i]) + ".json", error);
    fs::remove(dir_ + "/" + Stem(steps[i]) + ".pt", error);
  }
  return absl::OkStatus();
}

std::optional<int64_t> Checkpointer::RestoreLatest(
    const std::function<absl::Status(torch::serialize::InputArchive&)>& restore,
    const std::function<void(const std::string&)>& warn) {
  for (int64_t step : ManifestSteps(dir_)) {
    const std::string stem = dir_ + "/" + Stem(step);
    absl::StatusOr<std::string> manifest_text = ReadFile(stem + ".json");
    absl::StatusOr<std::string> bytes = ReadFile(stem + ".pt");
    nlohmann::json manifest = manifest_text.ok()
                                  ? nlohmann::json::parse(*manifest_text, nullptr, false)
                                  : nlohmann::json();
    if (!bytes.ok() || manifest.is_discarded() || !manifest.contains("crc32") ||
        manifest["bytes"].get<uint64_t>() != bytes->size() ||
        manifest["crc32"].get<uint32_t>() != Crc32(*bytes)) {
      warn(absl::StrCat("checkpoint ", stem, ".pt is missing or corrupt (size or checksum ",
                        "mismatch); trying an earlier one"));
      continue;
    }
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(bytes->data(), bytes->size());
      if (absl::Status s = restore(archive); !s.ok()) {
        warn(absl::StrCat("checkpoint ", stem, ".pt cannot be restored: ", s.message()));
        continue;
      }
    } catch (const c10::Error& e) {
      warn(absl::StrCat("checkpoint ", stem, ".pt cannot be read: ", e.what_without_backtrace()));
      continue;
    }
    return step;
  }
  return std::nullopt;
}

}  // namespace gs::tasks
