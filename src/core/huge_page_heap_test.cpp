#include <cstdint>
#include <cstring>

#include <gtest/gtest.h>

#include <borderflow/core/huge_page_heap.h>

namespace borderflow {
namespace {

uintptr_t Address(const void* p) { return reinterpret_cast<uintptr_t>(p); }

TEST(HugePageRangeTest, StartsOnAHugePageAndHandsOutAlignedDisjointPieces) {
  HugePageRange range(3 * HugePageRange::kHugePage);
  void* first = range.Take(100, 8);
  ASSERT_NE(first, nullptr);
  EXPECT_EQ(Address(first) % HugePageRange::kHugePage, 0u);
  void* second = range.Take(4096, 4096);
  ASSERT_NE(second, nullptr);
  EXPECT_EQ(Address(second) % 4096, 0u);
  EXPECT_GE(Address(second), Address(first) + 100);
  void* third = range.Take(1, 1);  // at least pointer-aligned
  ASSERT_NE(third, nullptr);
  EXPECT_EQ(Address(third) % alignof(void*), 0u);
  EXPECT_GE(Address(third), Address(second) + 4096);
  EXPECT_EQ(range.used(), Address(third) + 1 - Address(first));
  // The memory is there to write and read back.
  std::memset(first, 0xab, 100);
  std::memset(second, 0xcd, 4096);
  EXPECT_EQ(static_cast<unsigned char*>(first)[99], 0xab);
  EXPECT_EQ(static_cast<unsigned char*>(second)[0], 0xcd);
}

TEST(HugePageRangeTest, RefusesWhatDoesNotFitAndBadAlignments) {
  HugePageRange range(1);  // rounded up to one huge page
  EXPECT_EQ(range.Take(HugePageRange::kHugePage + 1, 8), nullptr);
  EXPECT_EQ(range.Take(64, 24), nullptr);  // not a power of two
  void* all = range.Take(HugePageRange::kHugePage, 8);
  ASSERT_NE(all, nullptr);
  static_cast<char*>(all)[HugePageRange::kHugePage - 1] = 1;
  EXPECT_EQ(range.Take(1, 1), nullptr);  // used up
  EXPECT_EQ(range.used(), HugePageRange::kHugePage);
}

TEST(HugePageRangeTest, AnAlignmentPastTheEndIsRefusedWithoutTakingAnything) {
  HugePageRange range(HugePageRange::kHugePage);
  ASSERT_NE(range.Take(8, 8), nullptr);
  EXPECT_EQ(range.Take(8, HugePageRange::kHugePage * 2), nullptr);
  EXPECT_EQ(range.used(), 8u);
}

TEST(HugePagesForHeapTest, TestBinariesHaveNoInstallerAndKeepTheirHeap) {
  // The test binaries are not linked with tcmalloc's glue (borderflow_program): nothing to do.
  EXPECT_FALSE(UseHugePagesForHeap());
  EXPECT_FALSE(UseHugePagesForHeap());  // asked again: the first answer
}

}  // namespace
}  // namespace borderflow
