// The smart policy's range trees against a brute-force answer on random operations.

#include "range_trees.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include <gtest/gtest.h>

namespace borderflow::queue_internal {
namespace {

constexpr size_t kNone = static_cast<size_t>(-1);

TEST(MinAddTree, AgreesWithBruteForceOnRandomOperations) {
  std::mt19937_64 random(20261130);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  };
  for (int tree = 0; tree < 3000; ++tree) {
    const size_t n = static_cast<size_t>(uniform(0, 70));
    std::vector<int64_t> values(n);
    for (auto& v : values) v = uniform(-50, 50);
    MinAddTree sut(values);
    for (int step = 0; step < 60; ++step) {
      SCOPED_TRACE(testing::Message() << "tree " << tree << " (n " << n << "), step " << step);
      const int64_t op = uniform(0, 3);
      if (op == 0 && n > 0) {  // an add over a range, often a prefix as the policy makes
        const size_t end = static_cast<size_t>(uniform(0, int64_t(n)));
        const size_t begin = uniform(0, 1) ? 0 : static_cast<size_t>(uniform(0, int64_t(end)));
        const int64_t delta = uniform(-20, 20);
        sut.Add(begin, end, delta);
        for (size_t i = begin; i < end; ++i) values[i] += delta;
      } else if (op == 1 && n > 0) {  // a position set, sometimes to "none" (kInf)
        const size_t i = static_cast<size_t>(uniform(0, int64_t(n) - 1));
        const int64_t value = uniform(0, 9) == 0 ? kInf : uniform(-60, 60);
        sut.Set(i, value);
        values[i] = value;
      }
      // kInf stands for "no value" (the positions beyond n hold it), so the minimum is compared
      // up to kInf: a position set to kInf and then added to is still none.
      const int64_t expected_min =
          values.empty() ? kInf : *std::min_element(values.begin(), values.end());
      ASSERT_EQ(std::min(sut.Min(), kInf), std::min(expected_min, kInf));
      const int64_t x = uniform(-80, 80);
      size_t expected_leftmost = MinAddTree::npos;
      for (size_t i = 0; i < n; ++i) {
        if (values[i] <= x) {
          expected_leftmost = i;
          break;
        }
      }
      ASSERT_EQ(sut.LeftmostAtMost(x), expected_leftmost) << "x " << x;
    }
  }
}

TEST(ArgMinTree, AgreesWithBruteForceOnRandomOperations) {
  std::mt19937_64 random(20261201);
  auto uniform = [&](int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(random);
  };
  for (int tree = 0; tree < 3000; ++tree) {
    const size_t n = static_cast<size_t>(uniform(1, 70));
    ArgMinTree sut(n);
    std::vector<std::optional<ArgMinTree::Key>> keys(n);
    for (int step = 0; step < 60; ++step) {
      SCOPED_TRACE(testing::Message() << "tree " << tree << " (n " << n << "), step " << step);
      const size_t i = static_cast<size_t>(uniform(0, int64_t(n) - 1));
      if (uniform(0, 3) == 0) {
        sut.Clear(i);
        keys[i].reset();
      } else {
        // Few distinct deadlines, so that ties on the first part are common.
        const ArgMinTree::Key key{uniform(0, 5), uniform(0, 1000)};
        sut.Set(i, key);
        keys[i] = key;
      }
      const size_t end = static_cast<size_t>(uniform(0, int64_t(n)));
      const size_t begin = static_cast<size_t>(uniform(0, int64_t(end)));
      std::optional<ArgMinTree::Key> least;
      for (size_t p = begin; p < end; ++p) {
        if (keys[p] && (!least || *keys[p] < *least)) least = keys[p];
      }
      const size_t got = sut.Query(begin, end);
      if (!least) {
        ASSERT_EQ(got, kNone) << "[" << begin << ", " << end << ")";
      } else {
        ASSERT_NE(got, kNone) << "[" << begin << ", " << end << ")";
        ASSERT_GE(got, begin);
        ASSERT_LT(got, end);
        ASSERT_TRUE(keys[got].has_value());
        ASSERT_EQ(*keys[got], *least) << "[" << begin << ", " << end << ")";
      }
    }
  }
}

}  // namespace
}  // namespace borderflow::queue_internal
