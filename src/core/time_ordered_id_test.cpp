#include <string>

#include <gtest/gtest.h>

#include <borderflow/core/random.h>
#include <borderflow/core/time_ordered_id.h>

namespace borderflow {
namespace {

Timestamp At(const char* text) { return *ParseTimestamp(text); }

TEST(TimeOrderedIdTest, PrefixThenEightTimeCharactersThenRandomOnes) {
  SeededRandom random(1);
  std::string id = TimeOrderedId("cli-", At("2025-01-01T00:00:00Z"), random, 16);
  ASSERT_EQ(id.size(), 4u + 8u + 16u);
  EXPECT_EQ(id.substr(0, 12), "cli-00000000");
  EXPECT_EQ(TimeOrderedId("k", At("2025-01-01T00:00:00.031Z"), random, 0), "k0000000Z");
  // Before the epoch: clamped to it rather than wrapping round to the far future.
  EXPECT_EQ(TimeOrderedId("k", At("2020-01-01T00:00:00Z"), random, 0), "k00000000");
}

// Later ids sort after earlier ones, whatever their random part, from one millisecond to the
// next and across decades; ids of the same millisecond differ.
TEST(TimeOrderedIdTest, SortsByTime) {
  SeededRandom random(7);
  Timestamp t = At("2026-11-30T01:00:00Z");
  std::string previous = TimeOrderedId("x-", t, random, 10);
  for (int i = 1; i < 2000; ++i) {
    std::string next = TimeOrderedId("x-", t + std::chrono::milliseconds(i * 13), random, 10);
    ASSERT_LT(previous, next) << i;
    previous = next;
  }
  EXPECT_NE(TimeOrderedId("x-", t, random, 10), TimeOrderedId("x-", t, random, 10));
  EXPECT_LT(TimeOrderedId("x-", t, random, 10),
            TimeOrderedId("x-", At("2058-12-31T00:00:00Z"), random, 10));
}

}  // namespace
}  // namespace borderflow
