#pragma once

// Statistics of simulated samples: exact percentiles over kept samples, and confidence
// intervals of a mean by batch means (samples of one run are correlated; batch means of long
// enough batches are nearly independent).

#include <cstdint>
#include <vector>

namespace borderflow::sim {

struct Summary {
  int64_t count = 0;
  double mean = 0;
  double p50 = 0;
  double p90 = 0;
  double p95 = 0;
  double max = 0;
};

// Keeps every sample (a season has at most a few million) so that percentiles are exact.
class Samples {
 public:
  void Add(double x) { values_.push_back(x); }
  int64_t count() const { return static_cast<int64_t>(values_.size()); }
  const std::vector<double>& values() const { return values_; }
  // Mean, percentiles (linear interpolation between order statistics) and max; zeros when
  // empty.
  Summary Summarize() const;

 private:
  std::vector<double> values_;
};

// The q-quantile (0..1) of `sorted` by linear interpolation; 0 when empty.
double QuantileOfSorted(const std::vector<double>& sorted, double q);

struct MeanEstimate {
  double mean = 0;
  double half_width = 0;  // of the confidence interval
  int batches = 0;
  double low() const { return mean - half_width; }
  double high() const { return mean + half_width; }
};

// The mean of `values` with a confidence interval (level 0.95 or 0.99) from `batches`
// consecutive batches of equal size (the remainder at the end is dropped). At least 2 batches.
MeanEstimate BatchMeans(const std::vector<double>& values, int batches, double level = 0.95);

// The two-sided Student t quantile for `df` degrees of freedom at level 0.95 or 0.99.
double StudentT(int df, double level);

}  // namespace borderflow::sim
