#include <random>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <gtest/gtest.h>

#include <borderflow/core/json.h>
#include <borderflow/core/json_writer.h>

namespace borderflow {
namespace {

namespace json = boost::json;

TEST(JsonWriterTest, WritesNestedDocumentsAsToJsonTextDoes) {
  std::string text;
  JsonWriter w(text);
  w.BeginObject()
      .Member("id", "X1")
      .Member("n", int64_t{-42})
      .Member("ok", true)
      .Key("empty")
      .BeginObject()
      .EndObject()
      .Key("list")
      .BeginArray()
      .Int(1)
      .String("two")
      .BeginObject()
      .Member("three", 3)
      .EndObject()
      .BeginArray()
      .EndArray()
      .Double(0.5)
      .EndArray()
      .Key("raw")
      .Raw(R"({"a":[1]})")
      .Key("kg")
      .Double(12000.0)
      .EndObject();
  json::object expected{
      {"id", "X1"},
      {"n", -42},
      {"ok", true},
      {"empty", json::object{}},
      {"list", json::array{1, "two", json::object{{"three", 3}}, json::array{}, 0.5}},
      {"raw", json::object{{"a", json::array{1}}}},
      {"kg", 12000.0}};
  EXPECT_EQ(text, ToJsonText(expected));
}

TEST(JsonWriterTest, EscapesEveryByteAsBoostJsonDoes) {
  std::string all;
  for (int c = 0; c < 256; ++c) all += static_cast<char>(c);
  std::mt19937 rng(7);
  std::vector<std::string> samples{"", all, "plain", "Sầu riêng 榴莲", "a\"b\\c\n\x01\x7f"};
  for (int i = 0; i < 2000; ++i) {
    std::string s(rng() % 40, '\0');
    for (char& c : s) c = static_cast<char>(rng() % 256);
    samples.push_back(s);
  }
  for (const std::string& s : samples) {
    std::string text;
    JsonWriter(text).BeginObject().Member(s, s).EndObject();
    EXPECT_EQ(text, ToJsonText(json::object{{s, s}}));
  }
}

TEST(JsonWriterTest, IntegersAndDoublesAtTheirLimits) {
  for (int64_t v : {int64_t{0}, int64_t{-1}, INT64_MIN, INT64_MAX, int64_t{1} << 53}) {
    std::string text;
    JsonWriter(text).Int(v);
    EXPECT_EQ(text, ToJsonText(json::value(v)));
  }
  for (double v : {0.0, -0.0, 1.5, 1e-300, 1.7976931348623157e308, 123456.789, 0.1}) {
    std::string text;
    JsonWriter(text).Double(v);
    EXPECT_EQ(text, ToJsonText(json::value(v)));
  }
}

}  // namespace
}  // namespace borderflow
