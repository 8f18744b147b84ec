// //reports:report end to end over a results tree: every output exists, index.md links
// them and lists the warnings, errors only for a missing results folder or an
// unwritable output folder, and the same inputs give byte-identical outputs.
#include "reports/report.h"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <regex>
#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/reports/results_tree.h"

namespace gs::reports {
namespace {

namespace fs = std::filesystem;
using ::gs::testing::ReadText;
using ::gs::testing::TempDir;
using ::testing::Contains;
using ::testing::HasSubstr;

const std::string& Results() {
  static const std::string root = [] {
    const std::string dir = TempDir("results");
    gs::testing::WriteExampleTree(dir);
    return dir;
  }();
  return root;
}

TEST(Report, WritesEveryOutputAndIndexLinksThem) {
  const std::string out = TempDir("report_a");
  absl::StatusOr<ReportSummary> report = WriteReport(Results(), out);
  ASSERT_TRUE(report.ok()) << report.status();
  // 2 + 4 sgd, 6 + 2 + 2 adamw, 1 muon, 6 lm: running and broken ones are not counted.
  EXPECT_EQ(report->runs_read, 23);
  EXPECT_EQ(report->index_path, out + "/index.md");
  for (const char* name : {"summary.csv", "tables.md", "tables.tex", "index.md"}) {
    EXPECT_TRUE(fs::exists(out + "/" + name)) << name;
  }
  const std::string index = ReadText(out + "/index.md");
  // Every link in index.md points at a file that exists.
  const std::regex link(R"(\]\(([^)]+)\))");
  std::set<std::string> targets;
  for (std::sregex_iterator it(index.begin(), index.end(), link), end; it != end; ++it) {
    targets.insert((*it)[1]);
  }
  for (const std::string& t : targets) EXPECT_TRUE(fs::exists(out + "/" + t)) << t;
  for (const char* t : {"summary.csv", "tables.md", "tables.tex",
                        "figures/curve_train_loss_vit_classification_quick.png",
                        "figures/curve_test_accuracy_vit_classification_quick.svg",
                        "figures/curve_val_loss_lm_pretrain_quick.png",
                        "figures/alpha_vit_classification_quick.png",
                        "figures/depth_cka_vit_classification_quick_adamw_blocks_"
                        "window-a0.2.svg"}) {
    EXPECT_TRUE(targets.count(t)) << t << " not linked from index.md";
  }
  // Every figure file on disk is linked.
  for (const auto& entry : fs::directory_iterator(out + "/figures")) {
    EXPECT_TRUE(targets.count("figures/" + entry.path().filename().string()))
        << entry.path() << " not linked";
  }
  // Warnings: in the summary and in index.md.
  const std::vector<std::string> expected = {
      "broken: run.json is not valid JSON; skipped",
      "notes: no run.json, not a run directory; skipped",
      "vit/running: still running (partial run); skipped"};
  for (const std::string& w : expected) {
    EXPECT_THAT(report->warnings, Contains(w));
    EXPECT_THAT(index, HasSubstr("- " + w + "\n"));
  }
  EXPECT_EQ(report->warnings.size(), expected.size()) << ::testing::PrintToString(report->warnings);
}

TEST(Report, SameInputsGiveByteIdenticalOutputs) {
  const std::string a = TempDir("same_a"), b = TempDir("same_b");
  ASSERT_TRUE(WriteReport(Results(), a).ok());
  ASSERT_TRUE(WriteReport(Results(), b).ok());
  int files = 0;
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    if (!entry.is_regular_file()) continue;
    const std::string rel = fs::relative(entry.path(), a).string();
    EXPECT_EQ(ReadText(entry.path().string()), ReadText(b + "/" + rel)) << rel;
    ++files;
  }
  EXPECT_GT(files, 20);
  // Writing again over an existing report leaves no temporary files behind.
  ASSERT_TRUE(WriteReport(Results(), a).ok());
  for (const auto& entry : fs::recursive_directory_iterator(a)) {
    EXPECT_NE(entry.path().extension(), ".tmp") << entry.path();
  }
}

TEST(Report, DefaultReportFolderInsideResultsIsNotReadAsRuns) {
  const std::string root = TempDir("inside");
  gs::testing::WriteExampleTree(root);
  for (const std::string& out : {root + "/report", root + "/my_report"}) {
    ASSERT_TRUE(WriteReport(root, out).ok());
    absl::StatusOr<ReportSummary> again = WriteReport(root, out);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(again->runs_read, 23);
    for (const std::string& w : again->warnings) EXPECT_THAT(w, ::testing::Not(HasSubstr("report"))) << w;
  }
}

TEST(Report, EmptyResultsGiveAnEmptyReport) {
  const std::string root = TempDir("empty_results");
  fs::create_directories(root);
  absl::StatusOr<ReportSummary> report = WriteReport(root, root + "/report");
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->runs_read, 0);
  EXPECT_EQ(ReadText(root + "/report/summary.csv"),
            "task,preset,optimizer,smoothing,metric,goal,n,n_diverged,n_failed,mean,std,ci95_low,"
            "ci95_high,delta,p_value,overrides\n");
  EXPECT_THAT(ReadText(root + "/report/index.md"), HasSubstr("None."));
}

TEST(Report, ErrorsOnlyForMissingResultsOrUnwritableOutput) {
  absl::StatusOr<ReportSummary> missing = WriteReport(TempDir("no_such_results"), TempDir("x"));
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()), HasSubstr("no_such_results"));

  if (geteuid() != 0) {  // root writes anywhere
    const std::string locked = TempDir("locked");
    fs::create_directories(locked);
    chmod(locked.c_str(), 0555);
    absl::StatusOr<ReportSummary> unwritable = WriteReport(Results(), locked);
    chmod(locked.c_str(), 0755);
    ASSERT_FALSE(unwritable.ok());
    EXPECT_THAT(std::string(unwritable.status().message()), HasSubstr("output directory"));
  }
  // A file where the output folder should be.
  const std::string file = TempDir("a_file");
  gs::testing::WriteText(file, "x");
  absl::StatusOr<ReportSummary> not_dir = WriteReport(Results(), file + "/report");
  ASSERT_FALSE(not_dir.ok());
  EXPECT_THAT(std::string(not_dir.status().message()), HasSubstr("output directory"));
}

}  // namespace
}  // namespace gs::reports
