#include <date/date.h>
#include <fmt/format.h>

#include <borderflow/core/time.h>

namespace borderflow {
namespace {

// Writes `value` as exactly `width` decimal digits (zero-padded) at `out`.
char* PutDigits(char* out, int64_t value, int width) {
  for (int i = width - 1; i >= 0; --i) {
    out[i] = static_cast<char>('0' + value % 10);
    value /= 10;
  }
  return out + width;
}

// Hot: every crossing document holds a dozen timestamps, so this writes digits into one
// buffer rather than going through a formatting library.
void AppendWithOffset(std::string& text, Timestamp t, UtcOffset offset, bool zulu) {
  auto local = t + std::chrono::minutes(offset.minutes);
  auto day = date::floor<date::days>(local);
  date::year_month_day ymd(day);
  int64_t ms = (local - day).count();  // 0 .. 86'399'999
  int year = int(ymd.year());
  if (year < 0 || year > 9999) {
    // Not a time this system stores (ParseTimestamp refuses them): the general way.
    date::hh_mm_ss<Duration> hms(local - day);
    std::string out = fmt::format("{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}", year,
                                  unsigned(ymd.month()), unsigned(ymd.day()), hms.hours().count(),
                                  hms.minutes().count(), hms.seconds().count());
    if (zulu || ms % 1000 != 0) out += fmt::format(".{:03d}", ms % 1000);
    text += out;
    text += zulu ? "Z" : FormatOffset(offset);
    return;
  }
  char buf[32];
  char* p = PutDigits(buf, year, 4);
  *p++ = '-';
  p = PutDigits(p, unsigned(ymd.month()), 2);
  *p++ = '-';
  p = PutDigits(p, unsigned(ymd.day()), 2);
  *p++ = 'T';
  p = PutDigits(p, ms / 3'600'000, 2);
  *p++ = ':';
  p = PutDigits(p, ms / 60'000 % 60, 2);
  *p++ = ':';
  p = PutDigits(p, ms / 1000 % 60, 2);
  if (zulu || ms % 1000 != 0) {
    *p++ = '.';
    p = PutDigits(p, ms % 1000, 3);
  }
  if (zulu) {
    *p++ = 'Z';
  } else {
    int m = offset.minutes;
    *p++ = m < 0 ? '-' : '+';
    if (m < 0) m = -m;
    p = PutDigits(p, m / 60, 2);
    *p++ = ':';
    p = PutDigits(p, m % 60, 2);
  }
  text.append(buf, p);
}

// Untrusted text made safe for an error message: at most 48 bytes, printable ASCII kept and any
// other byte (control characters, possibly invalid UTF-8) replaced by '?'.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 48)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > 48) out += "...";
  return out;
}

// Parses a non-empty run of ASCII digits (no sign, no spaces) of at most 9 digits.
bool ParseInt(std::string_view s, int& out) {
  if (s.empty() || s.size() > 9) return false;
  int value = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  out = value;
  return true;
}

// Parses exactly `width` digits at `s[pos]`.
bool ParseFixed(std::string_view s, size_t pos, size_t width, int& out) {
  return pos + width <= s.size() && ParseInt(s.substr(pos, width), out);
}

}  // namespace

std::string FormatUtc(Timestamp t) {
  std::string text;
  AppendUtc(text, t);
  return text;
}

std::string FormatLocal(Timestamp t, UtcOffset offset) {
  std::string text;
  AppendLocal(text, t, offset);
  return text;
}

void AppendUtc(std::string& text, Timestamp t) { AppendWithOffset(text, t, UtcOffset{0}, true); }

void AppendLocal(std::string& text, Timestamp t, UtcOffset offset) {
  AppendWithOffset(text, t, offset, false);
}

std::string FormatOffset(UtcOffset offset) {
  int m = offset.minutes;
  char sign = m < 0 ? '-' : '+';
  if (m < 0) m = -m;
  return fmt::format("{}{:02d}:{:02d}", sign, m / 60, m % 60);
}

Result<UtcOffset> ParseUtcOffset(std::string_view text) {
  auto bad = [&] {
    return InvalidArgument("invalid_utc_offset",
                           fmt::format("'{}' is not a UTC offset such as +07:00", Printable(text)));
  };
  std::string_view s = text;
  if (s == "Z" || s == "UTC") return UtcOffset{0};
  if (s.starts_with("UTC")) s.remove_prefix(3);
  if (s.empty() || (s[0] != '+' && s[0] != '-')) return bad();
  int sign = s[0] == '-' ? -1 : 1;
  s.remove_prefix(1);
  int hours = 0, minutes = 0;
  if (auto colon = s.find(':'); colon != std::string_view::npos) {
    if (!ParseInt(s.substr(0, colon), hours) || !ParseInt(s.substr(colon + 1), minutes)) {
      return bad();
    }
  } else if (s.size() == 4) {
    if (!ParseInt(s.substr(0, 2), hours) || !ParseInt(s.substr(2), minutes)) return bad();
  } else if (!ParseInt(s, hours)) {
    return bad();
  }
  if (hours > 14 || minutes > 59 || hours < 0 || minutes < 0) return bad();
  return UtcOffset{sign * (hours * 60 + minutes)};
}

Result<Timestamp> ParseTimestamp(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return InvalidArgument(
        "invalid_timestamp",
        fmt::format("'{}' is not an RFC 3339 timestamp with a zone ({})", Printable(text), why));
  };
  if (text.size() > 40) return bad("too long");
  // YYYY-MM-DDTHH:MM:SS
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!ParseFixed(text, 0, 4, year) || text.size() < 19 || text[4] != '-' ||
      !ParseFixed(text, 5, 2, month) || text[7] != '-' || !ParseFixed(text, 8, 2, day) ||
      (text[10] != 'T' && text[10] != 't' && text[10] != ' ') || !ParseFixed(text, 11, 2, hour) ||
      text[13] != ':' || !ParseFixed(text, 14, 2, minute) || text[16] != ':' ||
      !ParseFixed(text, 17, 2, second)) {
    return bad("expected YYYY-MM-DDTHH:MM:SS followed by Z or an offset such as +07:00");
  }
  date::year_month_day ymd{date::year(year), date::month(static_cast<unsigned>(month)),
                           date::day(static_cast<unsigned>(day))};
  if (!ymd.ok()) return bad("no such date");
  if (hour > 23 || minute > 59 || second > 59) return bad("no such time of day");
  size_t pos = 19;
  int millis = 0;
  if (pos < text.size() && text[pos] == '.') {
    size_t digits = 0;
    while (pos + 1 + digits < text.size() && text[pos + 1 + digits] >= '0' &&
           text[pos + 1 + digits] <= '9') {
      ++digits;
    }
    if (digits == 0 || digits > 9) return bad("fractional seconds need 1 to 9 digits");
    // Kept to the millisecond: "5" is 500 ms, "123456" is 123 ms.
    for (size_t i = 0; i < 3; ++i) {
      millis = millis * 10 + (i < digits ? text[pos + 1 + i] - '0' : 0);
    }
    pos += 1 + digits;
  }
  std::string_view zone = text.substr(pos);
  if (zone.empty()) return bad("no zone: add Z or an offset such as +07:00");
  UtcOffset offset;
  if (zone == "Z" || zone == "z") {
    offset = UtcOffset{0};
  } else {
    // RFC 3339 numeric offsets are exactly +HH:MM or -HH:MM.
    if (zone.size() != 6 || (zone[0] != '+' && zone[0] != '-') || zone[3] != ':') {
      return bad("bad zone");
    }
    auto parsed = ParseUtcOffset(zone);
    if (!parsed) return bad("bad zone");
    offset = *parsed;
  }
  auto local = date::sys_days(ymd) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
               std::chrono::seconds(second) + Duration(millis);
  Timestamp utc(local - std::chrono::minutes(offset.minutes));
  // Times are written back with four-digit years, in UTC and in each side's local time: refuse
  // an instant that some zone could not write ("9999-12-31T23:59:59Z" is in the year 10000 at
  // +07:00). A day's margin at each end covers every offset.
  static const Timestamp kFirst(date::sys_days(date::year(0) / 1 / 2));
  static const Timestamp kLast(date::sys_days(date::year(9999) / 12 / 31) - Duration(1));
  if (utc < kFirst || utc > kLast) {
    return bad(
        "outside 0000-01-02 to 9999-12-30 in UTC (every zone must write it back with a "
        "four-digit year)");
  }
  return utc;
}

int LocalMinuteOfDay(Timestamp t, UtcOffset offset) {
  auto local = t + std::chrono::minutes(offset.minutes);
  auto since_midnight = local - date::floor<date::days>(local);
  return static_cast<int>(std::chrono::duration_cast<std::chrono::minutes>(since_midnight).count());
}

Result<int> ParseClockTime(std::string_view text) {
  int h = 0, m = 0;
  if (text.size() != 5 || text[2] != ':' || !ParseInt(text.substr(0, 2), h) ||
      !ParseInt(text.substr(3), m) || h > 24 || m > 59 || (h == 24 && m != 0)) {
    return InvalidArgument("invalid_clock_time",
                           fmt::format("'{}' is not a time of day HH:MM", Printable(text)));
  }
  return h * 60 + m;
}

int LocalDayNumber(Timestamp t, UtcOffset offset) {
  auto local = t + std::chrono::minutes(offset.minutes);
  return static_cast<int>(date::floor<date::days>(local).time_since_epoch().count());
}

Result<int> ParseDate(std::string_view text) {
  int y = 0, m = 0, d = 0;
  auto bad = [&] {
    return InvalidArgument("invalid_date",
                           fmt::format("'{}' is not a date YYYY-MM-DD", Printable(text)));
  };
  if (text.size() != 10 || text[4] != '-' || text[7] != '-' || !ParseInt(text.substr(0, 4), y) ||
      !ParseInt(text.substr(5, 2), m) || !ParseInt(text.substr(8, 2), d)) {
    return bad();
  }
  date::year_month_day ymd{date::year(y), date::month(static_cast<unsigned>(m)),
                           date::day(static_cast<unsigned>(d))};
  if (y < 2000 || y > 2199 || !ymd.ok()) return bad();
  return static_cast<int>(date::sys_days(ymd).time_since_epoch().count());
}

std::string FormatDate(int day_number) {
  date::year_month_day ymd{date::sys_days(date::days(day_number))};
  return fmt::format("{:04d}-{:02d}-{:02d}", int(ymd.year()), unsigned(ymd.month()),
                     unsigned(ymd.day()));
}

}  // namespace borderflow
