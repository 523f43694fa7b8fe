#include <random>
#include <utility>

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

TEST(JsonWriterTest, TreesWrittenInsideADocumentAsToJsonTextWritesThem) {
  json::object data{{"note", "a \"quoted\"\n line"},
                    {"kg", 1200.5},
                    {"big", json::value(uint64_t{18446744073709551615ULL})},
                    {"none", nullptr},
                    {"lines", json::array{json::object{{"hs", "0805"}}, 2, false}}};
  std::string text;
  JsonWriter w(text);
  w.BeginObject().Member("type", "assess").Key("data");
  WriteJson(w, data);
  w.Key("why");
  WriteJson(w, json::value(json::array{data, 1}));
  w.EndObject();
  json::object expected{{"type", "assess"}, {"data", data}, {"why", json::array{data, 1}}};
  EXPECT_EQ(text, ToJsonText(expected));
  EXPECT_EQ(ToJsonText(data), ToJsonText(json::value(data)));
  EXPECT_EQ(ToJsonText(json::object{}), "{}");
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
  for (double v : {0.0, -0.0, 1.5, 1e-300, 1.7976931348623157e308, 123456.789, 0.1, 90.0, 1200.5,
                   0.9, 2.24, 1e22, 5e-324}) {
    std::string text;
    JsonWriter(text).Double(v);
    EXPECT_EQ(text, ToJsonText(json::value(v)));
    // Reads back as the same double, and stays a double.
    auto back = ParseJson(text);
    ASSERT_TRUE(back) << text;
    ASSERT_TRUE(back->is_double()) << text;
    EXPECT_EQ(back->get_double(), v) << text;
  }
  // As people write numbers, not as Boost.JSON did (9E1, 1.2005E3, 9E-1, 2.24E0).
  const std::pair<double, const char*> plain[] = {
      {90.0, "90.0"}, {1200.5, "1200.5"}, {0.9, "0.9"},        {2.24, "2.24"},
      {-0.0, "-0.0"}, {0.0, "0.0"},       {16000.0, "16000.0"}};
  for (const auto& [v, expected] : plain) {
    std::string text;
    JsonWriter(text).Double(v);
    EXPECT_EQ(text, expected);
  }
}

}  // namespace
}  // namespace borderflow
