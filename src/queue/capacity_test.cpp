#include <cmath>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/queue/capacity.h>

namespace borderflow {
namespace {

namespace json = boost::json;
using K = CapacityChangeKind;
using std::chrono::hours;
using std::chrono::minutes;

Timestamp T(std::string_view text) { return ParseTimestamp(text).value(); }

// Local hours of each side. The defaults are the real gate pair: Vietnam (UTC+7) open
// 07:00–23:00, China (UTC+8) 08:00–24:00, so both are open 00:00–16:00 UTC.
struct Hours {
  std::string self_open = "07:00";
  std::string self_close = "23:00";
  std::string counterpart_open = "08:00";
  std::string counterpart_close = "24:00";
};

// Replaces the one occurrence of `key` in `text` by `value`.
void Fill(std::string& text, std::string_view key, std::string_view value) {
  size_t at = text.find(key);
  ASSERT_NE(at, std::string::npos) << key;
  text.replace(at, key.size(), value);
}

// Lanes: VN-CN general 3, fresh 4 (no empty_return); CN-VN general 2, fresh 1, empty 2.
// Service: general 20 min, fresh 15 min, empty 7 min. Buckets of 15 minutes.
// Holidays: VN 2027-02-17 and 2027-02-22; CN 2027-02-20 and 2027-02-22.
GateConfig MakeConfig(const Hours& h = {}) {
  std::string text = R"(
[node]
id = "vn-test"
country = "VN"
name = "VN side"
utc_offset = "+07:00"
open = "SELF_OPEN"
close = "SELF_CLOSE"
holidays = ["2027-02-17", "2027-02-22"]
staging_yard_capacity = 100

[counterpart]
id = "cn-test"
country = "CN"
name = "CN side"
utc_offset = "+08:00"
open = "COUNTERPART_OPEN"
close = "COUNTERPART_CLOSE"
holidays = ["2027-02-20", "2027-02-22"]

[[lane_classes]]
id = "general_cargo"
name = "General cargo"

[[lane_classes]]
id = "fresh_produce"
name = "Fresh produce"
perishable = true

[[lane_classes]]
id = "empty_return"
name = "Empty return"
empty = true

[[directions]]
id = "VN-CN"
from = "VN"
to = "CN"
lanes = { general_cargo = 3, fresh_produce = 4 }

[[directions]]
id = "CN-VN"
from = "CN"
to = "VN"
lanes = { general_cargo = 2, fresh_produce = 1, empty_return = 2 }

[queue]
bucket_minutes = 15
service_minutes = { general_cargo = 20, fresh_produce = 15, empty_return = 7 }
)";
  Fill(text, "SELF_OPEN", h.self_open);
  Fill(text, "SELF_CLOSE", h.self_close);
  Fill(text, "COUNTERPART_OPEN", h.counterpart_open);
  Fill(text, "COUNTERPART_CLOSE", h.counterpart_close);
  return ParseGateConfig(text).value();
}

GateConfig AlwaysOpenConfig() {
  return MakeConfig({.self_open = "00:00",
                     .self_close = "24:00",
                     .counterpart_open = "00:00",
                     .counterpart_close = "24:00"});
}

CapacityChange Change(std::string id, K kind, std::string_view from, std::string_view until,
                      std::string direction, std::string lane_class, int lanes = 0,
                      double trucks_per_hour = 0) {
  CapacityChange c;
  c.id = std::move(id);
  c.kind = kind;
  c.from = T(from);
  c.until = T(until);
  c.direction = std::move(direction);
  c.lane_class = std::move(lane_class);
  c.lanes = lanes;
  c.trucks_per_hour = trucks_per_hour;
  return c;
}

BucketCapacity Open(std::string_view start, int lanes, int self_capacity,
                    std::optional<int> accepted, int effective) {
  BucketCapacity b;
  b.start = T(start);
  b.lanes = lanes;
  b.self_capacity = self_capacity;
  b.accepted = accepted;
  b.effective = effective;
  return b;
}

BucketCapacity Closed(std::string_view start, int lanes, std::string reason) {
  BucketCapacity b;
  b.start = T(start);
  b.lanes = lanes;
  b.closed_reason = std::move(reason);
  return b;
}

// The effective capacities of `n` buckets from `start`.
std::vector<int> Effective(const CapacityPlan& plan, std::string_view direction,
                           std::string_view lane_class, std::string_view start, int n) {
  std::vector<int> out;
  for (const BucketCapacity& b :
       plan.Range(direction, lane_class, T(start), T(start) + n * plan.bucket())) {
    out.push_back(b.effective);
  }
  return out;
}

int Sum(const std::vector<BucketCapacity>& buckets) {
  int sum = 0;
  for (const BucketCapacity& b : buckets) sum += b.effective;
  return sum;
}

// ---------------------------------------------------------------------------------------------
// Kinds

TEST(CapacityKindTest, NamesRoundTrip) {
  const std::vector<std::pair<K, std::string_view>> all = {{K::kClosure, "closure"},
                                                           {K::kLanes, "lanes"},
                                                           {K::kReversible, "reversible"},
                                                           {K::kAcceptance, "acceptance"}};
  for (const auto& [kind, name] : all) {
    EXPECT_EQ(CapacityChangeKindName(kind), name);
    auto parsed = ParseCapacityChangeKind(name);
    ASSERT_TRUE(parsed) << name;
    EXPECT_EQ(*parsed, kind);
  }
}

TEST(CapacityKindTest, UnknownKindListsTheValidNames) {
  for (std::string_view text : {"open", "", "Closure", "lanes "}) {
    auto parsed = ParseCapacityChangeKind(text);
    ASSERT_FALSE(parsed) << text;
    EXPECT_EQ(parsed.error().code, "unknown_capacity_change_kind");
    EXPECT_EQ(parsed.error().field, "kind");
    EXPECT_EQ(parsed.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("closure, lanes, reversible, acceptance"),
              std::string::npos)
        << parsed.error().message;
  }
}

// ---------------------------------------------------------------------------------------------
// Buckets

TEST(CapacityBucketTest, BucketStartFloorsToBucketsAlignedOnUtcMidnight) {
  CapacityPlan plan(MakeConfig(), {});
  EXPECT_EQ(plan.bucket(), minutes(15));
  EXPECT_EQ(plan.BucketStart(T("2026-12-01T00:37:12.345Z")), T("2026-12-01T00:30:00Z"));
  EXPECT_EQ(plan.BucketStart(T("2026-12-01T00:30:00Z")), T("2026-12-01T00:30:00Z"));
  EXPECT_EQ(plan.BucketStart(T("2026-12-01T00:44:59.999Z")), T("2026-12-01T00:30:00Z"));
  EXPECT_EQ(plan.BucketStart(T("2026-12-01T23:59:59.999Z")), T("2026-12-01T23:45:00Z"));
  // Local offsets do not shift buckets: 07:37 in Vietnam is 00:37 UTC.
  EXPECT_EQ(plan.BucketStart(T("2026-12-01T07:37:00+07:00")), T("2026-12-01T00:30:00Z"));
  // Before the epoch the start still floors (it does not truncate towards zero).
  EXPECT_EQ(plan.BucketStart(FromUnixMillis(-1)), FromUnixMillis(-15 * 60 * 1000));
}

TEST(CapacityBucketTest, AtAlignsAnUnalignedStart) {
  CapacityPlan plan(MakeConfig(), {});
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T00:40:00Z")),
            plan.At("VN-CN", "general_cargo", T("2026-12-01T00:30:00Z")));
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T00:40:00Z")).start,
            T("2026-12-01T00:30:00Z"));
}

// ---------------------------------------------------------------------------------------------
// Operating hours, each side in its own local time

TEST(CapacityHoursTest, OpenWhenBothSidesAreOpenInTheirLocalTime) {
  CapacityPlan plan(MakeConfig(), {});
  // 00:30 UTC = 07:30 in Vietnam, 08:30 in China. 3 lanes × 15 min / 20 min = 2.25: bucket 2
  // of the day gets 2.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T00:30:00Z")),
            Open("2026-12-01T00:30:00Z", 3, 2, std::nullopt, 2));
  // The first bucket of the day: 07:00 VN, 08:00 CN.
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T00:00:00Z")),
            Open("2026-12-01T00:00:00Z", 4, 4, std::nullopt, 4));
  // The last open bucket: 22:45 VN.
  EXPECT_EQ(plan.At("CN-VN", "fresh_produce", T("2026-12-01T15:45:00Z")),
            Open("2026-12-01T15:45:00Z", 1, 1, std::nullopt, 1));
}

TEST(CapacityHoursTest, SelfClosedOutsideItsLocalHours) {
  CapacityPlan plan(MakeConfig(), {});
  // 23:15 UTC = 06:15 the next morning in Vietnam: closed (lanes still reported).
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T23:15:00Z")),
            Closed("2026-12-01T23:15:00Z", 3, "self_closed"));
  // 16:00 UTC = 23:00 in Vietnam, closing time (China is still open until 24:00 = 16:00 UTC,
  // but this side is checked first either way).
  EXPECT_EQ(plan.At("CN-VN", "empty_return", T("2026-12-01T16:00:00Z")),
            Closed("2026-12-01T16:00:00Z", 2, "self_closed"));
}

TEST(CapacityHoursTest, CounterpartClosedOutsideItsLocalHours) {
  // China opens at 09:00 local (01:00 UTC) while Vietnam opens at 07:00 (00:00 UTC).
  CapacityPlan plan(MakeConfig({.counterpart_open = "09:00"}), {});
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T00:30:00Z")),
            Closed("2026-12-01T00:30:00Z", 3, "counterpart_closed"));
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T00:45:00Z")).closed_reason,
            "counterpart_closed");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T01:00:00Z")),
            Open("2026-12-01T01:00:00Z", 3, 2, std::nullopt, 2));

  // Vietnam open around the clock: China's midnight (16:00 UTC) closes the bucket.
  CapacityPlan night(MakeConfig({.self_open = "00:00", .self_close = "24:00"}), {});
  EXPECT_EQ(night.At("VN-CN", "fresh_produce", T("2026-12-01T15:45:00Z")).closed_reason, "");
  EXPECT_EQ(night.At("VN-CN", "fresh_produce", T("2026-12-01T16:00:00Z")),
            Closed("2026-12-01T16:00:00Z", 4, "counterpart_closed"));
}

// ---------------------------------------------------------------------------------------------
// Holidays, each side in its own local calendar

TEST(CapacityHolidayTest, SelfHolidayByTheVietnameseCalendar) {
  CapacityPlan plan(MakeConfig(), {});
  // 2027-02-17 is a Vietnamese holiday: 10:00 VN.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2027-02-17T03:00:00Z")),
            Closed("2027-02-17T03:00:00Z", 3, "self_holiday"));
  // 23:45 VN on the 16th: closed by the hours, not the holiday.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2027-02-16T16:45:00Z")).closed_reason,
            "self_closed");
  // 23:45 VN on the 17th (16:45 UTC): still the holiday in Vietnam.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2027-02-17T16:45:00Z")).closed_reason,
            "self_holiday");
  // The day before and the day after are ordinary days.
  // (03:00 UTC is the first bucket of an hour: 2 of 2, 2, 2, 3.)
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2027-02-16T03:00:00Z")).effective, 2);
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2027-02-18T03:00:00Z")).effective, 2);
}

TEST(CapacityHolidayTest, CounterpartHolidayByTheChineseCalendar) {
  CapacityPlan plan(MakeConfig(), {});
  // 2027-02-20 is a Chinese holiday: 11:00 in China, 10:00 in Vietnam.
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", T("2027-02-20T03:00:00Z")),
            Closed("2027-02-20T03:00:00Z", 2, "counterpart_holiday"));
  // 15:45 UTC on the 20th is 23:45 on the 20th in China (holiday), 22:45 in Vietnam (open).
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", T("2027-02-20T15:45:00Z")).closed_reason,
            "counterpart_holiday");
  // 15:45 UTC on the 19th: 23:45 on the 19th in China, an ordinary day.
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", T("2027-02-19T15:45:00Z")),
            Open("2027-02-19T15:45:00Z", 2, 2, std::nullopt, 2));
}

TEST(CapacityHolidayTest, SelfIsCheckedBeforeTheCounterpart) {
  CapacityPlan plan(MakeConfig(), {});
  // 2027-02-22 is a holiday on both sides.
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2027-02-22T03:00:00Z")),
            Closed("2027-02-22T03:00:00Z", 4, "self_holiday"));
}

// ---------------------------------------------------------------------------------------------
// Closures

TEST(CapacityClosureTest, ClosureOfOneDirectionClosesEveryClassOfIt) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kClosure, "2026-12-01T02:00:00Z",
                                          "2026-12-01T03:00:00Z", "VN-CN", "")});
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T02:00:00Z")),
            Closed("2026-12-01T02:00:00Z", 3, "closure:CAP-1"));
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T02:45:00Z")),
            Closed("2026-12-01T02:45:00Z", 4, "closure:CAP-1"));
  // The other direction is open (2 lanes × 15 / 20 = 1.5 per bucket: 1, 2, 1, 2).
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", T("2026-12-01T02:00:00Z")),
            Open("2026-12-01T02:00:00Z", 2, 1, std::nullopt, 1));
  // [from, until): the bucket starting at `until` is open again.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T03:00:00Z")).closed_reason, "");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T01:45:00Z")).closed_reason, "");
}

TEST(CapacityClosureTest, ClosureOfEverything) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-7", K::kClosure, "2026-12-01T02:00:00Z",
                                          "2026-12-01T02:15:00Z", "", "")});
  for (std::string_view direction : {"VN-CN", "CN-VN"}) {
    for (std::string_view lane_class : {"general_cargo", "fresh_produce", "empty_return"}) {
      EXPECT_EQ(plan.At(direction, lane_class, T("2026-12-01T02:00:00Z")).closed_reason,
                "closure:CAP-7")
          << direction << " " << lane_class;
      EXPECT_EQ(plan.At(direction, lane_class, T("2026-12-01T02:15:00Z")).closed_reason, "")
          << direction << " " << lane_class;
    }
  }
}

TEST(CapacityClosureTest, ClosureOfOneLaneClassInOneOrAllDirections) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-2", K::kClosure, "2026-12-01T02:00:00Z",
                                          "2026-12-01T03:00:00Z", "", "fresh_produce"),
                                   Change("CAP-3", K::kClosure, "2026-12-01T05:00:00Z",
                                          "2026-12-01T06:00:00Z", "CN-VN", "general_cargo")});
  const Timestamp two = T("2026-12-01T02:00:00Z");
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", two).closed_reason, "closure:CAP-2");
  EXPECT_EQ(plan.At("CN-VN", "fresh_produce", two).closed_reason, "closure:CAP-2");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", two).closed_reason, "");
  const Timestamp five = T("2026-12-01T05:00:00Z");
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", five).closed_reason, "closure:CAP-3");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", five).closed_reason, "");
  EXPECT_EQ(plan.At("CN-VN", "fresh_produce", five).closed_reason, "");
}

TEST(CapacityClosureTest, ClosureIsCheckedFirstAndTheLatestNamesTheBucket) {
  CapacityPlan plan(
      MakeConfig(),
      {Change("CAP-4", K::kClosure, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z", "VN-CN", ""),
       Change("CAP-5", K::kClosure, "2026-12-01T10:00:00Z", "2026-12-01T11:00:00Z", "", "")});
  // 23:15 UTC is outside Vietnam's hours, but the closure is named first.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T23:15:00Z")).closed_reason,
            "closure:CAP-4");
  // Both cover 10:00: the later one wins.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T10:00:00Z")).closed_reason,
            "closure:CAP-5");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T11:00:00Z")).closed_reason,
            "closure:CAP-4");
}

TEST(CapacityClosureTest, AClosureInsideABucketClosesAllOfIt) {
  // In force from 02:10 to 02:20: a closure made at 02:10 "from now" closes the running bucket
  // (02:00) at once, not from the next one; the bucket it ends in (02:15) stays closed too.
  CapacityPlan plan(MakeConfig(), {Change("CAP-6", K::kClosure, "2026-12-01T02:10:00Z",
                                          "2026-12-01T02:20:00Z", "VN-CN", "general_cargo")});
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T02:00:00Z")),
            Closed("2026-12-01T02:00:00Z", 3, "closure:CAP-6"));
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T02:15:00Z")).closed_reason,
            "closure:CAP-6");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T01:45:00Z")).closed_reason, "");
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T02:30:00Z")).closed_reason, "");
  // Range says the same as At.
  EXPECT_EQ(Effective(plan, "VN-CN", "general_cargo", "2026-12-01T01:45:00Z", 4),
            (std::vector<int>{3, 0, 0, 2}));
  // Whether the lane is open is a matter of the instant.
  EXPECT_TRUE(plan.OpenAt("VN-CN", "general_cargo", T("2026-12-01T02:09:59.999Z")));
  EXPECT_FALSE(plan.OpenAt("VN-CN", "general_cargo", T("2026-12-01T02:10:00Z")));
  EXPECT_FALSE(plan.OpenAt("VN-CN", "general_cargo", T("2026-12-01T02:19:59.999Z")));
  EXPECT_TRUE(plan.OpenAt("VN-CN", "general_cargo", T("2026-12-01T02:20:00Z")));
  EXPECT_TRUE(plan.OpenAt("VN-CN", "fresh_produce", T("2026-12-01T02:10:00Z")));
}

TEST(CapacityAcceptanceTest, AStopInsideABucketLeavesItNoCapacity) {
  // The counterpart stops accepting at 02:07 (4 fresh-produce lanes, 4 trucks a bucket).
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kAcceptance, "2026-12-01T02:07:00Z",
                                          "2026-12-01T03:07:00Z", "VN-CN", "fresh_produce", 0, 0)});
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")),
            Open("2026-12-01T02:00:00Z", 4, 4, 0, 0));
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T01:45:00Z")).effective, 4);
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T03:00:00Z")).effective, 0);
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T03:15:00Z")).effective, 4);
  EXPECT_TRUE(plan.OpenAt("VN-CN", "fresh_produce", T("2026-12-01T02:06:00Z")));
  EXPECT_FALSE(plan.OpenAt("VN-CN", "fresh_produce", T("2026-12-01T02:07:00Z")));
}

TEST(CapacityLanesTest, ABucketGetsTheFewestLanesInForceInIt) {
  // Down from 4 lanes to 1 at 02:05 and back up to 4 at 03:05: the buckets holding either
  // instant get one lane's capacity (1 × 15 / 15 = 1).
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kLanes, "2026-12-01T02:05:00Z",
                                          "2026-12-01T03:05:00Z", "VN-CN", "fresh_produce", 1)});
  EXPECT_EQ(Effective(plan, "VN-CN", "fresh_produce", "2026-12-01T01:45:00Z", 7),
            (std::vector<int>{4, 1, 1, 1, 1, 1, 4}));
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")).lanes, 1);
}

TEST(CapacityOpenTest, OpenIsIndependentOfHowTheBucketRounds) {
  // One general-cargo lane (20 minutes a truck) clears 0, 1, 1, 1 trucks in an hour's buckets:
  // open in all four.
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kLanes, "2026-12-01T02:00:00Z",
                                          "2026-12-01T04:00:00Z", "VN-CN", "general_cargo", 1)});
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T02:00:00Z")).effective, 0);
  EXPECT_TRUE(plan.OpenAt("VN-CN", "general_cargo", T("2026-12-01T02:05:00Z")));
  // Closed by hours, by no lanes, and for unknown lanes.
  EXPECT_FALSE(plan.OpenAt("VN-CN", "general_cargo", T("2026-12-01T17:00:00Z")));
  EXPECT_FALSE(plan.OpenAt("VN-CN", "empty_return", T("2026-12-01T02:05:00Z")));
  EXPECT_FALSE(plan.OpenAt("XX-YY", "general_cargo", T("2026-12-01T02:05:00Z")));
}

// ---------------------------------------------------------------------------------------------
// Lanes

TEST(CapacityLanesTest, LanesChangeHoldsForItsPeriod) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kLanes, "2026-12-01T02:00:00Z",
                                          "2026-12-01T04:00:00Z", "VN-CN", "general_cargo", 1)});
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T01:59:59.999Z")), 3);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T02:00:00Z")), 1);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T03:59:59.999Z")), 1);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T04:00:00Z")), 3);
  // 1 lane × 15 / 20 = 0.75 per bucket: 0, 1, 1, 1 in the hour from 02:00.
  EXPECT_EQ(Effective(plan, "VN-CN", "general_cargo", "2026-12-01T02:00:00Z", 4),
            (std::vector<int>{0, 1, 1, 1}));
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T02:15:00Z")),
            Open("2026-12-01T02:15:00Z", 1, 1, std::nullopt, 1));
  // Other lanes are not touched.
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T02:00:00Z")), 2);
  EXPECT_EQ(plan.LanesAt("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")), 4);
}

TEST(CapacityLanesTest, ZeroLanesIsAnOpenBucketWithNoCapacity) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kLanes, "2026-12-01T02:00:00Z",
                                          "2026-12-01T04:00:00Z", "VN-CN", "fresh_produce", 0)});
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")),
            Open("2026-12-01T02:00:00Z", 0, 0, std::nullopt, 0));
}

TEST(CapacityLanesTest, LatestCreatedWins) {
  const auto one = Change("CAP-1", K::kLanes, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z",
                          "VN-CN", "fresh_produce", 1);
  const auto six = Change("CAP-2", K::kLanes, "2026-12-01T02:00:00Z", "2026-12-01T03:00:00Z",
                          "VN-CN", "fresh_produce", 6);
  CapacityPlan one_then_six(MakeConfig(), {one, six});
  EXPECT_EQ(one_then_six.LanesAt("VN-CN", "fresh_produce", T("2026-12-01T01:00:00Z")), 1);
  EXPECT_EQ(one_then_six.LanesAt("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")), 6);
  EXPECT_EQ(one_then_six.At("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")).effective, 6);
  EXPECT_EQ(one_then_six.LanesAt("VN-CN", "fresh_produce", T("2026-12-01T03:00:00Z")), 1);
  CapacityPlan six_then_one(MakeConfig(), {six, one});
  EXPECT_EQ(six_then_one.LanesAt("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")), 1);
  EXPECT_EQ(six_then_one.At("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")).effective, 1);
}

TEST(CapacityLanesTest, ClosedBucketsStillReportChangedLanes) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kLanes, "2026-12-01T20:00:00Z",
                                          "2026-12-01T21:00:00Z", "CN-VN", "empty_return", 5)});
  EXPECT_EQ(plan.At("CN-VN", "empty_return", T("2026-12-01T20:00:00Z")),
            Closed("2026-12-01T20:00:00Z", 5, "self_closed"));
}

// ---------------------------------------------------------------------------------------------
// Reversible lanes

TEST(CapacityReversibleTest, SwitchedLanesMoveFromTheOtherDirection) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kReversible, "2026-12-01T02:00:00Z",
                                          "2026-12-01T04:00:00Z", "CN-VN", "general_cargo", 2)});
  const Timestamp t = T("2026-12-01T02:00:00Z");
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", t), 4);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", t), 1);
  // 4 lanes × 15 / 20 = 3 per bucket; 1 lane = 0.75 (02:00 is bucket 8 of the day: 0).
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", t), Open("2026-12-01T02:00:00Z", 4, 3, {}, 3));
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", t), Open("2026-12-01T02:00:00Z", 1, 0, {}, 0));
  // Other classes and times keep the configuration.
  EXPECT_EQ(plan.LanesAt("CN-VN", "fresh_produce", t), 1);
  EXPECT_EQ(plan.LanesAt("VN-CN", "fresh_produce", t), 4);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T04:00:00Z")), 2);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T04:00:00Z")), 3);
}

TEST(CapacityReversibleTest, TheOtherDirectionNeverGoesBelowZero) {
  // VN-CN is down to 1 general lane; a switch-over asks for 3 of them: only 1 moves.
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kLanes, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "VN-CN", "general_cargo", 1),
                                   Change("CAP-2", K::kReversible, "2026-12-01T02:00:00Z",
                                          "2026-12-01T04:00:00Z", "CN-VN", "general_cargo", 3)});
  const Timestamp t = T("2026-12-01T02:00:00Z");
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", t), 0);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", t), 3);
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", t), Open("2026-12-01T02:00:00Z", 0, 0, {}, 0));

  // VN-CN lists no empty_return lanes: a switch-over to CN-VN has nothing to take.
  CapacityPlan nothing(MakeConfig(), {Change("CAP-3", K::kReversible, "2026-12-01T02:00:00Z",
                                             "2026-12-01T04:00:00Z", "CN-VN", "empty_return", 1)});
  EXPECT_EQ(nothing.LanesAt("CN-VN", "empty_return", t), 2);
  EXPECT_EQ(nothing.LanesAt("VN-CN", "empty_return", t), 0);
}

TEST(CapacityReversibleTest, LanesChangesApplyFirstThenReversibleOnTop) {
  // Created in the other order on purpose: the kind decides, not the order.
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kReversible, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "CN-VN", "general_cargo", 2),
                                   Change("CAP-2", K::kLanes, "2026-12-01T02:00:00Z",
                                          "2026-12-01T03:00:00Z", "CN-VN", "general_cargo", 5),
                                   Change("CAP-3", K::kLanes, "2026-12-01T05:00:00Z",
                                          "2026-12-01T06:00:00Z", "VN-CN", "general_cargo", 6)});
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T02:00:00Z")), 7);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T02:00:00Z")), 1);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T05:00:00Z")), 4);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T05:00:00Z")), 4);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T08:00:00Z")), 4);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T08:00:00Z")), 1);
}

TEST(CapacityReversibleTest, LatestSwitchOverWins) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kReversible, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "VN-CN", "general_cargo", 2),
                                   Change("CAP-2", K::kReversible, "2026-12-01T02:00:00Z",
                                          "2026-12-01T03:00:00Z", "VN-CN", "general_cargo", 1)});
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T01:00:00Z")), 5);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T01:00:00Z")), 0);
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T02:00:00Z")), 4);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T02:00:00Z")), 1);
}

TEST(CapacityReversibleTest, SwitchOversBothWaysAtOnceKeepTheTotal) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kReversible, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "VN-CN", "general_cargo", 2),
                                   Change("CAP-2", K::kReversible, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "CN-VN", "general_cargo", 3)});
  // VN-CN: 3 + 2 − 3 = 2; CN-VN: 2 + 3 − 2 = 3. Five lanes in all, as configured.
  EXPECT_EQ(plan.LanesAt("VN-CN", "general_cargo", T("2026-12-01T01:00:00Z")), 2);
  EXPECT_EQ(plan.LanesAt("CN-VN", "general_cargo", T("2026-12-01T01:00:00Z")), 3);
}

// ---------------------------------------------------------------------------------------------
// Acceptance (the counterpart's announced rate)

TEST(CapacityAcceptanceTest, LowerAcceptanceIsBinding) {
  // 6 trucks/h = 1.5 per bucket: 1, 2, 1, 2; ours is 2, 2, 2, 3.
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kAcceptance, "2026-12-01T00:00:00Z",
                                          "2026-12-01T06:00:00Z", "VN-CN", "general_cargo", 0, 6)});
  const auto buckets =
      plan.Range("VN-CN", "general_cargo", T("2026-12-01T01:00:00Z"), T("2026-12-01T02:00:00Z"));
  EXPECT_EQ(buckets, (std::vector<BucketCapacity>{Open("2026-12-01T01:00:00Z", 3, 2, 1, 1),
                                                  Open("2026-12-01T01:15:00Z", 3, 2, 2, 2),
                                                  Open("2026-12-01T01:30:00Z", 3, 2, 1, 1),
                                                  Open("2026-12-01T01:45:00Z", 3, 3, 2, 2)}));
  EXPECT_EQ(Sum(buckets), 6);
  // After the announcement's period, no acceptance is known: ours alone.
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T06:00:00Z")),
            Open("2026-12-01T06:00:00Z", 3, 2, std::nullopt, 2));
  // Other lanes are not affected.
  EXPECT_EQ(plan.At("CN-VN", "general_cargo", T("2026-12-01T01:00:00Z")).accepted, std::nullopt);
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T01:00:00Z")).accepted, std::nullopt);
}

TEST(CapacityAcceptanceTest, HigherAcceptanceIsNotBinding) {
  // 20 trucks/h = 5 per bucket, more than our 2.25.
  CapacityPlan plan(MakeConfig(),
                    {Change("CAP-1", K::kAcceptance, "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z",
                            "VN-CN", "general_cargo", 0, 20)});
  EXPECT_EQ(
      plan.Range("VN-CN", "general_cargo", T("2026-12-01T01:00:00Z"), T("2026-12-01T02:00:00Z")),
      (std::vector<BucketCapacity>{
          Open("2026-12-01T01:00:00Z", 3, 2, 5, 2), Open("2026-12-01T01:15:00Z", 3, 2, 5, 2),
          Open("2026-12-01T01:30:00Z", 3, 2, 5, 2), Open("2026-12-01T01:45:00Z", 3, 3, 5, 3)}));
}

TEST(CapacityAcceptanceTest, ZeroAcceptanceIsAnOpenBucketWithNoCapacity) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kAcceptance, "2026-12-01T00:00:00Z",
                                          "2026-12-01T06:00:00Z", "CN-VN", "fresh_produce", 0, 0)});
  EXPECT_EQ(plan.At("CN-VN", "fresh_produce", T("2026-12-01T03:00:00Z")),
            Open("2026-12-01T03:00:00Z", 1, 1, 0, 0));
}

TEST(CapacityAcceptanceTest, LatestAnnouncementWins) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kAcceptance, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "VN-CN", "fresh_produce", 0, 4),
                                   Change("CAP-2", K::kAcceptance, "2026-12-01T02:00:00Z",
                                          "2026-12-01T03:00:00Z", "VN-CN", "fresh_produce", 0, 8)});
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T01:00:00Z")).accepted, 1);
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z")).accepted, 2);
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T03:00:00Z")).accepted, 1);
}

TEST(CapacityAcceptanceTest, FractionalRateSumsOverHours) {
  // 10.5 trucks/h: hours alternate 10 and 11; a closed or binding bucket does not change what
  // the counterpart accepts, so use an always-open gate with plenty of lanes.
  CapacityPlan plan(AlwaysOpenConfig(),
                    {Change("CAP-1", K::kAcceptance, "2026-12-01T00:00:00Z", "2026-12-02T00:00:00Z",
                            "VN-CN", "fresh_produce", 0, 10.5)});
  std::vector<int> per_hour;
  int day = 0;
  for (int h = 0; h < 24; ++h) {
    const Timestamp from = T("2026-12-01T00:00:00Z") + hours(h);
    int sum = 0;
    for (const BucketCapacity& b : plan.Range("VN-CN", "fresh_produce", from, from + hours(1))) {
      ASSERT_TRUE(b.accepted.has_value());
      EXPECT_TRUE(*b.accepted == 2 || *b.accepted == 3) << FormatUtc(b.start);
      sum += *b.accepted;
    }
    per_hour.push_back(sum);
    day += sum;
  }
  EXPECT_EQ((std::vector<int>{per_hour[0], per_hour[1], per_hour[2], per_hour[3]}),
            (std::vector<int>{10, 11, 10, 11}));
  EXPECT_EQ(day, 252);  // 10.5 × 24
}

// ---------------------------------------------------------------------------------------------
// Fractional capacity

TEST(CapacityFractionTest, FractionsSumOverAnHour) {
  CapacityPlan plan(MakeConfig(), {});
  // 3 lanes × 15 min / 20 min = 2.25 per bucket = 9 per hour.
  EXPECT_EQ(Effective(plan, "VN-CN", "general_cargo", "2026-12-01T00:00:00Z", 8),
            (std::vector<int>{2, 2, 2, 3, 2, 2, 2, 3}));
  for (int h = 0; h < 16; ++h) {
    const Timestamp from = T("2026-12-01T00:00:00Z") + hours(h);
    EXPECT_EQ(Sum(plan.Range("VN-CN", "general_cargo", from, from + hours(1))), 9) << h;
  }
  // Starting mid-hour makes no difference: any four consecutive buckets give 9.
  EXPECT_EQ(Sum(plan.Range("VN-CN", "general_cargo", T("2026-12-01T03:30:00Z"),
                           T("2026-12-01T04:30:00Z"))),
            9);
}

TEST(CapacityFractionTest, FractionsSumOverADay) {
  // Open 16 hours a day (00:00–16:00 UTC): 16 × 9 = 144, closed buckets 0.
  CapacityPlan plan(MakeConfig(), {});
  const auto day =
      plan.Range("VN-CN", "general_cargo", T("2026-12-01T00:00:00Z"), T("2026-12-02T00:00:00Z"));
  ASSERT_EQ(day.size(), 96u);
  EXPECT_EQ(Sum(day), 144);
  // Always open: 2.25 × 96 = 216.
  CapacityPlan open(AlwaysOpenConfig(), {});
  EXPECT_EQ(Sum(open.Range("VN-CN", "general_cargo", T("2026-12-01T00:00:00Z"),
                           T("2026-12-02T00:00:00Z"))),
            216);
}

TEST(CapacityFractionTest, FractionsThatDoNotFillADayCarryOverToTheNext) {
  // CN-VN empty_return: 2 lanes × 15 min / 7 min = 30/7 ≈ 4.29 per bucket, 411.4 a day. Bucket
  // k since the epoch gets floor(30(k+1)/7) − floor(30k/7); 2026-12-01 is day 20788, so its
  // buckets are k = 96 × 20788 + i.
  CapacityPlan plan(AlwaysOpenConfig(), {});
  EXPECT_EQ(Effective(plan, "CN-VN", "empty_return", "2026-12-01T00:00:00Z", 8),
            (std::vector<int>{4, 4, 5, 4, 4, 4, 5, 4}));
  const auto day =
      plan.Range("CN-VN", "empty_return", T("2026-12-01T00:00:00Z"), T("2026-12-02T00:00:00Z"));
  EXPECT_EQ(Sum(day), 411);
  for (const BucketCapacity& b : day) {
    EXPECT_TRUE(b.effective == 4 || b.effective == 5) << FormatUtc(b.start);
  }
  // Nothing is lost over a week: 7 × 96 × 30/7 = 2880 exactly.
  EXPECT_EQ(Sum(plan.Range("CN-VN", "empty_return", T("2026-12-01T00:00:00Z"),
                           T("2026-12-08T00:00:00Z"))),
            2880);
}

// ---------------------------------------------------------------------------------------------
// Unknown lanes

TEST(CapacityUnknownTest, UnknownDirectionOrLaneClassIsAClosedBucketWithNoLanes) {
  CapacityPlan plan(MakeConfig(), {Change("CAP-1", K::kClosure, "2026-12-01T00:00:00Z",
                                          "2026-12-02T00:00:00Z", "", "")});
  const Timestamp t = T("2026-12-01T00:30:00Z");
  EXPECT_EQ(plan.At("VN-LA", "general_cargo", t),
            Closed("2026-12-01T00:30:00Z", 0, "unknown_lane"));
  EXPECT_EQ(plan.At("VN-CN", "livestock", t), Closed("2026-12-01T00:30:00Z", 0, "unknown_lane"));
  EXPECT_EQ(plan.At("", "", t), Closed("2026-12-01T00:30:00Z", 0, "unknown_lane"));
  EXPECT_EQ(plan.LanesAt("VN-LA", "general_cargo", t), 0);
  EXPECT_EQ(plan.LanesAt("VN-CN", "livestock", t), 0);
  EXPECT_EQ(plan.Range("VN-LA", "general_cargo", t, t + hours(1)),
            (std::vector<BucketCapacity>{Closed("2026-12-01T00:30:00Z", 0, "unknown_lane"),
                                         Closed("2026-12-01T00:45:00Z", 0, "unknown_lane"),
                                         Closed("2026-12-01T01:00:00Z", 0, "unknown_lane"),
                                         Closed("2026-12-01T01:15:00Z", 0, "unknown_lane")}));
}

TEST(CapacityUnknownTest, KnownClassWithoutLanesInTheDirectionIsOpenWithNoCapacity) {
  CapacityPlan plan(MakeConfig(), {});
  EXPECT_EQ(plan.At("VN-CN", "empty_return", T("2026-12-01T00:30:00Z")),
            Open("2026-12-01T00:30:00Z", 0, 0, std::nullopt, 0));
}

// ---------------------------------------------------------------------------------------------
// Range

TEST(CapacityRangeTest, EveryBucketFromTheOneHoldingFromUpToUntil) {
  CapacityPlan plan(MakeConfig(), {});
  const auto buckets =
      plan.Range("VN-CN", "fresh_produce", T("2026-12-01T00:37:00Z"), T("2026-12-01T01:30:00Z"));
  std::vector<Timestamp> starts;
  for (const auto& b : buckets) starts.push_back(b.start);
  EXPECT_EQ(starts, (std::vector<Timestamp>{T("2026-12-01T00:30:00Z"), T("2026-12-01T00:45:00Z"),
                                            T("2026-12-01T01:00:00Z"), T("2026-12-01T01:15:00Z")}));
  // `until` inside a bucket includes that bucket.
  EXPECT_EQ(
      plan.Range("VN-CN", "fresh_produce", T("2026-12-01T00:30:00Z"), T("2026-12-01T00:30:00.001Z"))
          .size(),
      1u);
  EXPECT_TRUE(
      plan.Range("VN-CN", "fresh_produce", T("2026-12-01T01:00:00Z"), T("2026-12-01T01:00:00Z"))
          .empty());
  EXPECT_TRUE(
      plan.Range("VN-CN", "fresh_produce", T("2026-12-01T02:00:00Z"), T("2026-12-01T01:00:00Z"))
          .empty());
}

TEST(CapacityRangeTest, RangeAgreesWithAtEveryBucket) {
  std::vector<CapacityChange> changes = {
      Change("CAP-1", K::kLanes, "2026-12-01T02:00:00Z", "2026-12-01T09:00:00Z", "VN-CN",
             "general_cargo", 1),
      Change("CAP-2", K::kReversible, "2026-12-01T05:00:00Z", "2026-12-02T05:00:00Z", "CN-VN",
             "general_cargo", 2),
      Change("CAP-3", K::kClosure, "2026-12-01T06:10:00Z", "2026-12-01T07:00:00Z", "CN-VN", ""),
      Change("CAP-4", K::kAcceptance, "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z", "CN-VN",
             "general_cargo", 0, 7.25),
      Change("CAP-5", K::kAcceptance, "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z", "VN-CN",
             "general_cargo", 0, 5),
      Change("CAP-6", K::kClosure, "2026-12-02T03:00:00Z", "2026-12-02T04:00:00Z", "",
             "general_cargo"),
      Change("CAP-7", K::kLanes, "2026-12-02T00:00:00Z", "2026-12-02T12:00:00Z", "CN-VN",
             "general_cargo", 0),
      Change("CAP-8", K::kClosure, "2026-12-01T00:00:00Z", "2026-12-03T00:00:00Z", "VN-CN",
             "empty_return"),
  };
  CapacityPlan plan(MakeConfig(), changes);
  const Timestamp from = T("2026-11-30T22:05:00Z");
  const Timestamp until = T("2026-12-03T02:00:00Z");
  int checked = 0;
  int open = 0;
  for (std::string_view direction : {"VN-CN", "CN-VN"}) {
    for (std::string_view lane_class : {"general_cargo", "fresh_produce", "empty_return"}) {
      const auto range = plan.Range(direction, lane_class, from, until);
      ASSERT_EQ(range.size(), 4u * 52) << direction << " " << lane_class;
      for (size_t i = 0; i < range.size(); ++i) {
        const Timestamp start = plan.BucketStart(from) + static_cast<int>(i) * plan.bucket();
        ASSERT_EQ(range[i], plan.At(direction, lane_class, start))
            << direction << " " << lane_class << " " << FormatUtc(start);
        EXPECT_EQ(range[i].lanes, plan.LanesAt(direction, lane_class, start));
        ++checked;
        if (range[i].closed_reason.empty() && range[i].effective > 0) ++open;
      }
    }
  }
  EXPECT_EQ(checked, 6 * 4 * 52);
  EXPECT_GT(open, 0);
}

// ---------------------------------------------------------------------------------------------
// Validation

CapacityChange Valid(K kind) {
  switch (kind) {
    case K::kClosure:
      return Change("CAP-1", kind, "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z", "", "");
    case K::kLanes:
      return Change("CAP-1", kind, "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z", "VN-CN",
                    "general_cargo", 5);
    case K::kReversible:
      return Change("CAP-1", kind, "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z", "CN-VN",
                    "general_cargo", 3);
    case K::kAcceptance:
      return Change("CAP-1", kind, "2026-12-01T00:00:00Z", "2026-12-01T06:00:00Z", "VN-CN",
                    "fresh_produce", 0, 30);
  }
  return {};
}

TEST(CapacityValidateTest, AcceptsValidChanges) {
  const GateConfig config = MakeConfig();
  for (K kind : {K::kClosure, K::kLanes, K::kReversible, K::kAcceptance}) {
    auto status = ValidateCapacityChange(Valid(kind), config);
    EXPECT_TRUE(status) << CapacityChangeKindName(kind) << ": " << status.error().ToString();
  }
  auto closure = Valid(K::kClosure);
  closure.direction = "CN-VN";
  EXPECT_TRUE(ValidateCapacityChange(closure, config));
  closure.lane_class = "empty_return";
  EXPECT_TRUE(ValidateCapacityChange(closure, config));
  auto lanes = Valid(K::kLanes);
  lanes.lanes = 0;
  EXPECT_TRUE(ValidateCapacityChange(lanes, config));
  lanes.lanes = 100;
  lanes.until = lanes.from + hours(24 * 90);
  lanes.reason = std::string(500, 'x');
  EXPECT_TRUE(ValidateCapacityChange(lanes, config));
  auto acceptance = Valid(K::kAcceptance);
  acceptance.trucks_per_hour = 10000;
  EXPECT_TRUE(ValidateCapacityChange(acceptance, config));
  acceptance.trucks_per_hour = 0;
  EXPECT_TRUE(ValidateCapacityChange(acceptance, config));
  auto reversible = Valid(K::kReversible);
  reversible.direction = "VN-CN";
  reversible.lanes = 2;  // CN-VN has 2 general lanes
  EXPECT_TRUE(ValidateCapacityChange(reversible, config));
}

TEST(CapacityValidateTest, ErrorsNameTheField) {
  struct Case {
    std::string name;
    CapacityChange change;
    std::string code;
    std::string field;
  };
  auto with = [](K kind, auto edit) {
    CapacityChange c = Valid(kind);
    edit(c);
    return c;
  };
  const std::vector<Case> cases = {
      {"lanes without direction", with(K::kLanes, [](auto& c) { c.direction = ""; }),
       "missing_field", "direction"},
      {"acceptance without direction", with(K::kAcceptance, [](auto& c) { c.direction = ""; }),
       "missing_field", "direction"},
      {"unknown direction", with(K::kLanes, [](auto& c) { c.direction = "VN-LA"; }),
       "unknown_direction", "direction"},
      {"closure of an unknown direction", with(K::kClosure, [](auto& c) { c.direction = "vn-cn"; }),
       "unknown_direction", "direction"},
      {"reversible without lane class", with(K::kReversible, [](auto& c) { c.lane_class = ""; }),
       "missing_field", "lane_class"},
      {"unknown lane class", with(K::kAcceptance, [](auto& c) { c.lane_class = "livestock"; }),
       "unknown_lane_class", "lane_class"},
      {"closure of an unknown lane class",
       with(K::kClosure, [](auto& c) { c.lane_class = "livestock"; }), "unknown_lane_class",
       "lane_class"},
      {"until equals from", with(K::kClosure, [](auto& c) { c.until = c.from; }),
       "invalid_capacity_change", "until"},
      {"until before from", with(K::kLanes, [](auto& c) { c.until = c.from - minutes(15); }),
       "invalid_capacity_change", "until"},
      {"longer than 90 days",
       with(K::kLanes, [](auto& c) { c.until = c.from + hours(24 * 90) + Duration(1); }),
       "invalid_capacity_change", "until"},
      {"negative lanes", with(K::kLanes, [](auto& c) { c.lanes = -1; }), "out_of_range", "lanes"},
      {"too many lanes", with(K::kLanes, [](auto& c) { c.lanes = 101; }), "out_of_range", "lanes"},
      {"reversible of no lane", with(K::kReversible, [](auto& c) { c.lanes = 0; }), "out_of_range",
       "lanes"},
      {"reversible of more than the other direction has",
       with(K::kReversible, [](auto& c) { c.lanes = 4; }), "out_of_range", "lanes"},
      {"reversible from a direction without the class",
       with(K::kReversible,
            [](auto& c) {
              c.lane_class = "empty_return";
              c.lanes = 1;
            }),
       "out_of_range", "lanes"},
      {"negative rate", with(K::kAcceptance, [](auto& c) { c.trucks_per_hour = -0.5; }),
       "out_of_range", "trucks_per_hour"},
      {"rate too high", with(K::kAcceptance, [](auto& c) { c.trucks_per_hour = 10000.5; }),
       "out_of_range", "trucks_per_hour"},
      {"rate not a number",
       with(K::kAcceptance,
            [](auto& c) { c.trucks_per_hour = std::numeric_limits<double>::quiet_NaN(); }),
       "out_of_range", "trucks_per_hour"},
      {"reason too long", with(K::kClosure, [](auto& c) { c.reason = std::string(501, 'x'); }),
       "field_too_long", "reason"},
  };
  const GateConfig config = MakeConfig();
  for (const Case& c : cases) {
    auto status = ValidateCapacityChange(c.change, config);
    ASSERT_FALSE(status) << c.name;
    EXPECT_EQ(status.error().kind, ErrorKind::kInvalidArgument) << c.name;
    EXPECT_EQ(status.error().code, c.code) << c.name << ": " << status.error().ToString();
    EXPECT_EQ(status.error().field, c.field) << c.name << ": " << status.error().ToString();
    EXPECT_FALSE(status.error().message.empty()) << c.name;
  }
}

// ---------------------------------------------------------------------------------------------
// JSON

TEST(CapacityJsonTest, EncodesEveryField) {
  CapacityChange c = Change("CAP-12", K::kAcceptance, "2026-12-01T00:00:00Z",
                            "2026-12-01T06:30:00+07:00", "VN-CN", "fresh_produce", 0, 12);
  c.reason = "Youyiguan announcement";
  c.created_at = T("2026-11-30T10:00:00.250Z");
  c.created_by = "U-7";
  EXPECT_EQ(ToJsonText(EncodeCapacityChange(c)),
            R"({"id":"CAP-12","kind":"acceptance","from":"2026-12-01T00:00:00.000Z",)"
            R"("until":"2026-11-30T23:30:00.000Z","direction":"VN-CN",)"
            R"("lane_class":"fresh_produce","lanes":0,"trucks_per_hour":12,)"
            R"("reason":"Youyiguan announcement","created_at":"2026-11-30T10:00:00.250Z",)"
            R"("created_by":"U-7"})");
}

TEST(CapacityJsonTest, RoundTripsEveryKind) {
  std::vector<CapacityChange> all = {Valid(K::kClosure), Valid(K::kLanes), Valid(K::kReversible),
                                     Valid(K::kAcceptance)};
  all[0].reason = "Typhoon: both directions closed";
  all[1].created_by = "U-1";
  all[2].created_at = T("2026-11-30T08:15:00.125Z");
  all[3].trucks_per_hour = 10.125;  // not whole: a JSON double
  for (const CapacityChange& c : all) {
    // Through text, as the store and the API see it.
    auto text = ToJsonText(EncodeCapacityChange(c));
    auto parsed = ParseJson(text);
    ASSERT_TRUE(parsed) << text;
    auto decoded = DecodeCapacityChange(*parsed);
    ASSERT_TRUE(decoded) << text << ": " << decoded.error().ToString();
    EXPECT_EQ(*decoded, c) << text;
  }
}

TEST(CapacityJsonTest, OptionalFieldsDefault) {
  auto decoded = DecodeCapacityChange(json::parse(
      R"({"kind":"closure","from":"2026-12-01T07:00:00+07:00","until":"2026-12-01T01:00:00Z"})"));
  ASSERT_TRUE(decoded) << decoded.error().ToString();
  CapacityChange expected;
  expected.kind = K::kClosure;
  expected.from = T("2026-12-01T00:00:00Z");
  expected.until = T("2026-12-01T01:00:00Z");
  EXPECT_EQ(*decoded, expected);

  auto lanes = DecodeCapacityChange(
      json::parse(R"({"kind":"lanes","from":"2026-12-01T00:00:00Z","until":"2026-12-01T01:00:00Z",)"
                  R"("direction":"VN-CN","lane_class":"general_cargo","lanes":2,)"
                  R"("trucks_per_hour":null,"reason":null})"));
  ASSERT_TRUE(lanes) << lanes.error().ToString();
  EXPECT_EQ(lanes->lanes, 2);
  EXPECT_EQ(lanes->trucks_per_hour, 0);
  EXPECT_EQ(lanes->reason, "");
}

TEST(CapacityJsonTest, RefusesUnknownFieldsAndWrongTypesNamingTheField) {
  const std::string base =
      R"("from":"2026-12-01T00:00:00Z","until":"2026-12-01T01:00:00Z","direction":"VN-CN",)"
      R"("lane_class":"general_cargo")";
  struct Case {
    std::string json;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {R"(["closure"])", "wrong_type", ""},
      {R"("closure")", "wrong_type", ""},
      {R"({"kind":"closure",)" + base + R"(,"colour":"red"})", "unknown_field", "colour"},
      {R"({"kind":"closure",)" + base + R"(,"Lanes":2})", "unknown_field", "Lanes"},
      {"{" + base + "}", "missing_field", "kind"},
      {R"({"kind":"open",)" + base + "}", "unknown_capacity_change_kind", "kind"},
      {R"({"kind":3,)" + base + "}", "wrong_type", "kind"},
      {R"({"kind":"closure","until":"2026-12-01T01:00:00Z"})", "missing_field", "from"},
      {R"({"kind":"closure","from":"2026-12-01T00:00:00","until":"2026-12-01T01:00:00Z"})",
       "invalid_timestamp", "from"},
      {R"({"kind":"closure","from":"2026-12-01T00:00:00Z","until":1796083200000})", "wrong_type",
       "until"},
      {R"({"kind":"closure","from":"2026-12-01T00:00:00Z","until":"tomorrow"})",
       "invalid_timestamp", "until"},
      {R"({"kind":"lanes",)" + base + "}", "missing_field", "lanes"},
      {R"({"kind":"reversible",)" + base + "}", "missing_field", "lanes"},
      {R"({"kind":"lanes",)" + base + R"(,"lanes":"3"})", "wrong_type", "lanes"},
      {R"({"kind":"lanes",)" + base + R"(,"lanes":2.5})", "wrong_type", "lanes"},
      {R"({"kind":"lanes",)" + base + R"(,"lanes":101})", "out_of_range", "lanes"},
      {R"({"kind":"closure",)" + base + R"(,"lanes":-1})", "out_of_range", "lanes"},
      {R"({"kind":"acceptance",)" + base + "}", "missing_field", "trucks_per_hour"},
      {R"({"kind":"acceptance",)" + base + R"(,"trucks_per_hour":"12"})", "wrong_type",
       "trucks_per_hour"},
      {R"({"kind":"acceptance",)" + base + R"(,"trucks_per_hour":10001})", "out_of_range",
       "trucks_per_hour"},
      {R"({"kind":"closure","from":"2026-12-01T00:00:00Z","until":"2026-12-01T01:00:00Z",)"
       R"("direction":7,"lane_class":"general_cargo"})",
       "wrong_type", "direction"},
      {R"({"kind":"closure","from":"2026-12-01T00:00:00Z","until":"2026-12-01T01:00:00Z",)"
       R"("direction":"VN-CN","lane_class":["general_cargo"]})",
       "wrong_type", "lane_class"},
      {R"({"kind":"closure",)" + base + R"(,"reason":")" + std::string(501, 'x') + R"("})",
       "field_too_long", "reason"},
      {R"({"kind":"closure",)" + base + R"(,"id":5})", "wrong_type", "id"},
      {R"({"kind":"closure",)" + base + R"(,"created_at":"2026-13-01T00:00:00Z"})",
       "invalid_timestamp", "created_at"},
      {R"({"kind":"closure",)" + base + R"(,"created_by":true})", "wrong_type", "created_by"},
  };
  for (const Case& c : cases) {
    auto parsed = ParseJson(c.json);
    ASSERT_TRUE(parsed) << c.json;
    auto decoded = DecodeCapacityChange(*parsed);
    ASSERT_FALSE(decoded) << c.json;
    EXPECT_EQ(decoded.error().code, c.code) << c.json << ": " << decoded.error().ToString();
    EXPECT_EQ(decoded.error().field, c.field) << c.json << ": " << decoded.error().ToString();
    EXPECT_EQ(decoded.error().kind, ErrorKind::kInvalidArgument) << c.json;
  }
}

// ---------------------------------------------------------------------------------------------
// The real gate pair

TEST(CapacityRealConfigTest, HuuNghiConfiguration) {
  std::ifstream in(BORDERFLOW_SOURCE_DIR "/config/huu-nghi.toml");
  ASSERT_TRUE(in);
  std::stringstream text;
  text << in.rdbuf();
  auto config = ParseGateConfig(text.str());
  ASSERT_TRUE(config) << config.error().ToString();
  CapacityPlan plan(*config, {});
  // VN-CN fresh produce: 4 lanes × 15 / 15 = 4 per bucket; general cargo 3 × 15 / 20 = 2.25.
  EXPECT_EQ(plan.At("VN-CN", "fresh_produce", T("2026-12-01T00:30:00Z")),
            Open("2026-12-01T00:30:00Z", 4, 4, std::nullopt, 4));
  EXPECT_EQ(Effective(plan, "VN-CN", "general_cargo", "2026-12-01T00:00:00Z", 4),
            (std::vector<int>{2, 2, 2, 3}));
  EXPECT_EQ(plan.At("VN-CN", "general_cargo", T("2026-12-01T23:15:00Z")).closed_reason,
            "self_closed");
}

}  // namespace
}  // namespace borderflow
