#include <algorithm>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <borderflow/domain/gate_config.h>

namespace borderflow {
namespace {

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  EXPECT_TRUE(in.good()) << "cannot open " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string ConfigFile(std::string_view name) {
  return ReadFile(std::string(BORDERFLOW_SOURCE_DIR) + "/config/" + std::string(name));
}

Timestamp At(std::string_view rfc3339) {
  auto t = ParseTimestamp(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t ? *t : Timestamp();
}

// A small valid configuration; tests break one thing at a time with Replace().
constexpr std::string_view kMinimal = R"(
[node]
id = "vn-test"
country = "VN"
name = "Test VN"
utc_offset = "+07:00"
open = "07:00"
close = "23:00"
staging_yard_capacity = 10

[counterpart]
id = "cn-test"
country = "CN"
name = { en = "Test CN", vi = "Thử CN", zh = "测试" }
utc_offset = "+08:00"
peer_url = "https://peer.example/peer/v1"

[[lane_classes]]
id = "general_cargo"
name = "General cargo"

[[lane_classes]]
id = "fresh_produce"
name = "Fresh produce"
perishable = true

[[directions]]
id = "VN-CN"
from = "VN"
to = "CN"
lanes = { general_cargo = 2, fresh_produce = 1 }
)";

// `kMinimal` with the first occurrence of `from` replaced by `to` (which must occur).
std::string Replace(std::string_view from, std::string_view to) {
  std::string text(kMinimal);
  size_t pos = text.find(from);
  EXPECT_NE(pos, std::string::npos) << "'" << from << "' is not in the minimal config";
  if (pos != std::string::npos) text.replace(pos, from.size(), to);
  return text;
}

// Expects `text` to be refused as "invalid_config" naming `field` (in the field and the message).
void ExpectConfigError(const std::string& text, std::string_view field,
                       std::string_view message_part = {}) {
  auto config = ParseGateConfig(text);
  ASSERT_FALSE(config.has_value()) << "accepted:\n" << text;
  EXPECT_EQ(config.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(config.error().code, "invalid_config") << config.error().ToString();
  EXPECT_EQ(config.error().field, field) << config.error().ToString();
  EXPECT_NE(config.error().message.find(field), std::string::npos) << config.error().ToString();
  if (!message_part.empty()) {
    EXPECT_NE(config.error().message.find(message_part), std::string::npos)
        << config.error().ToString();
  }
}

TEST(GateConfigTest, MinimalConfigParses) {
  auto config = ParseGateConfig(kMinimal);
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->self.name.en, "Test VN");  // a plain string names all three languages
  EXPECT_EQ(config->self.name.zh, "Test VN");
  EXPECT_EQ(config->counterpart.name.vi, "Thử CN");
  // Without open/close a side is open all day.
  EXPECT_EQ(config->counterpart.hours.open_minute, 0);
  EXPECT_EQ(config->counterpart.hours.close_minute, 24 * 60);
  EXPECT_EQ(config->declaration_validity, std::chrono::hours(72));  // the default
  EXPECT_EQ(config->staging_yard_capacity, 10);
  EXPECT_EQ(config->FindLaneClass("empty_return"), nullptr);
  EXPECT_EQ(config->FindDirection("CN-VN"), nullptr);
  ASSERT_NE(config->FindDirection("VN-CN"), nullptr);
  EXPECT_EQ(config->FindDirection("VN-CN")->lanes.at("fresh_produce"), 1);
}

TEST(GateConfigTest, HuuNghiConfigParses) {
  auto config = ParseGateConfig(ConfigFile("huu-nghi.toml"));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const GateConfig& c = *config;

  EXPECT_EQ(c.self.node_id, "vn-huu-nghi");
  EXPECT_EQ(c.self.country, "VN");
  EXPECT_EQ(c.self.name.en, "Huu Nghi");
  EXPECT_EQ(c.self.name.vi, "Hữu Nghị");
  EXPECT_EQ(c.self.utc_offset, UtcOffset{420});
  EXPECT_EQ(c.self.hours.open_minute, 7 * 60);
  EXPECT_EQ(c.self.hours.close_minute, 23 * 60);
  EXPECT_EQ(c.staging_yard_capacity, 400);
  EXPECT_EQ(c.declaration_validity, std::chrono::hours(72));

  EXPECT_EQ(c.counterpart.node_id, "cn-youyiguan");
  EXPECT_EQ(c.counterpart.country, "CN");
  EXPECT_EQ(c.counterpart.name.zh, "友谊关");
  EXPECT_EQ(c.counterpart.utc_offset, UtcOffset{480});
  EXPECT_EQ(c.counterpart.hours.open_minute, 8 * 60);
  EXPECT_EQ(c.counterpart.hours.close_minute, 24 * 60);
  EXPECT_EQ(c.counterpart.peer_url, "https://127.0.0.1:8444/peer/v1");

  ASSERT_EQ(c.lane_classes.size(), 3u);
  const LaneClass* general = c.FindLaneClass("general_cargo");
  const LaneClass* fresh = c.FindLaneClass("fresh_produce");
  const LaneClass* empty = c.FindLaneClass("empty_return");
  ASSERT_NE(general, nullptr);
  ASSERT_NE(fresh, nullptr);
  ASSERT_NE(empty, nullptr);
  EXPECT_FALSE(general->perishable);
  EXPECT_FALSE(general->empty);
  EXPECT_TRUE(fresh->perishable);
  EXPECT_FALSE(fresh->empty);
  EXPECT_FALSE(empty->perishable);
  EXPECT_TRUE(empty->empty);
  EXPECT_EQ(fresh->name.vi, "Trái cây tươi");
  EXPECT_EQ(fresh->name.zh, "鲜果");

  ASSERT_EQ(c.directions.size(), 2u);
  const Direction* out = c.FindDirection("VN-CN");
  const Direction* in = c.FindDirection("CN-VN");
  ASSERT_NE(out, nullptr);
  ASSERT_NE(in, nullptr);
  EXPECT_EQ(out->from_country, "VN");
  EXPECT_EQ(out->to_country, "CN");
  EXPECT_EQ(out->lanes, (std::map<std::string, int>{
                            {"general_cargo", 3}, {"fresh_produce", 4}, {"empty_return", 1}}));
  EXPECT_EQ(in->from_country, "CN");
  EXPECT_EQ(in->lanes, (std::map<std::string, int>{
                           {"general_cargo", 3}, {"fresh_produce", 1}, {"empty_return", 2}}));
}

TEST(GateConfigTest, OpenAroundTheClockOpensBothSidesAtNightAndOnHolidays) {
  auto config = ParseGateConfig(ConfigFile("huu-nghi.toml"));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  // 03:00 in Vietnam (20:00 UTC the day before): both sides are closed by their own hours.
  const Timestamp night = *ParseTimestamp("2026-12-01T20:00:00Z");
  EXPECT_FALSE(config->self.IsOpenAt(night));
  EXPECT_FALSE(config->counterpart.IsOpenAt(night));
  config->counterpart.holidays.push_back(20425);  // 2025-12-03, China's local calendar
  const Timestamp holiday_afternoon = *ParseTimestamp("2025-12-03T06:00:00Z");  // 14:00 in China
  EXPECT_FALSE(config->counterpart.IsOpenAt(holiday_afternoon));
  config->OpenAroundTheClock();
  EXPECT_TRUE(config->self.IsOpenAt(night));
  EXPECT_TRUE(config->counterpart.IsOpenAt(night));
  EXPECT_TRUE(config->counterpart.IsOpenAt(holiday_afternoon));
  EXPECT_TRUE(config->counterpart.holidays.empty());
}

TEST(GateConfigTest, YouyiguanConfigParses) {
  auto config = ParseGateConfig(ConfigFile("youyiguan.toml"));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->self.node_id, "cn-youyiguan");
  EXPECT_EQ(config->self.country, "CN");
  EXPECT_EQ(config->self.utc_offset, UtcOffset{480});
  EXPECT_EQ(config->counterpart.node_id, "vn-huu-nghi");
  EXPECT_EQ(config->counterpart.peer_url, "https://127.0.0.1:8443/peer/v1");
  EXPECT_EQ(config->staging_yard_capacity, 600);
  ASSERT_NE(config->FindDirection("VN-CN"), nullptr);
  EXPECT_EQ(config->FindDirection("VN-CN")->lanes.at("fresh_produce"), 6);
}

// The two nodes of the pair must describe each other the same way.
TEST(GateConfigTest, PairConfigsMirrorEachOther) {
  auto vn = ParseGateConfig(ConfigFile("huu-nghi.toml"));
  auto cn = ParseGateConfig(ConfigFile("youyiguan.toml"));
  ASSERT_TRUE(vn.has_value() && cn.has_value());
  auto same_side = [](const GateSide& a, const GateSide& b) {
    EXPECT_EQ(a.node_id, b.node_id);
    EXPECT_EQ(a.country, b.country);
    EXPECT_EQ(a.utc_offset, b.utc_offset);
    EXPECT_EQ(a.hours.open_minute, b.hours.open_minute);
    EXPECT_EQ(a.hours.close_minute, b.hours.close_minute);
    EXPECT_EQ(a.name.en, b.name.en);
  };
  same_side(vn->self, cn->counterpart);
  same_side(cn->self, vn->counterpart);
  ASSERT_EQ(vn->lane_classes.size(), cn->lane_classes.size());
  for (const LaneClass& lc : vn->lane_classes) {
    const LaneClass* other = cn->FindLaneClass(lc.id);
    ASSERT_NE(other, nullptr) << lc.id;
    EXPECT_EQ(other->perishable, lc.perishable) << lc.id;
    EXPECT_EQ(other->empty, lc.empty) << lc.id;
  }
}

TEST(GateConfigTest, TomlSyntaxErrorGivesLineAndColumn) {
  // Line 1 is empty (kMinimal starts with a newline); the broken value is on line 3.
  std::string text = Replace("id = \"vn-test\"", "id = \"vn-test");
  auto config = ParseGateConfig(text);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, "invalid_config");
  EXPECT_NE(config.error().message.find("line 3, column "), std::string::npos)
      << config.error().message;

  auto bad = ParseGateConfig("[node]\nid = \"x\"\ncountry = = \"VN\"\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, "invalid_config");
  EXPECT_NE(bad.error().message.find("line 3, column 11"), std::string::npos)
      << bad.error().message;

  auto dup_key = ParseGateConfig("[node]\nid = \"a\"\nid = \"b\"\n");
  ASSERT_FALSE(dup_key.has_value());
  EXPECT_NE(dup_key.error().message.find("line 3, column "), std::string::npos)
      << dup_key.error().message;
}

TEST(GateConfigTest, MissingSections) {
  ExpectConfigError("", "node", "section is required");
  ExpectConfigError(Replace("[counterpart]", "[peer]"), "counterpart", "section is required");
  ExpectConfigError(Replace("[node]", "[self]"), "node", "section is required");

  std::string no_classes(kMinimal);
  for (size_t pos; (pos = no_classes.find("[[lane_classes]]")) != std::string::npos;) {
    no_classes.replace(pos, 16, "[[lane_kinds]]");
  }
  ExpectConfigError(no_classes, "lane_classes");

  // More lane classes than a capacity announcement can name.
  std::string many_classes(kMinimal);
  std::string extra;
  for (size_t i = 0; i < kMaxLaneClasses; ++i) {
    extra += "[[lane_classes]]\nid = \"extra_" + std::to_string(i) + "\"\nname = \"Extra\"\n\n";
  }
  many_classes.insert(many_classes.find("[[lane_classes]]"), extra);
  ExpectConfigError(many_classes, "lane_classes", "at most 64");

  std::string no_directions = Replace("[[directions]]", "[[routes]]");
  ExpectConfigError(no_directions, "directions");

  ExpectConfigError(Replace("staging_yard_capacity = 10\n", ""), "node.staging_yard_capacity");
  ExpectConfigError(Replace("lanes = { general_cargo = 2, fresh_produce = 1 }", ""),
                    "directions[0].lanes");
}

TEST(GateConfigTest, MissingOrBadKeys) {
  ExpectConfigError(Replace("id = \"vn-test\"\n", ""), "node.id");
  ExpectConfigError(Replace("country = \"VN\"", "country = \"Vietnam\""), "node.country");
  ExpectConfigError(Replace("country = \"VN\"", "country = \"vn\""), "node.country");
  ExpectConfigError(Replace("name = \"Test VN\"\n", ""), "node.name");
  ExpectConfigError(Replace("name = \"Test VN\"", "name = 5"), "node.name");
  ExpectConfigError(Replace("zh = \"测试\"", "cn = \"测试\""), "counterpart.name.zh");
  ExpectConfigError(Replace("id = \"cn-test\"", "id = \"vn-test\""), "counterpart.id",
                    "must differ");
  ExpectConfigError(Replace("open = \"07:00\"", "open = \"25:00\""), "node.open");
  ExpectConfigError(Replace("close = \"23:00\"", "close = \"11pm\""), "node.close");
  ExpectConfigError(Replace("staging_yard_capacity = 10", "staging_yard_capacity = -1"),
                    "node.staging_yard_capacity");
  ExpectConfigError(Replace("staging_yard_capacity = 10",
                            "staging_yard_capacity = 10\n"
                            "declaration_validity_hours = 0"),
                    "node.declaration_validity_hours");
  ExpectConfigError(Replace("general_cargo = 2", "general_cargo = 101"),
                    "directions[0].lanes.general_cargo");
  ExpectConfigError(Replace("general_cargo = 2", "general_cargo = \"two\""),
                    "directions[0].lanes.general_cargo");
}

TEST(GateConfigTest, DeclarationValidityIsRead) {
  auto config = ParseGateConfig(Replace(
      "staging_yard_capacity = 10", "staging_yard_capacity = 10\ndeclaration_validity_hours = 24"));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->declaration_validity, std::chrono::hours(24));
}

TEST(GateConfigTest, CurrencyRatesAreReadAndChecked) {
  auto none = ParseGateConfig(kMinimal);
  ASSERT_TRUE(none.has_value()) << none.error().ToString();
  EXPECT_TRUE(none->rules.usd_per_unit.empty());
  auto config = ParseGateConfig(std::string(kMinimal) +
                                "\n[rules]\nusd_per_unit = { CNY = 0.14, VND = 0.0000394 }\n");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->rules.usd_per_unit.size(), 2u);
  EXPECT_DOUBLE_EQ(config->rules.usd_per_unit.at("CNY"), 0.14);
  EXPECT_DOUBLE_EQ(config->rules.usd_per_unit.at("VND"), 0.0000394);
  for (const char* bad : {"ZZZ = 1.0", "USD = 1.0", "cny = 0.14", "CNY = 0", "CNY = -0.1",
                          "CNY = \"0.14\"", "CNY = nan"}) {
    SCOPED_TRACE(bad);
    auto parsed =
        ParseGateConfig(std::string(kMinimal) + "\n[rules]\nusd_per_unit = { " + bad + " }\n");
    ASSERT_FALSE(parsed.has_value());
    EXPECT_EQ(parsed.error().field.rfind("rules.usd_per_unit.", 0), 0u)
        << parsed.error().ToString();
  }
  auto not_table = ParseGateConfig(std::string(kMinimal) + "\n[rules]\nusd_per_unit = 0.14\n");
  ASSERT_FALSE(not_table.has_value());
  EXPECT_EQ(not_table.error().field, "rules.usd_per_unit");
  // The shipped configurations carry rates for both sides' currencies.
  for (const char* file : {"huu-nghi.toml", "youyiguan.toml"}) {
    auto shipped = ParseGateConfig(ConfigFile(file));
    ASSERT_TRUE(shipped.has_value()) << file << ": " << shipped.error().ToString();
    EXPECT_TRUE(shipped->rules.usd_per_unit.contains("CNY")) << file;
    EXPECT_TRUE(shipped->rules.usd_per_unit.contains("VND")) << file;
  }
}

TEST(GateConfigTest, BadUtcOffset) {
  ExpectConfigError(Replace("utc_offset = \"+08:00\"", "utc_offset = \"+25:00\""),
                    "counterpart.utc_offset");
  ExpectConfigError(Replace("utc_offset = \"+07:00\"", "utc_offset = \"07:00\""),
                    "node.utc_offset");
  ExpectConfigError(Replace("utc_offset = \"+07:00\"", "utc_offset = \"Asia/Hanoi\""),
                    "node.utc_offset");
  ExpectConfigError(Replace("utc_offset = \"+07:00\"", "utc_offset = 7"), "node.utc_offset");
  ExpectConfigError(Replace("utc_offset = \"+07:00\"\n", ""), "node.utc_offset");

  // The documented alternative spellings are accepted.
  for (std::string_view spelling : {"+0700", "UTC+7"}) {
    auto config = ParseGateConfig(
        Replace("utc_offset = \"+07:00\"", "utc_offset = \"" + std::string(spelling) + "\""));
    ASSERT_TRUE(config.has_value()) << spelling << ": " << config.error().ToString();
    EXPECT_EQ(config->self.utc_offset, UtcOffset{420}) << spelling;
  }
}

TEST(GateConfigTest, DuplicateLaneClass) {
  ExpectConfigError(Replace("id = \"fresh_produce\"", "id = \"general_cargo\""),
                    "lane_classes[1].id", "duplicate lane class 'general_cargo'");
}

TEST(GateConfigTest, UnknownLaneClassInLanes) {
  ExpectConfigError(Replace("fresh_produce = 1 }", "fresh_produce = 1, bulk = 2 }"),
                    "directions[0].lanes.bulk", "is not a lane class");
}

TEST(GateConfigTest, DuplicateDirection) {
  std::string text(kMinimal);
  text += "\n[[directions]]\nid = \"VN-CN\"\nfrom = \"VN\"\nto = \"CN\"\nlanes = {}\n";
  ExpectConfigError(text, "directions[1].id", "duplicate direction 'VN-CN'");
}

TEST(GateConfigTest, DirectionCountriesMustBeThePair) {
  ExpectConfigError(Replace("to = \"CN\"", "to = \"LA\""), "directions[0]",
                    "the two countries of the pair");
  ExpectConfigError(Replace("from = \"VN\"", "from = \"LA\""), "directions[0]");
  ExpectConfigError(Replace("to = \"CN\"", "to = \"VN\""), "directions[0]");
  ExpectConfigError(Replace("to = \"CN\"\n", ""), "directions[0].to");
}

// A side with the given hours at the given offset.
GateSide Side(int offset_minutes, int open, int close) {
  GateSide side;
  side.utc_offset = UtcOffset{offset_minutes};
  side.hours = OperatingHours{open, close};
  return side;
}

TEST(GateSideTest, IsOpenAtUsesLocalTime) {
  GateSide vn = Side(7 * 60, 7 * 60, 23 * 60);            // Vietnam, 07:00-23:00
  EXPECT_FALSE(vn.IsOpenAt(At("2026-11-29T23:30:00Z")));  // 06:30 local on the 30th
  EXPECT_TRUE(vn.IsOpenAt(At("2026-11-30T00:30:00Z")));   // 07:30 local
  EXPECT_TRUE(vn.IsOpenAt(At("2026-11-30T00:00:00Z")));   // 07:00 local: opening is inclusive
  EXPECT_FALSE(vn.IsOpenAt(At("2026-11-29T23:59:59.999Z")));
  EXPECT_TRUE(vn.IsOpenAt(At("2026-11-30T15:59:00Z")));   // 22:59 local
  EXPECT_FALSE(vn.IsOpenAt(At("2026-11-30T16:00:00Z")));  // 23:00 local: closing is exclusive
  EXPECT_FALSE(vn.IsOpenAt(At("2026-11-30T17:00:00Z")));  // 00:00 local on the 1st
  // The same hours read as UTC would give the opposite answer: 22:30 UTC is 05:30 in Vietnam.
  GateSide utc = Side(0, 7 * 60, 23 * 60);
  EXPECT_TRUE(utc.IsOpenAt(At("2026-11-29T22:30:00Z")));
  EXPECT_FALSE(vn.IsOpenAt(At("2026-11-29T22:30:00Z")));
}

TEST(GateSideTest, ChinaSideFromConfig) {
  auto config = ParseGateConfig(ConfigFile("huu-nghi.toml"));
  ASSERT_TRUE(config.has_value());
  const GateSide& cn = config->counterpart;               // 08:00-24:00 at UTC+8
  EXPECT_FALSE(cn.IsOpenAt(At("2026-11-29T23:30:00Z")));  // 07:30 local
  EXPECT_TRUE(cn.IsOpenAt(At("2026-11-30T00:00:00Z")));   // 08:00 local
  EXPECT_TRUE(cn.IsOpenAt(At("2026-11-30T15:58:00Z")));   // 23:58 local
  EXPECT_TRUE(cn.IsOpenAt(At("2026-11-30T15:59:00Z")));   // 23:59 local
  EXPECT_FALSE(cn.IsOpenAt(At("2026-11-30T16:00:00Z")));  // 00:00 local: closed until 08:00
  // At 07:30 Vietnam time the Vietnamese side is open and the Chinese side is not yet.
  EXPECT_TRUE(config->self.IsOpenAt(At("2026-11-30T00:30:00Z")));
  EXPECT_FALSE(cn.IsOpenAt(At("2026-11-29T23:45:00Z")));
}

TEST(GateSideTest, OpenOverMidnight) {
  GateSide night = Side(7 * 60, 22 * 60, 6 * 60);            // 22:00-06:00 at UTC+7
  EXPECT_TRUE(night.IsOpenAt(At("2026-11-29T15:00:00Z")));   // 22:00 local
  EXPECT_TRUE(night.IsOpenAt(At("2026-11-29T16:30:00Z")));   // 23:30 local
  EXPECT_TRUE(night.IsOpenAt(At("2026-11-29T17:00:00Z")));   // 00:00 local
  EXPECT_TRUE(night.IsOpenAt(At("2026-11-29T22:59:00Z")));   // 05:59 local
  EXPECT_FALSE(night.IsOpenAt(At("2026-11-29T23:00:00Z")));  // 06:00 local
  EXPECT_FALSE(night.IsOpenAt(At("2026-11-29T23:30:00Z")));  // 06:30 local
  EXPECT_FALSE(night.IsOpenAt(At("2026-11-29T05:00:00Z")));  // 12:00 local
  EXPECT_FALSE(night.IsOpenAt(At("2026-11-29T14:59:00Z")));  // 21:59 local

  auto config = ParseGateConfig(
      Replace("open = \"07:00\"\nclose = \"23:00\"", "open = \"22:00\"\nclose = \"06:00\""));
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_TRUE(config->self.IsOpenAt(At("2026-11-29T22:30:00Z")));   // 05:30 local
  EXPECT_FALSE(config->self.IsOpenAt(At("2026-11-29T23:30:00Z")));  // 06:30 local
}

TEST(GateSideTest, AllDayClosedAndNegativeOffsets) {
  GateSide all_day = Side(7 * 60, 0, 24 * 60);
  GateSide closed = Side(7 * 60, 9 * 60, 9 * 60);  // open == close means closed
  for (std::string_view t : {"2026-11-29T00:00:00Z", "2026-11-29T02:00:00Z", "2026-11-29T16:59:59Z",
                             "2026-11-29T17:00:00Z"}) {
    EXPECT_TRUE(all_day.IsOpenAt(At(t))) << t;
    EXPECT_FALSE(closed.IsOpenAt(At(t))) << t;
  }
  GateSide west = Side(-5 * 60, 7 * 60, 23 * 60);           // UTC-5
  EXPECT_TRUE(west.IsOpenAt(At("2026-11-30T03:30:00Z")));   // 22:30 local on the 29th
  EXPECT_TRUE(west.IsOpenAt(At("2026-11-30T03:59:00Z")));   // 22:59 local
  EXPECT_FALSE(west.IsOpenAt(At("2026-11-30T04:00:00Z")));  // 23:00 local
  EXPECT_FALSE(west.IsOpenAt(At("1969-12-31T11:00:00Z")));  // 06:00 local, before the epoch
  EXPECT_TRUE(west.IsOpenAt(At("1969-12-31T13:00:00Z")));   // 08:00 local, before the epoch
}

// --- [link] and pinned counterpart keys ------------------------------------------------------

constexpr std::string_view kLink = R"(
[[counterpart.keys]]
id = "ed25519:00112233aabbccdd"
public_key = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="
not_after = "2027-03-01T00:00:00Z"

[[counterpart.keys]]
id = "ed25519:99887766aabbccdd"
public_key = "HxwdHh8AAQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo="
not_before = "2027-02-01T00:00:00Z"

[link]
key_file = "keys/vn.key"
listen = "127.0.0.1:0"
recognise_inspections = "never"
max_clock_skew_seconds = 60
announce_hours = 12
)";

std::string WithLink(std::string_view from = {}, std::string_view to = {}) {
  std::string text = std::string(kMinimal);
  // The keys belong to [counterpart]: insert them before [[lane_classes]].
  std::string link(kLink);
  size_t split = link.find("[link]");
  text.insert(text.find("[[lane_classes]]"), link.substr(0, split));
  text += link.substr(split);
  if (!from.empty()) {
    size_t pos = text.find(from);
    EXPECT_NE(pos, std::string::npos) << from;
    if (pos != std::string::npos) text.replace(pos, from.size(), to);
  }
  return text;
}

TEST(GateConfigTest, LinkIsOffWithoutTheSection) {
  auto config = ParseGateConfig(kMinimal);
  ASSERT_TRUE(config.has_value());
  EXPECT_FALSE(config->link.enabled);
  EXPECT_TRUE(config->counterpart.keys.empty());
}

TEST(GateConfigTest, LinkAndPinnedKeysParse) {
  auto config = ParseGateConfig(WithLink());
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  const LinkSettings& l = config->link;
  EXPECT_TRUE(l.enabled);
  EXPECT_EQ(l.key_file, "keys/vn.key");
  EXPECT_EQ(l.listen, "127.0.0.1:0");
  EXPECT_EQ(l.recognise_inspections, "never");
  EXPECT_EQ(l.max_clock_skew, std::chrono::seconds(60));
  EXPECT_EQ(l.max_message_age, std::chrono::hours(24 * 7));  // default
  EXPECT_EQ(l.announce_hours, 12);
  EXPECT_EQ(l.batch_size, 256);
  EXPECT_EQ(l.peer_rate_per_second, 20);  // defaults
  EXPECT_EQ(l.peer_rate_burst, 60);
  ASSERT_EQ(config->counterpart.keys.size(), 2u);
  EXPECT_EQ(config->counterpart.keys[0].id, "ed25519:00112233aabbccdd");
  EXPECT_FALSE(config->counterpart.keys[0].not_before.has_value());
  EXPECT_EQ(FormatUtc(*config->counterpart.keys[0].not_after), "2027-03-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtc(*config->counterpart.keys[1].not_before), "2027-02-01T00:00:00.000Z");
}

TEST(GateConfigTest, LinkErrorsNameTheKey) {
  ExpectConfigError(WithLink("announce_hours = 12", "announce_hour = 12"), "link.announce_hour",
                    "not a known key");
  ExpectConfigError(WithLink("key_file = \"keys/vn.key\"", ""), "link.key_file");
  ExpectConfigError(WithLink("\"never\"", "\"sometimes\""), "link.recognise_inspections");
  ExpectConfigError(WithLink("max_clock_skew_seconds = 60", "max_clock_skew_seconds = 0"),
                    "link.max_clock_skew_seconds");
  ExpectConfigError(WithLink("announce_hours = 12", "peer_rate_burst = 0"), "link.peer_rate_burst");
  auto limited = ParseGateConfig(
      WithLink("announce_hours = 12", "peer_rate_per_second = 0\npeer_rate_burst = 5"));
  ASSERT_TRUE(limited.has_value()) << limited.error().ToString();
  EXPECT_EQ(limited->link.peer_rate_per_second, 0);
  EXPECT_EQ(limited->link.peer_rate_burst, 5);
  ExpectConfigError(WithLink("not_after = \"2027-03-01T00:00:00Z\"", "not_after = \"tomorrow\""),
                    "counterpart.keys[0].not_after");
  ExpectConfigError(
      WithLink("not_after = \"2027-03-01T00:00:00Z\"",
               "not_before = \"2027-03-01T00:00:00Z\"\nnot_after = \"2027-01-01T00:00:00Z\""),
      "counterpart.keys[0].not_after", "after not_before");
  ExpectConfigError(WithLink("id = \"ed25519:99887766aabbccdd\"\n", ""), "counterpart.keys[1].id");
  // The link needs the counterpart's address and at least one pinned key.
  std::string no_keys = std::string(kMinimal) + "\n[link]\nkey_file = \"k\"\n";
  ExpectConfigError(no_keys, "counterpart.keys");
  ExpectConfigError(WithLink("peer_url = \"https://peer.example/peer/v1\"", ""),
                    "counterpart.peer_url");
}

TEST(GateConfigTest, TheLinkRefusesAPlainHttpPeerUrl) {
  // Personal data crosses the border on the link: plain http was accepted, and peer_ca_file
  // silently ignored. Refused naming the line and the key.
  std::string plain = WithLink("peer_url = \"https://peer.example/peer/v1\"",
                               "peer_url = \"http://peer.example/peer/v1\"");
  ExpectConfigError(plain, "counterpart.peer_url", "https://");
  auto config = ParseGateConfig(plain);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().message.rfind("line 16: counterpart.peer_url: ", 0), 0u)
      << config.error().message;
  ExpectConfigError(WithLink("peer_url = \"https://peer.example/peer/v1\"",
                             "peer_url = \"peer.example:8443/peer/v1\""),
                    "counterpart.peer_url", "https://");
  // The scheme is case-insensitive.
  EXPECT_TRUE(ParseGateConfig(WithLink("peer_url = \"https://peer.example/peer/v1\"",
                                       "peer_url = \"HTTPS://peer.example/peer/v1\""))
                  .has_value());
  // Without [link] the address is not used, and nothing is refused.
  EXPECT_TRUE(ParseGateConfig(Replace("peer_url = \"https://peer.example/peer/v1\"",
                                      "peer_url = \"http://peer.example/peer/v1\""))
                  .has_value());
}

// --- Strict keys: types, unknown keys, lines -------------------------------------------------

// Expects `text` refused naming `field` at `line`: "line <line>: <field>: ...<message_part>...".
void ExpectConfigErrorAt(const std::string& text, std::string_view field, int line,
                         std::string_view message_part) {
  ExpectConfigError(text, field, message_part);
  auto config = ParseGateConfig(text);
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().message.rfind(
                "line " + std::to_string(line) + ": " + std::string(field) + ": ", 0),
            0u)
      << config.error().message;
}

// The line of the first `needle` in `text` (1-based).
int LineOf(const std::string& text, std::string_view needle) {
  size_t at = text.find(needle);
  EXPECT_NE(at, std::string::npos) << needle;
  return 1 + static_cast<int>(
                 std::count(text.begin(), text.begin() + static_cast<ptrdiff_t>(at), '\n'));
}

// `kMinimal` with `line` added after the line that is exactly `after`.
std::string WithLineAfter(std::string_view after, std::string_view line) {
  return Replace(std::string(after) + "\n", std::string(after) + "\n" + std::string(line) + "\n");
}

TEST(GateConfigTest, WrongTypesAreRefusedNamingTheExpectedType) {
  // A string "true" used to read as false: fresh produce without freshness deadlines.
  ExpectConfigErrorAt(Replace("perishable = true", "perishable = \"true\""),
                      "lane_classes[1].perishable", 25, "must be true or false, not a string");
  ExpectConfigErrorAt(WithLineAfter("name = \"General cargo\"", "empty = 1"),
                      "lane_classes[0].empty", 21, "must be true or false, not an integer");
  // These used to become the default of 72 hours.
  ExpectConfigErrorAt(
      WithLineAfter("staging_yard_capacity = 10", "declaration_validity_hours = \"48\""),
      "node.declaration_validity_hours", 10, "must be an integer from 1 to 720, not a string");
  ExpectConfigErrorAt(
      WithLineAfter("staging_yard_capacity = 10", "declaration_validity_hours = 48.5"),
      "node.declaration_validity_hours", 10, "not a floating-point number");
  ExpectConfigErrorAt(
      WithLineAfter("staging_yard_capacity = 10", "declaration_validity_hours = 48.0"),
      "node.declaration_validity_hours", 10, "not a floating-point number");
  // These used to say "is required, 0 to 100000" and "'' is not a time of day".
  ExpectConfigErrorAt(Replace("staging_yard_capacity = 10", "staging_yard_capacity = \"lots\""),
                      "node.staging_yard_capacity", 9,
                      "must be an integer from 0 to 100000, not a string");
  ExpectConfigErrorAt(Replace("open = \"07:00\"", "open = 7"), "node.open", 7,
                      "must be a local time of day \"HH:MM\" (a string), not an integer");
  ExpectConfigErrorAt(Replace("open = \"07:00\"", "open = 07:00:00"), "node.open", 7, "not a time");
  ExpectConfigErrorAt(Replace("general_cargo = 2", "general_cargo = 2.0"),
                      "directions[0].lanes.general_cargo", 31, "not a floating-point number");
  ExpectConfigErrorAt(Replace("peer_url = \"https://peer.example/peer/v1\"", "peer_url = 443"),
                      "counterpart.peer_url", 16, "must be a string, not an integer");
  ExpectConfigErrorAt(Replace("lanes = { general_cargo = 2, fresh_produce = 1 }", "lanes = 3"),
                      "directions[0].lanes", 31, "must be a table, not an integer");
  std::string queue = std::string(kMinimal) + "\n[queue]\n";  // [queue] is line 33
  ExpectConfigErrorAt(queue + "bucket_minutes = 15.0\n", "queue.bucket_minutes", 34,
                      "must be an integer from 5 to 60, not a floating-point number");
  ExpectConfigErrorAt(queue + "auto_call = \"no\"\n", "queue.auto_call", 34,
                      "must be true or false, not a string");
  ExpectConfigErrorAt(queue + "policy = 1\n", "queue.policy", 34, "must be a string");
  ExpectConfigErrorAt(queue + "trusted_traders = \"COMPANY-A\"\n", "queue.trusted_traders", 34,
                      "must be an array, not a string");
  ExpectConfigErrorAt(queue + "trusted_traders = [\"A\", 7]\n", "queue.trusted_traders[1]", 34,
                      "not an integer");
  ExpectConfigErrorAt(queue + "cyclic_weights = { regular = true }\n",
                      "queue.cyclic_weights.regular", 34, "not a boolean");
  ExpectConfigErrorAt(std::string(kMinimal) + "\n[rules]\nred_per_day = \"10\"\n",
                      "rules.red_per_day", 34, "not a string");
  // A key at the top: after [[directions]] it would be a (refused) key of the direction.
  ExpectConfigErrorAt("queue = 5\n" + std::string(kMinimal), "queue", 1,
                      "must be a table, not an integer");
  ExpectConfigErrorAt(std::string(kMinimal) + "queue = 5\n", "directions[0].queue", 32,
                      "is not a known key");
  std::string listen = WithLink("listen = \"127.0.0.1:0\"", "listen = 8443");
  ExpectConfigErrorAt(listen, "link.listen", LineOf(listen, "listen = 8443"),
                      "must be a string, not an integer");
  // The right types still parse.
  auto config = ParseGateConfig(queue + "bucket_minutes = 30\nauto_call = false\n");
  ASSERT_TRUE(config.has_value()) << config.error().ToString();
  EXPECT_EQ(config->queue.bucket, std::chrono::minutes(30));
  EXPECT_FALSE(config->queue.auto_call);
}

TEST(GateConfigTest, UnknownKeysAndTablesAreRefused) {
  ExpectConfigErrorAt(WithLineAfter("staging_yard_capacity = 10", "staging_yard_capcity = 5"),
                      "node.staging_yard_capcity", 10,
                      "is not a known key (did you mean staging_yard_capacity?)");
  // A misspelled table used to drop the whole [queue] to its defaults.
  ExpectConfigErrorAt(std::string(kMinimal) + "\n[queu]\nbucket_minutes = 30\n", "queu", 33,
                      "is not a known table (did you mean queue?)");
  ExpectConfigErrorAt(std::string(kMinimal) + "\n[queue]\nbucket_minute = 30\n",
                      "queue.bucket_minute", 34, "(did you mean bucket_minutes?)");
  ExpectConfigErrorAt(std::string(kMinimal) + "\n[rules]\nred_per_days = 3\n", "rules.red_per_days",
                      34, "(did you mean red_per_day?)");
  ExpectConfigErrorAt(
      WithLineAfter("peer_url = \"https://peer.example/peer/v1\"", "staging_yard_capacity = 5"),
      "counterpart.staging_yard_capacity", 17, "is not a known key");
  ExpectConfigErrorAt(Replace("perishable = true", "perishible = true"),
                      "lane_classes[1].perishible", 25, "(did you mean perishable?)");
  ExpectConfigErrorAt(WithLineAfter("to = \"CN\"", "lane = 3"), "directions[0].lane", 31,
                      "(did you mean lanes?)");
  ExpectConfigErrorAt(Replace("zh = \"测试\"", "zh = \"测试\", ko = \"x\""), "counterpart.name.ko",
                      14, "is not a known key");
  ExpectConfigErrorAt(Replace("fresh_produce = 1 }", "fresh_produc = 1 }"),
                      "directions[0].lanes.fresh_produc", 31,
                      "is not a lane class (did you mean fresh_produce?)");
  std::string key = WithLink("not_after = \"2027-03-01T00:00:00Z\"", "not_afer = \"x\"");
  ExpectConfigErrorAt(key, "counterpart.keys[0].not_afer", LineOf(key, "not_afer"),
                      "(did you mean not_after?)");
  // Nothing close: the keys the table knows.
  auto far = ParseGateConfig(std::string(kMinimal) + "\n[weather]\nrain = 1\n");
  ASSERT_FALSE(far.has_value());
  EXPECT_EQ(far.error().message,
            "line 33: weather: is not a known table (known: node, counterpart, lane_classes, "
            "directions, queue, rules, link)");
}

TEST(GateConfigTest, ErrorsNameTheFileTheLineAndTheKey) {
  auto config =
      ParseGateConfig(Replace("fresh_produce = 1 }", "fresh_produc = 1 }"), "huu-nghi.toml");
  ASSERT_FALSE(config.has_value());
  EXPECT_EQ(config.error().code, "invalid_config");
  EXPECT_EQ(config.error().field, "directions[0].lanes.fresh_produc");
  EXPECT_EQ(config.error().message,
            "huu-nghi.toml:31: directions[0].lanes.fresh_produc: is not a lane class (did you "
            "mean fresh_produce?)");
  // A missing key is reported at its table's line.
  auto missing = ParseGateConfig(Replace("utc_offset = \"+08:00\"\n", ""), "cn.toml");
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().message.rfind("cn.toml:11: counterpart.utc_offset: ", 0), 0u)
      << missing.error().message;
  auto syntax = ParseGateConfig("[node]\nid = \"x\"\ncountry = = \"VN\"\n", "vn.toml");
  ASSERT_FALSE(syntax.has_value());
  EXPECT_EQ(syntax.error().message.rfind("vn.toml:3:11: TOML syntax error at line 3, column 11", 0),
            0u)
      << syntax.error().message;
}

// Every configuration shipped or used by the tests and scenarios still loads, unchanged.
TEST(GateConfigTest, ShippedConfigsAreStrictlyValid) {
  for (const char* file : {"huu-nghi.toml", "youyiguan.toml"}) {
    auto config = ParseGateConfig(ConfigFile(file), file);
    ASSERT_TRUE(config.has_value()) << config.error().ToString();
  }
  for (const char* file : {"huu-nghi.toml", "youyiguan.toml", "minimal_overnight.toml"}) {
    auto config = ParseGateConfig(
        ReadFile(std::string(BORDERFLOW_SOURCE_DIR) + "/fuzz/corpus/gate_config/" + file), file);
    EXPECT_TRUE(config.has_value()) << config.error().ToString();
  }
}

}  // namespace
}  // namespace borderflow
