// Statistics of repeated timings: medians, quantiles, and a distribution-free confidence
// interval for a median from order statistics (no normality assumed: step times are
// skewed by machine noise).
#ifndef GS_BENCHMARKS_TIMING_STATS_H_
#define GS_BENCHMARKS_TIMING_STATS_H_

#include <cstdint>
#include <vector>

#include "nlohmann/json.hpp"

namespace gs::benchmarks {

// The median (mean of the two middle values for an even count); NaN when empty.
double Median(std::vector<double> values);

// The q-quantile, q in [0, 1], interpolating linearly between order statistics
// (x_(1) at q = 0, x_(n) at q = 1; R's type 7, numpy's default); NaN when empty.
double Quantile(std::vector<double> values, double q);

struct MedianInterval {
  double low = 0.0, high = 0.0;
  int64_t rank = 0;        // k: the interval is [x_(k), x_(n+1-k)] (1-based)
  double coverage = 0.0;   // its exact coverage, 1 - 2 P(Binomial(n, 1/2) < k)
  bool valid = false;      // false when n is too small for the requested level
};

// The order-statistic interval [x_(k), x_(n+1-k)] for the median with the largest k
// whose coverage is at least `level` (e.g. 0.9).
MedianInterval MedianConfidenceInterval(std::vector<double> values, double level);

// Elementwise b[i] / a[i] (paired measurements).
std::vector<double> Ratios(const std::vector<double>& a, const std::vector<double>& b);
// Elementwise b[i] - a[i].
std::vector<double> Differences(const std::vector<double>& a, const std::vector<double>& b);

// {"median", "ci90_low", "ci90_high", "ci90_coverage", "p05", "p95", "n"} of `values`;
// the interval fields are null when n is too small for a 90% interval (n < 5).
nlohmann::json Summary(const std::vector<double>& values);

}  // namespace gs::benchmarks

#endif  // GS_BENCHMARKS_TIMING_STATS_H_
