#include <sodium.h>

#include <borderflow/core/random.h>

namespace borderflow {

std::string Random::Base32(int n) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // Crockford
  std::string out;
  out.reserve(n);
  uint64_t bits = 0;
  int available = 0;
  for (int i = 0; i < n; ++i) {
    if (available < 5) {
      bits = Next64();
      available = 64;
    }
    out.push_back(kAlphabet[bits & 31]);
    bits >>= 5;
    available -= 5;
  }
  return out;
}

uint64_t SystemRandom::Next64() {
  uint64_t v = 0;
  randombytes_buf(&v, sizeof v);
  return v;
}

uint64_t SeededRandom::Next64() {
  std::lock_guard lock(mu_);
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace borderflow
