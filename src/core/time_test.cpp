#include <string>
#include <string_view>

#include <gtest/gtest.h>

#include <borderflow/core/time.h>

namespace borderflow {
namespace {

constexpr UtcOffset kVietnam{420};
constexpr UtcOffset kChina{480};
// 2026-11-29T01:37:06.123Z
constexpr int64_t kInstantMs = 1795916226123;

Timestamp MustParse(std::string_view text) {
  auto t = ParseTimestamp(text);
  EXPECT_TRUE(t.has_value()) << text << ": " << t.error().ToString();
  return t ? *t : Timestamp{};
}

void ExpectBadTimestamp(std::string_view text) {
  auto t = ParseTimestamp(text);
  ASSERT_FALSE(t.has_value()) << "accepted '" << text << "' as " << FormatUtc(*t);
  EXPECT_EQ(t.error().kind, ErrorKind::kInvalidArgument);
  EXPECT_EQ(t.error().code, "invalid_timestamp");
}

TEST(TimeTest, UnixMillisConversions) {
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(kInstantMs)), kInstantMs);
  EXPECT_EQ(ToUnixMillis(FromUnixMillis(-1)), -1);
}

TEST(TimeTest, FormatUtc) {
  EXPECT_EQ(FormatUtc(FromUnixMillis(kInstantMs)), "2026-11-29T01:37:06.123Z");
  EXPECT_EQ(FormatUtc(FromUnixMillis(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtc(FromUnixMillis(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatUtc(FromUnixMillis(1709249400000)), "2024-02-29T23:30:00.000Z");
}

TEST(TimeTest, FormatUtcAtTheEdgesOfFourDigitYears) {
  // 0000-01-01T00:00:00Z and 9999-12-31T23:59:59.999Z: the fast path's whole range.
  EXPECT_EQ(FormatUtc(FromUnixMillis(-62167219200000)), "0000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatUtc(FromUnixMillis(253402300799999)), "9999-12-31T23:59:59.999Z");
  // Beyond it (never stored: ParseTimestamp refuses them) the text is still well formed.
  EXPECT_EQ(FormatUtc(FromUnixMillis(253402300800000)), "10000-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatLocal(FromUnixMillis(253402300799000), kChina), "10000-01-01T07:59:59+08:00");
}

TEST(TimeTest, FormatLocal) {
  Timestamp t = FromUnixMillis(kInstantMs);
  EXPECT_EQ(FormatLocal(t, kVietnam), "2026-11-29T08:37:06.123+07:00");
  EXPECT_EQ(FormatLocal(t, kChina), "2026-11-29T09:37:06.123+08:00");
  Timestamp whole = FromUnixMillis(kInstantMs - 123);
  EXPECT_EQ(FormatLocal(whole, kVietnam), "2026-11-29T08:37:06+07:00");
  EXPECT_EQ(FormatLocal(whole, kChina), "2026-11-29T09:37:06+08:00");
  EXPECT_EQ(FormatLocal(whole, UtcOffset{0}), "2026-11-29T01:37:06+00:00");
  EXPECT_EQ(FormatLocal(whole, UtcOffset{-330}), "2026-11-28T20:07:06-05:30");
  // 17:00Z is already the next day on both sides, and a leap day rolls into March.
  EXPECT_EQ(FormatLocal(FromUnixMillis(1795971600000), kVietnam), "2026-11-30T00:00:00+07:00");
  EXPECT_EQ(FormatLocal(FromUnixMillis(1709249400000), kChina), "2024-03-01T07:30:00+08:00");
}

TEST(TimeTest, FormatAndParseOffset) {
  EXPECT_EQ(FormatOffset(kVietnam), "+07:00");
  EXPECT_EQ(FormatOffset(kChina), "+08:00");
  EXPECT_EQ(FormatOffset(UtcOffset{0}), "+00:00");
  EXPECT_EQ(FormatOffset(UtcOffset{-330}), "-05:30");

  struct Case {
    std::string_view text;
    int minutes;
  };
  for (auto [text, minutes] :
       {Case{"+07:00", 420}, Case{"+0700", 420}, Case{"UTC+7", 420}, Case{"UTC+8", 480},
        Case{"+08:00", 480}, Case{"Z", 0}, Case{"UTC", 0}, Case{"-05:30", -330},
        Case{"+05:45", 345}, Case{"+14:00", 840}}) {
    auto offset = ParseUtcOffset(text);
    ASSERT_TRUE(offset.has_value()) << text << ": " << offset.error().ToString();
    EXPECT_EQ(offset->minutes, minutes) << text;
  }
  for (std::string_view text :
       {"", "07:00", "+", "UTC+", "+15:00", "+07:60", "+07:", "+-7:00", "+07:-1", "+07:+1", "+ 7",
        "GMT+7", "+07:00:00", "+07 00", "z0", "+070"}) {
    auto offset = ParseUtcOffset(text);
    EXPECT_FALSE(offset.has_value()) << "accepted '" << text << "' as " << offset->minutes;
    if (!offset) {
      EXPECT_EQ(offset.error().code, "invalid_utc_offset");
    }
  }
}

TEST(TimeTest, ParseTimestampWithZones) {
  Timestamp t = FromUnixMillis(kInstantMs);
  EXPECT_EQ(MustParse("2026-11-29T01:37:06.123Z"), t);
  EXPECT_EQ(MustParse("2026-11-29T08:37:06.123+07:00"), t);
  EXPECT_EQ(MustParse("2026-11-29T09:37:06.123+08:00"), t);
  EXPECT_EQ(MustParse("2026-11-28T20:07:06.123-05:30"), t);
  EXPECT_EQ(MustParse("2026-11-29t01:37:06.123z"), t);
  EXPECT_EQ(MustParse("2026-11-29 08:37:06.123+07:00"), t);
  EXPECT_EQ(MustParse("2026-11-29T08:37:06+07:00"), FromUnixMillis(kInstantMs - 123));
  EXPECT_EQ(MustParse("2026-11-29T00:00:00+07:00"), MustParse("2026-11-28T17:00:00Z"));
  // The same wall-clock time on the two sides is one hour apart.
  EXPECT_EQ(MustParse("2026-11-29T08:00:00+07:00") - MustParse("2026-11-29T08:00:00+08:00"),
            std::chrono::hours(1));
}

TEST(TimeTest, ParseTimestampFractions) {
  Timestamp base = FromUnixMillis(kInstantMs - 123);
  EXPECT_EQ(MustParse("2026-11-29T01:37:06.5Z"), base + Duration(500));
  EXPECT_EQ(MustParse("2026-11-29T01:37:06.05Z"), base + Duration(50));
  EXPECT_EQ(MustParse("2026-11-29T01:37:06.000Z"), base);
  // Finer fractions are kept to the millisecond (truncated).
  EXPECT_EQ(MustParse("2026-11-29T01:37:06.123456Z"), base + Duration(123));
  EXPECT_EQ(MustParse("2026-11-29T08:37:06.123999999+07:00"), base + Duration(123));
}

TEST(TimeTest, RoundTrips) {
  for (int64_t ms : {kInstantMs, kInstantMs - 123, int64_t{0}, int64_t{1709249400000},
                     int64_t{1709249400001}, int64_t{-86400000}, int64_t{4102444799999}}) {
    Timestamp t = FromUnixMillis(ms);
    EXPECT_EQ(MustParse(FormatUtc(t)), t) << FormatUtc(t);
    EXPECT_EQ(MustParse(FormatLocal(t, kVietnam)), t) << FormatLocal(t, kVietnam);
    EXPECT_EQ(MustParse(FormatLocal(t, kChina)), t) << FormatLocal(t, kChina);
    EXPECT_EQ(MustParse(FormatLocal(t, UtcOffset{-330})), t);
  }
}

TEST(TimeTest, TimestampsWithoutZoneAreRefused) {
  ExpectBadTimestamp("2026-11-29T08:37:06");
  ExpectBadTimestamp("2026-11-29T08:37:06.123");
  ExpectBadTimestamp("2026-11-29T08:37:06.123456");
  ExpectBadTimestamp("2026-11-29 08:37:06");
  ExpectBadTimestamp("2026-11-29");
  auto t = ParseTimestamp("2026-11-29T08:37:06.123");
  ASSERT_FALSE(t.has_value());
  EXPECT_NE(t.error().message.find("zone"), std::string::npos) << t.error().message;
}

TEST(TimeTest, MalformedTimestampsAreRefused) {
  for (std::string_view text : {"",
                                "Z",
                                "now",
                                "2026-11-29T08:37:06+",  // dangling sign is not UTC
                                "2026-11-29T08:37:06-",  //
                                "2026-11-29T08:37:06+07",
                                "2026-11-29T08:37:06+7:00",
                                "2026-11-29T08:37:06+15:00",
                                "2026-11-29T08:37:06+07:00x",
                                "2026-11-29T08:37:06 +07:00",
                                "2026-11-29T08:37:06.+07:00",
                                "2026-11-29T08:37+07:00",
                                "2026-11-29T08:37:06ZZ",
                                "2026-11-29X08:37:06Z",
                                "2026-1-29T08:37:06.12Z",
                                "2026-11-9T08:37:06.12Z",
                                "2026-11-29T8:37:06.12Z",
                                "26-11-29T08:37:06.123Z",
                                "2026-13-01T00:00:00Z",
                                "2026-02-30T00:00:00Z",
                                "2026-11-29T24:00:01Z",
                                "2026-11-29T08:60:00Z",
                                "2026-11-29T08:37:61Z",
                                "+2026-11-29T08:37:06Z",
                                "2026-11-29T08:37:06.1234567890123Z",
                                "2026\xff"
                                "11-29T08:37:06Z",
                                "2026-11-29T08:37:06.123Z\n"}) {
    ExpectBadTimestamp(text);
  }
  ExpectBadTimestamp(std::string(1000, '9'));
  // Error messages never carry raw control bytes or invalid UTF-8 from the input.
  auto bad = ParseTimestamp("2026-11-29T08:37:06\xff\n");
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().message.find('\xff'), std::string::npos) << bad.error().message;
  EXPECT_EQ(bad.error().message.find('\n'), std::string::npos) << bad.error().message;
  auto long_input = ParseTimestamp(std::string(1000, '9'));
  ASSERT_FALSE(long_input.has_value());
  EXPECT_LT(long_input.error().message.size(), 200u);
  auto bad_offset = ParseUtcOffset("+\xff");
  ASSERT_FALSE(bad_offset.has_value());
  EXPECT_EQ(bad_offset.error().message.find('\xff'), std::string::npos);
  auto bad_clock = ParseClockTime("\x01\x02:00");
  ASSERT_FALSE(bad_clock.has_value());
  EXPECT_EQ(bad_clock.error().message.find('\x01'), std::string::npos);
}

// Every accepted time can be written back in UTC and in any zone with a four-digit year, and
// so parsed again (found by an adversarial review: 9999-12-31T23:59:59Z was accepted, and its
// Vietnamese local time was 10000-01-01T06:59:59+07:00).
TEST(TimeTest, TimesThatSomeZoneCouldNotWriteAreRefused) {
  for (std::string_view text :
       {"9999-12-31T23:59:59Z", "9999-12-31T00:00:00Z", "9999-12-31T07:00:00+07:00",
        "0000-01-01T00:00:00Z", "0000-01-01T23:59:59.999Z", "0000-01-02T07:59:59+08:00"}) {
    ExpectBadTimestamp(text);
  }
  for (std::string_view text : {"9999-12-30T23:59:59.999Z", "0000-01-02T00:00:00Z"}) {
    SCOPED_TRACE(text);
    auto t = ParseTimestamp(text);
    ASSERT_TRUE(t.has_value()) << t.error().ToString();
    for (UtcOffset zone : {UtcOffset{14 * 60}, UtcOffset{-12 * 60}, kVietnam, kChina}) {
      auto again = ParseTimestamp(FormatLocal(*t, zone));
      ASSERT_TRUE(again.has_value()) << FormatLocal(*t, zone);
      EXPECT_EQ(*again, *t);
    }
  }
}

TEST(TimeTest, LocalMinuteOfDay) {
  Timestamp t = FromUnixMillis(kInstantMs);  // 01:37:06Z
  EXPECT_EQ(LocalMinuteOfDay(t, UtcOffset{0}), 1 * 60 + 37);
  EXPECT_EQ(LocalMinuteOfDay(t, kVietnam), 8 * 60 + 37);
  EXPECT_EQ(LocalMinuteOfDay(t, kChina), 9 * 60 + 37);
  EXPECT_EQ(LocalMinuteOfDay(MustParse("2026-11-29T23:59:59.999+07:00"), kVietnam), 1439);
  EXPECT_EQ(LocalMinuteOfDay(MustParse("2026-11-29T00:00:00+07:00"), kVietnam), 0);
  EXPECT_EQ(LocalMinuteOfDay(MustParse("2026-11-29T00:00:00+07:00"), kChina), 60);
  EXPECT_EQ(LocalMinuteOfDay(MustParse("2026-11-29T23:30:00+07:00"), kChina), 30);
  EXPECT_EQ(LocalMinuteOfDay(FromUnixMillis(-60000), UtcOffset{0}), 1439);  // before the epoch
  for (int64_t ms = -86400000; ms < 2 * 86400000; ms += 7 * 60000 + 13) {
    int m = LocalMinuteOfDay(FromUnixMillis(ms), kVietnam);
    EXPECT_GE(m, 0);
    EXPECT_LE(m, 1439);
  }
}

TEST(TimeTest, ParseClockTime) {
  struct Case {
    std::string_view text;
    int minutes;
  };
  for (auto [text, minutes] : {Case{"00:00", 0}, Case{"07:30", 450}, Case{"12:00", 720},
                               Case{"23:59", 1439}, Case{"24:00", 1440}}) {
    auto m = ParseClockTime(text);
    ASSERT_TRUE(m.has_value()) << text << ": " << m.error().ToString();
    EXPECT_EQ(*m, minutes) << text;
  }
  for (std::string_view text :
       {"", "7:30", "07:3", "0730", "07-30", "07:30:00", "24:01", "25:00", "07:60", "-1:00",
        "+7:00", "07:-1", "07:+1", " 7:30", "ab:cd", "07:30 ", "\xff\xff:00"}) {
    auto m = ParseClockTime(text);
    EXPECT_FALSE(m.has_value()) << "accepted '" << text << "' as " << *m;
    if (!m) {
      EXPECT_EQ(m.error().code, "invalid_clock_time");
      EXPECT_EQ(m.error().kind, ErrorKind::kInvalidArgument);
    }
  }
}

}  // namespace
}  // namespace borderflow
