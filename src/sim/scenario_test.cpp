// Scenario files: parsing, errors that name the file, line and key, replayed counts, and the
// arrival process they describe.

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include <borderflow/sim/arrivals.h>
#include <borderflow/sim/scenario.h>

#include "built_in_scenarios_test_util.h"

namespace borderflow::sim {
namespace {

namespace fs = std::filesystem;

const fs::path kDir = fs::path(BORDERFLOW_SOURCE_DIR) / "tests/scenarios/sim";
const std::string kSmall = (kDir / "small.toml").string();

std::string SmallText() {
  std::ifstream in(kSmall);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The small scenario with the first occurrence of `from` replaced by `to`.
std::string With(const std::string& from, const std::string& to) {
  std::string text = SmallText();
  auto at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

int LineOf(const std::string& text, const std::string& needle) {
  auto at = text.find(needle);
  return 1 + static_cast<int>(
                 std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(at), '\n'));
}

TEST(Scenario, LoadsTheSmallScenario) {
  auto s = LoadScenario(kSmall);
  ASSERT_TRUE(s) << s.error().ToString();
  EXPECT_EQ(s->name, "test-small");
  EXPECT_EQ(s->days, 1);
  EXPECT_EQ(s->gate.staging_yard_capacity, 60);
  EXPECT_EQ(s->gate.declaration_validity, std::chrono::hours(6));
  ASSERT_EQ(s->traffic.size(), 3u);
  EXPECT_NEAR(s->traffic[0].share, 0.5, 1e-12);
  EXPECT_TRUE(s->traffic[0].perishable);
  EXPECT_TRUE(s->traffic[2].empty);
  EXPECT_EQ(s->ServiceFor("fresh_produce", "red").kind, Distribution::Kind::kLognormal);
  EXPECT_EQ(s->ServiceFor("empty_return", "green").kind, Distribution::Kind::kDeterministic);
  EXPECT_EQ(s->ServiceFor("general_cargo", "yellow").kind, Distribution::Kind::kExponential);
  ASSERT_EQ(s->capacity_events.size(), 1u);
  EXPECT_EQ(s->capacity_events[0].change.from, s->start + std::chrono::hours(12));
  EXPECT_EQ(s->capacity_events[0].change.trucks_per_hour, 6);
  ASSERT_EQ(s->link_outages.size(), 1u);
  EXPECT_EQ(s->link_outages[0].until - s->link_outages[0].from, std::chrono::hours(3));
}

struct BadCase {
  std::string from, to;
  std::string key;      // expected in the message
  std::string line_of;  // text whose line the message must name
};

// The scenario with `from` replaced by `to` is refused as bad_scenario, naming the file, the
// line of `line_of` and `key`.
void ExpectRefused(const BadCase& c) {
  std::string text = With(c.from, c.to);
  auto s = ParseScenario(text, kSmall);
  ASSERT_FALSE(s) << c.to;
  const std::string& m = s.error().message;
  SCOPED_TRACE(m);
  EXPECT_EQ(s.error().code, "bad_scenario");
  EXPECT_NE(m.find(kSmall + ":" + std::to_string(LineOf(text, c.line_of)) + ":"),
            std::string::npos);
  EXPECT_NE(m.find(c.key), std::string::npos);
}

TEST(Scenario, BadFilesNameFileLineAndKey) {
  const std::vector<BadCase> cases = {
      {"trucks_per_day = 250", "trucks_per_day = \"many\"", "arrivals.trucks_per_day",
       "trucks_per_day = \"many\""},
      {"trucks_per_day = 250", "trucks_per_day = -5", "arrivals.trucks_per_day",
       "trucks_per_day = -5"},
      {"tick_seconds = 60", "tick_second = 60", "scenario.tick_second", "tick_second = 60"},
      {"distribution = \"exponential\", mean = 15", "distribution = \"gaussian\", mean = 15",
       "service.times[0].minutes.distribution", "gaussian"},
      {"lane_class = \"general_cargo\"", "lane_class = \"bananas\"", "traffic[1].lane_class",
       "bananas"},
      {"green = 0.7", "green = 0.5", "channels", "[channels]"},
      {"freshness_hours = { distribution = \"lognormal\", mean = 12, sd = 6 }", "",
       "traffic[0].freshness_hours", "[[traffic]]"},
      {"trucks_per_hour = 6", "trucks_per_hour = 6\nlanes = \"x\"", "capacity_events[0].lanes",
       "lanes = \"x\""},
      {"config = \"../../../config/huu-nghi.toml\"", "config = \"nowhere.toml\"", "gate.config",
       "nowhere.toml"},
  };
  for (const auto& c : cases) ExpectRefused(c);
}

// The scenario reader is the gate configuration's (TomlReader): a value of the wrong type names
// what was expected and what was found, an unknown key suggests the close one, and a required
// string may not be empty.
TEST(Scenario, ErrorsSayWhatWasExpectedAndSuggestTheKey) {
  const std::vector<BadCase> cases = {
      {"trucks_per_day = 250", "trucks_per_day = \"many\"",
       "arrivals.trucks_per_day: must be a number from 0 to", "trucks_per_day = \"many\""},
      {"trucks_per_day = 250", "trucks_per_day = \"many\"", ", not a string",
       "trucks_per_day = \"many\""},
      {"tick_seconds = 60", "tick_second = 60",
       "scenario.tick_second: is not a known key (did you mean tick_seconds?)", "tick_second = 60"},
      {"tick_seconds = 60", "tick_seconds = 60\nweather = 1", "(known: name, ", "weather = 1"},
  };
  for (const auto& c : cases) ExpectRefused(c);
}

// Values the twin used to accept and then ran with something else, or refused only at run time.
TEST(Scenario, QuestionableValuesAreRefusedWithFileLineAndKey) {
  const std::string replay =
      "\n[arrivals.replay]\ncsv = \"replay.csv\"\ndate_column = \"Date\"\n"
      "count_columns = [\"North\", \"South\"]\ndays = 200\n";
  const std::vector<BadCase> cases = {
      // Shares adding up to 1.2 were rescaled without a word.
      {"share = 0.5", "share = 0.7",
       "traffic: the [[traffic]] shares must add up to 1 (they "
       "add up to 1.2)",
       "[[traffic]]"},
      // A change before the start failed at run time as invalid_capacity_change, exit 0.
      {"from_day = 0.5", "from = \"2026-11-20T00:00:00+07:00\"",
       "capacity_events[0].from: 2026-11-19T17:00:00.000Z is before the scenario starts",
       "from = \"2026-11-20"},
      // Announced after it started: the engine applied it only from the announcement (or, for
      // a closure over by then, not at all).
      {"from_day = 0.5", "from_day = 0.5\nannounce_day = 0.9",
       "capacity_events[0].announce_day: the announcement", "announce_day = 0.9"},
  };
  for (const auto& c : cases) ExpectRefused(c);
  // 200 days asked of a file with 4 rows were cut to 4 and wrapped around.
  std::string text = With("trucks_per_day = 250", "") + replay;
  auto shortened = ParseScenario(text, kSmall);
  ASSERT_FALSE(shortened);
  EXPECT_NE(
      shortened.error().message.find(kSmall + ":" + std::to_string(LineOf(text, "days = 200")) +
                                     ": arrivals.replay.days: replay.csv has 4 days"),
      std::string::npos)
      << shortened.error().message;
  // Announced before it starts, and a lognormal of mean 0 (no time, as deterministic 0 is).
  auto early = ParseScenario(With("from_day = 0.5", "from_day = 0.5\nannounce_day = 0.25"), kSmall);
  ASSERT_TRUE(early) << early.error().ToString();
  EXPECT_EQ(early->capacity_events[0].announce_at, early->start + std::chrono::hours(6));
  auto zero = ParseScenario(With("distribution = \"lognormal\", mean = 50, sd = 20",
                                 "distribution = \"lognormal\", "
                                 "mean = 0, sd = 20"),
                            kSmall);
  ASSERT_TRUE(zero) << zero.error().ToString();
  RandomStream stream(1, "test");
  EXPECT_DOUBLE_EQ(zero->ServiceFor("general_cargo", "red").Sample(stream), 0.0);
}

TEST(Scenario, TomlSyntaxErrorsNameLineAndColumn) {
  std::string text = With("days = 1", "days = = 1");
  auto s = ParseScenario(text, kSmall);
  ASSERT_FALSE(s);
  EXPECT_NE(s.error().message.find(kSmall + ":" + std::to_string(LineOf(text, "days = = 1")) + ":"),
            std::string::npos)
      << s.error().message;
}

TEST(Scenario, ReplayRescalesRealDailyCounts) {
  ReplaySpec spec;
  spec.csv_path = (kDir / "replay.csv").string();
  spec.date_column = "Date";
  spec.columns = {"North", "South"};
  spec.from = "2019-06-02";
  spec.scale_to_mean = 1000;
  auto counts = ReadReplay(spec);
  ASSERT_TRUE(counts) << counts.error().ToString();
  // Rows from 2019-06-02: 80 (empty North counts 0), 180, 160; mean 140.
  ASSERT_EQ(counts->size(), 3u);
  EXPECT_NEAR((*counts)[0], 80 * 1000.0 / 140, 1e-9);
  EXPECT_NEAR((*counts)[1], 180 * 1000.0 / 140, 1e-9);
  spec.columns = {"West"};
  EXPECT_FALSE(ReadReplay(spec));
}

// A count is the whole cell, a finite number of trucks from 0 to 100,000: nothing is read as
// something else (std::stod read "12abc" as 12, "-500" became 0 trucks, "nan" and "1e12"
// ran the twin out of memory).
TEST(Scenario, ReplayRefusesWhatIsNotACount) {
  auto dir = fs::temp_directory_path() / ("bf-replay-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  ReplaySpec spec;
  spec.csv_path = (dir / "counts.csv").string();
  spec.date_column = "Date";
  spec.columns = {"Trucks"};
  for (const char* cell : {"nan", "1e12", "-500", "12abc", "inf", "0x10"}) {
    std::ofstream(spec.csv_path) << "Date,Trucks\n2019-06-01,40\n2019-06-02," << cell << "\n";
    auto counts = ReadReplay(spec);
    ASSERT_FALSE(counts) << cell;
    EXPECT_NE(counts.error().message.find("counts.csv:3: column 'Trucks': '" + std::string(cell)),
              std::string::npos)
        << counts.error().message;
  }
  std::ofstream(spec.csv_path) << "Date,Trucks\n2019-06-01, 40.0\r\n2019-06-02,\n";
  auto counts = ReadReplay(spec);
  ASSERT_TRUE(counts) << counts.error().ToString();
  EXPECT_EQ(*counts, (std::vector<double>{40, 0}));
  spec.scale = 10000;  // 400,000 trucks a day
  ASSERT_FALSE(ReadReplay(spec));
  EXPECT_NE(ReadReplay(spec).error().message.find("day 1 scales to 400000"), std::string::npos);
  fs::remove_all(dir);
}

// Scenario files are bounded like the gate configuration: a file over its limit is refused with
// its path and the limit, without being read on (/dev/zero), and so is an array of tables with
// more entries than a scenario may have, with the file, the line and the key.
TEST(Scenario, FilesAndArraysOfTablesAreBounded) {
  auto dir = fs::temp_directory_path() / ("bf-scenario-size-" + std::to_string(::getpid()));
  fs::create_directories(dir);
  // The scenario file itself: the small one padded with a comment past the limit.
  const std::string big = (dir / "big.toml").string();
  {
    std::string text = SmallText();
    text += "\n# " + std::string(kMaxScenarioBytes, 'x') + "\n";
    std::ofstream(big, std::ios::binary) << text;
  }
  auto s = LoadScenario(big);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, "bad_scenario");
  EXPECT_NE(s.error().message.find(big), std::string::npos) << s.error().message;
  EXPECT_NE(s.error().message.find("larger than 1 MiB"), std::string::npos) << s.error().message;
  // A file that never ends is refused the same way, not read on and on.
  auto zero = LoadScenario("/dev/zero");
  ASSERT_FALSE(zero);
  EXPECT_NE(zero.error().message.find("/dev/zero: the scenario file is larger than 1 MiB"),
            std::string::npos)
      << zero.error().message;
  auto directory = LoadScenario(dir.string());
  ASSERT_FALSE(directory);
  EXPECT_NE(directory.error().message.find("is a directory"), std::string::npos);
  // Exactly at the limit is read.
  {
    const std::string config = (fs::path(BORDERFLOW_SOURCE_DIR) / "config/huu-nghi.toml").string();
    std::string text =
        With("config = \"../../../config/huu-nghi.toml\"", "config = \"" + config + "\"");
    text += "\n#";
    text += std::string(kMaxScenarioBytes - text.size() - 1, 'x') + "\n";
    ASSERT_EQ(text.size(), kMaxScenarioBytes);
    const std::string fits = (dir / "fits.toml").string();
    std::ofstream(fits, std::ios::binary) << text;
    auto ok = LoadScenario(fits);
    EXPECT_TRUE(ok) << ok.error().ToString();
  }
  // A replayed CSV over its limit.
  ReplaySpec spec;
  spec.csv_path = (dir / "counts.csv").string();
  spec.date_column = "Date";
  spec.columns = {"Trucks"};
  {
    std::ofstream out(spec.csv_path, std::ios::binary);
    out << "Date,Trucks\n";
    const std::string row = "2019-06-01,40\n";
    for (size_t n = 0; n <= kMaxScenarioReplayBytes / row.size(); ++n) out << row;
  }
  auto counts = ReadReplay(spec);
  ASSERT_FALSE(counts);
  EXPECT_NE(counts.error().message.find(spec.csv_path + ": the replayed CSV is larger than 64 MiB"),
            std::string::npos)
      << counts.error().message;
  // Arrays of tables: one entry more than the limit.
  struct Case {
    std::string header;
    size_t max;
    std::string body;
  };
  const std::vector<Case> cases = {
      {"link_outages", kMaxLinkOutages, "from_day = 1\nhours = 1\n"},
      {"capacity_events", kMaxCapacityEvents, "kind = \"closure\"\nfrom_day = 1\nhours = 1\n"},
      {"traffic", kMaxTrafficClasses,
       "direction = \"VN-CN\"\nlane_class = \"general_cargo\"\nshare = 1\n"},
  };
  for (const Case& c : cases) {
    // The small scenario has some already: up to one more than the limit.
    std::string text = SmallText();
    const std::string header = "[[" + c.header + "]]";
    size_t count = 0;
    for (size_t at = text.find(header); at != std::string::npos; at = text.find(header, at + 1)) {
      ++count;
    }
    ASSERT_LE(count, c.max);
    for (; count <= c.max; ++count) text += "\n" + header + "\n" + c.body;
    auto refused = ParseScenario(text, kSmall);
    ASSERT_FALSE(refused) << c.header;
    const std::string& m = refused.error().message;
    EXPECT_EQ(refused.error().code, "bad_scenario");
    EXPECT_NE(m.find(kSmall + ":"), std::string::npos) << m;
    EXPECT_NE(m.find(c.header + ": has " + std::to_string(c.max + 1) + " entries, more than the " +
                     std::to_string(c.max)),
              std::string::npos)
        << m;
  }
  fs::remove_all(dir);
}

TEST(Scenario, AProfileOfZerosIsRefused) {
  for (const char* key : {"hourly_profile", "weekday_factors"}) {
    const std::string text = SmallText();
    std::string zeros = std::string(key) + " = [";
    for (int i = 0; i < (std::string_view(key) == "hourly_profile" ? 24 : 7); ++i) {
      zeros += i == 0 ? "0" : ", 0";
    }
    zeros += "]";
    std::string changed = text;
    size_t at = changed.find(std::string(key) + " = ");
    if (at == std::string::npos) {
      changed = With("trucks_per_day = 250", "trucks_per_day = 250\n" + zeros);
    } else {
      changed.replace(at, changed.find('\n', at) - at, zeros);
    }
    auto s = ParseScenario(changed, kSmall);
    ASSERT_FALSE(s) << key;
    EXPECT_NE(s.error().message.find(std::string(key) + ": has no"), std::string::npos)
        << s.error().message;
  }
}

TEST(Scenario, ReplayInTheScenarioDrivesTheDailyRate) {
  const std::string replay =
      "\n[arrivals.replay]\ncsv = \"replay.csv\"\ndate_column = \"Date\"\n"
      "count_columns = [\"North\", \"South\"]\nscale_to_mean = 600\n";
  auto bad = ParseScenario(With("trucks_per_day = 250", "") + replay + "[arrivals.x]\n", kSmall);
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("arrivals.x"), std::string::npos) << bad.error().message;
  auto s = ParseScenario(With("trucks_per_day = 250", "") + replay, kSmall);
  ASSERT_TRUE(s) << s.error().ToString();
  ASSERT_EQ(s->arrivals.replay_per_day.size(), 4u);
  // Day 0 is 150 trucks of a mean of 142.5: 631.6 a day, shaped by the hourly profile (local
  // 12:00 has weight 4 of a mean of 2.625).
  const double noon = 4 / 2.625;
  EXPECT_NEAR(s->arrivals.RatePerHour(0, 0, 12) * 24, 150 * 600 / 142.5 * noon, 1e-6);
  EXPECT_NEAR(s->arrivals.RatePerHour(5, 0, 12) * 24, 80 * 600 / 142.5 * noon,
              1e-6);  // day 1 again
}

TEST(Scenario, BuiltInScenariosParse) {
  int parsed = 0;
  bool replayed = false;
  for (const testing::BuiltInScenario& b : testing::LoadBuiltInScenarios()) {
    ASSERT_TRUE(b.scenario) << b.scenario.error().ToString();
    ++parsed;
    // The real counts it replays are in the repository (data/border_traffic), read here.
    if (b.path.filename() == "replay-cascade.toml") {
      replayed = true;
      EXPECT_EQ(b.scenario->arrivals.replay_per_day.size(), 28u);
    }
  }
  EXPECT_GE(parsed, 5);
  EXPECT_TRUE(replayed) << "scenarios/replay-cascade.toml was not among the built-in scenarios";
}

TEST(Arrivals, FollowTheHourlyProfileAndAreReproducible) {
  auto s = LoadScenario(kSmall);
  ASSERT_TRUE(s);
  s->days = 60;
  auto a = GenerateArrivals(*s, 9);
  auto b = GenerateArrivals(*s, 9);
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) ASSERT_EQ(a[i].at, b[i].at);
  // 250 a day for 60 days: 15,000 expected, Poisson sd 122.
  EXPECT_NEAR(static_cast<double>(a.size()), 15000, 4 * 122);
  // Local 03:00–04:00 has weight 1 and 10:00–11:00 weight 4.
  int night = 0, day = 0, perishable = 0;
  for (const auto& t : a) {
    int local_hour = (static_cast<int>(t.at / 3600)) % 24;  // the run starts at local midnight
    night += local_hour == 3;
    day += local_hour == 10;
    perishable += t.traffic == 0;
    if (t.traffic == 0) {
      EXPECT_GE(t.freshness_hours, 0.5);
    }
  }
  EXPECT_NEAR(day / static_cast<double>(night), 4.0, 0.6);
  EXPECT_NEAR(perishable / static_cast<double>(a.size()), 0.5, 0.02);
  EXPECT_NE(GenerateArrivals(*s, 10).size(), 0u);
}

}  // namespace
}  // namespace borderflow::sim
