#include "tasks/run_dir.h"

#include "tasks/blas.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include <torch/version.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace gs::tasks {

absl::Status WriteFileAtomic(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot write ", tmp));
  size_t done = 0;
  while (done < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + done, contents.size() - done);
    if (n <= 0) {
      ::close(fd);
      std::remove(tmp.c_str());
      return absl::InternalError(absl::StrCat("writing ", tmp, " failed"));
    }
    done += static_cast<size_t>(n);
  }
  ::fsync(fd);
  ::close(fd);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::remove(tmp.c_str());
    return absl::InternalError(absl::StrCat("renaming ", tmp, " to ", path, " failed"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat(path, " not found"));
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

uint32_t Crc32(const std::string& bytes) {
  uLong crc = crc32(0L, Z_NULL, 0);
  size_t done = 0;
  while (done < bytes.size()) {
    const uInt n = static_cast<uInt>(std::min<size_t>(bytes.size() - done, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(bytes.data() + done), n);
    done += n;
  }
  return static_cast<uint32_t>(crc);
}

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path, bool wait) {
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return absl::InternalError(absl::StrCat("cannot open the lock file ", path));
  int rc;
  do {
    rc = ::flock(fd, LOCK_EX | (wait ? 0 : LOCK_NB));
  } while (rc != 0 && errno == EINTR);
  if (rc != 0) {
    const bool busy = errno == EWOULDBLOCK;
    ::close(fd);
    if (busy) return absl::UnavailableError(absl::StrCat(path, " is locked by another process"));
    return absl::InternalError(absl::StrCat("cannot lock ", path));
  }
  return FileLock(fd);
}

FileLock::~FileLock() {
  if (fd_ >= 0) ::close(fd_);  // closing the descriptor releases the flock
}

absl::Status MetricsLog::LoadUpTo(int64_t step) {
  lines_.clear();
  absl::StatusOr<std::string> text = ReadFile(path_);
  if (!text.ok()) return absl::OkStatus();  // nothing logged yet
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    nlohmann::json j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("step")) {
      return absl::InvalidArgumentError(absl::StrCat(path_, ": malformed line: ", line));
    }
    if (j["step"].get<int64_t>() <= step) lines_.push_back(std::move(j));
  }
  return absl::OkStatus();
}

absl::Status MetricsLog::Flush() const {
  std::string text;
  for (const nlohmann::json& line : lines_) absl::StrAppend(&text, line.dump(), "\n");
  return WriteFileAtomic(path_, text);
}

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
