// Statistics for the report: sample moments, Student's t distribution (through the
// regularized incomplete beta function) and the two t-tests the tables use.
#ifndef GS_REPORTS_STATS_H_
#define GS_REPORTS_STATS_H_

#include <optional>
#include <vector>

namespace gs::reports {

// NaN for an empty sample.
double Mean(const std::vector<double>& x);

// The middle value (the mean of the two middle ones for an even count); NaN when empty.
double Median(std::vector<double> x);

// Sample standard deviation (divides by n - 1); NaN for fewer than two values.
double SampleStd(const std::vector<double>& x);

// I_x(a, b), the regularized incomplete beta function, for a, b > 0 and x in [0, 1]
// (continued fraction, evaluated by the modified Lentz method).
double RegularizedIncompleteBeta(double a, double b, double x);

// P(T <= t) for Student's t with `dof` > 0 degrees of freedom (dof need not be an integer).
double StudentTCdf(double t, double dof);

// P(|T| >= |t|), computed directly (no 1 - CDF cancellation in the tails).
double StudentTTwoSidedP(double t, double dof);

// The p-quantile of Student's t, p in (0, 1).
double StudentTQuantile(double p, double dof);

struct Interval {
  double low;
  double high;
};

// Mean +- t_{0.975, n-1} * s / sqrt(n); nullopt for fewer than two values.
std::optional<Interval> ConfidenceInterval95(const std::vector<double>& x);

// `interval` cut to `range`: an interval of a bounded quantity (an accuracy, a CKA, a
// cosine) claims no values the quantity cannot take.
Interval Clamp(Interval interval, Interval range);

struct TTest {
  double t;
  double dof;
  double p;  // two-sided
};

// Welch's unequal-variance t-test of mean(a) - mean(b); nullopt when either sample has
// fewer than two values or both variances are zero.
std::optional<TTest> WelchTTest(const std::vector<double>& a, const std::vector<double>& b);

// Paired t-test of a[i] - b[i] (same length); nullopt for fewer than two pairs or
// differences that are all equal.
std::optional<TTest> PairedTTest(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace gs::reports

#endif  // GS_REPORTS_STATS_H_
