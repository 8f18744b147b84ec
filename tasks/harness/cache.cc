#include "tasks/harness/cache.h"

#include <filesystem>
#include <optional>

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "tasks/harness/files.h"

namespace gs::tasks {
namespace {

// The cached bytes if they match their manifest; nullopt (with the reason) otherwise.
std::optional<std::string> ReadChecked(const std::string& path, std::string* problem) {
  absl::StatusOr<std::string> bytes = ReadFile(path);
  if (!bytes.ok()) return std::nullopt;  // not built yet
  absl::StatusOr<std::string> text = ReadFile(path + ".json");
  const nlohmann::json manifest =
      text.ok() ? nlohmann::json::parse(*text, nullptr, false) : nlohmann::json();
  if (!manifest.is_object() || !manifest.contains("bytes") || !manifest.contains("crc32") ||
      manifest["bytes"] != bytes->size() || manifest["crc32"] != Crc32(*bytes)) {
    *problem = absl::StrCat("cache file ", path, " is corrupt (size or checksum mismatch); ",
                            "rebuilding it");
    return std::nullopt;
  }
  return *std::move(bytes);
}

}  // namespace

absl::StatusOr<std::string> CachedBytes(
    const std::string& cache_dir, const std::string& name,
    const std::function<absl::StatusOr<std::string>()>& build,
    const std::function<void(const std::string&)>& warn) {
  const std::filesystem::path path = std::filesystem::path(cache_dir) / name;
  std::error_code error;
  std::filesystem::create_directories(path.parent_path(), error);
  if (error) {
    return absl::InvalidArgumentError(
        absl::StrCat("--cache_dir=", cache_dir, ": cannot create ", path.parent_path().string()));
  }
  // Whoever holds the lock builds; the others wait and then read what it wrote.
  absl::StatusOr<FileLock> lock = FileLock::Acquire(path.string() + ".lock", /*wait=*/true);
  if (!lock.ok()) return lock.status();
  std::string problem;
  if (std::optional<std::string> bytes = ReadChecked(path.string(), &problem)) return *bytes;
  if (!problem.empty()) warn(problem);
  absl::StatusOr<std::string> bytes = build();
  if (!bytes.ok()) return bytes.status();
  // The data first, then the manifest: a crash in between leaves a file that fails its
  // check and is rebuilt.
  if (absl::Status s = WriteFileAtomic(path.string(), *bytes); !s.ok()) return s;
  const nlohmann::json manifest = {{"bytes", bytes->size()}, {"crc32", Crc32(*bytes)}};
  if (absl::Status s = WriteFileAtomic(path.string() + ".json", manifest.dump() + "\n"); !s.ok()) {
    return s;
  }
  return bytes;
}

}  // namespace gs::tasks
