// tasks/harness/run_record: run.json's bytes from a RunRecord, read back field by field;
// torn and foreign files say what they are.
#include "tasks/harness/run_record.h"

#include "gtest/gtest.h"

namespace gs::tasks {
namespace {

RunRecord Finished() {
  RunRecord r;
  r.task = "vit_classification";
  r.optimizer_name = "adamw";
  r.optimizer_tag = "adamw";
  r.optimizer_options = {{"beta1", 0.9}, {"lr", 0.001}};
  r.smoothing = {{"name", "window"}, {"tag", "window-a0.2"}};
  r.seed = 3;
  r.preset = "smoke";
  r.config = {{"lr", 0.001}, {"steps", 20}};
  r.status = RunStatus::kCompleted;
  r.primary_metric = {"test_accuracy", "max"};
  r.selection_metric = {"val_accuracy", "max"};
  r.final = {{"test_accuracy", 0.5}, {"val_accuracy", 0.25}};
  r.steps = 20;
  r.wall_seconds = 1.5;
  r.versions = {{"libtorch", "1.13.1"}};
  r.seconds_per_step = 0.125;
  r.peak_resident_bytes = 1 << 20;
  return r;
}

TEST(RunRecord, TextIsTheSortedIndentedJson) {
  const RunRecord r = Finished();
  const nlohmann::json expected = {
      {"task", "vit_classification"},
      {"optimizer", {{"name", "adamw"}, {"tag", "adamw"}, {"options", r.optimizer_options}}},
      {"smoothing", r.smoothing},
      {"seed", 3},
      {"preset", "smoke"},
      {"config", r.config},
      {"status", "completed"},
      {"primary_metric", {{"name", "test_accuracy"}, {"goal", "max"}}},
      {"selection_metric", {{"name", "val_accuracy"}, {"goal", "max"}}},
      {"final", r.final},
      {"steps", 20},
      {"wall_seconds", 1.5},
      {"versions", r.versions},
      {"seconds_per_step", 0.125},
      {"peak_resident_bytes", 1 << 20}};
  EXPECT_EQ(r.Text(), expected.dump(2) + "\n");
  EXPECT_FALSE(r.ToJson().contains("error"));
  EXPECT_FALSE(r.ToJson().contains("diverged_at_step"));
}

TEST(RunRecord, RoundTrips) {
  RunRecord r = Finished();
  r.status = RunStatus::kDiverged;
  r.diverged_at_step = 7;
  r.error = "boom";
  const RunRecordRead read = ParseRunRecord(r.Text());
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read.missing.empty());
  EXPECT_EQ(read.status_text, "diverged");
  EXPECT_EQ(read.record.Text(), r.Text());
  EXPECT_EQ(read.record.diverged_at_step, 7);
  EXPECT_EQ(read.record.error, "boom");
}

TEST(ParseRunRecord, TornAndForeignFiles) {
  EXPECT_EQ(ParseRunRecord("").kind, RunRecordRead::Kind::kNotJson);
  EXPECT_EQ(ParseRunRecord(Finished().Text().substr(0, 40)).kind, RunRecordRead::Kind::kNotJson);
  EXPECT_EQ(ParseRunRecord("[1, 2]").kind, RunRecordRead::Kind::kNotObject);
  EXPECT_FALSE(ParseRunRecord("[1, 2]").Has("task"));
  const RunRecordRead foreign = ParseRunRecord(R"({"name": "not a run", "status": 3})");
  ASSERT_TRUE(foreign.ok());
  EXPECT_FALSE(foreign.Has("task"));
  EXPECT_FALSE(foreign.Has("config"));
  EXPECT_FALSE(foreign.Has("status"));
  EXPECT_EQ(foreign.status_text, "");
}

TEST(ParseRunRecord, NamesMissingFieldsAndKeepsUnknownStatus) {
  const RunRecordRead read = ParseRunRecord(
      R"({"task": "t", "optimizer": "sgd", "status": "paused", "primary_metric": {"name": "m"}})");
  ASSERT_TRUE(read.ok());
  EXPECT_TRUE(read.Has("task"));
  EXPECT_TRUE(read.Has("optimizer"));
  EXPECT_EQ(read.record.optimizer_tag, "sgd");
  EXPECT_EQ(read.record.optimizer_name, "sgd");
  EXPECT_FALSE(read.Has("status"));
  EXPECT_EQ(read.status_text, "paused");
  EXPECT_TRUE(read.Has("primary_metric.name"));
  EXPECT_FALSE(read.Has("primary_metric.goal"));
  EXPECT_FALSE(read.Has("seed"));
  const RunRecordRead no_tag = ParseRunRecord(R"({"optimizer": {"name": "sgd"}})");
  EXPECT_TRUE(no_tag.Has("optimizer"));
  EXPECT_FALSE(no_tag.Has("optimizer.tag"));
}

}  // namespace
}  // namespace gs::tasks
