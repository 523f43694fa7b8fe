#include <chrono>

#include <gtest/gtest.h>

#include <borderflow/core/rate_limit.h>

namespace borderflow {
namespace {

using std::chrono::milliseconds;

Timestamp At(int64_t ms) { return Timestamp(milliseconds(1'800'000'000'000 + ms)); }

TEST(KeyedRateLimit, BurstThenRefillPerKey) {
  KeyedRateLimit limit(10, 3, 100);
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limit.TryTake("a", At(0))) << i;
  EXPECT_FALSE(limit.TryTake("a", At(0)));
  EXPECT_TRUE(limit.TryTake("b", At(0)));    // each key has its own bucket
  EXPECT_FALSE(limit.TryTake("a", At(50)));  // half a token
  EXPECT_TRUE(limit.TryTake("a", At(100)));  // one token after 100 ms at 10/s
  EXPECT_FALSE(limit.TryTake("a", At(100)));
  // Refills up to the burst, no further.
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limit.TryTake("a", At(60'000))) << i;
  EXPECT_FALSE(limit.TryTake("a", At(60'000)));
}

TEST(KeyedRateLimit, AClockSteppingBackRefillsNothing) {
  KeyedRateLimit limit(1, 1, 100);
  EXPECT_TRUE(limit.TryTake("a", At(10'000)));
  EXPECT_FALSE(limit.TryTake("a", At(0)));
  EXPECT_FALSE(limit.TryTake("a", At(10'500)));  // still measured from 10 s, not from 0
  EXPECT_TRUE(limit.TryTake("a", At(11'000)));
}

TEST(KeyedRateLimit, ForgetsEveryBucketPastTheKeyBound) {
  KeyedRateLimit limit(1, 1, 3);
  EXPECT_TRUE(limit.TryTake("a", At(0)));
  EXPECT_FALSE(limit.TryTake("a", At(0)));
  EXPECT_TRUE(limit.TryTake("b", At(0)));
  EXPECT_TRUE(limit.TryTake("c", At(0)));
  EXPECT_TRUE(limit.TryTake("d", At(0)));  // the fourth key clears the table first
  EXPECT_TRUE(limit.TryTake("a", At(0)));  // so "a" starts full again
}

TEST(KeyedRateLimit, ZeroRateAdmitsEverything) {
  KeyedRateLimit limit(0, 0, 1);
  for (int i = 0; i < 100; ++i) EXPECT_TRUE(limit.TryTake("a", At(0)));
}

}  // namespace
}  // namespace borderflow
