#pragma once

// Randomness is injected: domain and engine code never use a global generator.

#include <cstdint>
#include <mutex>
#include <string>

namespace borderflow {

class Random {
 public:
  virtual ~Random() = default;
  // 64 uniformly distributed bits. Thread-safe.
  virtual uint64_t Next64() = 0;
  // An identifier-safe random string of `n` Crockford base32 characters.
  std::string Base32(int n);
};

// Cryptographically secure randomness from the operating system (libsodium randombytes).
class SystemRandom final : public Random {
 public:
  uint64_t Next64() override;
};

// Deterministic generator (SplitMix64) for tests and the simulator: the same seed gives the same
// sequence. Thread-safe.
class SeededRandom final : public Random {
 public:
  explicit SeededRandom(uint64_t seed) : state_(seed) {}
  uint64_t Next64() override;

 private:
  std::mutex mu_;
  uint64_t state_;
};

}  // namespace borderflow
