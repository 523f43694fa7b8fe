// Fuzz target: timestamps, UTC offsets and clock times (include/borderflow/core/time.h).
// Timestamps arrive in declarations and peer messages, offsets and clock times in configuration.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include <borderflow/core/time.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;

namespace {

void CheckTimestamp(std::string_view text) {
  auto t = bf::ParseTimestamp(text);
  if (!t) {
    FUZZ_CHECK(t.error().code == "invalid_timestamp", t.error().ToString());
    return;
  }
  std::string utc = bf::FormatUtc(*t);
  auto back = bf::ParseTimestamp(utc);
  FUZZ_CHECK(back.has_value(), "'" + Escaped(text) + "' parses but its UTC form '" + utc +
                                   "' does not: " + back.error().ToString());
  FUZZ_CHECK(*back == *t, "'" + Escaped(text) + "' -> '" + utc + "' -> " +
                              std::to_string(bf::ToUnixMillis(*back)) + " ms, not " +
                              std::to_string(bf::ToUnixMillis(*t)));
  for (int minutes : {420, 480, -600}) {
    std::string local = bf::FormatLocal(*t, bf::UtcOffset{minutes});
    int minute = bf::LocalMinuteOfDay(*t, bf::UtcOffset{minutes});
    FUZZ_CHECK(minute >= 0 && minute < 24 * 60, std::to_string(minute));
    // RFC 3339 years have four digits: a local time that falls outside 0000-9999 cannot be
    // written as one (FormatLocal gives "10000-01-01T..."), so it cannot round-trip.
    if (local.size() < 5 || local[4] != '-' || local[0] == '-') continue;
    auto from_local = bf::ParseTimestamp(local);
    FUZZ_CHECK(from_local.has_value() && *from_local == *t,
               "local form '" + local + "' of '" + Escaped(text) + "' does not round-trip");
  }
}

void CheckOffset(std::string_view text) {
  auto offset = bf::ParseUtcOffset(text);
  if (!offset) {
    FUZZ_CHECK(offset.error().code == "invalid_utc_offset", offset.error().ToString());
    return;
  }
  FUZZ_CHECK(offset->minutes >= -(14 * 60 + 59) && offset->minutes <= 14 * 60 + 59,
             std::to_string(offset->minutes));
  std::string formatted = bf::FormatOffset(*offset);
  auto back = bf::ParseUtcOffset(formatted);
  FUZZ_CHECK(back.has_value() && *back == *offset,
             "'" + Escaped(text) + "' -> '" + formatted + "' does not round-trip");
}

void CheckClockTime(std::string_view text) {
  auto minute = bf::ParseClockTime(text);
  if (!minute) {
    FUZZ_CHECK(minute.error().code == "invalid_clock_time", minute.error().ToString());
    return;
  }
  FUZZ_CHECK(*minute >= 0 && *minute <= 24 * 60, std::to_string(*minute));
  std::string formatted = fmt::format("{:02d}:{:02d}", *minute / 60, *minute % 60);
  auto back = bf::ParseClockTime(formatted);
  FUZZ_CHECK(back.has_value() && *back == *minute,
             "'" + Escaped(text) + "' -> '" + formatted + "' does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckTimestamp(text);
  CheckOffset(text);
  CheckClockTime(text);
  return 0;
}
