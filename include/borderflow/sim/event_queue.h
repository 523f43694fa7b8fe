#pragma once

// The discrete-event core: virtual time and a queue of future events. Pure: no wall clock, no
// randomness, no I/O. Events at the same virtual time come out in the order they were scheduled
// (a sequence number breaks ties), so a run is a function of its inputs.

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include <borderflow/core/assert.h>

namespace borderflow::sim {

// Virtual time of a run, in seconds since its start.
using SimTime = double;

// A min-queue of events ordered by (time, scheduling sequence). `Payload` is a small value the
// caller dispatches on (an enum and an index, typically). A 4-ary implicit heap: fewer levels
// than a binary heap and children on one cache line for small payloads.
template <class Payload>
class EventQueue {
 public:
  struct Event {
    SimTime at = 0;
    uint64_t sequence = 0;
    Payload payload{};
  };

  // The time of the last event popped (0 before the first).
  SimTime now() const { return now_; }
  bool empty() const { return heap_.empty(); }
  size_t size() const { return heap_.size(); }
  // Events popped so far.
  uint64_t processed() const { return processed_; }
  // The time of the next event; the queue must not be empty.
  SimTime next_time() const { return heap_.front().at; }

  // Schedules `payload` at `at`, which must not lie before now(): time never runs backwards.
  void Schedule(SimTime at, Payload payload) {
    BF_ASSERT(at >= now_, "an event cannot be scheduled in the past");
    heap_.push_back(Event{at, next_sequence_++, std::move(payload)});
    SiftUp(heap_.size() - 1);
  }

  // Removes the earliest event, moves now() to its time and returns it. Not empty.
  Event Pop() {
    BF_ASSERT(!heap_.empty(), "Pop on an empty event queue");
    Event top = std::move(heap_.front());
    Event last = std::move(heap_.back());
    heap_.pop_back();
    if (!heap_.empty()) SiftDown(std::move(last));
    now_ = top.at;
    ++processed_;
    return top;
  }

  void Reserve(size_t n) { heap_.reserve(n); }

 private:
  static constexpr size_t kArity = 4;
  static bool Before(const Event& a, const Event& b) {
    return a.at < b.at || (a.at == b.at && a.sequence < b.sequence);
  }
  void SiftUp(size_t i) {
    Event moving = std::move(heap_[i]);
    while (i > 0) {
      size_t parent = (i - 1) / kArity;
      if (!Before(moving, heap_[parent])) break;
      heap_[i] = std::move(heap_[parent]);
      i = parent;
    }
    heap_[i] = std::move(moving);
  }
  // Places `moving` from the root down (the root's slot is free).
  void SiftDown(Event moving) {
    const size_t n = heap_.size();
    size_t i = 0;
    while (true) {
      size_t first = i * kArity + 1;
      if (first >= n) break;
      size_t best = first;
      size_t end = first + kArity < n ? first + kArity : n;
      for (size_t c = first + 1; c < end; ++c) {
        if (Before(heap_[c], heap_[best])) best = c;
      }
      if (!Before(heap_[best], moving)) break;
      heap_[i] = std::move(heap_[best]);
      i = best;
    }
    heap_[i] = std::move(moving);
  }

  std::vector<Event> heap_;
  SimTime now_ = 0;
  uint64_t next_sequence_ = 0;
  uint64_t processed_ = 0;
};

}  // namespace borderflow::sim
