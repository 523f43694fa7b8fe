#include <string>
#include <string_view>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>

namespace borderflow {
namespace {

namespace json = boost::json;

json::value MustParse(std::string_view text) {
  auto v = ParseJson(text);
  EXPECT_TRUE(v.has_value()) << text << ": " << v.error().ToString();
  return v ? *v : json::value();
}

void ExpectParseError(std::string_view text, std::string_view code, const JsonLimits& limits = {}) {
  auto v = ParseJson(text, limits);
  ASSERT_FALSE(v.has_value()) << "accepted '" << text.substr(0, 80) << "'";
  EXPECT_EQ(v.error().code, code) << v.error().ToString();
}

// Expects `error` to have `code`, to name `field` in its field and in its message.
void ExpectFieldError(const Error& error, std::string_view code, std::string_view field) {
  EXPECT_EQ(error.kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(error.code, code) << error.ToString();
  EXPECT_EQ(error.field, field) << error.ToString();
  EXPECT_NE(error.message.find(field), std::string::npos) << error.ToString();
}

std::string Nested(size_t depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonTest, ParsesValidDocuments) {
  json::value v = MustParse(R"({"plate":"桂F·12345","lines":[{"hs_code":"081060"}],"n":3})");
  ASSERT_TRUE(v.is_object());
  EXPECT_EQ(v.at("plate").as_string(), "桂F·12345");
  EXPECT_EQ(v.at("lines").as_array().size(), 1u);
  EXPECT_TRUE(MustParse("  [1, 2.5, true, null, \"x\"]  ").is_array());
  EXPECT_TRUE(MustParse("42").is_int64());
}

TEST(JsonTest, MalformedDocuments) {
  for (std::string_view text :
       {"", " ", "{", "{} x", "[1,]", "{\"a\":1,}", "nul", "{'a':1}", "// comment\n{}", "{\"a\" 1}",
        "[1 2]", "\"\xff\"", "NaN", "Infinity", "01", "{\"a\":1}{"}) {
    ExpectParseError(text, "malformed_json");
  }
  auto v = ParseJson("{} x");
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(v.error().message.find("byte 3"), std::string::npos) << v.error().message;
}

TEST(JsonTest, OverflowingNumbersAreRefused) {
  // Infinity would be written back by ToJsonText as invalid JSON.
  ExpectParseError("1e999", "malformed_json");
  ExpectParseError("[1, {\"a\": -1e400}]", "malformed_json");
  EXPECT_TRUE(ParseJson("1e308").has_value());
}

TEST(JsonTest, DuplicateKeysAreRefusedWithTheirPath) {
  struct Case {
    std::string_view text;
    std::string_view path;
  };
  std::string many = "{";
  for (int i = 0; i < 40; ++i) many += fmt::format("\"k{}\":{},", i, i);
  many += "\"k17\":0}";
  for (const Case& c : {
           Case{R"({"plate":"51C12345","plate":"29A99999"})", "plate"},
           Case{R"({"a":{"b":1,"c":2,"b":3}})", "a.b"},
           Case{R"({"lines":[{"hs":"1"},{"hs":"2","qty":1,"hs":"3"}]})", "lines[1].hs"},
           Case{R"([[1],{"x":[0,{"y":1,"y":2}]}])", "[1].x[1].y"},
           // The same key after an escape is still the same key.
           Case{R"({"ab":1,"a\u0062":2})", "ab"},
           Case{many, "k17"},
       }) {
    auto v = ParseJson(c.text);
    ASSERT_FALSE(v.has_value()) << "accepted " << c.text;
    EXPECT_EQ(v.error().code, "duplicate_key") << v.error().ToString();
    EXPECT_EQ(v.error().field, c.path) << c.text;
    EXPECT_NE(v.error().message.find(std::string(c.path)), std::string::npos);
  }
  // The same key in sibling or nested objects is no duplicate.
  MustParse(R"({"a":{"x":1},"b":{"x":2},"x":{"x":{"x":3}},"l":[{"x":1},{"x":2}]})");
  MustParse(R"({"a:b":1,"a":2})");
}

TEST(JsonTest, DepthLimit) {
  EXPECT_TRUE(ParseJson(Nested(16)).has_value());
  ExpectParseError(Nested(17), "json_too_deep");
  ExpectParseError(Nested(100000), "json_too_deep");  // no stack overflow
  JsonLimits shallow;
  shallow.max_depth = 2;
  EXPECT_TRUE(ParseJson(R"({"a":{"b":1}})", shallow).has_value());
  ExpectParseError(R"({"a":{"b":{}}})", "json_too_deep", shallow);
  ExpectParseError("[[[1]]]", "json_too_deep", shallow);
  auto v = ParseJson(Nested(17));
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_NE(v.error().message.find("16"), std::string::npos) << v.error().message;
}

TEST(JsonTest, SizeLimit) {
  std::string at_limit = "\"" + std::string((1 << 20) - 2, 'a') + "\"";
  ASSERT_EQ(at_limit.size(), size_t{1} << 20);
  EXPECT_TRUE(ParseJson(at_limit).has_value());
  std::string over = at_limit + " ";
  auto v = ParseJson(over);
  ASSERT_FALSE(v.has_value());
  EXPECT_EQ(v.error().code, "payload_too_large");
  EXPECT_EQ(v.error().kind, ErrorKind::kPayloadTooLarge);
  JsonLimits tiny;
  tiny.max_bytes = 4;
  EXPECT_TRUE(ParseJson("[12]", tiny).has_value());
  ExpectParseError("[1,2]", "payload_too_large", tiny);
  // The size is checked before parsing: garbage over the limit is "too large", not "malformed".
  ExpectParseError("xxxxx", "payload_too_large", tiny);
}

TEST(JsonTest, ToJsonTextKeepsInsertionOrderWithoutWhitespace) {
  json::object o;
  o["z"] = 1;
  o["a"] = "x";
  o["m"] = json::array{true, nullptr};
  EXPECT_EQ(ToJsonText(o), R"({"z":1,"a":"x","m":[true,null]})");
  EXPECT_EQ(ToJsonText(MustParse(R"( { "b" : 1 , "a" : [ ] } )")), R"({"b":1,"a":[]})");
}

TEST(JsonObjectReaderTest, OfRequiresAnObject) {
  auto root = JsonObjectReader::Of(MustParse("[]"), "");
  ASSERT_FALSE(root.has_value());
  EXPECT_EQ(root.error().code, "wrong_type");
  auto line = JsonObjectReader::Of(MustParse("3"), "lines[0]");
  ASSERT_FALSE(line.has_value());
  ExpectFieldError(line.error(), "wrong_type", "lines[0]");
  EXPECT_TRUE(JsonObjectReader::Of(MustParse("{}"), "").has_value());
}

TEST(JsonObjectReaderTest, PathOf) {
  json::value v = MustParse("{}");
  EXPECT_EQ(JsonObjectReader(v.get_object(), "").PathOf("plate"), "plate");
  EXPECT_EQ(JsonObjectReader(v.get_object(), "vehicle").PathOf("plate"), "vehicle.plate");
  EXPECT_EQ(JsonObjectReader(v.get_object(), "lines[2]").PathOf("hs_code"), "lines[2].hs_code");
}

TEST(JsonObjectReaderTest, StringFieldsNameTheirPath) {
  json::value v =
      MustParse(R"({"hs_code":"081060","empty":"","num":5,"null":null,"long":"abcdefghijk"})");
  JsonObjectReader r(v.get_object(), "lines[0]");
  EXPECT_EQ(*r.String("hs_code", 10), "081060");
  ExpectFieldError(r.String("missing", 10).error(), "missing_field", "lines[0].missing");
  ExpectFieldError(r.String("null", 10).error(), "missing_field", "lines[0].null");
  ExpectFieldError(r.String("num", 10).error(), "wrong_type", "lines[0].num");
  ExpectFieldError(r.String("empty", 10).error(), "field_too_short", "lines[0].empty");
  ExpectFieldError(r.String("long", 10).error(), "field_too_long", "lines[0].long");
  ExpectFieldError(r.String("hs_code", 10, 8).error(), "field_too_short", "lines[0].hs_code");
  EXPECT_EQ(*r.String("long", 11), "abcdefghijk");
  EXPECT_EQ(*r.String("empty", 10, 0), "");

  EXPECT_EQ(*r.OptionalString("missing", 10), std::nullopt);
  EXPECT_EQ(*r.OptionalString("null", 10), std::nullopt);
  EXPECT_EQ(*r.OptionalString("empty", 10), std::optional<std::string>(""));
  EXPECT_EQ(*r.OptionalString("hs_code", 10), std::optional<std::string>("081060"));
  ExpectFieldError(r.OptionalString("num", 10).error(), "wrong_type", "lines[0].num");
  ExpectFieldError(r.OptionalString("long", 5).error(), "field_too_long", "lines[0].long");
}

TEST(JsonObjectReaderTest, IntRange) {
  json::value v = MustParse(
      R"({"zero":0,"neg":-5,"max":9223372036854775807,"huge":18446744073709551615,
          "three":3.0,"half":1.5,"big_double":1e17,"text":"5","flag":true,"e":1e3})");
  JsonObjectReader r(v.get_object(), "");
  EXPECT_EQ(*r.Int("zero", 0, 10), 0);
  EXPECT_EQ(*r.Int("neg", -5, 5), -5);
  EXPECT_EQ(*r.Int("three", 0, 10), 3);
  EXPECT_EQ(*r.Int("e", 0, 1000), 1000);
  EXPECT_EQ(*r.Int("max", 0, INT64_MAX), INT64_MAX);
  ExpectFieldError(r.Int("neg", -4, 5).error(), "out_of_range", "neg");
  ExpectFieldError(r.Int("three", 0, 2).error(), "out_of_range", "three");
  ExpectFieldError(r.Int("e", 0, 999).error(), "out_of_range", "e");
  ExpectFieldError(r.Int("max", 0, INT64_MAX - 1).error(), "out_of_range", "max");
  ExpectFieldError(r.Int("huge", 0, INT64_MAX).error(), "out_of_range", "huge");
  ExpectFieldError(r.Int("big_double", 0, INT64_MAX).error(), "out_of_range", "big_double");
  ExpectFieldError(r.Int("half", 0, 10).error(), "wrong_type", "half");
  ExpectFieldError(r.Int("text", 0, 10).error(), "wrong_type", "text");
  ExpectFieldError(r.Int("flag", 0, 10).error(), "wrong_type", "flag");
  ExpectFieldError(r.Int("missing", 0, 10).error(), "missing_field", "missing");
  auto out = r.Int("three", 0, 2);
  ASSERT_FALSE(out.has_value());
  EXPECT_NE(out.error().message.find("between 0 and 2"), std::string::npos);

  EXPECT_EQ(*r.OptionalInt("missing", 0, 10), std::nullopt);
  EXPECT_EQ(*r.OptionalInt("three", 0, 10), std::optional<int64_t>(3));
  ExpectFieldError(r.OptionalInt("three", 4, 10).error(), "out_of_range", "three");
}

TEST(JsonObjectReaderTest, NumberAndBool) {
  json::value v = MustParse(R"({"kg":1250.5,"n":7,"t":true,"f":false,"s":"1","z":null})");
  JsonObjectReader r(v.get_object(), "cargo");
  EXPECT_DOUBLE_EQ(*r.Number("kg", 0, 50000), 1250.5);
  EXPECT_DOUBLE_EQ(*r.Number("n", 0, 10), 7.0);
  ExpectFieldError(r.Number("kg", 0, 1000).error(), "out_of_range", "cargo.kg");
  ExpectFieldError(r.Number("s", 0, 10).error(), "wrong_type", "cargo.s");
  ExpectFieldError(r.Number("z", 0, 10).error(), "missing_field", "cargo.z");

  EXPECT_TRUE(*r.Bool("t"));
  EXPECT_FALSE(*r.Bool("f"));
  ExpectFieldError(r.Bool("n").error(), "wrong_type", "cargo.n");
  ExpectFieldError(r.Bool("s").error(), "wrong_type", "cargo.s");
  ExpectFieldError(r.Bool("missing").error(), "missing_field", "cargo.missing");
  EXPECT_EQ(*r.OptionalBool("missing"), std::nullopt);
  EXPECT_EQ(*r.OptionalBool("z"), std::nullopt);
  EXPECT_EQ(*r.OptionalBool("f"), std::optional<bool>(false));
  ExpectFieldError(r.OptionalBool("s").error(), "wrong_type", "cargo.s");

  EXPECT_TRUE(r.Has("t"));
  EXPECT_FALSE(r.Has("z"));  // null counts as absent
  EXPECT_FALSE(r.Has("missing"));
}

TEST(JsonObjectReaderTest, NestedObjectsAndArraysCarryThePath) {
  json::value v = MustParse(R"({
    "vehicle": {"plate": 12, "driver": {"name": ""}},
    "lines": [{"hs_code": "081060"}, {"hs_code": 81060}],
    "notes": "x",
    "empty": []
  })");
  JsonObjectReader root(v.get_object(), "");

  auto vehicle = root.Object("vehicle");
  ASSERT_TRUE(vehicle.has_value());
  ExpectFieldError(vehicle->String("plate", 32).error(), "wrong_type", "vehicle.plate");
  auto driver = vehicle->Object("driver");
  ASSERT_TRUE(driver.has_value());
  ExpectFieldError(driver->String("name", 32).error(), "field_too_short", "vehicle.driver.name");
  ExpectFieldError(root.Object("notes").error(), "wrong_type", "notes");
  ExpectFieldError(root.Object("missing").error(), "missing_field", "missing");
  EXPECT_EQ(*root.OptionalObject("missing"), std::nullopt);
  auto optional_vehicle = root.OptionalObject("vehicle");
  ASSERT_TRUE(optional_vehicle.has_value() && optional_vehicle->has_value());
  EXPECT_EQ((*optional_vehicle)->PathOf("plate"), "vehicle.plate");

  auto lines = root.Array("lines", 1, 10);
  ASSERT_TRUE(lines.has_value());
  ASSERT_EQ((*lines)->size(), 2u);
  for (size_t i = 0; i < (*lines)->size(); ++i) {
    auto line =
        JsonObjectReader::Of((**lines)[i], root.PathOf("lines") + "[" + std::to_string(i) + "]");
    ASSERT_TRUE(line.has_value());
    auto code = line->String("hs_code", 10);
    if (i == 0) {
      EXPECT_EQ(*code, "081060");
    } else {
      ASSERT_FALSE(code.has_value());
      ExpectFieldError(code.error(), "wrong_type", "lines[1].hs_code");
    }
  }
  ExpectFieldError(root.Array("lines", 3, 10).error(), "wrong_item_count", "lines");
  ExpectFieldError(root.Array("lines", 0, 1).error(), "wrong_item_count", "lines");
  ExpectFieldError(root.Array("empty", 1, 10).error(), "wrong_item_count", "empty");
  EXPECT_TRUE(root.Array("empty", 0, 10).has_value());
  ExpectFieldError(root.Array("notes", 0, 10).error(), "wrong_type", "notes");
  ExpectFieldError(root.Array("missing", 0, 10).error(), "missing_field", "missing");
}

TEST(JsonObjectReaderTest, RejectUnknown) {
  json::value v = MustParse(R"({"plate":"x","hs_code":"081060"})");
  JsonObjectReader r(v.get_object(), "lines[0]");
  EXPECT_TRUE(r.RejectUnknown({"plate", "hs_code", "extra"}).has_value());
  auto status = r.RejectUnknown({"plate"});
  ASSERT_FALSE(status.has_value());
  ExpectFieldError(status.error(), "unknown_field", "lines[0].hs_code");
  EXPECT_FALSE(r.RejectUnknown({}).has_value());
  EXPECT_TRUE(JsonObjectReader(MustParse("{}").get_object(), "").RejectUnknown({}).has_value());

  // A long key is cut in the message without splitting a UTF-8 character.
  std::string long_key;
  for (int i = 0; i < 30; ++i) long_key += "桂";  // 3 bytes each
  json::value lv = MustParse("{\"" + long_key + "\":1}");
  auto long_status = JsonObjectReader(lv.get_object(), "").RejectUnknown({"plate"});
  ASSERT_FALSE(long_status.has_value());
  EXPECT_EQ(long_status.error().code, "unknown_field");
  EXPECT_LE(long_status.error().field.size(), 64u);
  EXPECT_EQ(long_status.error().field.size() % 3, 0u);
  EXPECT_TRUE(ParseJson(json::serialize(json::value(long_status.error().message))).has_value());
}

TEST(JsonObjectReaderTest, ErrorWithinPrefixesTheParentPath) {
  json::value v = MustParse(R"({"hs_code":1})");
  auto e = JsonObjectReader(v.get_object(), "").String("hs_code", 10).error();
  EXPECT_EQ(e.Within("lines[2]").field, "lines[2].hs_code");
}

}  // namespace
}  // namespace borderflow

namespace borderflow {
namespace {

TEST(ErrorKindForStatus, InvertsHttpStatusFor) {
  for (ErrorKind kind :
       {ErrorKind::kInvalidArgument, ErrorKind::kUnauthenticated, ErrorKind::kPermissionDenied,
        ErrorKind::kNotFound, ErrorKind::kConflict, ErrorKind::kPayloadTooLarge,
        ErrorKind::kUnprocessable, ErrorKind::kTooManyRequests, ErrorKind::kInternal,
        ErrorKind::kUnavailable}) {
    EXPECT_EQ(ErrorKindForStatus(HttpStatusFor(kind)), kind) << ErrorKindName(kind);
  }
  EXPECT_EQ(ErrorKindForStatus(405), ErrorKind::kInvalidArgument);
  EXPECT_EQ(ErrorKindForStatus(431), ErrorKind::kInvalidArgument);
  EXPECT_EQ(ErrorKindForStatus(502), ErrorKind::kInternal);
}

}  // namespace
}  // namespace borderflow
