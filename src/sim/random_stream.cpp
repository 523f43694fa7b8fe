#include <cmath>

#include <fmt/format.h>

#include <borderflow/sim/random_stream.h>

namespace borderflow::sim {

namespace {

uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// FNV-1a: a stable hash of the stream name (std::hash may differ between libraries).
uint64_t NameHash(std::string_view name) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : name) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  return h;
}

}  // namespace

RandomStream::RandomStream(uint64_t seed, std::string_view name) {
  uint64_t mix = seed ^ SplitMix64(seed) ^ NameHash(name);
  for (uint64_t& s : state_) s = SplitMix64(mix);
}

double RandomStream::Exponential(double rate) { return -std::log1p(-Uniform()) / rate; }

double RandomStream::Normal() {
  if (has_spare_) {
    has_spare_ = false;
    return spare_normal_;
  }
  double u, v, s;
  do {
    u = 2 * Uniform() - 1;
    v = 2 * Uniform() - 1;
    s = u * u + v * v;
  } while (s >= 1 || s == 0);
  double factor = std::sqrt(-2 * std::log(s) / s);
  spare_normal_ = v * factor;
  has_spare_ = true;
  return u * factor;
}

Distribution Distribution::Deterministic(double value) {
  Distribution d;
  d.kind = Kind::kDeterministic;
  d.mean = value;
  return d;
}

Distribution Distribution::Exponential(double mean) {
  Distribution d;
  d.kind = Kind::kExponential;
  d.mean = mean;
  d.sd = mean;
  return d;
}

Distribution Distribution::Lognormal(double mean, double sd) {
  Distribution d;
  d.kind = Kind::kLognormal;
  d.mean = mean;
  d.sd = sd;
  if (mean <= 0) return d;  // always 0 (Sample)
  double sigma2 = std::log1p((sd * sd) / (mean * mean));
  d.log_sigma = std::sqrt(sigma2);
  d.log_mu = std::log(mean) - sigma2 / 2;
  return d;
}

Distribution Distribution::Uniform(double min, double max) {
  Distribution d;
  d.kind = Kind::kUniform;
  d.min = min;
  d.max = max;
  d.mean = (min + max) / 2;
  d.sd = (max - min) / std::sqrt(12.0);
  return d;
}

Distribution Distribution::Erlang(int shape, double mean) {
  Distribution d;
  d.kind = Kind::kErlang;
  d.shape = shape;
  d.mean = mean;
  d.sd = mean / std::sqrt(static_cast<double>(shape));
  return d;
}

double Distribution::Sample(RandomStream& random) const {
  switch (kind) {
    case Kind::kDeterministic:
      return mean;
    case Kind::kExponential:
      return mean <= 0 ? 0 : random.Exponential(1 / mean);
    case Kind::kLognormal:
      return mean <= 0 ? 0 : std::exp(log_mu + log_sigma * random.Normal());
    case Kind::kUniform:
      return min + (max - min) * random.Uniform();
    case Kind::kErlang: {
      if (mean <= 0) return 0;
      double sum = 0;
      for (int i = 0; i < shape; ++i) sum += random.Exponential(shape / mean);
      return sum;
    }
  }
  return mean;
}

double Distribution::Mean() const { return mean; }

double Distribution::SecondMoment() const {
  switch (kind) {
    case Kind::kDeterministic:
      return mean * mean;
    case Kind::kUniform:
      return (min * min + min * max + max * max) / 3;
    default:
      return sd * sd + mean * mean;
  }
}

std::string Distribution::ToString() const {
  switch (kind) {
    case Kind::kDeterministic:
      return fmt::format("deterministic({:g})", mean);
    case Kind::kExponential:
      return fmt::format("exponential(mean {:g})", mean);
    case Kind::kLognormal:
      return fmt::format("lognormal(mean {:g}, sd {:g})", mean, sd);
    case Kind::kUniform:
      return fmt::format("uniform({:g}..{:g})", min, max);
    case Kind::kErlang:
      return fmt::format("erlang(shape {}, mean {:g})", shape, mean);
  }
  return "?";
}

std::string_view DistributionKindName(Distribution::Kind kind) {
  switch (kind) {
    case Distribution::Kind::kDeterministic:
      return "deterministic";
    case Distribution::Kind::kExponential:
      return "exponential";
    case Distribution::Kind::kLognormal:
      return "lognormal";
    case Distribution::Kind::kUniform:
      return "uniform";
    case Distribution::Kind::kErlang:
      return "erlang";
  }
  return "?";
}

Result<Distribution::Kind> ParseDistributionKind(std::string_view name) {
  for (auto kind : {Distribution::Kind::kDeterministic, Distribution::Kind::kExponential,
                    Distribution::Kind::kLognormal, Distribution::Kind::kUniform,
                    Distribution::Kind::kErlang}) {
    if (DistributionKindName(kind) == name) return kind;
  }
  return InvalidArgument(
      "unknown_distribution",
      fmt::format("unknown distribution '{}'; known: deterministic, exponential, lognormal, "
                  "uniform, erlang",
                  name.substr(0, 32)));
}

}  // namespace borderflow::sim
