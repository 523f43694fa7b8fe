#pragma once

// Instants are UTC milliseconds since the Unix epoch. Each gate side shows local time at a fixed
// offset (Vietnam UTC+7, China UTC+8, no daylight saving); every formatted timestamp names its
// zone.

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/error.h>

namespace borderflow {

using Timestamp = std::chrono::sys_time<std::chrono::milliseconds>;
using Duration = std::chrono::milliseconds;

inline int64_t ToUnixMillis(Timestamp t) { return t.time_since_epoch().count(); }
inline Timestamp FromUnixMillis(int64_t ms) { return Timestamp(Duration(ms)); }

// A fixed offset from UTC, in minutes east of Greenwich (+420 for Vietnam, +480 for China).
struct UtcOffset {
  int minutes = 0;
  friend bool operator==(UtcOffset, UtcOffset) = default;
};

// "2026-11-29T01:37:06.123Z"
std::string FormatUtc(Timestamp t);
// "2026-11-29T08:37:06+07:00" (seconds precision; milliseconds when non-zero).
std::string FormatLocal(Timestamp t, UtcOffset offset);
// The same appended to `text` (no allocation of its own: documents hold many timestamps).
void AppendUtc(std::string& text, Timestamp t);
void AppendLocal(std::string& text, Timestamp t, UtcOffset offset);
// "+07:00"
std::string FormatOffset(UtcOffset offset);
// Parses "+07:00", "+0700", "UTC+7", "Z".
Result<UtcOffset> ParseUtcOffset(std::string_view text);

// Parses an RFC 3339 timestamp that names its zone ("...Z" or "...+07:00"); fractional seconds
// are kept to the millisecond. A timestamp without a zone is refused: it is ambiguous at a border.
Result<Timestamp> ParseTimestamp(std::string_view text);

// Minutes since local midnight (0..1439) of `t` at `offset`.
int LocalMinuteOfDay(Timestamp t, UtcOffset offset);
// Parses "HH:MM" (00:00..24:00) into minutes since midnight.
Result<int> ParseClockTime(std::string_view text);
// The local calendar day of `t` at `offset`, as days since 1970-01-01.
int LocalDayNumber(Timestamp t, UtcOffset offset);
// Parses a calendar date "YYYY-MM-DD" (years 2000..2199) into days since 1970-01-01.
Result<int> ParseDate(std::string_view text);
// "YYYY-MM-DD" of a day number.
std::string FormatDate(int day_number);

}  // namespace borderflow
