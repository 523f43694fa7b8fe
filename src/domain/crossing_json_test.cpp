#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/domain/gate_config.h>

namespace borderflow {
namespace {

namespace json = boost::json;

const HsNomenclature& Hs() {
  static const std::shared_ptr<const HsNomenclature> hs = HsNomenclature::Hs2022();
  return *hs;
}

Timestamp At(std::string_view rfc3339) {
  auto t = ParseTimestamp(rfc3339);
  EXPECT_TRUE(t.has_value()) << rfc3339;
  return t ? *t : Timestamp();
}

GateConfig HuuNghi() {
  std::ifstream in(std::string(BORDERFLOW_SOURCE_DIR) + "/config/huu-nghi.toml");
  std::ostringstream text;
  text << in.rdbuf();
  auto config = ParseGateConfig(text.str());
  EXPECT_TRUE(config.has_value()) << config.error().ToString();
  return config ? *config : GateConfig{};
}

// 08:00 in Lang Son on 29 November 2026.
const Timestamp kNow = At("2026-11-29T01:00:00Z");

// A complete, valid fresh-produce declaration (durian and dragon fruit to China).
json::object ValidBody() {
  auto v = ParseJson(R"({
    "direction": "VN-CN",
    "lane_class": "fresh_produce",
    "vehicle": {
      "plate": "12C-123.45",
      "trailer_plate": "12R-012.34",
      "container_number": "CSQU 305438 3",
      "seal_number": "VN-SEAL-0042"
    },
    "driver": {
      "name": "Nguyễn Văn An",
      "document_number": "B1234567",
      "nationality": "VN",
      "phone": "+84 912 345 678"
    },
    "lines": [
      {
        "hs_code": "081060",
        "description": "Fresh durian",
        "packages": 1200,
        "gross_weight_kg": 18500.5,
        "value": {"amount": "42000.50", "currency": "USD"},
        "origin_country": "VN"
      },
      {
        "hs_code": "0810.90",
        "description": "Dragon fruit",
        "packages": 300,
        "gross_weight_kg": 4000,
        "value": {"amount": 1500, "currency": "USD"},
        "origin_country": "VN"
      }
    ],
    "freshness_deadline": "2026-12-01T12:00:00+07:00",
    "declaration_valid_until": "2026-12-02T00:00:00Z",
    "documents": {
      "customs_declaration": "305123456789",
      "phytosanitary_certificate": "VN-EPHYTO-2026-001",
      "certificate_of_origin": "E-2026-VN-0001"
    }
  })");
  EXPECT_TRUE(v.has_value());
  return v ? v->as_object() : json::object();
}

json::value Repeat(size_t n, char c) { return json::value(json::string(n, c)); }

json::object& Obj(json::object& o, std::string_view key) { return o.at(key).as_object(); }
json::object& Line(json::object& o, size_t i) { return o.at("lines").as_array().at(i).as_object(); }

Declaration MustDecode(const json::value& body) {
  auto d = DecodeDeclaration(body, Hs());
  EXPECT_TRUE(d.has_value()) << d.error().ToString();
  return d ? *d : Declaration{};
}

TEST(DecodeDeclarationTest, FullValidDeclaration) {
  Declaration d = MustDecode(ValidBody());
  EXPECT_EQ(d.direction, "VN-CN");
  EXPECT_EQ(d.lane_class, "fresh_produce");
  EXPECT_EQ(d.vehicle.plate.country, PlateCountry::kVietnam);
  EXPECT_EQ(d.vehicle.plate.canonical, "12C12345");
  EXPECT_EQ(d.vehicle.plate.display, "12C-123.45");
  ASSERT_TRUE(d.vehicle.trailer_plate.has_value());
  EXPECT_TRUE(d.vehicle.trailer_plate->trailer);
  EXPECT_EQ(d.vehicle.trailer_plate->display, "12R-012.34");
  EXPECT_EQ(d.vehicle.container_number, "CSQU3054383");
  EXPECT_EQ(d.vehicle.seal_number, "VN-SEAL-0042");
  EXPECT_EQ(d.driver.name, "Nguyễn Văn An");
  EXPECT_EQ(d.driver.document_number, "B1234567");
  EXPECT_EQ(d.driver.nationality, "VN");
  EXPECT_EQ(d.driver.phone, "+84 912 345 678");

  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.lines[0].hs.code, "081060");
  EXPECT_EQ(d.lines[0].hs.subheading, "081060");
  EXPECT_EQ(d.lines[0].hs.chapter, "08");
  EXPECT_FALSE(d.lines[0].hs.description.empty());
  EXPECT_EQ(d.lines[0].description, "Fresh durian");
  EXPECT_EQ(d.lines[0].packages, 1200);
  EXPECT_EQ(d.lines[0].gross_weight_grams, 18'500'500);
  EXPECT_EQ(d.lines[0].value, (Money{4'200'050, "USD"}));
  EXPECT_EQ(d.lines[0].origin_country, "VN");
  EXPECT_EQ(d.lines[1].hs.code, "081090");  // "0810.90": separators dropped
  EXPECT_EQ(d.lines[1].gross_weight_grams, 4'000'000);
  EXPECT_EQ(d.lines[1].value, (Money{150'000, "USD"}));

  ASSERT_TRUE(d.freshness_deadline.has_value());
  EXPECT_EQ(*d.freshness_deadline, At("2026-12-01T05:00:00Z"));
  EXPECT_EQ(d.declaration_valid_until, At("2026-12-02T00:00:00Z"));
  EXPECT_EQ(d.documents.customs_declaration, "305123456789");
  EXPECT_EQ(d.documents.phytosanitary_certificate, "VN-EPHYTO-2026-001");
  EXPECT_EQ(d.documents.certificate_of_origin, "E-2026-VN-0001");
}

// The pre-arrival notice carries EncodeDeclaration's body; the counterpart decodes it.
TEST(EncodeDeclarationTest, RoundTripsThroughDecode) {
  Declaration d = MustDecode(ValidBody());
  json::object body = EncodeDeclaration(d);
  Declaration again = MustDecode(body);
  EXPECT_EQ(again.direction, d.direction);
  EXPECT_EQ(again.lane_class, d.lane_class);
  EXPECT_EQ(again.vehicle.plate, d.vehicle.plate);
  EXPECT_EQ(again.vehicle.trailer_plate, d.vehicle.trailer_plate);
  EXPECT_EQ(again.vehicle.container_number, d.vehicle.container_number);
  EXPECT_EQ(again.vehicle.seal_number, d.vehicle.seal_number);
  EXPECT_EQ(again.driver.name, d.driver.name);
  EXPECT_EQ(again.driver.phone, d.driver.phone);
  ASSERT_EQ(again.lines.size(), d.lines.size());
  for (size_t i = 0; i < d.lines.size(); ++i) {
    EXPECT_EQ(again.lines[i].hs.code, d.lines[i].hs.code);
    EXPECT_EQ(again.lines[i].gross_weight_grams, d.lines[i].gross_weight_grams);
    EXPECT_EQ(again.lines[i].value, d.lines[i].value);
    EXPECT_EQ(again.lines[i].packages, d.lines[i].packages);
    EXPECT_EQ(again.lines[i].origin_country, d.lines[i].origin_country);
  }
  EXPECT_EQ(again.freshness_deadline, d.freshness_deadline);
  EXPECT_EQ(again.declaration_valid_until, d.declaration_valid_until);
  EXPECT_EQ(again.documents.phytosanitary_certificate, d.documents.phytosanitary_certificate);
  // Encoding is stable: the same declaration gives the same body.
  EXPECT_EQ(ToJsonText(EncodeDeclaration(again)), ToJsonText(body));
}

TEST(DecodeDeclarationTest, ChinesePlateAndOptionalPartsOmitted) {
  json::object body = ValidBody();
  body["direction"] = "CN-VN";
  body["lane_class"] = "general_cargo";
  Obj(body, "vehicle") = json::object{{"plate", "桂F·12345"}};
  Obj(body, "driver").erase("phone");
  body.erase("freshness_deadline");
  body.erase("declaration_valid_until");
  body.erase("documents");
  Line(body, 0)["hs_code"] = "030617";  // frozen shrimps
  Declaration d = MustDecode(body);
  EXPECT_EQ(d.vehicle.plate.country, PlateCountry::kChina);
  EXPECT_EQ(d.vehicle.plate.canonical, "桂F12345");
  EXPECT_EQ(d.vehicle.plate.display, "桂F·12345");
  EXPECT_FALSE(d.vehicle.trailer_plate.has_value());
  EXPECT_FALSE(d.vehicle.container_number.has_value());
  EXPECT_FALSE(d.vehicle.seal_number.has_value());
  EXPECT_EQ(d.driver.phone, "");
  EXPECT_FALSE(d.freshness_deadline.has_value());
  EXPECT_FALSE(d.declaration_valid_until.has_value());
  EXPECT_EQ(d.documents.customs_declaration, "");
  EXPECT_EQ(d.lines[0].hs.chapter, "03");

  // Explicit nulls count as absent for optional fields.
  body["freshness_deadline"] = nullptr;
  Obj(body, "vehicle")["trailer_plate"] = nullptr;
  Declaration with_nulls = MustDecode(body);
  EXPECT_FALSE(with_nulls.freshness_deadline.has_value());
  EXPECT_FALSE(with_nulls.vehicle.trailer_plate.has_value());
}

TEST(DecodeDeclarationTest, EmptyTruckWithoutLines) {
  json::object body = ValidBody();
  body["lane_class"] = "empty_return";
  body.erase("lines");
  body.erase("freshness_deadline");
  Declaration d = MustDecode(body);
  EXPECT_TRUE(d.lines.empty());
  body["lines"] = json::array();
  EXPECT_TRUE(MustDecode(body).lines.empty());
}

TEST(DecodeDeclarationTest, AmountForms) {
  struct Case {
    json::value amount;
    int64_t minor;
  };
  const std::vector<Case> cases = {
      {json::value("0.5"), 50},        {json::value("12"), 1200},
      {json::value("12.34"), 1234},    {json::value("0"), 0},
      {json::value("007.10"), 710},    {json::value(12.34), 1234},
      {json::value(0.29), 29},         {json::value(int64_t{7}), 700},
      {json::value(uint64_t{8}), 800}, {json::value("9999999999.99"), 999'999'999'999},
  };
  for (const Case& c : cases) {
    json::object body = ValidBody();
    Obj(Line(body, 0), "value")["amount"] = c.amount;
    Declaration d = MustDecode(body);
    ASSERT_FALSE(d.lines.empty());
    EXPECT_EQ(d.lines[0].value.minor_units, c.minor) << json::serialize(c.amount);
  }
}

// One bad input and the error it must give.
struct BadCase {
  std::string name;
  std::function<void(json::object&)> mutate;
  std::string code;
  std::string field;
};

void ExpectRefused(const BadCase& c) {
  json::object body = ValidBody();
  c.mutate(body);
  auto d = DecodeDeclaration(body, Hs());
  ASSERT_FALSE(d.has_value()) << c.name << ": accepted " << json::serialize(body);
  EXPECT_EQ(d.error().kind, ErrorKind::kInvalidArgument) << c.name;
  EXPECT_EQ(d.error().code, c.code) << c.name << ": " << d.error().ToString();
  EXPECT_EQ(d.error().field, c.field) << c.name << ": " << d.error().ToString();
}

auto SetAt(std::vector<std::string> path, json::value v) {
  return [path = std::move(path), v = std::move(v)](json::object& body) {
    json::object* o = &body;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      const std::string& key = path[i];
      if (key.starts_with("#")) {
        o = &o->at("lines").as_array().at(std::stoul(key.substr(1))).as_object();
      } else {
        o = &o->at(key).as_object();
      }
    }
    (*o)[path.back()] = v;
  };
}

auto EraseAt(std::vector<std::string> path) {
  return [path = std::move(path)](json::object& body) {
    json::object* o = &body;
    for (size_t i = 0; i + 1 < path.size(); ++i) {
      const std::string& key = path[i];
      if (key.starts_with("#")) {
        o = &o->at("lines").as_array().at(std::stoul(key.substr(1))).as_object();
      } else {
        o = &o->at(key).as_object();
      }
    }
    ASSERT_TRUE(o->erase(path.back())) << path.back();
  };
}

TEST(DecodeDeclarationTest, MissingFields) {
  const std::vector<BadCase> cases = {
      {"direction", EraseAt({"direction"}), "missing_field", "direction"},
      {"lane_class", EraseAt({"lane_class"}), "missing_field", "lane_class"},
      {"vehicle", EraseAt({"vehicle"}), "missing_field", "vehicle"},
      {"null vehicle", SetAt({"vehicle"}, nullptr), "missing_field", "vehicle"},
      {"plate", EraseAt({"vehicle", "plate"}), "missing_field", "vehicle.plate"},
      {"driver", EraseAt({"driver"}), "missing_field", "driver"},
      {"driver name", EraseAt({"driver", "name"}), "missing_field", "driver.name"},
      {"document", EraseAt({"driver", "document_number"}), "missing_field",
       "driver.document_number"},
      {"nationality", EraseAt({"driver", "nationality"}), "missing_field", "driver.nationality"},
      {"hs_code", EraseAt({"#0", "hs_code"}), "missing_field", "lines[0].hs_code"},
      {"description", EraseAt({"#1", "description"}), "missing_field", "lines[1].description"},
      {"packages", EraseAt({"#0", "packages"}), "missing_field", "lines[0].packages"},
      {"weight", EraseAt({"#0", "gross_weight_kg"}), "missing_field", "lines[0].gross_weight_kg"},
      {"value", EraseAt({"#0", "value"}), "missing_field", "lines[0].value"},
      {"amount", EraseAt({"#0", "value", "amount"}), "missing_field", "lines[0].value.amount"},
      {"null amount", SetAt({"#0", "value", "amount"}, nullptr), "missing_field",
       "lines[0].value.amount"},
      {"currency", EraseAt({"#0", "value", "currency"}), "missing_field",
       "lines[0].value.currency"},
      {"origin", EraseAt({"#1", "origin_country"}), "missing_field", "lines[1].origin_country"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);
}

TEST(DecodeDeclarationTest, WrongTypes) {
  const std::vector<BadCase> cases = {
      {"direction number", SetAt({"direction"}, 5), "wrong_type", "direction"},
      {"vehicle string", SetAt({"vehicle"}, "12C-123.45"), "wrong_type", "vehicle"},
      {"plate number", SetAt({"vehicle", "plate"}, 12345), "wrong_type", "vehicle.plate"},
      {"driver array", SetAt({"driver"}, json::array{"x"}), "wrong_type", "driver"},
      {"lines object", SetAt({"lines"}, json::object{}), "wrong_type", "lines"},
      {"line string", [](json::object& b) { b["lines"].as_array().at(1) = "durian"; }, "wrong_type",
       "lines[1]"},
      {"packages string", SetAt({"#0", "packages"}, "1200"), "wrong_type", "lines[0].packages"},
      {"packages fraction", SetAt({"#0", "packages"}, 1.5), "wrong_type", "lines[0].packages"},
      {"weight string", SetAt({"#0", "gross_weight_kg"}, "18500"), "wrong_type",
       "lines[0].gross_weight_kg"},
      {"value number", SetAt({"#0", "value"}, 42000), "wrong_type", "lines[0].value"},
      {"deadline number", SetAt({"freshness_deadline"}, 1764561600), "wrong_type",
       "freshness_deadline"},
      {"documents string", SetAt({"documents"}, "none"), "wrong_type", "documents"},
      {"phone number", SetAt({"driver", "phone"}, 84912345678), "wrong_type", "driver.phone"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);

  for (const json::value& not_object :
       {json::value(json::array()), json::value("x"), json::value(nullptr), json::value(3)}) {
    auto d = DecodeDeclaration(not_object, Hs());
    ASSERT_FALSE(d.has_value()) << json::serialize(not_object);
    EXPECT_EQ(d.error().code, "wrong_type");
  }
}

TEST(DecodeDeclarationTest, UnknownFields) {
  const std::vector<BadCase> cases = {
      {"top", SetAt({"colour"}, "red"), "unknown_field", "colour"},
      {"vehicle", SetAt({"vehicle", "axles"}, 5), "unknown_field", "vehicle.axles"},
      {"driver", SetAt({"driver", "age"}, 40), "unknown_field", "driver.age"},
      {"line", SetAt({"#1", "weight"}, 4000), "unknown_field", "lines[1].weight"},
      {"value", SetAt({"#0", "value", "amt"}, "1"), "unknown_field", "lines[0].value.amt"},
      {"documents", SetAt({"documents", "invoice"}, "INV-1"), "unknown_field", "documents.invoice"},
      // A typo of a known optional field must not be silently ignored.
      {"typo", SetAt({"freshness_dedline"}, "2026-12-01T12:00:00+07:00"), "unknown_field",
       "freshness_dedline"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);
}

TEST(DecodeDeclarationTest, StringLengths) {
  const std::vector<BadCase> cases = {
      {"direction", SetAt({"direction"}, Repeat(33, 'V')), "field_too_long", "direction"},
      {"driver name", SetAt({"driver", "name"}, Repeat(101, 'a')), "field_too_long", "driver.name"},
      {"description", SetAt({"#0", "description"}, Repeat(501, 'd')), "field_too_long",
       "lines[0].description"},
      {"seal", SetAt({"vehicle", "seal_number"}, Repeat(33, '1')), "field_too_long",
       "vehicle.seal_number"},
      {"plate", SetAt({"vehicle", "plate"}, Repeat(33, '1')), "field_too_long", "vehicle.plate"},
      {"document", SetAt({"documents", "customs_declaration"}, Repeat(65, '3')), "field_too_long",
       "documents.customs_declaration"},
      {"empty name", SetAt({"driver", "name"}, ""), "field_too_short", "driver.name"},
      {"empty direction", SetAt({"direction"}, ""), "field_too_short", "direction"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);

  // The limits themselves are accepted.
  json::object body = ValidBody();
  Obj(body, "driver")["name"] = std::string(100, 'a');
  Line(body, 0)["description"] = std::string(500, 'd');
  EXPECT_TRUE(DecodeDeclaration(body, Hs()).has_value());
}

TEST(DecodeDeclarationTest, Plates) {
  const std::vector<BadCase> cases = {
      {"letters", SetAt({"vehicle", "plate"}, "ABC-123"), "invalid_plate", "vehicle.plate"},
      {"province", SetAt({"vehicle", "plate"}, "13C-123.45"), "invalid_plate", "vehicle.plate"},
      {"chinese I", SetAt({"vehicle", "plate"}, "桂F·1234I"), "invalid_plate", "vehicle.plate"},
      {"full width", SetAt({"vehicle", "plate"}, "１２C-123.45"), "invalid_plate", "vehicle.plate"},
      {"trailer", SetAt({"vehicle", "trailer_plate"}, "12R-12"), "invalid_plate",
       "vehicle.trailer_plate"},
      {"container", SetAt({"vehicle", "container_number"}, "CSQU3054384"),
       "invalid_container_number", "vehicle.container_number"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);
}

TEST(DecodeDeclarationTest, HsCodes) {
  const std::vector<BadCase> cases = {
      {"unknown", SetAt({"#0", "hs_code"}, "999999"), "unknown_hs_code", "lines[0].hs_code"},
      {"unknown second", SetAt({"#1", "hs_code"}, "999999"), "unknown_hs_code", "lines[1].hs_code"},
      {"letters", SetAt({"#0", "hs_code"}, "08A060"), "invalid_hs_code", "lines[0].hs_code"},
      {"short", SetAt({"#0", "hs_code"}, "0810"), "invalid_hs_code", "lines[0].hs_code"},
      {"number", SetAt({"#0", "hs_code"}, 81060), "wrong_type", "lines[0].hs_code"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);

  json::object body = ValidBody();
  Line(body, 1)["hs_code"] = "0810.90.40";  // a national tariff line under 081090
  Declaration d = MustDecode(body);
  ASSERT_EQ(d.lines.size(), 2u);
  EXPECT_EQ(d.lines[1].hs.code, "08109040");
  EXPECT_EQ(d.lines[1].hs.subheading, "081090");
}

TEST(DecodeDeclarationTest, CountriesAndCurrencies) {
  const std::vector<BadCase> cases = {
      {"lower origin", SetAt({"#0", "origin_country"}, "vn"), "invalid_country",
       "lines[0].origin_country"},
      {"digit origin", SetAt({"#1", "origin_country"}, "V1"), "invalid_country",
       "lines[1].origin_country"},
      {"alpha-3 origin", SetAt({"#0", "origin_country"}, "VNM"), "invalid_country",
       "lines[0].origin_country"},
      {"name", SetAt({"driver", "nationality"}, "Vietnam"), "invalid_country",
       "driver.nationality"},
      {"one letter", SetAt({"driver", "nationality"}, "V"), "invalid_country",
       "driver.nationality"},
      {"lower currency", SetAt({"#0", "value", "currency"}, "usd"), "invalid_currency",
       "lines[0].value.currency"},
      {"symbol", SetAt({"#0", "value", "currency"}, "US$"), "invalid_currency",
       "lines[0].value.currency"},
      {"two letters", SetAt({"#0", "value", "currency"}, "US"), "invalid_currency",
       "lines[0].value.currency"},
      {"word", SetAt({"#1", "value", "currency"}, "DOLLAR"), "invalid_currency",
       "lines[1].value.currency"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);
}

TEST(DecodeDeclarationTest, BadAmounts) {
  std::vector<BadCase> cases;
  for (const json::value& amount :
       {json::value("1.234"), json::value("-5"), json::value(-5), json::value(-0.5),
        json::value("1e3"), json::value(""), json::value("12."), json::value(".5"),
        json::value("1,000"), json::value(" 12"), json::value("12 USD"), json::value(1.234),
        json::value(true), json::value(json::array{1}), json::value("99999999999999999"),
        json::value(int64_t{20'000'000'000}), json::value(uint64_t{18'000'000'000'000'000'000u}),
        json::value(1e300)}) {
    cases.push_back({"amount " + json::serialize(amount), SetAt({"#0", "value", "amount"}, amount),
                     "invalid_amount", "lines[0].value.amount"});
  }
  for (const BadCase& c : cases) ExpectRefused(c);
}

TEST(DecodeDeclarationTest, QuantitiesInRange) {
  const std::vector<BadCase> cases = {
      {"zero packages", SetAt({"#0", "packages"}, 0), "out_of_range", "lines[0].packages"},
      {"negative packages", SetAt({"#0", "packages"}, -3), "out_of_range", "lines[0].packages"},
      {"huge packages", SetAt({"#0", "packages"}, 1'000'001), "out_of_range", "lines[0].packages"},
      {"zero weight", SetAt({"#0", "gross_weight_kg"}, 0), "out_of_range",
       "lines[0].gross_weight_kg"},
      {"negative weight", SetAt({"#1", "gross_weight_kg"}, -1.5), "out_of_range",
       "lines[1].gross_weight_kg"},
      {"huge weight", SetAt({"#0", "gross_weight_kg"}, 100'001), "out_of_range",
       "lines[0].gross_weight_kg"},
      {"too many lines",
       [](json::object& b) {
         json::array& lines = b["lines"].as_array();
         json::value line = lines.at(0);
         while (lines.size() <= kMaxLinesPerCrossing) lines.push_back(line);
       },
       "wrong_item_count", "lines"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);

  json::object body = ValidBody();
  json::array& lines = body["lines"].as_array();
  while (lines.size() < kMaxLinesPerCrossing) lines.push_back(lines.at(0));
  EXPECT_EQ(MustDecode(body).lines.size(), kMaxLinesPerCrossing);
}

TEST(DecodeDeclarationTest, TimestampsNeedZones) {
  const std::vector<BadCase> cases = {
      {"no zone", SetAt({"freshness_deadline"}, "2026-12-01T12:00:00"), "invalid_timestamp",
       "freshness_deadline"},
      {"date only", SetAt({"declaration_valid_until"}, "2026-12-02"), "invalid_timestamp",
       "declaration_valid_until"},
      {"bad zone", SetAt({"freshness_deadline"}, "2026-12-01T12:00:00+7"), "invalid_timestamp",
       "freshness_deadline"},
      {"no such day", SetAt({"freshness_deadline"}, "2026-02-30T12:00:00Z"), "invalid_timestamp",
       "freshness_deadline"},
      {"words", SetAt({"declaration_valid_until"}, "tomorrow"), "invalid_timestamp",
       "declaration_valid_until"},
  };
  for (const BadCase& c : cases) ExpectRefused(c);
}

// --- ValidateDeclaration -------------------------------------------------------------------

class ValidateDeclarationTest : public ::testing::Test {
 protected:
  void ExpectInvalid(const Declaration& d, std::string_view code, std::string_view field,
                     const GateConfig* config = nullptr) {
    Status s = ValidateDeclaration(d, config ? *config : config_, kNow);
    ASSERT_FALSE(s.has_value()) << "accepted";
    EXPECT_EQ(s.error().kind, ErrorKind::kInvalidArgument);
    EXPECT_EQ(s.error().code, code) << s.error().ToString();
    EXPECT_EQ(s.error().field, field) << s.error().ToString();
  }

  GateConfig config_ = HuuNghi();
  Declaration valid_ = MustDecode(ValidBody());
};

TEST_F(ValidateDeclarationTest, ValidDeclarations) {
  Status s = ValidateDeclaration(valid_, config_, kNow);
  EXPECT_TRUE(s.has_value()) << s.error().ToString();

  Declaration general = valid_;
  general.lane_class = "general_cargo";
  general.freshness_deadline.reset();  // not needed outside perishable classes
  general.declaration_valid_until.reset();
  EXPECT_TRUE(ValidateDeclaration(general, config_, kNow).has_value());

  Declaration empty = valid_;
  empty.direction = "CN-VN";
  empty.lane_class = "empty_return";
  empty.lines.clear();
  empty.freshness_deadline.reset();
  EXPECT_TRUE(ValidateDeclaration(empty, config_, kNow).has_value());
}

// The decoder checks only the form: "ZZZ" passed, and a made-up currency left the risk rules
// unable to value the goods (found by an adversarial review).
TEST_F(ValidateDeclarationTest, CurrenciesAndCountriesMustBeIsoCodes) {
  for (const char* currency : {"USD", "CNY", "VND", "EUR", "XOF"}) {
    Declaration d = valid_;
    d.lines[0].value.currency = currency;
    EXPECT_TRUE(ValidateDeclaration(d, config_, kNow).has_value()) << currency;
  }
  for (const char* currency : {"ZZZ", "ABC", "XXX", "XTS", "XAU", "RMB"}) {
    Declaration d = valid_;
    d.lines[0].value.currency = currency;
    SCOPED_TRACE(currency);
    ExpectInvalid(d, "invalid_currency", "lines[0].value.currency");
  }
  for (const char* country : {"ZZ", "XX", "QQ", "UK"}) {
    SCOPED_TRACE(country);
    Declaration origin = valid_;
    origin.lines[0].origin_country = country;
    ExpectInvalid(origin, "invalid_country", "lines[0].origin_country");
    Declaration driver = valid_;
    driver.driver.nationality = country;
    ExpectInvalid(driver, "invalid_country", "driver.nationality");
  }
  Declaration laos = valid_;
  laos.lines[0].origin_country = "LA";
  laos.driver.nationality = "TH";
  EXPECT_TRUE(ValidateDeclaration(laos, config_, kNow).has_value());
}

// Found by an adversarial review: NUL and other control characters were stored in names,
// document numbers, seals and descriptions.
TEST_F(ValidateDeclarationTest, ControlCharactersInTextAreRefused) {
  const std::string nul("Nguyen\0An", 9);
  for (const std::string& bad :
       {nul, std::string("Nguyen\nAn"), std::string("\x1b[31mAn"), std::string("An\x7f")}) {
    Declaration name = valid_;
    name.driver.name = bad;
    ExpectInvalid(name, "control_character", "driver.name");
    Declaration line = valid_;
    line.lines[0].description = bad;
    ExpectInvalid(line, "control_character", "lines[0].description");
    Declaration seal = valid_;
    seal.vehicle.seal_number = bad;
    ExpectInvalid(seal, "control_character", "vehicle.seal_number");
    Declaration document = valid_;
    document.documents.phytosanitary_certificate = bad;
    ExpectInvalid(document, "control_character", "documents.phytosanitary_certificate");
  }
  Declaration text = valid_;
  text.driver.name = "Nguyễn Văn An · 阮文安";  // letters of any script are fine
  EXPECT_TRUE(ValidateDeclaration(text, config_, kNow).has_value());
}

TEST_F(ValidateDeclarationTest, UnknownDirection) {
  Declaration d = valid_;
  d.direction = "VN-LA";
  Status s = ValidateDeclaration(d, config_, kNow);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, "unknown_direction");
  EXPECT_EQ(s.error().field, "direction");
  EXPECT_NE(s.error().message.find("VN-CN, CN-VN"), std::string::npos) << s.error().message;

  d.direction = "vn-cn";  // identifiers are exact
  ExpectInvalid(d, "unknown_direction", "direction");
}

TEST_F(ValidateDeclarationTest, UnknownLaneClass) {
  Declaration d = valid_;
  d.lane_class = "bulk";
  Status s = ValidateDeclaration(d, config_, kNow);
  ASSERT_FALSE(s.has_value());
  EXPECT_EQ(s.error().code, "unknown_lane_class");
  EXPECT_EQ(s.error().field, "lane_class");
  EXPECT_NE(s.error().message.find("general_cargo, fresh_produce, empty_return"), std::string::npos)
      << s.error().message;
}

TEST_F(ValidateDeclarationTest, NoLanesForClassInDirection) {
  GateConfig config = config_;
  for (Direction& d : config.directions) {
    if (d.id == "VN-CN") d.lanes["fresh_produce"] = 0;
    if (d.id == "CN-VN") d.lanes.erase("fresh_produce");
  }
  ExpectInvalid(valid_, "no_lanes", "lane_class", &config);
  Declaration inbound = valid_;
  inbound.direction = "CN-VN";
  ExpectInvalid(inbound, "no_lanes", "lane_class", &config);
}

TEST_F(ValidateDeclarationTest, EmptyReturnWithLines) {
  Declaration d = valid_;
  d.lane_class = "empty_return";
  ExpectInvalid(d, "empty_truck_has_goods", "lines");
}

TEST_F(ValidateDeclarationTest, LoadedTruckWithoutLines) {
  Declaration d = valid_;
  d.lines.clear();
  ExpectInvalid(d, "missing_field", "lines");
  d.lane_class = "general_cargo";
  ExpectInvalid(d, "missing_field", "lines");
}

TEST_F(ValidateDeclarationTest, PerishableNeedsFreshnessDeadline) {
  Declaration d = valid_;
  d.freshness_deadline.reset();
  ExpectInvalid(d, "missing_field", "freshness_deadline");
}

TEST_F(ValidateDeclarationTest, DeadlinesInThePast) {
  Declaration d = valid_;
  d.freshness_deadline = kNow - std::chrono::minutes(1);
  ExpectInvalid(d, "deadline_passed", "freshness_deadline");
  d.freshness_deadline = kNow;  // a deadline of now has passed
  ExpectInvalid(d, "deadline_passed", "freshness_deadline");
  d.freshness_deadline = kNow + std::chrono::milliseconds(1);
  EXPECT_TRUE(ValidateDeclaration(d, config_, kNow).has_value());

  // A past deadline is refused for non-perishable classes too when it is given.
  Declaration general = valid_;
  general.lane_class = "general_cargo";
  general.freshness_deadline = kNow - std::chrono::hours(1);
  ExpectInvalid(general, "deadline_passed", "freshness_deadline");

  Declaration expired = valid_;
  expired.declaration_valid_until = kNow;
  ExpectInvalid(expired, "declaration_expired", "declaration_valid_until");
}

// --- EncodeCrossing / DecodeCrossing -------------------------------------------------------

Crossing SampleCrossing() {
  Crossing c;
  c.id = "CR-01JDQ8ZK4M";
  c.company_id = "C-VINAFRUIT";
  c.declared_by = "U0123456789ABCDEF";
  c.declaration = MustDecode(ValidBody());
  // The stored document carries the effective validity on the crossing, not on the declaration.
  c.declaration.declaration_valid_until.reset();
  c.declaration_valid_until = At("2026-12-02T00:00:00Z");
  c.state = CrossingState::kChecked;
  c.channel = Channel::kRed;
  c.quarantine_inspection = true;
  c.last_check = CheckResult{"inspection", "finding", "pest larvae in 2 cartons", "qo.lan",
                             At("2026-11-29T03:15:00.250Z")};
  c.refusal_reason = "";
  c.version = 7;
  c.created_at = At("2026-11-29T01:00:00Z");
  c.updated_at = At("2026-11-29T03:15:00.250Z");
  return c;
}

json::value RoundTripText(const json::object& o) {
  auto parsed = ParseJson(ToJsonText(o));
  EXPECT_TRUE(parsed.has_value());
  return parsed ? *parsed : json::value();
}

void ExpectSameCrossing(const Crossing& a, const Crossing& b) {
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(a.company_id, b.company_id);
  EXPECT_EQ(a.declared_by, b.declared_by);
  EXPECT_EQ(a.state, b.state);
  EXPECT_EQ(a.channel, b.channel);
  EXPECT_EQ(a.quarantine_inspection, b.quarantine_inspection);
  EXPECT_EQ(a.version, b.version);
  EXPECT_EQ(a.declaration_valid_until, b.declaration_valid_until);
  EXPECT_EQ(a.created_at, b.created_at);
  EXPECT_EQ(a.updated_at, b.updated_at);
  EXPECT_EQ(a.refusal_reason, b.refusal_reason);
  ASSERT_EQ(a.last_check.has_value(), b.last_check.has_value());
  if (a.last_check) {
    EXPECT_EQ(a.last_check->kind, b.last_check->kind);
    EXPECT_EQ(a.last_check->outcome, b.last_check->outcome);
    EXPECT_EQ(a.last_check->note, b.last_check->note);
    EXPECT_EQ(a.last_check->officer, b.last_check->officer);
    EXPECT_EQ(a.last_check->at, b.last_check->at);
  }
  const Declaration& x = a.declaration;
  const Declaration& y = b.declaration;
  EXPECT_EQ(x.direction, y.direction);
  EXPECT_EQ(x.lane_class, y.lane_class);
  EXPECT_EQ(x.vehicle.plate, y.vehicle.plate);
  EXPECT_EQ(x.vehicle.trailer_plate, y.vehicle.trailer_plate);
  EXPECT_EQ(x.vehicle.container_number, y.vehicle.container_number);
  EXPECT_EQ(x.vehicle.seal_number, y.vehicle.seal_number);
  EXPECT_EQ(x.driver.name, y.driver.name);
  EXPECT_EQ(x.driver.document_number, y.driver.document_number);
  EXPECT_EQ(x.driver.nationality, y.driver.nationality);
  EXPECT_EQ(x.driver.phone, y.driver.phone);
  ASSERT_EQ(x.lines.size(), y.lines.size());
  for (size_t i = 0; i < x.lines.size(); ++i) {
    EXPECT_EQ(x.lines[i].hs.code, y.lines[i].hs.code) << i;
    EXPECT_EQ(x.lines[i].hs.subheading, y.lines[i].hs.subheading) << i;
    EXPECT_EQ(x.lines[i].hs.description, y.lines[i].hs.description) << i;
    EXPECT_EQ(x.lines[i].description, y.lines[i].description) << i;
    EXPECT_EQ(x.lines[i].packages, y.lines[i].packages) << i;
    EXPECT_EQ(x.lines[i].gross_weight_grams, y.lines[i].gross_weight_grams) << i;
    EXPECT_EQ(x.lines[i].value, y.lines[i].value) << i;
    EXPECT_EQ(x.lines[i].origin_country, y.lines[i].origin_country) << i;
  }
  EXPECT_EQ(x.freshness_deadline, y.freshness_deadline);
  EXPECT_EQ(x.declaration_valid_until, y.declaration_valid_until);
  EXPECT_EQ(x.documents.customs_declaration, y.documents.customs_declaration);
  EXPECT_EQ(x.documents.phytosanitary_certificate, y.documents.phytosanitary_certificate);
  EXPECT_EQ(x.documents.certificate_of_origin, y.documents.certificate_of_origin);
}

TEST(CrossingJsonTest, EncodeShape) {
  json::object o = EncodeCrossing(SampleCrossing());
  EXPECT_EQ(o.at("id").as_string(), "CR-01JDQ8ZK4M");
  EXPECT_EQ(o.at("state").as_string(), "checked");
  EXPECT_EQ(o.at("channel").as_string(), "red");
  EXPECT_EQ(o.at("version").as_int64(), 7);
  EXPECT_EQ(o.at("vehicle").at("plate").at("display").as_string(), "12C-123.45");
  EXPECT_EQ(o.at("vehicle").at("plate").at("canonical").as_string(), "12C12345");
  EXPECT_EQ(o.at("vehicle").at("plate").at("country").as_string(), "VN");
  const json::object& line = o.at("lines").at(0).as_object();
  EXPECT_EQ(line.at("hs_code").as_string(), "081060");
  EXPECT_FALSE(line.at("hs_description").as_string().empty());
  EXPECT_EQ(line.at("value").at("amount").as_string(), "42000.50");
  EXPECT_EQ(line.at("value").at("currency").as_string(), "USD");
  EXPECT_EQ(o.at("freshness_deadline").as_string(), "2026-12-01T05:00:00.000Z");
  EXPECT_EQ(o.at("created_at").as_string(), "2026-11-29T01:00:00.000Z");
  EXPECT_EQ(o.at("last_check").at("officer").as_string(), "qo.lan");
  EXPECT_FALSE(o.contains("created_at_local"));
  EXPECT_FALSE(o.contains("refusal_reason"));
}

TEST(CrossingJsonTest, EncodeWithLocalTime) {
  json::object o = EncodeCrossing(SampleCrossing(), UtcOffset{420});
  EXPECT_EQ(o.at("created_at_local").as_string(), "2026-11-29T08:00:00+07:00");
  EXPECT_EQ(o.at("updated_at_local").as_string(), "2026-11-29T10:15:00.250+07:00");
  EXPECT_EQ(o.at("freshness_deadline_local").as_string(), "2026-12-01T12:00:00+07:00");
  EXPECT_EQ(o.at("declaration_valid_until_local").as_string(), "2026-12-02T07:00:00+07:00");
  EXPECT_EQ(o.at("last_check").at("at_local").as_string(), "2026-11-29T10:15:00.250+07:00");
  json::object cn = EncodeCrossing(SampleCrossing(), UtcOffset{480});
  EXPECT_EQ(cn.at("created_at_local").as_string(), "2026-11-29T09:00:00+08:00");
}

TEST(CrossingJsonTest, RoundTrip) {
  Crossing original = SampleCrossing();
  for (std::optional<UtcOffset> local :
       {std::optional<UtcOffset>(), std::optional(UtcOffset{420}), std::optional(UtcOffset{480})}) {
    json::object encoded = EncodeCrossing(original, local);
    auto decoded = DecodeCrossing(RoundTripText(encoded), Hs());
    ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString() << "\n"
                                     << json::serialize(encoded);
    ExpectSameCrossing(original, *decoded);
    // Encoding again gives the same document, byte for byte.
    EXPECT_EQ(ToJsonText(EncodeCrossing(*decoded, local)), ToJsonText(encoded));
  }
}

TEST(CrossingJsonTest, RoundTripMinimalChineseEmptyTruck) {
  Crossing c;
  c.id = "CR-2";
  c.declaration.direction = "CN-VN";
  c.declaration.lane_class = "empty_return";
  c.declaration.vehicle.plate = *ParsePlate("桂F·12345");
  c.declaration.vehicle.trailer_plate = *ParsePlate("桂F·1234挂");
  c.declaration.driver = Driver{"王伟", "E12345678", "CN", ""};
  c.declaration_valid_until = At("2026-12-02T00:00:00Z");
  c.state = CrossingState::kRefused;
  c.refusal_reason = "seal broken";
  c.version = 12;
  c.created_at = At("2026-11-29T01:00:00Z");
  c.updated_at = At("2026-11-29T02:00:00Z");
  auto decoded = DecodeCrossing(RoundTripText(EncodeCrossing(c)), Hs());
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  ExpectSameCrossing(c, *decoded);
  EXPECT_TRUE(decoded->declaration.vehicle.trailer_plate->trailer);
  EXPECT_EQ(decoded->refusal_reason, "seal broken");
}

TEST(CrossingJsonTest, RoundTripKeepsOddAmountsAndWeights) {
  Crossing c = SampleCrossing();
  c.declaration.lines[0].value.minor_units = 1;   // 0.01
  c.declaration.lines[0].gross_weight_grams = 1;  // 0.001 kg
  c.declaration.lines[1].value.minor_units = 999'999'999'999;
  c.declaration.lines[1].gross_weight_grams = 99'999'999;
  auto decoded = DecodeCrossing(RoundTripText(EncodeCrossing(c)), Hs());
  ASSERT_TRUE(decoded.has_value()) << decoded.error().ToString();
  ExpectSameCrossing(c, *decoded);
}

TEST(CrossingJsonTest, DecodeCrossingRefusesBadDocuments) {
  struct Case {
    std::string name;
    std::function<void(json::object&)> mutate;
    std::string code;
    std::string field;
  };
  const std::vector<Case> cases = {
      {"no id", [](json::object& o) { o.erase("id"); }, "missing_field", "id"},
      {"bad state", [](json::object& o) { o["state"] = "flying"; }, "unknown_state", "state"},
      {"bad channel", [](json::object& o) { o["channel"] = "blue"; }, "invalid_channel", "channel"},
      {"negative version", [](json::object& o) { o["version"] = -1; }, "out_of_range", "version"},
      {"bad time", [](json::object& o) { o["created_at"] = "2026-11-29 08:00"; },
       "invalid_timestamp", "created_at"},
      {"bad plate",
       [](json::object& o) {
         o["vehicle"].as_object()["plate"] = json::object{{"display", "X"}};
       },
       "invalid_plate", "vehicle.plate"},
      {"unknown hs",
       [](json::object& o) { o["lines"].as_array()[0].as_object()["hs_code"] = "999999"; },
       "unknown_hs_code", "lines[0].hs_code"},
      // Corrupted stored rows are errors, never exceptions.
      {"plate without display",
       [](json::object& o) { o["vehicle"].as_object()["plate"] = json::object{}; }, "wrong_type",
       "vehicle.plate"},
      {"line not an object", [](json::object& o) { o["lines"].as_array()[1] = 5; }, "wrong_type",
       "lines[1]"},
      {"documents not an object", [](json::object& o) { o["documents"] = "none"; }, "wrong_type",
       "documents"},
      {"vehicle not an object", [](json::object& o) { o["vehicle"] = 1; }, "wrong_type", "vehicle"},
  };
  for (const Case& c : cases) {
    json::object doc = EncodeCrossing(SampleCrossing());
    c.mutate(doc);
    Result<Crossing> decoded = Internal("not run");
    ASSERT_NO_THROW(decoded = DecodeCrossing(doc, Hs())) << c.name;
    ASSERT_FALSE(decoded.has_value()) << c.name;
    EXPECT_EQ(decoded.error().code, c.code) << c.name << ": " << decoded.error().ToString();
    EXPECT_EQ(decoded.error().field, c.field) << c.name << ": " << decoded.error().ToString();
  }
}

TEST(CrossingStateTest, NamesRoundTrip) {
  int n = 0;
#define CHECK_STATE(name, text)                                     \
  EXPECT_EQ(CrossingStateName(CrossingState::name), text);          \
  EXPECT_EQ(ParseCrossingState(text).value(), CrossingState::name); \
  ++n;
  BORDERFLOW_CROSSING_STATES(CHECK_STATE)
#undef CHECK_STATE
  EXPECT_EQ(n, 14);
  EXPECT_EQ(ParseCrossingState("Declared").error().code, "unknown_state");
  EXPECT_TRUE(IsTerminal(CrossingState::kReceived));
  EXPECT_TRUE(IsTerminal(CrossingState::kRefused));
  EXPECT_TRUE(IsTerminal(CrossingState::kCancelled));
  EXPECT_FALSE(IsTerminal(CrossingState::kCrossed));
  EXPECT_FALSE(IsTerminal(CrossingState::kReleased));
  for (Channel c : {Channel::kNone, Channel::kGreen, Channel::kYellow, Channel::kRed}) {
    EXPECT_EQ(ParseChannel(ChannelName(c)).value(), c);
  }
  EXPECT_EQ(ParseChannel("RED").error().code, "invalid_channel");
}

}  // namespace
}  // namespace borderflow
