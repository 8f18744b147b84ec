#include "reports/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gs::reports {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The continued fraction of I_x(a, b) (Numerical Recipes, betacf), converging fast for
// x < (a + 1) / (a + b + 2).
double BetaContinuedFraction(double a, double b, double x) {
  constexpr double kTiny = 1e-300;
  constexpr double kEps = 1e-16;
  const double qab = a + b, qap = a + 1.0, qam = a - 1.0;
  double c = 1.0;
  double d = 1.0 - qab * x / qap;
  if (std::fabs(d) < kTiny) d = kTiny;
  d = 1.0 / d;
  double h = d;
  for (int m = 1; m <= 10000; ++m) {
    const int m2 = 2 * m;
    double aa = m * (b - m) * x / ((qam + m2) * (a + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    h *= d * c;
    aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
    d = 1.0 + aa * d;
    if (std::fabs(d) < kTiny) d = kTiny;
    c = 1.0 + aa / c;
    if (std::fabs(c) < kTiny) c = kTiny;
    d = 1.0 / d;
    const double del = d * c;
    h *= del;
    if (std::fabs(del - 1.0) < kEps) break;
  }
  return h;
}

}  // namespace

double Mean(const std::vector<double>& x) {
  if (x.empty()) return kNaN;
  double sum = 0.0;
  for (double v : x) sum += v;
  return sum / static_cast<double>(x.size());
}

double Median(std::vector<double> x) {
  if (x.empty()) return kNaN;
  std::sort(x.begin(), x.end());
  const size_t n = x.size();
  return n % 2 ? x[n / 2] : 0.5 * (x[n / 2 - 1] + x[n / 2]);
}

Interval Clamp(Interval interval, Interval range) {
  return {std::min(std::max(interval.low, range.low), range.high),
          std::max(std::min(interval.high, range.high), range.low)};
}

double SampleStd(const std::vector<double>& x) {
  if (x.size() < 2) return kNaN;
  const double mean = Mean(x);
  double ss = 0.0;
  for (double v : x) ss += (v - mean) * (v - mean);
  return std::sqrt(ss / static_cast<double>(x.size() - 1));
}

double RegularizedIncompleteBeta(double a, double b, double x) {
  if (!(a > 0.0) || !(b > 0.0) || !(x >= 0.0) || !(x <= 1.0)) return kNaN;
  if (x == 0.0) return 0.0;
  if (x == 1.0) return 1.0;
  // Prefactor x^a (1-x)^b / (a B(a, b)), in logarithms.
  const double log_front = std::lgamma(a + b) - std::lgamma(a) - std::lgamma(b) +
                           a * std::log(x) + b * std::log1p(-x);
  const double front = std::exp(log_front);
  // Symmetry I_x(a, b) = 1 - I_{1-x}(b, a) keeps the fraction in its fast region.
  if (x < (a + 1.0) / (a + b + 2.0)) return front * BetaContinuedFraction(a, b, x) / a;
  return 1.0 - front * BetaContinuedFraction(b, a, 1.0 - x) / b;
}

double StudentTTwoSidedP(double t, double dof) {
  if (std::isnan(t) || !(dof > 0.0)) return kNaN;
  if (std::isinf(t)) return 0.0;
  // P(|T| >= |t|) = I_{dof / (dof + t^2)}(dof / 2, 1 / 2).
  return RegularizedIncompleteBeta(0.5 * dof, 0.5, dof / (dof + t * t));
}

double StudentTCdf(double t, double dof) {
  const double tail = 0.5 * StudentTTwoSidedP(t, dof);
  return t > 0.0 ? 1.0 - tail : tail;
}

double StudentTQuantile(double p, double dof) {
  if (!(p > 0.0) || !(p < 1.0) || !(dof > 0.0)) return kNaN;
  if (p == 0.5) return 0.0;
  // Bisection on the monotone CDF: bracket, then halve to the last bit.
  double hi = 1.0;
  while (StudentTCdf(hi, dof) < p && hi < 1e300) hi *= 2.0;
  double lo = -1.0;
  while (StudentTCdf(lo, dof) > p && lo > -1e300) lo *= 2.0;
  for (int i = 0; i < 2000 && hi - lo > 0.0; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (mid == lo || mid == hi) break;
    (StudentTCdf(mid, dof) < p ? lo : hi) = mid;
  }
  return 0.5 * (lo + hi);
}

std::optional<Interval> ConfidenceInterval95(const std::vector<double>& x) {
  if (x.size() < 2) return std::nullopt;
  const double n = static_cast<double>(x.size());
  const double half = StudentTQuantile(0.975, n - 1.0) * SampleStd(x) / std::sqrt(n);
  const double mean = Mean(x);
  return Interval{mean - half, mean + half};
}

std::optional<TTest> WelchTTest(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() < 2 || b.size() < 2) return std::nullopt;
  const double na = static_cast<double>(a.size()), nb = static_cast<double>(b.size());
  const double va = std::pow(SampleStd(a), 2) / na, vb = std::pow(SampleStd(b), 2) / nb;
  if (va + vb == 0.0) return std::nullopt;
  TTest r;
  r.t = (Mean(a) - Mean(b)) / std::sqrt(va + vb);
  // Welch-Satterthwaite degrees of freedom.
  r.dof = (va + vb) * (va + vb) / (va * va / (na - 1.0) + vb * vb / (nb - 1.0));
  r.p = StudentTTwoSidedP(r.t, r.dof);
  return r;
}

std::optional<TTest> PairedTTest(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2) return std::nullopt;
  std::vector<double> diff(a.size());
  for (size_t i = 0; i < a.size(); ++i) diff[i] = a[i] - b[i];
  const double sd = SampleStd(diff);
  if (!(sd > 0.0)) return std::nullopt;
  const double n = static_cast<double>(diff.size());
  TTest r;
  r.t = Mean(diff) / (sd / std::sqrt(n));
  r.dof = n - 1.0;
  r.p = StudentTTwoSidedP(r.t, r.dof);
  return r;
}

}  // namespace gs::reports
