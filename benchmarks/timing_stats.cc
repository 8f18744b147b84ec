#include "benchmarks/timing_stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace gs::benchmarks {

double Median(std::vector<double> values) { return Quantile(std::move(values), 0.5); }

double Quantile(std::vector<double> values, double q) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double position = q * static_cast<double>(values.size() - 1);
  const size_t below = static_cast<size_t>(std::floor(position));
  const size_t above = std::min(below + 1, values.size() - 1);
  const double fraction = position - static_cast<double>(below);
  return values[below] + fraction * (values[above] - values[below]);
}

MedianInterval MedianConfidenceInterval(std::vector<double> values, double level) {
  MedianInterval interval;
  const int64_t n = static_cast<int64_t>(values.size());
  if (n == 0) return interval;
  std::sort(values.begin(), values.end());
  // P(Binomial(n, 1/2) < k) for k = 1, 2, ...: the probability that fewer than k values
  // fall below the true median, i.e. that x_(k) lies above it.
  double below = 0.0;  // P(X <= k - 1)
  double log_choose = 0.0;  // log C(n, k - 1)
  const double log_half_n = n * std::log(0.5);
  for (int64_t k = 1; 2 * k <= n + 1; ++k) {
    if (k > 1) log_choose += std::log(static_cast<double>(n - k + 2)) - std::log(static_cast<double>(k - 1));
    below += std::exp(log_choose + log_half_n);
    const double coverage = 1.0 - 2.0 * below;
    if (coverage < level) break;
    interval.rank = k;
    interval.coverage = coverage;
    interval.valid = true;
  }
  if (interval.valid) {
    interval.low = values[interval.rank - 1];
    interval.high = values[n - interval.rank];
  }
  return interval;
}

std::vector<double> Ratios(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) out.push_back(b[i] / a[i]);
  return out;
}

std::vector<double> Differences(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> out;
  for (size_t i = 0; i < std::min(a.size(), b.size()); ++i) out.push_back(b[i] - a[i]);
  return out;
}

nlohmann::json Summary(const std::vector<double>& values) {
  const MedianInterval ci = MedianConfidenceInterval(values, 0.9);
  nlohmann::json out = {{"n", values.size()},
                        {"median", Median(values)},
                        {"p05", Quantile(values, 0.05)},
                        {"p95", Quantile(values, 0.95)},
                        {"ci90_low", nullptr},
                        {"ci90_high", nullptr},
                        {"ci90_coverage", nullptr}};
  if (ci.valid) {
    out["ci90_low"] = ci.low;
    out["ci90_high"] = ci.high;
    out["ci90_coverage"] = ci.coverage;
  }
  return out;
}

}  // namespace gs::benchmarks
