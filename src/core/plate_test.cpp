#include <random>
#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <borderflow/core/plate.h>

namespace borderflow {
namespace {

// Parses `text`, failing the test (with the error) if it is refused.
Plate MustParse(std::string_view text) {
  auto plate = ParsePlate(text);
  EXPECT_TRUE(plate.has_value()) << text << ": " << plate.error().ToString();
  return plate ? *plate : Plate{};
}

// Expects `text` to be refused as "invalid_plate" with a message containing `why`.
void ExpectInvalid(std::string_view text, std::string_view why) {
  auto plate = ParsePlate(text);
  ASSERT_FALSE(plate.has_value()) << "accepted '" << text << "' as " << plate->canonical;
  EXPECT_EQ(plate.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(plate.error().code, "invalid_plate");
  EXPECT_NE(plate.error().message.find(why), std::string::npos)
      << "'" << text << "': message '" << plate.error().message << "' lacks '" << why << "'";
}

TEST(PlateTest, CountryCodes) {
  EXPECT_EQ(PlateCountryCode(PlateCountry::kVietnam), "VN");
  EXPECT_EQ(PlateCountryCode(PlateCountry::kChina), "CN");
}

TEST(PlateTest, VietnameseFiveDigitForms) {
  for (std::string_view text : {"12C-123.45", "12C12345", "12c12345", "12C-12345", "12C 123.45",
                                " 12C-123.45 ", "12c 123 45", "12C·123.45"}) {
    Plate p = MustParse(text);
    EXPECT_EQ(p.country, PlateCountry::kVietnam) << text;
    EXPECT_EQ(p.canonical, "12C12345") << text;
    EXPECT_EQ(p.display, "12C-123.45") << text;
    EXPECT_FALSE(p.trailer) << text;
    EXPECT_FALSE(p.new_energy) << text;
  }
}

TEST(PlateTest, VietnameseFourDigitAndTwoLetterSeries) {
  Plate four = MustParse("12C-1234");
  EXPECT_EQ(four.canonical, "12C1234");
  EXPECT_EQ(four.display, "12C-1234");

  Plate ld = MustParse("29ld-123.45");
  EXPECT_EQ(ld.canonical, "29LD12345");
  EXPECT_EQ(ld.display, "29LD-123.45");
  EXPECT_FALSE(ld.trailer);

  // The border provinces of the brief: Cao Bang 11, Lang Son 12, Quang Ninh 14, Lao Cai 24.
  for (std::string_view text : {"11C-012.34", "14C-987.65", "24H-1234", "99C-123.45", "80A-123.45",
                                "51D-999.99", "43C-000.01"}) {
    EXPECT_TRUE(ParsePlate(text).has_value()) << text;
  }
}

TEST(PlateTest, VietnameseTrailer) {
  Plate p = MustParse("12R-012.34");
  EXPECT_TRUE(p.trailer);
  EXPECT_EQ(p.canonical, "12R01234");
  EXPECT_EQ(p.display, "12R-012.34");
  EXPECT_TRUE(MustParse("14r01234").trailer);
  EXPECT_FALSE(MustParse("12RM-012.34").trailer);  // only series R itself is a trailer series
}

TEST(PlateTest, VietnameseInvalid) {
  ExpectInvalid("13C-123.45", "province code 13 does not exist");
  ExpectInvalid("42C-123.45", "province code 42 does not exist");
  ExpectInvalid("44C-123.45", "province code 44 does not exist");
  ExpectInvalid("91C-123.45", "province code 91 does not exist");
  ExpectInvalid("96C-123.45", "province code 96 does not exist");
  ExpectInvalid("10C-123.45", "province code 10 does not exist");
  ExpectInvalid("05C-123.45", "province code 05 does not exist");
  ExpectInvalid("1C-123.45", "two-digit province code");
  ExpectInvalid("12-123.45", "series letter is missing");
  ExpectInvalid("12ABC-123.45", "more than two letters");
  ExpectInvalid("12C-123", "has 3 digits");
  ExpectInvalid("12C-123456", "has 6 digits");
  ExpectInvalid("12C", "has 0 digits");
  ExpectInvalid("12C-12A45", "is not a digit");
  ExpectInvalid("12C-123.4S", "is not a digit");  // camera confusions are not silently fixed
  ExpectInvalid("12C-123/45", "'/' cannot appear");
  ExpectInvalid("12C桂12345", "cannot appear in a Vietnamese plate");
}

TEST(PlateTest, ChineseOrdinary) {
  for (std::string_view text : {"桂F·12345", "桂F12345", "桂f12345", "桂F-12345", "桂F 12345",
                                "桂F.12345", "桂F•12345", "桂 F · 12345"}) {
    Plate p = MustParse(text);
    EXPECT_EQ(p.country, PlateCountry::kChina) << text;
    EXPECT_EQ(p.canonical, "桂F12345") << text;
    EXPECT_EQ(p.display, "桂F·12345") << text;
    EXPECT_FALSE(p.trailer) << text;
    EXPECT_FALSE(p.new_energy) << text;
  }
  Plate letters = MustParse("粤b·a23x5");
  EXPECT_EQ(letters.canonical, "粤BA23X5");
  EXPECT_EQ(letters.display, "粤B·A23X5");
}

TEST(PlateTest, AllThirtyOneProvinces) {
  const std::string_view provinces[] = {"京", "津", "沪", "渝", "冀", "豫", "云", "辽",
                                        "黑", "湘", "皖", "鲁", "新", "苏", "浙", "赣",
                                        "鄂", "桂", "甘", "晋", "蒙", "陕", "吉", "闽",
                                        "贵", "粤", "青", "藏", "川", "宁", "琼"};
  EXPECT_EQ(std::size(provinces), 31u);
  for (std::string_view province : provinces) {
    std::string text = std::string(province) + "A12345";
    Plate p = MustParse(text);
    EXPECT_EQ(p.canonical, text);
    EXPECT_EQ(p.country, PlateCountry::kChina);
  }
  ExpectInvalid("港A12345", "not a Chinese province abbreviation");
  ExpectInvalid("中A12345", "not a Chinese province abbreviation");
}

TEST(PlateTest, ChineseNewEnergy) {
  Plate small = MustParse("桂FD12345");
  EXPECT_TRUE(small.new_energy);
  EXPECT_EQ(small.canonical, "桂FD12345");
  EXPECT_EQ(small.display, "桂F·D12345");
  Plate large = MustParse("桂f·12345f");
  EXPECT_TRUE(large.new_energy);
  EXPECT_EQ(large.canonical, "桂F12345F");
  EXPECT_TRUE(MustParse("京A·F0A123").new_energy);
  EXPECT_FALSE(MustParse("桂F·D1234").new_energy);  // 5 characters: an ordinary plate
  ExpectInvalid("桂F123456", "must start or end with D or F");
  ExpectInvalid("桂FA12345", "must start or end with D or F");
}

TEST(PlateTest, ChineseTrailer) {
  Plate p = MustParse("桂F1234挂");
  EXPECT_TRUE(p.trailer);
  EXPECT_FALSE(p.new_energy);
  EXPECT_EQ(p.canonical, "桂F1234挂");
  EXPECT_EQ(p.display, "桂F·1234挂");
  EXPECT_EQ(MustParse("桂f·1234 挂").canonical, "桂F1234挂");
  ExpectInvalid("桂F12345挂", "4 characters before 挂");
  ExpectInvalid("桂F123挂", "4 characters before 挂");
  ExpectInvalid("桂F12挂34", "only appear at the end");
}

TEST(PlateTest, ChineseInvalid) {
  ExpectInvalid("桂F·1234O", "never contain I or O");
  ExpectInvalid("桂F·I2345", "never contain I or O");
  ExpectInvalid("桂I·12345", "never contain I or O");
  ExpectInvalid("桂O12345", "never contain I or O");
  ExpectInvalid("桂112345", "must be a letter A-Z");
  ExpectInvalid("桂F1234", "not 4");
  ExpectInvalid("桂F1234567", "not 7");
  ExpectInvalid("桂", "authority letter is missing");
  ExpectInvalid("桂桂F12345", "exactly one province character");
  ExpectInvalid("桂F12３45", "cannot appear");  // full-width digit
  ExpectInvalid("桂Ｆ12345", "cannot appear");  // full-width letter
  ExpectInvalid("桂F_12345", "'_' cannot appear");
  // A read without its province character is neither country's plate.
  ExpectInvalid("F12345", "nor a Chinese plate");
}

TEST(PlateTest, GarbageIsRefusedNotCrashed) {
  ExpectInvalid("", "empty");
  ExpectInvalid("   ", "empty");
  ExpectInvalid("-.·", "empty");
  ExpectInvalid(std::string_view("12C\0"
                                 "12345",
                                 9),
                "control character");
  ExpectInvalid("\xff\xfe", "not valid UTF-8");
  ExpectInvalid("\xe6\xa1", "not valid UTF-8");  // truncated 桂
  ExpectInvalid(
      "\xc0\xb1"
      "2C12345",
      "not valid UTF-8");  // overlong '1'
  ExpectInvalid(
      "\xed\xa0\x80"
      "F12345",
      "not valid UTF-8");  // surrogate
  ExpectInvalid("12C-123.45\x80", "not valid UTF-8");
  // Invalid bytes never reach the message verbatim.
  auto bad = ParsePlate(
      "\xff"
      "12C");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message.find('\xff'), std::string::npos);

  std::mt19937 rng(20260101);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<size_t> length(0, 40);
  for (int i = 0; i < 20000; ++i) {
    std::string s(length(rng), '\0');
    for (char& c : s) c = static_cast<char>(byte(rng));
    auto p = ParsePlate(s);
    if (p) {
      EXPECT_FALSE(p->canonical.empty());
    } else {
      EXPECT_EQ(p.error().code, "invalid_plate");
    }
    (void)PlateMatchKey(s);
  }
}

TEST(PlateTest, TooLongInputRefused) {
  std::string long_plate = "12C-123.45" + std::string(23, ' ');  // 33 bytes
  ExpectInvalid(long_plate, "at most 32 bytes");
  EXPECT_TRUE(ParsePlate("12C-123.45" + std::string(22, ' ')).has_value());  // exactly 32
  ExpectInvalid(std::string(1000, '1'), "at most 32 bytes");
}

TEST(PlateTest, MatchKeyCollapsesConfusables) {
  EXPECT_EQ(PlateMatchKey("桂F·12345"), "F12345");
  EXPECT_EQ(PlateMatchKey("桂F·12345"), PlateMatchKey("F1Z345"));
  EXPECT_EQ(PlateMatchKey("12C-123.45"), PlateMatchKey("I2C-I23.4S"));
  EXPECT_EQ(PlateMatchKey("12c 123 45"), "12C12345");
  EXPECT_EQ(PlateMatchKey("0ODQ"), "0000");
  EXPECT_EQ(PlateMatchKey("odq"), "000");
  EXPECT_EQ(PlateMatchKey("8B"), "88");
  EXPECT_EQ(PlateMatchKey("1I"), "11");
  EXPECT_EQ(PlateMatchKey("5S"), "55");
  EXPECT_EQ(PlateMatchKey("2Z"), "22");
  EXPECT_EQ(PlateMatchKey("桂F1234挂"), "F1234");
  EXPECT_EQ(PlateMatchKey("桂FD12345"), "F012345");
  EXPECT_EQ(PlateMatchKey(""), "");
  EXPECT_EQ(PlateMatchKey("\xff\xfe·•"), "");
  // Letters that are not confusable stay distinct.
  EXPECT_NE(PlateMatchKey("12C-123.45"), PlateMatchKey("12G-123.45"));
  EXPECT_NE(PlateMatchKey("桂F·12345"), PlateMatchKey("桂E·12345"));
  EXPECT_NE(PlateMatchKey("12C-123.45"), PlateMatchKey("12C-123.46"));
}

TEST(PlateTest, MatchKeyOfParsedPlateEqualsKeyOfRawRead) {
  for (std::string_view raw : {"12c 123.45", "桂f-12345", "桂F1234挂", "29LD-123.45"}) {
    Plate p = MustParse(raw);
    EXPECT_EQ(PlateMatchKey(p.canonical), PlateMatchKey(raw)) << raw;
    EXPECT_EQ(PlateMatchKey(p.display), PlateMatchKey(raw)) << raw;
  }
}

void ExpectInvalidContainer(std::string_view text, std::string_view why) {
  auto c = ParseContainerNumber(text);
  ASSERT_FALSE(c.has_value()) << "accepted '" << text << "'";
  EXPECT_EQ(c.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(c.error().code, "invalid_container_number");
  EXPECT_NE(c.error().message.find(why), std::string::npos)
      << "'" << text << "': message '" << c.error().message << "' lacks '" << why << "'";
}

TEST(ContainerNumberTest, Valid) {
  for (std::string_view text : {"CSQU3054383", "csqu3054383", "CSQU 305438 3", "CSQU-305438-3"}) {
    auto c = ParseContainerNumber(text);
    ASSERT_TRUE(c.has_value()) << text << ": " << c.error().ToString();
    EXPECT_EQ(*c, "CSQU3054383");
  }
  EXPECT_TRUE(ParseContainerNumber("MSKU9070323").has_value());
  EXPECT_TRUE(ParseContainerNumber("TOLU4734787").has_value());
  EXPECT_TRUE(ParseContainerNumber("tghu 000000 8").has_value());
  // A check value of 10 is written as 0.
  EXPECT_TRUE(ParseContainerNumber("CSQU0000070").has_value());
  EXPECT_FALSE(ParseContainerNumber("CSQU0000071").has_value());
}

TEST(ContainerNumberTest, Invalid) {
  ExpectInvalidContainer("CSQU3054384", "wrong check digit 4, expected 3");
  ExpectInvalidContainer("CSQU3054388", "wrong check digit 8, expected 3");
  ExpectInvalidContainer("CSQU305438", "has 10 characters");
  ExpectInvalidContainer("CSQU30543833", "has 12 characters");
  ExpectInvalidContainer("", "has 0 characters");
  ExpectInvalidContainer("C5QU3054383", "owner code");
  ExpectInvalidContainer("CSQX3054383", "category");
  ExpectInvalidContainer("CSQU30543A3", "must be digits");
  ExpectInvalidContainer(
      "CSQU\xff"
      "054383",
      "must be digits");
  ExpectInvalidContainer(std::string(40, 'A'), "at most 32");
}

}  // namespace
}  // namespace borderflow
