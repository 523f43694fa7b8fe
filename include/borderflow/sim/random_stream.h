#pragma once

// Seeded random streams and the distributions the simulator samples. Each part of a model draws
// from its own named stream (arrivals, service, no-shows...), derived from the run's seed and
// the name, so that changing one part (another policy, one more lane) does not shift the numbers
// another part sees: the same seed gives the same arrivals under every policy.

#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/error.h>

namespace borderflow::sim {

// xoshiro256++ seeded through SplitMix64. Not thread-safe (one stream per user).
class RandomStream {
 public:
  // The stream called `name` of the run seeded with `seed`.
  RandomStream(uint64_t seed, std::string_view name);
  explicit RandomStream(uint64_t seed) : RandomStream(seed, "") {}

  uint64_t Next64() {
    const uint64_t result = Rotl(state_[0] + state_[3], 23) + state_[0];
    const uint64_t t = state_[1] << 17;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = Rotl(state_[3], 45);
    return result;
  }
  // Uniform on [0, 1).
  double Uniform() { return static_cast<double>(Next64() >> 11) * 0x1.0p-53; }
  bool Bernoulli(double p) { return Uniform() < p; }
  // Exponential with the given rate (> 0).
  double Exponential(double rate);
  // Standard normal (Marsaglia's polar method).
  double Normal();
  // Uniform integer on [0, n), n > 0.
  uint64_t Below(uint64_t n) { return Next64() % n; }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t state_[4];
  double spare_normal_ = 0;
  bool has_spare_ = false;
};

// A distribution of non-negative durations or quantities.
//   deterministic  always `mean`
//   exponential    mean `mean`
//   lognormal      mean `mean`, standard deviation `sd` (of the value, not of its log)
//   uniform        on [min, max]
//   erlang         `shape` exponential phases with total mean `mean` (less variable than
//   exponential)
struct Distribution {
  enum class Kind { kDeterministic, kExponential, kLognormal, kUniform, kErlang };
  Kind kind = Kind::kDeterministic;
  double mean = 0;
  double sd = 0;
  double min = 0;
  double max = 0;
  int shape = 1;
  // Precomputed for lognormal.
  double log_mu = 0;
  double log_sigma = 0;

  static Distribution Deterministic(double value);
  static Distribution Exponential(double mean);
  static Distribution Lognormal(double mean, double sd);
  static Distribution Uniform(double min, double max);
  static Distribution Erlang(int shape, double mean);

  double Sample(RandomStream& random) const;
  // The exact mean and second moment E[X^2] (for the Pollaczek–Khinchine formula).
  double Mean() const;
  double SecondMoment() const;
  // "lognormal(mean 60, sd 30)".
  std::string ToString() const;
};

std::string_view DistributionKindName(Distribution::Kind kind);
// "deterministic", "exponential", "lognormal", "uniform", "erlang"; errors list the names.
Result<Distribution::Kind> ParseDistributionKind(std::string_view name);

}  // namespace borderflow::sim
