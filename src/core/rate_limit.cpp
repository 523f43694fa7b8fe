#include <algorithm>
#include <chrono>

#include <borderflow/core/rate_limit.h>

namespace borderflow {

KeyedRateLimit::KeyedRateLimit(double per_second, double burst, size_t max_keys)
    : per_second_(per_second), burst_(burst), max_keys_(max_keys) {}

bool KeyedRateLimit::TryTake(std::string_view key, Timestamp now) {
  if (per_second_ <= 0) return true;
  std::lock_guard lock(mu_);
  if (buckets_.size() >= max_keys_) buckets_.clear();
  auto [it, fresh] = buckets_.try_emplace(std::string(key), Bucket{burst_, now});
  Bucket& b = it->second;
  if (!fresh) {
    // A clock that steps back refills nothing (and takes nothing back).
    double elapsed = std::max(0.0, std::chrono::duration<double>(now - b.refilled).count());
    b.tokens = std::min(burst_, b.tokens + elapsed * per_second_);
    b.refilled = std::max(b.refilled, now);
  }
  if (b.tokens < 1) return false;
  b.tokens -= 1;
  return true;
}

}  // namespace borderflow
