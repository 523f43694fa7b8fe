#pragma once

// Time is injected: domain and engine code never read the wall clock themselves.

#include <atomic>

#include <borderflow/core/time.h>

namespace borderflow {

class Clock {
 public:
  virtual ~Clock() = default;
  // The current instant. Thread-safe.
  virtual Timestamp Now() const = 0;
};

// The real wall clock (std::chrono::system_clock), for servers and the CLI.
class SystemClock final : public Clock {
 public:
  Timestamp Now() const override;
};

// A clock that only moves when told to, for tests and the simulator. Thread-safe.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(Timestamp start) : now_ms_(ToUnixMillis(start)) {}
  Timestamp Now() const override { return FromUnixMillis(now_ms_.load()); }
  void Set(Timestamp t) { now_ms_.store(ToUnixMillis(t)); }
  void Advance(Duration d) { now_ms_.fetch_add(d.count()); }

 private:
  std::atomic<int64_t> now_ms_;
};

}  // namespace borderflow
