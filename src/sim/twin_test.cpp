// The twin on the real engine: a small scenario runs without a refused command, is
// reproducible, compares policies on the same arrivals, and gives the same result on SQLite as
// in memory.

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <borderflow/sim/report.h>
#include <borderflow/sim/twin.h>

#include "built_in_scenarios_test_util.h"

namespace borderflow::sim {
namespace {

namespace fs = std::filesystem;

const std::string kSmall =
    (fs::path(BORDERFLOW_SOURCE_DIR) / "tests/scenarios/sim/small.toml").string();

Scenario Small() {
  auto s = LoadScenario(kSmall);
  EXPECT_TRUE(s) << s.error().ToString();
  return *s;
}

TwinOptions Options(std::string policy, uint64_t seed, std::map<std::string, int> lanes = {}) {
  TwinOptions o;
  o.policy = std::move(policy);
  o.seed = seed;
  o.lanes = std::move(lanes);
  return o;
}

std::string JsonWithoutWall(const TwinResult& r) {
  auto o = ResultJson(r, true);
  o.erase("wall_seconds");
  return boost::json::serialize(o);
}

TEST(Twin, RunsTheSmallScenarioThroughTheEngine) {
  Scenario s = Small();
  int progress_calls = 0;
  double last = -1;
  TwinOptions options = Options("fifo", 3);
  options.progress = [&](double f) {
    EXPECT_GE(f, last);
    last = f;
    ++progress_calls;
  };
  auto r = RunTwin(s, options);
  ASSERT_TRUE(r) << r.error().ToString();
  // Every command the twin sent was accepted: its model of the lifecycle matches the engine's.
  EXPECT_EQ(r->command_errors, 0) << boost::json::serialize(ResultJson(*r));
  EXPECT_GT(r->trucks_arrived, 200);
  EXPECT_LT(r->trucks_arrived, 300);
  EXPECT_GT(r->trucks_cleared, 120);
  EXPECT_LE(r->trucks_cleared, r->trucks_called);
  EXPECT_EQ(r->wait_hours.count(), r->trucks_called);
  EXPECT_GT(r->prediction_abs_error_hours.count(), 60);
  EXPECT_GT(r->missed_calls, 0);  // 3% no-shows
  EXPECT_GT(r->lapsed_bookings, 0);
  // Six-hour declarations and half-day freshness windows against an overnight queue.
  EXPECT_GT(r->expired_declarations, 0);
  EXPECT_GT(r->spoiled_perishables, 0);
  for (const auto& [lane, u] : r->lane_utilisation) {
    EXPECT_GE(u, 0) << lane;
    EXPECT_LE(u, 1.0001) << lane;
  }
  EXPECT_GT(r->lane_utilisation.at("VN-CN/fresh_produce"), 0.2);
  EXPECT_EQ(r->queue.size(), 25u);  // hourly samples, both ends
  EXPECT_DOUBLE_EQ(last, 1.0);
  EXPECT_GT(progress_calls, 10);
  EXPECT_GT(r->events_processed, static_cast<uint64_t>(r->trucks_arrived) * 3);
  int64_t per_day = 0;
  for (auto d : r->cleared_per_day) per_day += d;
  EXPECT_EQ(per_day, r->trucks_cleared);
}

TEST(Twin, SameScenarioAndSeedGiveTheSameJson) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 150;
  auto a = RunTwin(s, Options("smart", 7));
  auto b = RunTwin(s, Options("smart", 7));
  auto c = RunTwin(s, Options("smart", 8));
  ASSERT_TRUE(a && b && c);
  EXPECT_EQ(JsonWithoutWall(*a), JsonWithoutWall(*b));
  EXPECT_NE(JsonWithoutWall(*a), JsonWithoutWall(*c));
}

// A run that leaves its store to the process's exit (as borderflow simulate's last run and
// sim_bench do) gives the same result; the store stays reachable, so the ASan build's leak check
// passes with this test in the process.
TEST(Twin, KeepingTheStoreUntilExitChangesNothing) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 150;
  TwinOptions kept = Options("smart", 7);
  kept.keep_store_until_exit = true;
  auto a = RunTwin(s, Options("smart", 7));
  auto b = RunTwin(s, kept);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(JsonWithoutWall(*a), JsonWithoutWall(*b));
}

// The twin's store drops a crossing once its truck has crossed or left, the engine runs without
// its crossing cache in front of the in-memory store, and the store numbers its audit records
// without hash-chaining them (it keeps none): on every built-in scenario with every policy (a
// day, at most 200 trucks a day) the result is the one of a run that keeps every crossing,
// caches them in the engine as a live node does and chains every record, and no command
// met a dropped crossing (it would fail with `crossing_not_kept`, and the result would show it).
TEST(Twin, WhatTheStoreLeavesOutChangesNothing) {
  int scenarios = 0;
  for (const testing::BuiltInScenario& file : testing::LoadBuiltInScenarios()) {
    ASSERT_TRUE(file.scenario) << file.scenario.error().ToString();
    Scenario s = *file.scenario;
    s.days = 1;
    s.arrivals.trucks_per_day = std::min(s.arrivals.trucks_per_day, 200.0);
    for (double& n : s.arrivals.replay_per_day) n = std::min(n, 200.0);
    ++scenarios;
    for (const char* policy : {"fifo", "cyclic", "smart"}) {
      TwinOptions keep = Options(policy, 3);
      keep.keep_finished_crossings = true;
      keep.chain_audit_records = true;
      keep.engine_crossing_cache = true;
      auto kept = RunTwin(s, keep);
      auto dropped = RunTwin(s, Options(policy, 3));
      ASSERT_TRUE(kept && dropped) << file.path;
      EXPECT_GT(dropped->trucks_cleared, 0) << file.path << " " << policy;
      EXPECT_FALSE(dropped->errors_by_code.contains("crossing_not_kept"));
      EXPECT_EQ(JsonWithoutWall(*kept), JsonWithoutWall(*dropped)) << file.path << " " << policy;
    }
  }
  EXPECT_GE(scenarios, 5);
}

// Skipping ticks that cannot change anything gives exactly the result of ticking at every
// interval, with fewer commands.
TEST(Twin, SkippedIdleTicksChangeNothing) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 100;
  for (const char* policy : {"fifo", "smart"}) {
    TwinOptions every = Options(policy, 6);
    every.tick_every_interval = true;
    auto all = RunTwin(s, every);
    auto skipped = RunTwin(s, Options(policy, 6));
    ASSERT_TRUE(all && skipped);
    EXPECT_LT(skipped->queue_ticks, all->queue_ticks);
    EXPECT_EQ(all->queue_ticks, 24 * 60 - 1);
    auto without_ticks = [](TwinResult r) {
      r.queue_ticks = 0;
      r.engine_commands = 0;
      r.command_errors = 0;
      return JsonWithoutWall(r);
    };
    EXPECT_EQ(without_ticks(*all), without_ticks(*skipped)) << policy;
  }
}

TEST(Twin, PoliciesSeeTheSameArrivalsAndDecideDifferently) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 200;
  auto fifo = RunTwin(s, Options("fifo", 5));
  auto smart = RunTwin(s, Options("smart", 5));
  ASSERT_TRUE(fifo && smart);
  EXPECT_EQ(fifo->trucks_arrived, smart->trucks_arrived);
  EXPECT_EQ(fifo->arrived_per_day, smart->arrived_per_day);
  EXPECT_EQ(fifo->policy, "fifo");
  EXPECT_EQ(smart->policy, "smart");
  // The policies call trucks in another order: the per-class waits differ.
  EXPECT_NE(fifo->wait_hours_by_class.at("perishable").Summarize().mean,
            smart->wait_hours_by_class.at("perishable").Summarize().mean);
  EXPECT_FALSE(RunTwin(s, Options("random", 5)));
}

TEST(Twin, MoreLanesClearMoreTrucks) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 150;
  auto base = RunTwin(s, Options("fifo", 4, {{"VN-CN/fresh_produce", 1}}));
  auto more = RunTwin(s, Options("fifo", 4, {{"VN-CN/fresh_produce", 6}}));
  ASSERT_TRUE(base && more);
  EXPECT_EQ(base->lanes.at("VN-CN/fresh_produce"), 1);
  EXPECT_GT(more->wait_hours_by_lane_class.at("fresh_produce").count(),
            base->wait_hours_by_lane_class.at("fresh_produce").count());
  EXPECT_LT(more->wait_hours_by_lane_class.at("fresh_produce").Summarize().mean,
            base->wait_hours_by_lane_class.at("fresh_produce").Summarize().mean);
  EXPECT_FALSE(RunTwin(s, Options("fifo", 4, {{"VN-CN/bananas", 2}})));
}

// A lane class closed for the whole run (0 lanes): the engine refuses its declarations. Those
// trucks used to vanish (a perfect gate); they count as arrived, refused and still waiting.
TEST(Twin, TrucksTheEngineRefusesStillArriveAndWait) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 150;
  auto open = RunTwin(s, Options("fifo", 4));
  auto closed = RunTwin(s, Options("fifo", 4, {{"VN-CN/fresh_produce", 0}}));
  ASSERT_TRUE(open && closed);
  EXPECT_EQ(open->trucks_refused, 0);
  // The same trucks come (a refused truck books no slot, so it cannot lapse one).
  EXPECT_GE(closed->trucks_arrived, open->trucks_arrived);
  EXPECT_LE(closed->trucks_arrived, open->trucks_arrived + open->lapsed_bookings);
  EXPECT_GT(closed->trucks_refused, 30);
  EXPECT_EQ(closed->refused_by_code.at("no_lanes"), closed->trucks_refused);
  EXPECT_EQ(closed->errors_by_code.at("no_lanes"), closed->trucks_refused);
  EXPECT_EQ(closed->wait_hours_by_lane_class.count("fresh_produce"), 0u);
  // Refused fresh produce waits at the border unless it spoils there first.
  EXPECT_GT(closed->waiting_at_end, open->waiting_at_end);
  EXPECT_GT(closed->spoiled_left, 0);
  EXPECT_GT(closed->oldest_wait_at_end_hours, 2);
  auto json = ResultJson(*closed);
  EXPECT_EQ(json.at("trucks_refused").as_int64(), closed->trucks_refused);
}

TEST(Twin, SqliteStoreGivesTheSameResultAsMemory) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 60;
  auto memory = RunTwin(s, Options("cyclic", 2));
  s.store = "sqlite";
  auto sqlite = RunTwin(s, Options("cyclic", 2));
  ASSERT_TRUE(memory && sqlite) << (memory ? sqlite.error().ToString() : memory.error().ToString());
  EXPECT_GT(memory->trucks_cleared, 30);
  EXPECT_EQ(JsonWithoutWall(*memory), JsonWithoutWall(*sqlite));
}

TEST(Twin, RiskRulesAssessDeclarations) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 100;
  std::ifstream in(fs::path(BORDERFLOW_SOURCE_DIR) / "rules/huu-nghi.rules");
  std::ostringstream text;
  text << in.rdbuf();
  s.rules_text = text.str();
  s.channel_rates.reset();
  auto r = RunTwin(s, Options("smart", 1));
  ASSERT_TRUE(r) << r.error().ToString();
  EXPECT_EQ(r->command_errors, 0) << boost::json::serialize(ResultJson(*r));
  EXPECT_GT(r->trucks_cleared, 40);
}

TEST(Report, HtmlHasTheChartsAndTheTable) {
  Scenario s = Small();
  s.days = 1;
  s.arrivals.trucks_per_day = 80;
  std::vector<TwinResult> runs;
  for (const char* p : {"fifo", "smart"}) {
    auto r = RunTwin(s, Options(p, 1));
    ASSERT_TRUE(r);
    runs.push_back(*r);
  }
  std::string html = ComparisonHtml(s, runs, "borderflow simulate x --policy fifo,smart");
  EXPECT_EQ(std::count(html.begin(), html.end(), '<'), std::count(html.begin(), html.end(), '>'));
  // One script, inline: the language switcher (report_test.cpp); nothing from the network.
  EXPECT_EQ(html.find("<script"), html.rfind("<script"));
  EXPECT_NE(html.find("<script>"), std::string::npos);
  EXPECT_EQ(html.find(" src="), std::string::npos);
  size_t svgs = 0;
  for (size_t at = 0; (at = html.find("<svg", at)) != std::string::npos; ++at) ++svgs;
  EXPECT_EQ(svgs, 3u);
  EXPECT_NE(html.find("<polyline"), std::string::npos);
  EXPECT_NE(html.find("trusted_perishable"), std::string::npos);
  EXPECT_NE(html.find("spoiled loads"), std::string::npos);
  EXPECT_NE(html.find("--policy fifo,smart"), std::string::npos);
  std::string md = ComparisonMarkdown(runs);
  EXPECT_NE(md.find("| smart |"), std::string::npos);
}

// Runs that differ by lane count: the legends show whole labels, the bar chart's run labels are
// turned when they do not fit, the start is the gate's local time, refusals are shown.
TEST(Report, LabelsFitTheStartIsLocalAndRefusalsShow) {
  Scenario s = Small();
  std::vector<TwinResult> runs;
  const std::string long_label = "smart · VN-CN/fresh_produce 12 · CN-VN/empty_return 2";
  for (std::string label :
       std::vector<std::string>{"fifo · 2 lanes", "fifo · 12 lanes", "cyclic · 2 lanes",
                                "cyclic · 12 lanes", "smart · 2 lanes", long_label}) {
    TwinResult r;
    r.label = label;
    r.days = 1;
    r.queue = {QueueSample{0, 1, 2, 0, 0}, QueueSample{24, 5, 2, 0, 0}};
    r.wait_hours_by_class["perishable"].Add(2);
    runs.push_back(r);
  }
  runs[0].trucks_refused = 7;
  runs[0].command_errors = 7;
  runs[0].refused_by_code["no_lanes"] = 7;
  std::string html = ComparisonHtml(s, runs, "borderflow simulate x");
  // The first chart's legend: the long label's text starts at x and must fit in the width.
  size_t svg = html.find("<svg");
  size_t width_at = html.find("width=\"", svg) + 7;
  double width = std::stod(html.substr(width_at));
  size_t label_at = html.find(">" + long_label + "</text>", svg);
  ASSERT_NE(label_at, std::string::npos);
  size_t x_at = html.rfind("<text x=\"", label_at) + 9;
  double x = std::stod(html.substr(x_at));
  EXPECT_GE(width, x + 7 * 50) << html.substr(svg, 400);
  size_t spoiled = html.find("Spoiled perishable loads");
  ASSERT_NE(spoiled, std::string::npos);
  EXPECT_NE(html.find("rotate(-30", spoiled), std::string::npos);
  EXPECT_NE(html.find("1 day from 2026-12-01 00:00 +07:00"), std::string::npos);
  EXPECT_EQ(html.find("2026-11-30T17:00"), std::string::npos);
  EXPECT_NE(html.find("the engine refused 7 trucks' declarations (no_lanes 7)"), std::string::npos);
  EXPECT_EQ(std::count(html.begin(), html.end(), '<'), std::count(html.begin(), html.end(), '>'));
}

}  // namespace
}  // namespace borderflow::sim
