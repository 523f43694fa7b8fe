#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <borderflow/core/plate.h>
#include <borderflow/core/utf8.h>

namespace borderflow {
namespace {

constexpr size_t kMaxPlateBytes = 32;
constexpr size_t kMaxContainerBytes = 32;

constexpr char32_t kMiddleDot = U'\u00B7';    // '·'
constexpr char32_t kBullet = U'\u2022';       // '•'
constexpr char32_t kTrailerMark = U'\u6302';  // '挂'
constexpr char32_t kReplacement = U'\uFFFD';

// The 31 provincial-level abbreviations of mainland China (GA 36-2018).
constexpr std::u32string_view kChineseProvinces =
    U"京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";

std::string Utf8(char32_t cp) {
  std::string out;
  AppendUtf8(out, cp);
  return out;
}

// A copy of untrusted text that is safe to put in an error message: invalid UTF-8 and control
// characters become U+FFFD, and the result is cut to `max_bytes` of input.
std::string Printable(std::string_view text, size_t max_bytes = kMaxPlateBytes) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size() && pos < max_bytes) {
    char32_t cp = 0;
    size_t len = 1;
    if (!DecodeUtf8(text, pos, cp, len) || cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp < 0xA0)) {
      cp = kReplacement;
    }
    AppendUtf8(out, cp);
    pos += len;
  }
  if (pos < text.size()) out += "...";
  return out;
}

bool IsAsciiDigit(char32_t c) { return c >= U'0' && c <= U'9'; }
bool IsAsciiUpper(char32_t c) { return c >= U'A' && c <= U'Z'; }
bool IsAsciiLower(char32_t c) { return c >= U'a' && c <= U'z'; }
char ToUpperAscii(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool IsPlateSeparator(char32_t c) {
  return c == U' ' || c == U'-' || c == U'.' || c == kMiddleDot || c == kBullet;
}

bool IsChineseProvince(char32_t c) {
  return kChineseProvinces.find(c) != std::u32string_view::npos;
}

Error PlateError(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid_plate", fmt::format("plate '{}': {}", Printable(text), why));
}

// Vietnamese province codes not in use (13 was Ha Bac; 42, 44-46, 91 and 96 were never issued).
bool IsVietnameseProvince(int code) {
  if (code < 11 || code > 99) return false;
  switch (code) {
    case 13:
    case 42:
    case 44:
    case 45:
    case 46:
    case 91:
    case 96:
      return false;
    default:
      return true;
  }
}

// `chars`: the plate without separators, ASCII letters upper-cased.
Result<Plate> ParseVietnamese(std::string_view text, const std::u32string& chars) {
  std::string s;
  for (char32_t c : chars) {
    if (c >= 0x80) {
      return PlateError(text,
                        fmt::format("'{}' cannot appear in a Vietnamese plate, which has only "
                                    "Latin letters and digits",
                                    Utf8(c)));
    }
    s += static_cast<char>(c);
  }
  if (s.size() < 2 || !IsAsciiDigit(s[1])) {
    return PlateError(text, "a Vietnamese plate starts with a two-digit province code");
  }
  int province = (s[0] - '0') * 10 + (s[1] - '0');
  if (!IsVietnameseProvince(province)) {
    return PlateError(text, fmt::format("province code {} does not exist", s.substr(0, 2)));
  }
  size_t pos = 2;
  while (pos < s.size() && IsAsciiUpper(s[pos])) ++pos;
  std::string series = s.substr(2, pos - 2);
  if (series.empty()) {
    return PlateError(
        text, fmt::format("the series letter is missing after province code {}", s.substr(0, 2)));
  }
  if (series.size() > 2) {
    return PlateError(text, fmt::format("series '{}' has more than two letters", series));
  }
  std::string number = s.substr(pos);
  for (char c : number) {
    if (!IsAsciiDigit(c)) {
      return PlateError(
          text, fmt::format("'{}' after series {} is not a digit; the number is 4 or 5 digits", c,
                            series));
    }
  }
  if (number.size() != 4 && number.size() != 5) {
    return PlateError(text, fmt::format("the number after series {} has {} digits; Vietnamese "
                                        "plates have 4 or 5",
                                        series, number.size()));
  }
  Plate plate;
  plate.country = PlateCountry::kVietnam;
  plate.canonical = s;
  plate.display = s.substr(0, pos) + "-";
  if (number.size() == 5) {
    plate.display += number.substr(0, 3) + "." + number.substr(3);
  } else {
    plate.display += number;
  }
  plate.trailer = series == "R";
  return plate;
}

Result<Plate> ParseChinese(std::string_view text, const std::u32string& chars) {
  constexpr std::string_view kNoIO = "Chinese plates never contain I or O";
  char32_t province = chars[0];
  bool trailer = chars.size() > 1 && chars.back() == kTrailerMark;
  size_t end = trailer ? chars.size() - 1 : chars.size();
  std::string rest;  // authority letter and serial, ASCII
  for (size_t i = 1; i < end; ++i) {
    char32_t c = chars[i];
    if (c == kTrailerMark) {
      return PlateError(text, "挂 may only appear at the end of a trailer plate");
    }
    if (c >= 0x80) {
      if (IsChineseProvince(c)) {
        return PlateError(text, "a Chinese plate has exactly one province character");
      }
      return PlateError(text, fmt::format("'{}' cannot appear in a Chinese plate", Utf8(c)));
    }
    rest += static_cast<char>(c);
  }
  if (rest.empty()) {
    return PlateError(text,
                      fmt::format("the authority letter is missing after {}", Utf8(province)));
  }
  char authority = rest[0];
  if (authority == 'I' || authority == 'O') return PlateError(text, kNoIO);
  if (!IsAsciiUpper(authority)) {
    return PlateError(text,
                      fmt::format("the authority code after {} must be a letter A-Z, not '{}'",
                                  Utf8(province), authority));
  }
  std::string serial = rest.substr(1);
  for (char c : serial) {
    if (c == 'I' || c == 'O') return PlateError(text, kNoIO);
    if (!IsAsciiDigit(c) && !IsAsciiUpper(c)) {
      return PlateError(text, fmt::format("'{}' cannot appear in a Chinese plate", c));
    }
  }
  bool new_energy = false;
  if (trailer) {
    if (serial.size() != 4) {
      return PlateError(
          text, fmt::format("a trailer plate has 4 characters before 挂, not {}", serial.size()));
    }
  } else if (serial.size() == 6) {
    auto nev = [](char c) { return c == 'D' || c == 'F'; };
    if (!nev(serial.front()) && !nev(serial.back())) {
      return PlateError(text,
                        "a plate with 6 characters after the authority letter is a "
                        "new-energy plate and must start or end with D or F");
    }
    new_energy = true;
  } else if (serial.size() != 5) {
    return PlateError(text, fmt::format("a Chinese plate has 5 characters after the authority "
                                        "letter (6 for new-energy plates), not {}",
                                        serial.size()));
  }
  Plate plate;
  plate.country = PlateCountry::kChina;
  std::string head = Utf8(province) + authority;
  std::string tail = serial + (trailer ? Utf8(kTrailerMark) : std::string());
  plate.canonical = head + tail;
  plate.display = head + Utf8(kMiddleDot) + tail;
  plate.trailer = trailer;
  plate.new_energy = new_energy;
  return plate;
}

// ISO 6346 letter values: A=10, then upwards skipping multiples of 11.
constexpr std::array<int, 26> kContainerLetterValues = [] {
  std::array<int, 26> values{};
  int v = 10;
  for (int& value : values) {
    if (v % 11 == 0) ++v;
    value = v++;
  }
  return values;
}();

Error ContainerError(std::string_view text, std::string_view why) {
  return InvalidArgument("invalid_container_number",
                         fmt::format("container number '{}': {}", Printable(text), why));
}

}  // namespace

std::string_view PlateCountryCode(PlateCountry c) {
  return c == PlateCountry::kVietnam ? "VN" : "CN";
}

Result<Plate> ParsePlate(std::string_view text) {
  if (text.size() > kMaxPlateBytes) {
    return InvalidArgument("invalid_plate", fmt::format("plate is {} bytes long; a plate has at "
                                                        "most {} bytes",
                                                        text.size(), kMaxPlateBytes));
  }
  std::u32string chars;
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    size_t len = 0;
    if (!DecodeUtf8(text, pos, cp, len)) return PlateError(text, "not valid UTF-8 text");
    pos += len;
    if (IsPlateSeparator(cp)) continue;
    if (IsAsciiLower(cp)) cp = cp - U'a' + U'A';
    if (cp < 0x80 && !IsAsciiDigit(cp) && !IsAsciiUpper(cp)) {
      return PlateError(text, cp < 0x20 || cp == 0x7F ? std::string("contains a control character")
                                                      : fmt::format("'{}' cannot appear in a plate",
                                                                    static_cast<char>(cp)));
    }
    chars += cp;
  }
  if (chars.empty()) return PlateError(text, "the plate is empty");
  char32_t first = chars[0];
  if (IsAsciiDigit(first)) return ParseVietnamese(text, chars);
  if (IsChineseProvince(first)) return ParseChinese(text, chars);
  if (IsAsciiUpper(first)) {
    return PlateError(text,
                      "not a Vietnamese plate (which starts with a two-digit province code) "
                      "nor a Chinese plate (which starts with a province character such "
                      "as 桂)");
  }
  return PlateError(text, fmt::format("'{}' is not a Chinese province abbreviation", Utf8(first)));
}

std::string PlateMatchKey(std::string_view text) {
  std::string key;
  key.reserve(text.size());
  for (char raw : text) {
    char c = ToUpperAscii(raw);
    if (c >= 'A' && c <= 'Z') {
      switch (c) {
        case 'O':
        case 'D':
        case 'Q':
          c = '0';
          break;
        case 'B':
          c = '8';
          break;
        case 'I':
          c = '1';
          break;
        case 'S':
          c = '5';
          break;
        case 'Z':
          c = '2';
          break;
        default:
          break;
      }
    } else if (c < '0' || c > '9') {
      continue;  // separators, punctuation and every byte of non-ASCII characters
    }
    key += c;
  }
  return key;
}

Result<std::string> ParseContainerNumber(std::string_view text) {
  if (text.size() > kMaxContainerBytes) {
    return InvalidArgument("invalid_container_number",
                           fmt::format("container number is {} bytes long; at most {} accepted",
                                       text.size(), kMaxContainerBytes));
  }
  std::string s;
  for (char raw : text) {
    if (raw == ' ' || raw == '-') continue;
    s += ToUpperAscii(raw);
  }
  if (s.size() != 11) {
    return ContainerError(text, fmt::format("has {} characters; an ISO 6346 number has 11 (owner "
                                            "code, category, 6-digit serial, check digit)",
                                            s.size()));
  }
  for (size_t i = 0; i < 3; ++i) {
    if (!IsAsciiUpper(static_cast<unsigned char>(s[i]))) {
      return ContainerError(text, "the owner code (first 3 characters) must be letters A-Z");
    }
  }
  if (s[3] != 'U' && s[3] != 'J' && s[3] != 'Z') {
    return ContainerError(text, "the category (4th character) must be U, J or Z");
  }
  for (size_t i = 4; i < 11; ++i) {
    if (!IsAsciiDigit(static_cast<unsigned char>(s[i]))) {
      return ContainerError(text,
                            "the serial number and check digit (last 7 characters) must be "
                            "digits");
    }
  }
  int sum = 0;
  for (size_t i = 0; i < 10; ++i) {
    int value = i < 4 ? kContainerLetterValues[s[i] - 'A'] : s[i] - '0';
    sum += value << i;
  }
  int expected = sum % 11 % 10;
  int actual = s[10] - '0';
  if (actual != expected) {
    return ContainerError(text, fmt::format("wrong check digit {}, expected {}", actual, expected));
  }
  return s;
}

}  // namespace borderflow
