#include <algorithm>
#include <cmath>

#include <borderflow/core/assert.h>
#include <borderflow/sim/stats.h>

namespace borderflow::sim {

double QuantileOfSorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  double pos = q * static_cast<double>(sorted.size() - 1);
  size_t lower = static_cast<size_t>(std::floor(pos));
  size_t upper = std::min(lower + 1, sorted.size() - 1);
  double frac = pos - static_cast<double>(lower);
  return sorted[lower] + (sorted[upper] - sorted[lower]) * frac;
}

Summary Samples::Summarize() const {
  Summary s;
  s.count = count();
  if (values_.empty()) return s;
  std::vector<double> sorted = values_;
  std::sort(sorted.begin(), sorted.end());
  double sum = 0;
  for (double v : sorted) sum += v;
  s.mean = sum / static_cast<double>(sorted.size());
  s.p50 = QuantileOfSorted(sorted, 0.50);
  s.p90 = QuantileOfSorted(sorted, 0.90);
  s.p95 = QuantileOfSorted(sorted, 0.95);
  s.max = sorted.back();
  return s;
}

double StudentT(int df, double level) {
  BF_ASSERT(df >= 1, "at least one degree of freedom");
  BF_ASSERT(level == 0.95 || level == 0.99, "levels 0.95 and 0.99 are tabulated");
  // Two-sided quantiles t_{1-(1-level)/2, df} for df = 1..30; beyond, the normal value with
  // the first Cornish–Fisher correction.
  static constexpr double k95[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306,
                                   2.262,  2.228, 2.201, 2.179, 2.160, 2.145, 2.131, 2.120,
                                   2.110,  2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064,
                                   2.060,  2.056, 2.052, 2.048, 2.045, 2.042};
  static constexpr double k99[] = {63.657, 9.925, 5.841, 4.604, 4.032, 3.707, 3.499, 3.355,
                                   3.250,  3.169, 3.106, 3.055, 3.012, 2.977, 2.947, 2.921,
                                   2.898,  2.878, 2.861, 2.845, 2.831, 2.819, 2.807, 2.797,
                                   2.787,  2.779, 2.771, 2.763, 2.756, 2.750};
  if (df <= 30) return level == 0.95 ? k95[df - 1] : k99[df - 1];
  double z = level == 0.95 ? 1.959964 : 2.575829;
  return z + (z * z * z + z) / (4.0 * df);
}

MeanEstimate BatchMeans(const std::vector<double>& values, int batches, double level) {
  BF_ASSERT(batches >= 2, "at least two batches");
  MeanEstimate e;
  size_t size = values.size() / static_cast<size_t>(batches);
  if (size == 0) return e;
  std::vector<double> means;
  means.reserve(static_cast<size_t>(batches));
  for (int b = 0; b < batches; ++b) {
    double sum = 0;
    for (size_t i = 0; i < size; ++i) sum += values[static_cast<size_t>(b) * size + i];
    means.push_back(sum / static_cast<double>(size));
  }
  double mean = 0;
  for (double m : means) mean += m;
  mean /= batches;
  double var = 0;
  for (double m : means) var += (m - mean) * (m - mean);
  var /= (batches - 1);
  e.mean = mean;
  e.batches = batches;
  e.half_width = StudentT(batches - 1, level) * std::sqrt(var / batches);
  return e;
}

}  // namespace borderflow::sim
