// The queue book's caches give what computing afresh gives: the kept lane plans (SharedPlan,
// Plan) and the prediction statistics written as text.

#include "queue_book.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>

#include "test_fixtures.h"

namespace borderflow {
namespace {

using testing::HuuNghi;

// Everything a plan holds, as text, so that two plans compare in one EXPECT_EQ.
std::string Describe(const LanePlan& plan) {
  std::string out = fmt::format("{}/{}\n", plan.direction, plan.lane_class);
  for (const auto& c : plan.calls) {
    out += fmt::format("call {} {} {} {} {}\n", c.position, c.crossing_id, ToUnixMillis(c.bucket),
                       ToUnixMillis(c.expected_call), c.reason);
  }
  for (const auto& [id, why] : plan.unplanned) out += fmt::format("unplanned {} {}\n", id, why);
  for (const auto& b : plan.buckets) {
    out += fmt::format("bucket {} {} {}\n", ToUnixMillis(b.start), b.capacity, b.planned);
  }
  return out;
}

Crossing Truck(int n, CrossingState state, Timestamp now) {
  Crossing c;
  c.id = fmt::format("CR-{:06d}", n);
  c.company_id = n % 3 == 0 ? "TRUSTED" : fmt::format("CO-{}", n % 5);
  c.declaration.direction = "VN-CN";
  c.declaration.lane_class = "fresh_produce";
  c.declaration.vehicle.plate.canonical = fmt::format("12C{:05d}", n);
  if (n % 2 == 0) c.declaration.freshness_deadline = now + std::chrono::hours(3 + n % 7);
  c.declaration_valid_until = now + std::chrono::hours(72);
  c.state = state;
  c.queue.ticket = n;
  if (state == CrossingState::kBooked) c.queue.booked_bucket = now + std::chrono::hours(n % 5);
  return c;
}

TEST(QueueBook, KeptPlansEqualFreshPlans) {
  GateConfig config = HuuNghi();
  config.queue.trusted_traders = {"TRUSTED"};
  const Timestamp start = FromUnixMillis(1'800'000'000'000);
  for (const std::string policy : {"fifo", "cyclic", "smart"}) {
    QueueBook book(config);
    book.SetPolicy(policy);
    std::vector<Crossing> all;
    // A fresh book with the same crossings, counters and changes plans from nothing.
    auto fresh_plan = [&](Timestamp now) {
      QueueBook fresh(config);
      fresh.SetPolicy(policy);
      for (const auto& c : all) fresh.Upsert(c);
      for (const auto& d : config.directions) {
        for (const auto& [lane_class, lanes] : d.lanes) {
          std::string key = QueueBook::LaneKey(d.id, lane_class);
          fresh.PutLaneCounters(key, book.Counters(key));
        }
      }
      for (const auto& change : book.Capacity()->changes()) fresh.AddCapacityChange(change);
      return Describe(fresh.Plan("VN-CN", "fresh_produce", now));
    };
    auto check = [&](Timestamp now, std::string_view step) {
      SCOPED_TRACE(fmt::format("{}: {}", policy, step));
      std::string expected = fresh_plan(now);
      EXPECT_EQ(Describe(*book.SharedPlan("VN-CN", "fresh_produce", now)), expected);
      EXPECT_EQ(Describe(book.Plan("VN-CN", "fresh_produce", now)), expected);
    };
    Timestamp now = start;
    for (int n = 1; n <= 40; ++n) {
      all.push_back(Truck(n, n % 4 == 0 ? CrossingState::kBooked : CrossingState::kInYard, now));
      // As the engine predicts a joining truck's call: its plan becomes the lane's kept plan.
      if (n % 2 == 1) book.SharedPlan("VN-CN", "fresh_produce", now, &all.back());
      book.Upsert(all.back());
      if (n % 7 == 0 || n % 5 == 1) check(now, fmt::format("truck {}", n));
    }
    // A booked truck enters the yard (its entry is replaced), predicted first.
    all[3].state = CrossingState::kInYard;
    book.SharedPlan("VN-CN", "fresh_produce", now, &all[3]);
    book.Upsert(all[3]);
    check(now, "booked truck in the yard");
    // A prediction that the truck does not follow (it joins with another ticket).
    Crossing predicted = all[5];
    predicted.queue.ticket = 1000;
    all[5].state = CrossingState::kCalled;
    book.Upsert(all[5]);
    book.SharedPlan("VN-CN", "fresh_produce", now, &predicted);
    all[5].state = CrossingState::kInYard;
    all[5].queue.ticket = 1001;
    book.Upsert(all[5]);
    check(now, "requeued with another ticket than predicted");
    check(now, "all in");
    check(now + std::chrono::minutes(5), "later in the same bucket");
    check(now + std::chrono::minutes(20), "the next bucket");
    // A call: the counters change, and the called truck leaves the queue.
    LaneCounters counters;
    counters.bucket = book.Capacity()->BucketStart(now);
    counters.calls_in_bucket = 1;
    counters.calls_total = 1;
    book.PutLaneCounters(QueueBook::LaneKey("VN-CN", "fresh_produce"), counters);
    check(now, "counters");
    all[0].state = CrossingState::kCalled;
    book.Upsert(all[0]);
    check(now, "called");
    // Calls as the engine makes them: the plan's first call in the yard, its counters first,
    // then the truck, called; a truck joins between some of them. The booked trucks are in the
    // yard: the plan's first call can be made.
    for (Crossing& c : all) {
      if (c.state != CrossingState::kBooked) continue;
      c.state = CrossingState::kInYard;
      book.Upsert(c);
    }
    for (int n = 0; n < 12; ++n) {
      std::shared_ptr<const LanePlan> plan = book.SharedPlan("VN-CN", "fresh_produce", now);
      auto first = std::find_if(plan->calls.begin(), plan->calls.end(), [&](const auto& call) {
        return book.StateOf(call.crossing_id) == CrossingState::kInYard;
      });
      ASSERT_NE(first, plan->calls.end());
      const std::string id = first->crossing_id;
      plan.reset();
      const std::string key = QueueBook::LaneKey("VN-CN", "fresh_produce");
      LaneCounters lane = book.Counters(key);
      if (lane.bucket != book.Capacity()->BucketStart(now)) {
        lane.bucket = book.Capacity()->BucketStart(now);
        lane.calls_in_bucket = 0;
      }
      ++lane.calls_in_bucket;
      ++lane.calls_total;
      book.PutLaneCounters(key, lane);
      auto called = std::find_if(all.begin(), all.end(), [&](const auto& c) { return c.id == id; });
      called->state = CrossingState::kCalled;
      called->queue.called_at = now;
      book.Upsert(*called);
      check(now, fmt::format("call {} ({})", n, id));
      if (n % 3 == 1) {
        all.push_back(Truck(100 + n, CrossingState::kInYard, now));
        book.SharedPlan("VN-CN", "fresh_produce", now, &all.back());
        book.Upsert(all.back());
      }
      now += std::chrono::minutes(2);
    }
    CapacityChange change;
    change.id = "CAP-1";
    change.kind = CapacityChangeKind::kLanes;
    change.from = now;
    change.until = now + std::chrono::hours(6);
    change.direction = "VN-CN";
    change.lane_class = "fresh_produce";
    change.lanes = 1;
    change.created_at = now;
    book.AddCapacityChange(change);
    check(now, "capacity change");
    all[1].state = CrossingState::kCancelled;
    book.Upsert(all[1]);
    check(now, "cancelled");
  }
}

TEST(QueueBook, ABookedTruckEnteringTheYardIsPredictedOnTheKeptPlan) {
  // The prediction for a booked truck entering the yard for its slot is the kept plan (shared,
  // not planned again) when nothing but "in the yard" changes; it is what a plan made with the
  // truck in the yard gives in every case, shortcut or not, and the plan kept after the truck
  // joined is what a fresh book plans.
  GateConfig config = HuuNghi();
  config.queue.trusted_traders = {"TRUSTED"};
  const Timestamp now = FromUnixMillis(1'800'000'000'000);
  for (const std::string policy : {"fifo", "cyclic", "smart"}) {
    QueueBook book(config);
    book.SetPolicy(policy);
    std::vector<Crossing> all;
    for (int n = 1; n <= 30; ++n) {
      all.push_back(Truck(n, n % 3 == 0 ? CrossingState::kBooked : CrossingState::kInYard, now));
      book.Upsert(all.back());
    }
    // Another booked truck with a ticket a queued one has: no shortcut (its place is not sure).
    all.push_back(Truck(40, CrossingState::kBooked, now));
    all.back().queue.ticket = 12;
    book.Upsert(all.back());
    auto fresh_plan = [&] {
      QueueBook fresh(config);
      fresh.SetPolicy(policy);
      for (const auto& c : all) fresh.Upsert(c);
      return Describe(fresh.Plan("VN-CN", "fresh_produce", now));
    };
    int shortcuts = 0;
    for (size_t i = 0; i < all.size(); ++i) {
      if (all[i].state != CrossingState::kBooked) continue;
      SCOPED_TRACE(fmt::format("{}: {}", policy, all[i].id));
      Crossing entering = all[i];
      entering.state = CrossingState::kInYard;
      // Variants the shortcut must not take: another slot, another deadline.
      if (i % 4 == 1)
        entering.queue.booked_bucket = *entering.queue.booked_bucket + std::chrono::hours(1);
      if (i % 4 == 3) entering.declaration_valid_until -= std::chrono::hours(1);
      const LanePlan* kept = book.SharedPlan("VN-CN", "fresh_produce", now).get();
      std::shared_ptr<const LanePlan> predicted =
          book.SharedPlan("VN-CN", "fresh_produce", now, &entering);
      EXPECT_EQ(Describe(*predicted),
                Describe(book.Plan("VN-CN", "fresh_produce", now, &entering)));
      if (predicted.get() == kept) ++shortcuts;
      predicted.reset();
      all[i] = entering;
      book.Upsert(all[i]);
      EXPECT_EQ(Describe(*book.SharedPlan("VN-CN", "fresh_produce", now)), fresh_plan());
    }
    // Trucks 3, 9, 15, 21, 27 enter unchanged (40 shares its ticket with 12, the others changed).
    EXPECT_EQ(shortcuts, 5) << policy;
  }
}

// A loaded truck with lines of `chapters` (HS chapter and gross weight in tonnes each).
Crossing Loaded(std::string_view lane_class, std::vector<std::pair<std::string, int>> chapters,
                std::optional<Timestamp> freshness_deadline, Timestamp now) {
  Crossing c = Truck(1, CrossingState::kInYard, now);
  c.company_id = "CO-1";
  c.declaration.lane_class = std::string(lane_class);
  c.declaration.freshness_deadline = freshness_deadline;
  for (const auto& [chapter, tonnes] : chapters) {
    ConsignmentLine line;
    line.hs.chapter = chapter;
    line.gross_weight_grams = int64_t{tonnes} * 1'000'000;
    c.declaration.lines.push_back(line);
  }
  return c;
}

TEST(QueueBook, OnlyPerishableLoadsArePerishableInTheQueue) {
  const QueueBook book(HuuNghi());
  const Timestamp now = FromUnixMillis(1'800'000'000'000);
  const auto deadline = now + std::chrono::hours(24 * 20);
  auto priority = [&](const Crossing& c) { return book.TruckFor(c).priority; };
  // Inverters (HS 85) in general cargo with a freshness deadline: regular, and the deadline
  // does not count.
  Crossing inverters = Loaded("general_cargo", {{"85", 9}}, deadline, now);
  EXPECT_EQ(priority(inverters), PriorityClass::kRegular);
  EXPECT_FALSE(book.TruckFor(inverters).freshness_deadline.has_value());
  // Fruit (HS 08) sharing the general-cargo lane, with its deadline: perishable.
  Crossing durian = Loaded("general_cargo", {{"08", 16}}, deadline, now);
  EXPECT_EQ(priority(durian), PriorityClass::kPerishable);
  EXPECT_EQ(book.TruckFor(durian).freshness_deadline, deadline);
  // Without a deadline, fruit in general cargo is not treated as perishable.
  EXPECT_EQ(priority(Loaded("general_cargo", {{"08", 16}}, std::nullopt, now)),
            PriorityClass::kRegular);
  // A mixed load is perishable when perishable goods weigh at least 80% of it.
  EXPECT_EQ(priority(Loaded("general_cargo", {{"07", 8}, {"85", 2}}, deadline, now)),
            PriorityClass::kPerishable);
  EXPECT_EQ(priority(Loaded("general_cargo", {{"07", 7}, {"85", 3}}, deadline, now)),
            PriorityClass::kRegular);
  for (const char* chapter : {"02", "03", "04", "06", "07", "08"}) {
    EXPECT_EQ(priority(Loaded("general_cargo", {{chapter, 1}}, deadline, now)),
              PriorityClass::kPerishable)
        << chapter;
  }
  // The perishable lane class is perishable whatever the goods.
  EXPECT_EQ(priority(Loaded("fresh_produce", {{"85", 9}}, deadline, now)),
            PriorityClass::kPerishable);
}

TEST(QueueBook, AFreshnessDeadlineOnGeneralGoodsDoesNotJumpTheQueue) {
  // Smart policy: a truck of inverters with a freshness deadline in an hour joins behind a
  // general-cargo truck; it is planned second, by fifo, not first by smart:deadline.
  GateConfig config = HuuNghi();
  QueueBook book(config);
  book.SetPolicy("smart");
  const Timestamp now = FromUnixMillis(1'800'000'000'000);
  Crossing first = Loaded("general_cargo", {{"85", 9}}, std::nullopt, now);
  first.id = "CR-000001";
  first.declaration.vehicle.plate.canonical = "12C00001";
  first.queue.ticket = 1;
  Crossing second = Loaded("general_cargo", {{"85", 9}}, now + std::chrono::hours(1), now);
  second.id = "CR-000002";
  second.declaration.vehicle.plate.canonical = "12C00002";
  second.queue.ticket = 2;
  book.Upsert(first);
  book.Upsert(second);
  LanePlan plan = book.Plan("VN-CN", "general_cargo", now);
  ASSERT_GE(plan.calls.size(), 2u) << Describe(plan);
  EXPECT_EQ(plan.calls[0].crossing_id, "CR-000001") << Describe(plan);
  EXPECT_EQ(plan.calls[1].crossing_id, "CR-000002") << Describe(plan);
  EXPECT_EQ(plan.calls[1].reason, "fifo") << Describe(plan);
}

TEST(QueueBook, PredictionStatsTextIsTheEncodedJson) {
  PredictionStats stats;
  EXPECT_EQ(PredictionStatsText(stats), ToJsonText(EncodePredictionStats(stats)));
  for (double minutes : {0.0, 0.4, 0.6, 1.0, 17.25, 59.9, 1e-3, 1234.5678, 1e9, 2879.0, 2880.4}) {
    stats.Add(minutes);
    EXPECT_EQ(PredictionStatsText(stats), ToJsonText(EncodePredictionStats(stats)));
  }
  for (int i = 0; i < 5000; ++i) stats.Add(i * 0.731);
  EXPECT_EQ(PredictionStatsText(stats), ToJsonText(EncodePredictionStats(stats)));
  // And it reads back.
  auto parsed = ParseJson(PredictionStatsText(stats), JsonLimits{16 << 20, 16});
  ASSERT_TRUE(parsed);
  auto decoded = DecodePredictionStats(*parsed);
  ASSERT_TRUE(decoded);
  EXPECT_EQ(decoded->bins, stats.bins);
  EXPECT_EQ(decoded->count, stats.count);
}

TEST(QueueBook, PredictionStatsTextCacheFollowsTheStats) {
  PredictionStats stats;
  PredictionStatsTextCache cache;
  EXPECT_EQ(cache.Text(stats), PredictionStatsText(stats));
  // New bins before, between and after those in use; counts gaining digits; the last bin.
  for (double minutes : {5.0, 5.2, 0.0, 3.0, 2880.0, 1e9, 7.0, 4.6, 0.3}) {
    cache.BinChanged(stats, stats.Add(minutes));
    EXPECT_EQ(cache.Text(stats), PredictionStatsText(stats)) << minutes;
  }
  for (int i = 0; i < 3000; ++i) cache.BinChanged(stats, stats.Add((i * 37) % 101 * 0.9));
  EXPECT_EQ(cache.Text(stats), PredictionStatsText(stats));
  // Replaced statistics: written afresh.
  PredictionStats other;
  other.Add(12);
  cache.Reset();
  EXPECT_EQ(cache.Text(other), PredictionStatsText(other));
  cache.BinChanged(other, other.Add(11));
  EXPECT_EQ(cache.Text(other), PredictionStatsText(other));
}

TEST(QueueBook, AddPredictionReturnsTheStoredText) {
  QueueBook book(HuuNghi());
  for (double minutes : {1.0, 250.0, 1.4, 99.0, 0.0}) {
    std::string text = book.AddPrediction(minutes);
    EXPECT_EQ(text, PredictionStatsText(book.Predictions()));
  }
  PredictionStats replaced;
  replaced.Add(42);
  book.PutPredictionStats(replaced);
  std::string text = book.AddPrediction(3);
  EXPECT_EQ(text, PredictionStatsText(book.Predictions()));
  EXPECT_EQ(book.Predictions().count, 2);
}

}  // namespace
}  // namespace borderflow
