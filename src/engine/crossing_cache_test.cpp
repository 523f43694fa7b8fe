#include "crossing_cache.h"

#include <gtest/gtest.h>

namespace borderflow {
namespace {

Crossing At(std::string id, int64_t version) {
  Crossing c;
  c.id = std::move(id);
  c.version = version;
  return c;
}

// Long ids (beyond the small-string buffer), as real crossing ids are: the cache's keys are
// views into the cached ids, so a replaced version must not leave a dangling key.
std::string Id(int n) { return "CR-0000000000000" + std::to_string(n); }

TEST(CrossingCacheTest, FindsWhatWasPutAndForgetsWhatWasErased) {
  CrossingCache cache(10);
  EXPECT_EQ(cache.Find(Id(1)), nullptr);
  cache.Put(At(Id(1), 1));
  ASSERT_NE(cache.Find(Id(1)), nullptr);
  EXPECT_EQ(cache.Find(Id(1))->version, 1);
  cache.Erase(Id(1));
  EXPECT_EQ(cache.Find(Id(1)), nullptr);
  EXPECT_EQ(cache.size(), 0u);
  cache.Erase(Id(1));  // erasing what is not there is harmless
}

TEST(CrossingCacheTest, ANewerVersionReplacesTheOlderOne) {
  CrossingCache cache(10);
  cache.Put(At(Id(1), 1));
  cache.Put(At(Id(1), 2));
  EXPECT_EQ(cache.size(), 1u);
  ASSERT_NE(cache.Find(Id(1)), nullptr);
  EXPECT_EQ(cache.Find(Id(1))->version, 2);
  cache.Put(At(Id(2), 1));  // looking up and inserting after the replacement still work
  EXPECT_EQ(cache.Find(Id(1))->version, 2);
  EXPECT_EQ(cache.Find(Id(2))->version, 1);
}

TEST(CrossingCacheTest, EvictsTheLeastRecentlyUsedWhenFull) {
  CrossingCache cache(3);
  cache.Put(At(Id(1), 1));
  cache.Put(At(Id(2), 1));
  cache.Put(At(Id(3), 1));
  ASSERT_NE(cache.Find(Id(1)), nullptr);  // 1 is now the most recently used; 2 the least
  cache.Put(At(Id(4), 1));
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_EQ(cache.Find(Id(2)), nullptr);
  EXPECT_NE(cache.Find(Id(1)), nullptr);
  EXPECT_NE(cache.Find(Id(3)), nullptr);
  EXPECT_NE(cache.Find(Id(4)), nullptr);
  cache.Put(At(Id(3), 2));  // a replacement is a use too: 1 is now the least recently used
  cache.Put(At(Id(5), 1));
  EXPECT_EQ(cache.Find(Id(1)), nullptr);
  EXPECT_EQ(cache.Find(Id(3))->version, 2);
}

TEST(CrossingCacheTest, CapacityZeroKeepsNothingAndClearEmpties) {
  CrossingCache none(0);
  none.Put(At(Id(1), 1));
  EXPECT_EQ(none.Find(Id(1)), nullptr);
  CrossingCache cache(5);
  for (int i = 0; i < 5; ++i) cache.Put(At(Id(i), 1));
  cache.Clear();
  EXPECT_EQ(cache.size(), 0u);
  EXPECT_EQ(cache.Find(Id(0)), nullptr);
  cache.Put(At(Id(9), 1));
  EXPECT_NE(cache.Find(Id(9)), nullptr);
}

}  // namespace
}  // namespace borderflow
