// The edge every binary of the suite shares (README.md, "Reliability"): command lines
// whose bad flags are the contract's exit 2 with a message naming the flag, exceptions
// turned into one-line messages, and std::terminate exiting 1 with one line instead of
// aborting with a stack trace and a core dump. Free of LibTorch.
#ifndef GS_TASKS_HARNESS_BOUNDARY_H_
#define GS_TASKS_HARNESS_BOUNDARY_H_

#include <exception>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace gs::tasks {

// The exit codes of every binary (docs/DESIGN.md, "Command-line contract").
inline constexpr int kExitCompleted = 0;
inline constexpr int kExitFailed = 1;
inline constexpr int kExitBadInput = 2;  // a flag or file the user can fix
inline constexpr int kExitDiverged = 3;

// kExitBadInput for what the user can fix (InvalidArgument, NotFound), else kExitFailed.
int ExitCodeFor(const absl::Status& status);

// Prints "error: <message>" on a line of its own to stderr and returns `code`.
int PrintError(int code, absl::string_view message);

// absl::ParseCommandLine, after checking every flag of the command line against the
// flags the binary defines: an unknown flag, a flag without its value or a value its
// type does not parse is InvalidArgument naming the flag and what it takes
// ("--seed=abc is not allowed; use an integer"), where absl's own parser prints its
// errors and exits 1. Returns the positional arguments (argv[0] first). The usage flags
// (--help, ...) keep absl's behaviour; with --flagfile, --fromenv, --tryfromenv or
// --undefok the checking is left to absl.
absl::StatusOr<std::vector<char*>> ParseCommandLineChecked(int argc, char** argv);

// `text` on one line: a LibTorch backtrace ("Exception raised from ...", "frame #0: ...")
// cut off, line breaks folded into "; ", surrounding white space removed.
std::string OneLine(absl::string_view text);

// The cause an exception reports, on one line; std::bad_alloc reads "out of memory".
std::string ExceptionCause(const std::exception& e);

// Makes std::terminate (an exception nobody caught, or one thrown while another unwinds)
// print one line, "<program>: error: internal error: <cause>", and exit with 1.
void ExitOneOnTerminate(const std::string& program);

}  // namespace gs::tasks

#endif  // GS_TASKS_HARNESS_BOUNDARY_H_
