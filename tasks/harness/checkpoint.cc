#include "tasks/harness/checkpoint.h"

#include <algorithm>
#include <exception>
#include <filesystem>
#include <set>
#include <vector>

#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/boundary.h"
#include "tasks/harness/files.h"

namespace gs::tasks {
namespace {

namespace fs = std::filesystem;

std::string Stem(int64_t step) { return absl::StrFormat("step_%09d", step); }

// The step of a file named step_<9 digits><suffix>, or -1.
int64_t StepOf(const std::string& name, const std::string& suffix) {
  int64_t step;
  if (name.size() == 14 + suffix.size() && name.rfind("step_", 0) == 0 &&
      name.compare(14, std::string::npos, suffix) == 0 &&
      absl::SimpleAtoi(name.substr(5, 9), &step)) {
    return step;
  }
  return -1;
}

// Steps with a manifest, newest first.
std::vector<int64_t> ManifestSteps(const std::string& dir) {
  std::vector<int64_t> steps;
  std::error_code error;
  for (fs::directory_iterator it(dir, error), end; !error && it != end; it.increment(error)) {
    const int64_t step = StepOf(it->path().filename().string(), ".json");
    if (step >= 0) steps.push_back(step);
  }
  std::sort(steps.rbegin(), steps.rend());
  return steps;
}

// Whether `manifest` describes `bytes` as the archive of `step`; every field checked for
// its type, so a corrupt manifest is a mismatch, never an exception.
bool Matches(const nlohmann::json& manifest, int64_t step, const std::string& bytes) {
  if (!manifest.is_object()) return false;
  const auto number = [&](const char* key) -> std::optional<uint64_t> {
    const auto it = manifest.find(key);
    if (it == manifest.end() || !it->is_number_unsigned()) return std::nullopt;
    return it->get<uint64_t>();
  };
  return number("step") == static_cast<uint64_t>(step) && number("bytes") == bytes.size() &&
         number("crc32") == Crc32(bytes);
}

}  // namespace

std::string Checkpointer::ArchivePath(int64_t step) const {
  return absl::StrCat(dir_, "/", Stem(step), ".pt");
}

absl::Status Checkpointer::Save(
    int64_t step, const std::function<void(torch::serialize::OutputArchive&)>& fill) {
  std::error_code error;
  fs::create_directories(dir_, error);
  if (error) return absl::InternalError(absl::StrCat("creating ", dir_, ": ", error.message()));
  const std::string stem = dir_ + "/" + Stem(step);
  std::string bytes;
  try {
    torch::serialize::OutputArchive archive;
    fill(archive);
    archive.save_to([&bytes](const void* data, size_t size) {
      bytes.append(static_cast<const char*>(data), size);
      return size;
    });
  } catch (const std::exception& e) {
    return absl::InternalError(
        absl::StrCat("serialising the checkpoint of step ", step, ": ", ExceptionCause(e)));
  }
  if (absl::Status s = WriteFileAtomic(stem + ".pt", bytes); !s.ok()) return s;
  const nlohmann::json manifest = {
      {"step", step}, {"bytes", bytes.size()}, {"crc32", Crc32(bytes)}};
  if (absl::Status s = WriteFileAtomic(stem + ".json", manifest.dump()); !s.ok()) return s;
  Prune();
  return absl::OkStatus();
}

void Checkpointer::Prune() {
  const std::vector<int64_t> steps = ManifestSteps(dir_);
  const std::set<int64_t> keep(steps.begin(), steps.begin() + std::min<size_t>(2, steps.size()));
  std::vector<fs::path> remove;
  std::error_code error;
  for (fs::directory_iterator it(dir_, error), end; !error && it != end; it.increment(error)) {
    const std::string name = it->path().filename().string();
    if (name.rfind("step_", 0) != 0) continue;
    const bool temporary = absl::EndsWith(name, ".tmp");
    int64_t step = StepOf(name, ".json");
    if (step < 0) step = StepOf(name, ".pt");
    if (temporary || (step >= 0 && !keep.count(step))) remove.push_back(it->path());
  }
  // Manifests first: a checkpoint without its manifest is never taken.
  std::sort(remove.begin(), remove.end(), [](const fs::path& a, const fs::path& b) {
    return (a.extension() == ".json") > (b.extension() == ".json");
  });
  for (const fs::path& p : remove) fs::remove(p, error);
}

std::optional<int64_t> Checkpointer::RestoreLatest(
    const std::function<absl::Status(torch::serialize::InputArchive&)>& restore,
    const std::function<void(const std::string&)>& warn) {
  // What an earlier process left half done (a temporary file, an archive whose manifest
  // never came) goes first.
  if (fs::is_directory(dir_)) Prune();
  for (int64_t step : ManifestSteps(dir_)) {
    const std::string stem = dir_ + "/" + Stem(step);
    absl::StatusOr<std::string> manifest_text = ReadFile(stem + ".json");
    absl::StatusOr<std::string> bytes = ReadFile(stem + ".pt");
    const nlohmann::json manifest = manifest_text.ok()
                                        ? nlohmann::json::parse(*manifest_text, nullptr, false)
                                        : nlohmann::json();
    if (!bytes.ok() || !Matches(manifest, step, *bytes)) {
      warn(absl::StrCat("checkpoint ", stem, ".pt is missing or corrupt (size or checksum ",
                        "mismatch); trying an earlier one"));
      continue;
    }
    try {
      torch::serialize::InputArchive archive;
      archive.load_from(bytes->data(), bytes->size());
      if (absl::Status s = restore(archive); !s.ok()) {
        warn(absl::StrCat("checkpoint ", stem, ".pt cannot be restored: ", s.message(),
                          "; trying an earlier one"));
        continue;
      }
    } catch (const std::exception& e) {
      warn(absl::StrCat("checkpoint ", stem, ".pt cannot be read: ", ExceptionCause(e),
                        "; trying an earlier one"));
      continue;
    }
    return step;
  }
  return std::nullopt;
}

}  // namespace gs::tasks
