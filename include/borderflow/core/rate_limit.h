#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include <borderflow/core/time.h>

namespace borderflow {

// A token bucket per key (a client address, a user): each key may take `burst` at once and
// `per_second` more each second after. Thread-safe. Memory is bounded: past `max_keys` keys
// every bucket is forgotten (a full bucket again for everyone), which favours availability
// over strictness under address churn. `per_second <= 0` admits everything.
class KeyedRateLimit {
 public:
  KeyedRateLimit(double per_second, double burst, size_t max_keys);

  // Takes one token from `key`'s bucket at `now`; false when the bucket is empty.
  bool TryTake(std::string_view key, Timestamp now);

  double per_second() const { return per_second_; }

 private:
  struct Bucket {
    double tokens = 0;
    Timestamp refilled;
  };
  const double per_second_;
  const double burst_;
  const size_t max_keys_;
  std::mutex mu_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace borderflow
