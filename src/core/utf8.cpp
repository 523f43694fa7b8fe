#include <algorithm>

#include <fmt/format.h>

#include <borderflow/core/utf8.h>

namespace borderflow {

bool DecodeUtf8(std::string_view s, size_t pos, char32_t& cp, size_t& len) {
  auto byte = [&](size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char b0 = byte(pos);
  if (b0 < 0x80) {
    cp = b0;
    len = 1;
    return true;
  }
  size_t n = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2;
    cp = b0 & 0x1F;
    min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3;
    cp = b0 & 0x0F;
    min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4;
    cp = b0 & 0x07;
    min = 0x10000;
  } else {
    return false;
  }
  if (pos + n > s.size()) return false;
  for (size_t i = 1; i < n; ++i) {
    unsigned char b = byte(pos + i);
    if ((b & 0xC0) != 0x80) return false;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
  len = n;
  return true;
}

void AppendUtf8(std::string& out, char32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xC0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xE0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    out += static_cast<char>(0xF0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    out += static_cast<char>(0x80 | (cp & 0x3F));
  }
}

bool IsValidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs (most of any request) without decoding.
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp = 0;
    size_t len = 1;
    if (!DecodeUtf8(text, pos, cp, len)) return false;
    pos += len;
  }
  return true;
}

std::string ValidUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (pos < text.size()) {
    char32_t cp = 0;
    size_t len = 1;
    if (DecodeUtf8(text, pos, cp, len)) {
      out.append(text.substr(pos, len));
    } else {
      out += "\xEF\xBF\xBD";  // U+FFFD
      len = 1;
    }
    pos += len;
  }
  return out;
}

std::string LogQuoted(std::string_view text, size_t max_bytes) {
  std::string out = "\"";
  out.reserve(std::min(text.size(), max_bytes) + 8);
  size_t pos = 0;
  while (pos < text.size() && pos < max_bytes) {
    char32_t cp = 0;
    size_t len = 1;
    auto c = static_cast<unsigned char>(text[pos]);
    if (!DecodeUtf8(text, pos, cp, len)) {
      out += fmt::format("\\x{:02X}", c);
      len = 1;
    } else if (cp < 0x20 || cp == 0x7F) {
      out += fmt::format("\\x{:02X}", static_cast<unsigned>(cp));
    } else if (cp == '"' || cp == '\\') {
      out += '\\';
      out += static_cast<char>(cp);
    } else if ((cp >= 0x80 && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029 ||
               (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069)) {
      // C1 controls, line and paragraph separators, bidirectional overrides.
      out += fmt::format("\\u{{{:04X}}}", static_cast<unsigned>(cp));
    } else {
      out.append(text.substr(pos, len));
    }
    pos += len;
  }
  out += '"';
  if (pos < text.size()) out += "...";
  return out;
}

}  // namespace borderflow
