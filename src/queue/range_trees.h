#pragma once

// Range trees for the smart queue policy (policies.cpp), in a header of their own so that their
// test (range_trees_test.cpp) can compare them with a brute-force answer. Internal to src/queue.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>
#include <vector>

namespace borderflow::queue_internal {

constexpr int64_t kInf = std::numeric_limits<int64_t>::max() / 4;

// Values over positions with range add, the global minimum, and the leftmost position whose
// value is at most x. O(log n) per operation, bottom-up without recursion (Fill makes a prefix
// add and a few updates for every slot of every plan): a node keeps the minimum of its subtree
// including the adds made to the whole subtree (add_), which stay there instead of being pushed
// down; a position's value is its leaf plus the adds of the nodes above it.
class MinAddTree {
 public:
  explicit MinAddTree(const std::vector<int64_t>& values) {
    while (size_ < values.size()) size_ *= 2;
    min_.assign(2 * size_, kInf);
    add_.assign(2 * size_, 0);
    std::copy(values.begin(), values.end(), min_.begin() + static_cast<ptrdiff_t>(size_));
    for (size_t node = size_ - 1; node >= 1; --node) Pull(node);
  }

  int64_t Min() const { return min_[1]; }
  // Adds `delta` to the values at positions [begin, end).
  void Add(size_t begin, size_t end, int64_t delta) {
    if (begin >= end) return;
    const size_t first_leaf = begin + size_;
    const size_t last_leaf = end - 1 + size_;
    for (size_t lo = first_leaf, hi = last_leaf + 1; lo < hi; lo /= 2, hi /= 2) {
      if (lo & 1) Apply(lo++, delta);
      if (hi & 1) Apply(--hi, delta);
    }
    PullAbove(first_leaf);
    PullAbove(last_leaf);
  }
  void Set(size_t i, int64_t value) {
    const size_t leaf = i + size_;
    int64_t above = 0;
    for (size_t node = leaf / 2; node >= 1; node /= 2) above += add_[node];
    min_[leaf] = value - above;
    PullAbove(leaf);
  }
  // The leftmost position whose value is <= x, or npos.
  size_t LeftmostAtMost(int64_t x) const {
    if (min_[1] > x) return npos;
    size_t node = 1;
    int64_t above = 0;  // the adds of the nodes above node's children
    while (node < size_) {
      above += add_[node];
      node = min_[2 * node] + above <= x ? 2 * node : 2 * node + 1;
    }
    return node - size_;
  }

  static constexpr size_t npos = static_cast<size_t>(-1);

 private:
  void Apply(size_t node, int64_t delta) {
    min_[node] += delta;
    add_[node] += delta;
  }
  void Pull(size_t node) { min_[node] = std::min(min_[2 * node], min_[2 * node + 1]) + add_[node]; }
  void PullAbove(size_t node) {
    for (node /= 2; node >= 1; node /= 2) Pull(node);
  }

  size_t size_ = 1;
  std::vector<int64_t> min_;
  std::vector<int64_t> add_;  // added to every position under the node (leaves: unused)
};

// Positions that hold a key (deadline, ticket) or none; the position with the least key in a
// range of positions. O(log n) per operation.
class ArgMinTree {
 public:
  using Key = std::pair<int64_t, int64_t>;
  static constexpr size_t npos = static_cast<size_t>(-1);

  explicit ArgMinTree(size_t n) : keys_(n, Key{kInf, kInf}) {
    while (size_ < n) size_ *= 2;
    best_.assign(2 * size_, npos);
  }

  void Set(size_t i, Key key) { Update(i, key, i); }
  void Clear(size_t i) { Update(i, Key{kInf, kInf}, npos); }
  // The position with the least key in [begin, end), or npos when none holds a key.
  size_t Query(size_t begin, size_t end) const {
    size_t best = npos;
    for (size_t lo = begin + size_, hi = end + size_; lo < hi; lo /= 2, hi /= 2) {
      if (lo & 1) best = Better(best, best_[lo++]);
      if (hi & 1) best = Better(best, best_[--hi]);
    }
    return best;
  }

 private:
  size_t Better(size_t a, size_t b) const {
    if (a == npos) return b;
    if (b == npos) return a;
    return keys_[b] < keys_[a] ? b : a;
  }
  void Update(size_t i, Key key, size_t value) {
    keys_[i] = key;
    size_t node = i + size_;
    best_[node] = value;
    for (node /= 2; node >= 1; node /= 2)
      best_[node] = Better(best_[2 * node], best_[2 * node + 1]);
  }

  size_t size_ = 1;
  std::vector<Key> keys_;
  std::vector<size_t> best_;
};

}  // namespace borderflow::queue_internal
