// //reports:stats against closed forms, printed t tables and arithmetic done by hand.
#include "reports/stats.h"

#include <cmath>
#include <vector>

#include "gtest/gtest.h"

namespace gs::reports {
namespace {

constexpr double kPi = 3.14159265358979323846;

// Student's t density, written out: Gamma((v+1)/2) / (sqrt(v pi) Gamma(v/2)) (1 + t^2/v)^-(v+1)/2.
double TDensity(double t, double v) {
  return std::exp(std::lgamma((v + 1) / 2) - std::lgamma(v / 2)) / std::sqrt(v * kPi) *
         std::pow(1 + t * t / v, -(v + 1) / 2);
}

// CDF by composite Simpson integration of the density from 0 (an independent route).
double SimpsonTCdf(double t, double v) {
  const int n = 20000;  // even
  const double h = t / n;
  double sum = TDensity(0, v) + TDensity(t, v);
  for (int i = 1; i < n; ++i) sum += (i % 2 ? 4 : 2) * TDensity(i * h, v);
  return 0.5 + sum * h / 3;
}

TEST(Stats, MeanAndSampleStd) {
  // {2,4,4,4,5,5,7,9}: mean 40/8 = 5; squared deviations 9+1+1+1+0+0+4+16 = 32;
  // sample variance 32/7, std sqrt(32/7) = 2.1380899...
  const std::vector<double> x = {2, 4, 4, 4, 5, 5, 7, 9};
  EXPECT_DOUBLE_EQ(Mean(x), 5.0);
  EXPECT_NEAR(SampleStd(x), 2.138089935299395, 1e-12);
  EXPECT_TRUE(std::isnan(Mean({})));
  EXPECT_TRUE(std::isnan(SampleStd({3.0})));
}

TEST(Stats, IncompleteBetaClosedForms) {
  for (double x : {0.0, 0.01, 0.2, 0.5, 0.77, 0.99, 1.0}) {
    EXPECT_NEAR(RegularizedIncompleteBeta(1, 1, x), x, 1e-13) << x;
    EXPECT_NEAR(RegularizedIncompleteBeta(3, 1, x), x * x * x, 1e-13) << x;
    EXPECT_NEAR(RegularizedIncompleteBeta(1, 4, x), 1 - std::pow(1 - x, 4), 1e-13) << x;
    EXPECT_NEAR(RegularizedIncompleteBeta(2, 2, x), 3 * x * x - 2 * x * x * x, 1e-13) << x;
    // Arcsine law: I_x(1/2, 1/2) = (2/pi) asin(sqrt(x)).
    EXPECT_NEAR(RegularizedIncompleteBeta(0.5, 0.5, x), 2 / kPi * std::asin(std::sqrt(x)), 1e-12)
        << x;
  }
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(0, 1, 0.5)));
  EXPECT_TRUE(std::isnan(RegularizedIncompleteBeta(1, 1, 1.5)));
}

TEST(Stats, TCdfClosedForms) {
  for (double t : {-30.0, -4.0, -1.0, -0.3, 0.0, 0.5, 1.0, 2.5, 12.0, 1e4}) {
    // dof 1 is the Cauchy distribution; dof 2 has CDF 1/2 + t / (2 sqrt(2 + t^2)).
    EXPECT_NEAR(StudentTCdf(t, 1), 0.5 + std::atan(t) / kPi, 1e-12) << t;
    EXPECT_NEAR(StudentTCdf(t, 2), 0.5 + t / (2 * std::sqrt(2 + t * t)), 1e-12) << t;
  }
  // Non-integer and larger dof against Simpson integration of the density.
  for (double v : {2.941176, 3.7, 10.0, 30.0}) {
    for (double t : {0.4, 1.3, 2.2, 3.5}) {
      EXPECT_NEAR(StudentTCdf(t, v), SimpsonTCdf(t, v), 1e-10) << v << " " << t;
      EXPECT_NEAR(StudentTCdf(-t, v), 1 - SimpsonTCdf(t, v), 1e-10) << v << " " << t;
    }
  }
  // Far tail: 1 - CDF would cancel; the two-sided p keeps its digits.
  // dof 1: P(|T| >= t) = 1 - 2 atan(t)/pi = 2 atan(1/t)/pi.
  EXPECT_NEAR(StudentTTwoSidedP(1e8, 1) / (2 * std::atan(1e-8) / kPi), 1.0, 1e-9);
}

TEST(Stats, TQuantilesMatchPrintedTables) {
  EXPECT_NEAR(StudentTQuantile(0.975, 1), 12.706205, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.975, 2), 4.302653, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.975, 4), 2.776445, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.975, 30), 2.042272, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.995, 10), 3.169273, 1e-6);
  EXPECT_NEAR(StudentTQuantile(0.025, 4), -2.776445, 1e-6);
  EXPECT_EQ(StudentTQuantile(0.5, 7), 0.0);
  // dof 2 inverts in closed form: t = (2p - 1) / sqrt(2 p (1 - p)).
  for (double p : {0.6, 0.9, 0.999}) {
    EXPECT_NEAR(StudentTQuantile(p, 2), (2 * p - 1) / std::sqrt(2 * p * (1 - p)), 1e-9) << p;
  }
  // The table's quantile leaves 5% in both tails together.
  EXPECT_NEAR(StudentTTwoSidedP(2.776445, 4), 0.05, 1e-6);
  EXPECT_TRUE(std::isnan(StudentTQuantile(1.0, 3)));
}

TEST(Stats, ConfidenceInterval) {
  // {1..5}: mean 3, s = sqrt(10/4) = 1.5811388, half width t_{.975,4} s / sqrt(5)
  // = 2.776445 * 0.7071068 = 1.9632432.
  auto ci = ConfidenceInterval95({1, 2, 3, 4, 5});
  ASSERT_TRUE(ci.has_value());
  EXPECT_NEAR(ci->low, 3 - 1.9632432, 1e-6);
  EXPECT_NEAR(ci->high, 3 + 1.9632432, 1e-6);
  EXPECT_FALSE(ConfidenceInterval95({1.0}).has_value());
}

TEST(Stats, WelchByHand) {
  // a = {0, 2}, b = {3, 5}: variances 2 and 2, se^2 = 2/2 + 2/2 = 2, t = (1 - 4)/sqrt(2)
  // = -2.1213203; dof = 2^2 / (1^2/1 + 1^2/1) = 2; with the dof-2 CDF,
  // p = 1 - |t| / sqrt(2 + t^2) = 1 - sqrt(4.5 / 6.5) = 1 - 3/sqrt(13) = 0.1679497.
  auto w = WelchTTest({0, 2}, {3, 5});
  ASSERT_TRUE(w.has_value());
  EXPECT_NEAR(w->t, -2.1213203435596424, 1e-12);
  EXPECT_NEAR(w->dof, 2.0, 1e-12);
  EXPECT_NEAR(w->p, 1 - 3 / std::sqrt(13.0), 1e-12);

  // a = {1, 2, 3} (mean 2, var 1), b = {4, 6, 8} (mean 6, var 4): se^2 = 1/3 + 4/3 = 5/3,
  // t = -4 / sqrt(5/3) = -3.0983867; dof = (5/3)^2 / ((1/3)^2/2 + (4/3)^2/2) = 50/17;
  // p = 2 (1 - CDF(|t|)) with the CDF integrated numerically.
  w = WelchTTest({1, 2, 3}, {4, 6, 8});
  ASSERT_TRUE(w.has_value());
  EXPECT_NEAR(w->t, -4 / std::sqrt(5.0 / 3.0), 1e-12);
  EXPECT_NEAR(w->dof, 50.0 / 17.0, 1e-12);
  EXPECT_NEAR(w->p, 2 * (1 - SimpsonTCdf(4 / std::sqrt(5.0 / 3.0), 50.0 / 17.0)), 1e-9);

  EXPECT_FALSE(WelchTTest({1.0}, {2, 3}).has_value());
  EXPECT_FALSE(WelchTTest({1, 1}, {2, 2}).has_value());  // no variance at all
}

TEST(Stats, PairedByHand) {
  // a - b = {1, 2, 2}: mean 5/3, squared deviations 4/9 + 1/9 + 1/9 = 2/3, variance 1/3,
  // se = sqrt(1/3) / sqrt(3) = 1/3, t = 5, dof 2: p = 1 - 5 / sqrt(2 + 25) = 0.0377499.
  auto p = PairedTTest({2, 4, 5}, {1, 2, 3});
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(p->t, 5.0, 1e-12);
  EXPECT_EQ(p->dof, 2.0);
  EXPECT_NEAR(p->p, 1 - 5 / std::sqrt(27.0), 1e-12);

  // a - b = {1, 3}: mean 2, sd sqrt(2), se 1, t = 2, dof 1 (Cauchy):
  // p = 1 - 2 atan(2) / pi = 0.2951672.
  p = PairedTTest({1, 3}, {0, 0});
  ASSERT_TRUE(p.has_value());
  EXPECT_NEAR(p->p, 1 - 2 * std::atan(2.0) / kPi, 1e-12);

  EXPECT_FALSE(PairedTTest({1, 2}, {0, 1}).has_value());  // constant difference
  EXPECT_FALSE(PairedTTest({1, 2, 3}, {1, 2}).has_value());
}

}  // namespace
}  // namespace gs::reports
