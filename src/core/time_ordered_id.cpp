#include <algorithm>
#include <cstdint>

#include <borderflow/core/time_ordered_id.h>

namespace borderflow {

std::string TimeOrderedId(std::string_view prefix, Timestamp now, Random& random,
                          int random_chars) {
  static constexpr char kAlphabet[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";  // ascending ASCII
  constexpr int64_t kEpochMs = 1'735'689'600'000;                          // 2025-01-01T00:00:00Z
  uint64_t ms = static_cast<uint64_t>(std::max<int64_t>(0, ToUnixMillis(now) - kEpochMs));
  std::string id(prefix);
  for (int shift = 35; shift >= 0; shift -= 5) id += kAlphabet[(ms >> shift) & 31];
  return id + random.Base32(random_chars);
}

}  // namespace borderflow
