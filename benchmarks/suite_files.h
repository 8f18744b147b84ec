// Where the suite finds what it runs: its runfiles (task binaries, grid files, the names
// a grid may use) and the user's paths.
#ifndef GS_BENCHMARKS_SUITE_FILES_H_
#define GS_BENCHMARKS_SUITE_FILES_H_

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "benchmarks/grid.h"
#include "benchmarks/subprocess.h"

namespace gs::benchmarks {

// <runfiles>/gradient_smoothing/tasks/<task>.
std::string TaskBinaryPath(const std::string& runfiles, const std::string& task);

// The tasks benchmarks/BUILD declares (suite_names.txt in the runfiles), built or planned.
absl::StatusOr<GridNames> LoadGridNames(const std::string& runfiles);

// Asks the task binary `binary` for its registered base optimizers and depth transforms
// with their options (--list_optimizers --list_format=json) and adds them to `names`.
absl::Status LoadCatalog(const std::string& binary, GridNames* names);

// The grids that ship with the suite (benchmarks/grids/*.json), by name, sorted.
std::vector<std::string> GridNamesInRunfiles(const std::string& runfiles);

struct GridFile {
  std::string path;   // absolute
  std::string shown;  // for messages: benchmarks/grids/<name>.json, or the path
};

// A grid name ("demo": benchmarks/grids/demo.json in the runfiles), or a path (anything
// with a '/' or ending in .json; relative paths resolve against `workspace`).
absl::StatusOr<GridFile> ResolveGrid(const std::string& grid, const std::string& runfiles,
                                        const std::string& workspace);

// `path` made absolute against `workspace`, normalised.
std::string Absolute(const std::string& path, const std::string& workspace);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_SUITE_FILES_H_
