#include "tasks/harness/boundary.h"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <optional>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace gs::tasks {

int ExitCodeFor(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ||
                 status.code() == absl::StatusCode::kNotFound
             ? kExitBadInput
             : kExitFailed;
}

int PrintError(int code, absl::string_view message) {
  std::fprintf(stderr, "error: %.*s\n", static_cast<int>(message.size()), message.data());
  return code;
}
namespace {

// What a flag of this type takes, for the message.
std::string WhatItTakes(const absl::CommandLineFlag& flag) {
  if (flag.IsOfType<bool>()) return "true or false";
  if (flag.IsOfType<int32_t>() || flag.IsOfType<int64_t>() ||
      flag.IsOfType<std::optional<int32_t>>() || flag.IsOfType<std::optional<int64_t>>()) {
    return "an integer";
  }
  if (flag.IsOfType<uint32_t>() || flag.IsOfType<uint64_t>()) return "an integer >= 0";
  if (flag.IsOfType<double>() || flag.IsOfType<float>() ||
      flag.IsOfType<std::optional<double>>()) {
    return "a number";
  }
  return absl::StrCat("a value of its type (default ", flag.DefaultValue(), ")");
}

// Checks every flag of argv the way absl::ParseCommandLine reads them: --name=value,
// --name value (not for booleans), --name and --noname (booleans), one dash or two,
// nothing after "--".
absl::Status CheckFlags(int argc, char** argv) {
  // Each value is parsed into its flag here, as absl::ParseCommandLine then does again
  // (absl::FlagSaver would log every restored value).
  for (int i = 1; i < argc; ++i) {
    const absl::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-') continue;  // a positional argument
    const absl::string_view body = arg.substr(arg[1] == '-' ? 2 : 1);
    const size_t eq = body.find('=');
    const absl::string_view name = body.substr(0, eq);
    const bool has_value = eq != absl::string_view::npos;
    absl::string_view value = has_value ? body.substr(eq + 1) : absl::string_view();
    if (name == "flagfile" || name == "fromenv" || name == "tryfromenv" || name == "undefok") {
      return absl::OkStatus();  // flags from elsewhere, or unknown flags allowed: absl's rules
    }
    if (name == "help" || name == "helpfull" || name == "helpshort" || name == "helppackage" ||
        name == "version" || name == "only_check_args" || name == "helpon" ||
        name == "helpmatch") {
      continue;  // the usage flags, which absl handles apart from the registry
    }
    absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
    if (flag == nullptr || flag->IsRetired()) {
      absl::CommandLineFlag* positive =
          absl::StartsWith(name, "no") ? absl::FindCommandLineFlag(name.substr(2)) : nullptr;
      if (positive != nullptr && positive->IsOfType<bool>() && !has_value) continue;
      return absl::InvalidArgumentError(
          absl::StrCat(arg, ": unknown flag --", name, "; see --help for the flags"));
    }
    if (!has_value) {
      if (flag->IsOfType<bool>()) continue;
      if (i + 1 == argc) {
        return absl::InvalidArgumentError(
            absl::StrCat("--", name, " needs a value: ", WhatItTakes(*flag)));
      }
      value = argv[++i];
    }
    std::string error;
    if (!flag->ParseFrom(value, &error)) {
      return absl::InvalidArgumentError(absl::StrCat("--", name, "=", value,
                                                     " is not allowed; use ", WhatItTakes(*flag)));
    }
  }
  return absl::OkStatus();
}

std::string* g_program = nullptr;  // never freed: std::terminate may come at exit

[[noreturn]] void OnTerminate() {
  std::string cause = "std::terminate was called";
  if (std::exception_ptr current = std::current_exception()) {
    try {
      std::rethrow_exception(current);
    } catch (const std::exception& e) {
      cause = ExceptionCause(e);
    } catch (...) {
      cause = "an exception of unknown type";
    }
  }
  std::fprintf(stderr, "\n%s: error: internal error: %s\n",
               g_program != nullptr ? g_program->c_str() : "error", cause.c_str());
  std::fflush(stderr);
  std::_Exit(1);
}

}  // namespace

absl::StatusOr<std::vector<char*>> ParseCommandLineChecked(int argc, char** argv) {
  if (absl::Status s = CheckFlags(argc, argv); !s.ok()) return s;
  return absl::ParseCommandLine(argc, argv);
}

std::string OneLine(absl::string_view text) {
  // LibTorch appends its backtrace after the message in one of these two forms.
  for (absl::string_view marker : {"Exception raised from ", "frame #0: "}) {
    const size_t at = text.find(marker);
    if (at != absl::string_view::npos) text = text.substr(0, at);
  }
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(text, absl::ByAnyChar("\r\n"))) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  return absl::StrJoin(lines, "; ");
}

std::string ExceptionCause(const std::exception& e) {
  if (dynamic_cast<const std::bad_alloc*>(&e) != nullptr) return "out of memory";
  const std::string cause = OneLine(e.what());
  return cause.empty() ? "an exception without a message" : cause;
}

void ExitOneOnTerminate(const std::string& program) {
  if (g_program == nullptr) g_program = new std::string;
  *g_program = program;
  std::set_terminate(OnTerminate);
}

}  // namespace gs::tasks
