// tasks/harness/boundary.h: flags checked as absl reads them (bad ones are InvalidArgument naming
// the flag, good ones parse as before), LibTorch's messages folded to one line without
// their backtrace, and std::terminate exiting 1 with one line.
#include "tasks/harness/boundary.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <c10/util/Exception.h>

#include "absl/flags/flag.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

ABSL_FLAG(int64_t, count, 1, "an integer");
ABSL_FLAG(double, rate, 0.5, "a number");
ABSL_FLAG(bool, fast, false, "a boolean");
ABSL_FLAG(std::string, name, "x", "a string");
ABSL_FLAG(std::optional<double>, maybe, std::nullopt, "an optional number");

namespace gs::tasks {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Parses `args` (argv[0] added) and returns the error message, or "" on success.
std::string Parse(std::vector<std::string> args, std::vector<std::string>* positional = nullptr) {
  args.insert(args.begin(), "program");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  absl::StatusOr<std::vector<char*>> rest = ParseCommandLineChecked(static_cast<int>(argv.size()), argv.data());
  if (!rest.ok()) {
    EXPECT_EQ(rest.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(rest.status().message());
  }
  if (positional != nullptr) positional->assign(rest->begin() + 1, rest->end());
  return "";
}

TEST(Boundary, BadFlagsAreErrorsNamingTheFlag) {
  EXPECT_EQ(Parse({"--count=abc"}), "--count=abc is not allowed; use an integer");
  EXPECT_EQ(Parse({"--rate=fast"}), "--rate=fast is not allowed; use a number");
  EXPECT_EQ(Parse({"--maybe=x"}), "--maybe=x is not allowed; use a number");
  EXPECT_EQ(Parse({"--fast=perhaps"}), "--fast=perhaps is not allowed; use true or false");
  EXPECT_EQ(Parse({"--count"}), "--count needs a value: an integer");
  EXPECT_EQ(Parse({"--cuont=2"}), "--cuont=2: unknown flag --cuont; see --help for the flags");
  EXPECT_EQ(Parse({"-nocount"}), "-nocount: unknown flag --nocount; see --help for the flags");
  EXPECT_EQ(Parse({"--nofast=1"}), "--nofast=1: unknown flag --nofast; see --help for the flags");
  // The first bad flag is named, whatever follows.
  EXPECT_EQ(Parse({"--rate=1", "--count=1.5", "--name"}), "--count=1.5 is not allowed; use an integer");
}

TEST(Boundary, GoodFlagsParseAsAbslReadsThem) {
  std::vector<std::string> positional;
  EXPECT_EQ(Parse({"--count=7", "-rate", "0.25", "--fast", "--name=", "--maybe=2", "extra", "--",
                   "--count=oops"},
                  &positional),
            "");
  EXPECT_EQ(absl::GetFlag(FLAGS_count), 7);
  EXPECT_EQ(absl::GetFlag(FLAGS_rate), 0.25);
  EXPECT_TRUE(absl::GetFlag(FLAGS_fast));
  EXPECT_EQ(absl::GetFlag(FLAGS_name), "");
  EXPECT_EQ(absl::GetFlag(FLAGS_maybe), 2.0);
  EXPECT_THAT(positional, ElementsAre("extra", "--count=oops"));
  EXPECT_EQ(Parse({"--nofast", "--maybe="}), "");
  EXPECT_FALSE(absl::GetFlag(FLAGS_fast));
  EXPECT_EQ(absl::GetFlag(FLAGS_maybe), std::nullopt);
}

TEST(Boundary, LibTorchMessagesLoseTheirBacktrace) {
  std::string what, without;
  try {
    TORCH_CHECK(false, "unexpected pos ", 216000, " vs ", 215888);
  } catch (const c10::Error& e) {
    what = e.what();
    without = e.what_without_backtrace();
  }
  ASSERT_THAT(what, HasSubstr("Exception raised from"));
  EXPECT_EQ(OneLine(what), "unexpected pos 216000 vs 215888");
  EXPECT_EQ(OneLine(without), "unexpected pos 216000 vs 215888");
  EXPECT_EQ(OneLine("[enforce fail at inline_container.cc:325] . unexpected pos 1 vs 2\n"
                    "frame #0: <unknown function> + 0x4c062\nframe #1: c10::ThrowEnforceNotMet"),
            "[enforce fail at inline_container.cc:325] . unexpected pos 1 vs 2");
  EXPECT_EQ(OneLine("  first\r\n\nsecond  \n"), "first; second");
  EXPECT_EQ(ExceptionCause(std::bad_alloc()), "out of memory");
  EXPECT_EQ(ExceptionCause(std::runtime_error("a\nb")), "a; b");
}

// An exception leaving it calls std::terminate, as one leaving a destructor does.
void WithoutCatching(void (*body)()) noexcept { body(); }

// What a child that reaches std::terminate prints, and its exit code.
std::pair<int, std::string> Terminated(void (*body)()) {
  const std::string log = std::string(std::getenv("TEST_TMPDIR")) + "/terminate.txt";
  const pid_t pid = fork();
  if (pid == 0) {
    if (std::freopen(log.c_str(), "w", stderr) == nullptr) _exit(125);
    ExitOneOnTerminate("program");
    WithoutCatching(body);
    _exit(0);
  }
  int status = 0;
  waitpid(pid, &status, 0);
  std::ifstream in(log);
  std::stringstream text;
  text << in.rdbuf();
  return {WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), text.str()};
}

struct ThrowsOnDestruction {
  ~ThrowsOnDestruction() noexcept(false) { throw std::runtime_error("thrown while unwinding"); }
};

TEST(Boundary, TerminateExitsOneWithOneLine) {
  auto [code, text] = Terminated([] { throw std::runtime_error("nobody caught this"); });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(text, "\nprogram: error: internal error: nobody caught this\n");
  std::tie(code, text) = Terminated([] {
    try {
      ThrowsOnDestruction t;
      TORCH_CHECK(false, "the first error");
    } catch (...) {
    }
  });
  EXPECT_EQ(code, 1);
  EXPECT_THAT(text, HasSubstr("program: error: internal error: "));
  EXPECT_THAT(text, ::testing::Not(HasSubstr("frame #")));
  std::tie(code, text) = Terminated([] { std::terminate(); });
  EXPECT_EQ(code, 1);
  EXPECT_EQ(text, "\nprogram: error: internal error: std::terminate was called\n");
}

}  // namespace
}  // namespace gs::tasks
