// MemoryStore's state indexes (by state, and the counts per direction, lane class and state)
// are brought up to date only when read. Crossings moving between states, and back, between and
// across reads must still list and count exactly as the crossings stand.

#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/store/memory_store.h>

#include "../store_test_support.h"

namespace borderflow {
namespace {

using store_test::CrossingSpec;
using store_test::MakeCrossing;

constexpr CrossingState kStates[] = {CrossingState::kDeclared, CrossingState::kAssessed,
                                     CrossingState::kBooked, CrossingState::kInYard};

TEST(MemoryStoreStateIndexTest, ListsAndCountsFollowEveryChangeBetweenReads) {
  MemoryStore store;
  std::map<std::string, Crossing> expected;  // by id, as written
  std::mt19937 random(6);
  auto write = [&](Crossing c, bool insert) {
    Status written = store.Write([&](WriteTxn& txn) -> Status {
      return insert ? txn.InsertCrossing(c, "") : txn.UpdateCrossing(c, "", c.version - 1);
    });
    ASSERT_TRUE(written) << written.error().ToString();
    expected[c.id] = std::move(c);
  };
  for (int i = 0; i < 40; ++i) {
    CrossingSpec spec;
    spec.id = fmt::format("CR-{:03d}", i);
    spec.direction = i % 3 == 0 ? "cn_to_vn" : "vn_to_cn";
    Crossing c = MakeCrossing(spec);
    c.version = 1;
    write(std::move(c), true);
  }
  for (int round = 0; round < 30; ++round) {
    // Some crossings change once or several times (some back to the state they had at the
    // last read), in one batch or several, before the store is read again.
    const int changes = static_cast<int>(random() % 25);
    for (int k = 0; k < changes; ++k) {
      Crossing c = expected[fmt::format("CR-{:03d}", random() % 40)];
      c.state = kStates[random() % 4];
      ++c.version;
      write(std::move(c), false);
    }
    for (CrossingState state : kStates) {
      CrossingFilter filter;
      filter.state = state;
      filter.limit = 200;
      auto page = store.ListCrossings(filter);
      ASSERT_TRUE(page) << page.error().ToString();
      std::vector<std::string> got, want;
      for (const Crossing& c : page->items) got.push_back(c.id);
      for (const auto& [id, c] : expected) {
        if (c.state == state) want.push_back(id);
      }
      EXPECT_EQ(got, want) << "round " << round << ", state " << CrossingStateName(state);
    }
    if (round % 2 == 0) {  // counts read alone too: a fold for one reader serves the other
      auto counts = store.CountCrossings();
      ASSERT_TRUE(counts) << counts.error().ToString();
      std::map<std::tuple<std::string, std::string, CrossingState>, int64_t> got, want;
      for (const CrossingCount& n : *counts) {
        EXPECT_GT(n.count, 0) << "a group with no crossing is not listed";
        got[{n.direction, n.lane_class, n.state}] = n.count;
      }
      for (const auto& [id, c] : expected) {
        ++want[{c.declaration.direction, c.declaration.lane_class, c.state}];
      }
      EXPECT_EQ(got, want) << "round " << round;
    }
  }
}

}  // namespace
}  // namespace borderflow
