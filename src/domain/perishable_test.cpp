#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/domain/perishable.h>

namespace borderflow {
namespace {

const Timestamp kNow = FromUnixMillis(1'800'000'000'000);
const Timestamp kDeadline = kNow + std::chrono::hours(48);

// A declaration of `chapters` (HS chapter, tonnes gross).
Declaration Load(std::vector<std::pair<std::string, int64_t>> chapters,
                 std::optional<Timestamp> freshness_deadline) {
  Declaration d;
  d.lane_class = "general_cargo";
  d.freshness_deadline = freshness_deadline;
  for (const auto& [chapter, tonnes] : chapters) {
    ConsignmentLine line;
    line.hs.chapter = chapter;
    line.gross_weight_grams = tonnes * 1'000'000;
    d.lines.push_back(line);
  }
  return d;
}

LaneClass Class(bool perishable) {
  LaneClass lc;
  lc.id = perishable ? "fresh_produce" : "general_cargo";
  lc.perishable = perishable;
  return lc;
}

TEST(Perishable, CarriesPerishableGoodsFromEightyPercentByWeight) {
  for (const char* chapter : {"02", "03", "04", "06", "07", "08"}) {
    EXPECT_TRUE(CarriesPerishableGoods(Load({{chapter, 1}}, std::nullopt))) << chapter;
  }
  for (const char* chapter : {"01", "05", "09", "20", "84", "85"}) {
    EXPECT_FALSE(CarriesPerishableGoods(Load({{chapter, 1}}, std::nullopt))) << chapter;
  }
  EXPECT_TRUE(CarriesPerishableGoods(Load({{"07", 8}, {"85", 2}}, std::nullopt)));
  EXPECT_FALSE(CarriesPerishableGoods(Load({{"07", 7}, {"85", 3}}, std::nullopt)));
  EXPECT_FALSE(CarriesPerishableGoods(Load({}, std::nullopt)));  // an empty truck
}

TEST(Perishable, AFreshnessDeadlineOnOtherGoodsIsNotAPerishableLoad) {
  const LaneClass general = Class(false);
  const LaneClass fresh = Class(true);
  // Inverters (HS 8504) with a freshness deadline: not perishable, in general cargo or with no
  // known lane class.
  Declaration inverters = Load({{"85", 9}}, kDeadline);
  EXPECT_FALSE(IsPerishableLoad(inverters, &general));
  EXPECT_FALSE(IsPerishableLoad(inverters, nullptr));
  // A box of fruit on a truck of inverters does not change that.
  EXPECT_FALSE(IsPerishableLoad(Load({{"08", 1}, {"85", 9}}, kDeadline), &general));
  // Fruit sharing the general-cargo lane is, with its deadline; without, it is not.
  EXPECT_TRUE(IsPerishableLoad(Load({{"08", 16}}, kDeadline), &general));
  EXPECT_TRUE(IsPerishableLoad(Load({{"08", 16}}, kDeadline), nullptr));
  EXPECT_FALSE(IsPerishableLoad(Load({{"08", 16}}, std::nullopt), &general));
  // A perishable lane class makes every load in it perishable.
  EXPECT_TRUE(IsPerishableLoad(inverters, &fresh));
  EXPECT_TRUE(IsPerishableLoad(Load({{"08", 16}}, std::nullopt), &fresh));
}

}  // namespace
}  // namespace borderflow
