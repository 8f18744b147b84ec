#include "benchmarks/suite_files.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <unistd.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "benchmarks/subprocess.h"

namespace gs::benchmarks {
namespace {

namespace fs = std::filesystem;

constexpr const char* kWorkspace = kRunfilesWorkspace;

}  // namespace

std::string TaskBinaryPath(const std::string& runfiles, const std::string& task) {
  return absl::StrCat(runfiles, "/", kWorkspace, "/tasks/", task);
}

absl::StatusOr<GridNames> LoadGridNames(const std::string& runfiles) {
  const std::string path = absl::StrCat(runfiles, "/", kWorkspace, "/benchmarks/suite_names.txt");
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  GridNames names;
  std::string kind, name;
  while (in >> kind >> name) {
    if (kind == "task") names.tasks.push_back(name);
  }
  if (names.tasks.empty()) return absl::DataLossError(absl::StrCat(path, " names no task"));
  return names;
}

absl::Status LoadCatalog(const std::string& binary, GridNames* names) {
  char log[] = "/tmp/gs-catalog-XXXXXX";
  const int fd = mkstemp(log);
  if (fd < 0) return absl::InternalError("cannot create a temporary file for the catalogue");
  close(fd);
  absl::StatusOr<ProcessResult> result =
      RunProcess({binary, "--list_optimizers", "--list_format=json"}, CurrentEnvironment(), log);
  std::remove(log);
  if (!result.ok()) return result.status();
  if (result->exit_code != 0) {
    return absl::InternalError(absl::StrCat(binary, " --list_optimizers exited with ",
                                            result->exit_code, ": ", result->output));
  }
  absl::Status read = ReadCatalog(result->output, names);
  if (!read.ok()) return absl::DataLossError(absl::StrCat(binary, ": ", read.message()));
  return absl::OkStatus();
}

std::vector<std::string> GridNamesInRunfiles(const std::string& runfiles) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry :
       fs::directory_iterator(absl::StrCat(runfiles, "/", kWorkspace, "/benchmarks/grids"), error)) {
    if (entry.path().extension() == ".json") names.push_back(entry.path().stem().string());
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::StatusOr<GridFile> ResolveGrid(const std::string& grid, const std::string& runfiles,
                                     const std::string& workspace) {
  const std::vector<std::string> known = GridNamesInRunfiles(runfiles);
  if (grid.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--grid is required: a grid name (", absl::StrJoin(known, ", "), ") or a .json file"));
  }
  if (absl::StrContains(grid, "/") || absl::EndsWith(grid, ".json")) {
    const std::string path = Absolute(grid, workspace);
    return GridFile{path, path};
  }
  if (std::find(known.begin(), known.end(), grid) == known.end()) {
    return absl::InvalidArgumentError(absl::StrCat("--grid=", grid, ": no such grid; known: ",
                                                   absl::StrJoin(known, ", "),
                                                   " (or give a path to a .json file)"));
  }
  return GridFile{absl::StrCat(runfiles, "/", kWorkspace, "/benchmarks/grids/", grid, ".json"),
                  absl::StrCat("benchmarks/grids/", grid, ".json")};
}

std::string Absolute(const std::string& path, const std::string& workspace) {
  fs::path p(path);
  if (p.is_relative()) p = fs::path(workspace) / p;
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace gs::benchmarks
