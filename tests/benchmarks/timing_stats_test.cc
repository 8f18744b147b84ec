// Timing statistics against hand-computed values.
#include "benchmarks/timing_stats.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace gs::benchmarks {
namespace {

TEST(TimingStatsTest, Median) {
  EXPECT_DOUBLE_EQ(Median({3, 1, 2}), 2.0);
  EXPECT_DOUBLE_EQ(Median({4, 1, 3, 2}), 2.5);
  EXPECT_TRUE(std::isnan(Median({})));
}

TEST(TimingStatsTest, QuantileInterpolatesBetweenOrderStatistics) {
  // numpy.quantile([1, 2, 3, 4, 5], q): position q * 4 between sorted values.
  const std::vector<double> v = {5, 1, 4, 2, 3};
  EXPECT_DOUBLE_EQ(Quantile(v, 0.0), 1.0);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.05), 1.2);
  EXPECT_DOUBLE_EQ(Quantile(v, 0.95), 4.8);
  EXPECT_DOUBLE_EQ(Quantile(v, 1.0), 5.0);
  EXPECT_DOUBLE_EQ(Quantile({7}, 0.3), 7.0);
}

TEST(TimingStatsTest, MedianIntervalFromBinomialOrderStatistics) {
  // n = 20: P(Bin(20, 1/2) <= 5) = 21700 / 2^20 = 0.020695, P(<= 6) = 60460 / 2^20 =
  // 0.057659; so k = 6 is the largest rank with coverage >= 0.9: [x_(6), x_(15)],
  // coverage 1 - 2 * 21700 / 2^20.
  std::vector<double> v;
  for (int i = 20; i >= 1; --i) v.push_back(i);
  const MedianInterval ci = MedianConfidenceInterval(v, 0.9);
  ASSERT_TRUE(ci.valid);
  EXPECT_EQ(ci.rank, 6);
  EXPECT_DOUBLE_EQ(ci.low, 6.0);
  EXPECT_DOUBLE_EQ(ci.high, 15.0);
  EXPECT_NEAR(ci.coverage, 1.0 - 2.0 * 21700.0 / 1048576.0, 1e-12);
}

TEST(TimingStatsTest, MedianIntervalNeedsFiveValuesAtNinetyPercent) {
  // n = 4: even [min, max] covers only 1 - 2/16 = 0.875. n = 5: 1 - 2/32 = 0.9375.
  EXPECT_FALSE(MedianConfidenceInterval({1, 2, 3, 4}, 0.9).valid);
  const MedianInterval ci = MedianConfidenceInterval({5, 4, 3, 2, 1}, 0.9);
  ASSERT_TRUE(ci.valid);
  EXPECT_EQ(ci.rank, 1);
  EXPECT_DOUBLE_EQ(ci.low, 1.0);
  EXPECT_DOUBLE_EQ(ci.high, 5.0);
  EXPECT_DOUBLE_EQ(ci.coverage, 0.9375);
}

TEST(TimingStatsTest, PairedRatiosAndDifferences) {
  const std::vector<double> a = {1, 2, 4}, b = {2, 3, 2};
  EXPECT_EQ(Ratios(a, b), (std::vector<double>{2.0, 1.5, 0.5}));
  EXPECT_EQ(Differences(a, b), (std::vector<double>{1.0, 1.0, -2.0}));
}

TEST(TimingStatsTest, SummaryLeavesTheIntervalOutWhenTooFewValues) {
  const nlohmann::json s = Summary({1, 2, 3});
  EXPECT_DOUBLE_EQ(s["median"].get<double>(), 2.0);
  EXPECT_TRUE(s["ci90_low"].is_null());
  const nlohmann::json t = Summary({1, 2, 3, 4, 5, 6});
  EXPECT_DOUBLE_EQ(t["ci90_low"].get<double>(), 1.0);  // n = 6: k = 1 (k = 2 covers 0.78)
  EXPECT_DOUBLE_EQ(t["ci90_high"].get<double>(), 6.0);
}

}  // namespace
}  // namespace gs::benchmarks
