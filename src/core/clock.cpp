#include <borderflow/core/clock.h>

namespace borderflow {

Timestamp SystemClock::Now() const {
  return std::chrono::time_point_cast<Duration>(std::chrono::system_clock::now());
}

}  // namespace borderflow
