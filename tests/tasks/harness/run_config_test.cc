// tasks/harness/run_config: the flags of the task contract parsed into a RunConfig, the
// defaults, the spelled smoothing flags, and bad values as InvalidArgument naming the flag.
// ParseRunConfig sets absl's usage message, which a process may do once, so each parse
// runs in a child process of its own (a death test that must exit 0).
#include "tasks/harness/run_config.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace gs::tasks {
namespace {

// ParseRunConfig over `args` (argv[0] added).
absl::StatusOr<RunConfig> Parse(std::vector<std::string> args) {
  args.insert(args.begin(), "task_binary");
  std::vector<char*> argv;
  for (std::string& a : args) argv.push_back(a.data());
  return ParseRunConfig(static_cast<int>(argv.size()), argv.data(), "lm_pretrain");
}

// Inside the child: prints a failed condition and remembers it.
#define CHILD_CHECK(cond)                                 \
  do {                                                    \
    if (!(cond)) {                                        \
      std::fprintf(stderr, "check failed: %s\n", #cond); \
      ok = false;                                         \
    }                                                     \
  } while (0)

TEST(ParseRunConfig, DefaultsAndTheDefaultRunDirectory) {
  EXPECT_EXIT(
      {
        bool ok = true;
        absl::StatusOr<RunConfig> c = Parse({});
        CHILD_CHECK(c.ok());
        if (c.ok()) {
          CHILD_CHECK(c->task == "lm_pretrain");
          CHILD_CHECK(c->optimizer == "adamw");
          CHILD_CHECK(c->smoothing == "none");
          CHILD_CHECK(c->preset == "quick");
          CHILD_CHECK(c->seed == 0);
          CHILD_CHECK(!c->lr.has_value());
          CHILD_CHECK(c->lr_scale == 1.0);
          CHILD_CHECK(c->threads == 1);
          CHILD_CHECK(c->device == "cpu");
          CHILD_CHECK(c->OptimizerTag() == "adamw");
          CHILD_CHECK(c->SmoothingTag() == "none");
          CHILD_CHECK(absl::EndsWith(c->out, "/results/lm_pretrain/adamw-none/seed0"));
          CHILD_CHECK(c->out.front() == '/');  // resolved against the workspace
        }
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ParseRunConfig, SpelledSmoothingFlagsBecomeOptions) {
  EXPECT_EXIT(
      {
        bool ok = true;
        absl::StatusOr<RunConfig> c =
            Parse({"--optimizer=muon", "--smoothing=window", "--smoothing_alpha=0.1",
                   "--window_radius=2", "--seed=3", "--preset=smoke", "--steps=7", "--lr=0.5",
                   "--out=/tmp/x"});
        CHILD_CHECK(c.ok());
        if (c.ok()) {
          CHILD_CHECK(c->optimizer == "muon");
          CHILD_CHECK(c->smoothing == "window");
          CHILD_CHECK(c->smoothing_options.at("alpha") == "0.1");
          CHILD_CHECK(c->smoothing_options.at("radius") == "2");
          CHILD_CHECK(c->seed == 3);
          CHILD_CHECK(c->preset == "smoke");
          CHILD_CHECK(c->steps == 7);
          CHILD_CHECK(c->lr == 0.5);
          CHILD_CHECK(c->out == "/tmp/x");
          CHILD_CHECK(absl::StrContains(c->SmoothingTag(), "window"));
        }
        std::exit(ok ? 0 : 1);
      },
      ::testing::ExitedWithCode(0), "");
}

TEST(ParseRunConfig, BadValuesNameTheFlag) {
  struct Case {
    std::string flag, names;
  };
  for (const Case& bad : std::vector<Case>{{"--optimizer=nope", "optimizer"},
                                           {"--smoothing=nope", "smoothing"},
                                           {"--preset=huge", "preset"},
                                           {"--steps=0", "steps"},
                                           {"--lr=-1", "lr"},
                                           {"--lr_scale=0", "lr_scale"},
                                           {"--threads=0", "threads"},
                                           {"--device=tpu", "device"},
                                           {"--optimizer_options=lr=1", "--lr"},
                                           {"--smoothing_alpha=0.1", "smoothing=none"}}) {
    SCOPED_TRACE(bad.flag);
    EXPECT_EXIT(
        {
          bool ok = true;
          absl::StatusOr<RunConfig> c = Parse({bad.flag});
          CHILD_CHECK(!c.ok());
          if (!c.ok()) {
            CHILD_CHECK(c.status().code() == absl::StatusCode::kInvalidArgument);
            CHILD_CHECK(absl::StrContains(c.status().message(), bad.names));
            if (!ok) std::fprintf(stderr, "message: %s\n", std::string(c.status().message()).c_str());
          }
          std::exit(ok ? 0 : 1);
        },
        ::testing::ExitedWithCode(0), "");
  }
}

}  // namespace
}  // namespace gs::tasks
