#pragma once

// FUZZ_CHECK for the fuzz targets: a property that must hold for every input. On failure it
// prints the condition and a message and aborts, which both libFuzzer and fuzz_driver.cpp treat
// as a crash (and save the input).

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace borderflow::fuzz {

[[noreturn]] inline void CheckFailed(const char* condition, const std::string& message,
                                     const char* file, int line) {
  std::fprintf(stderr, "\nFUZZ_CHECK failed at %s:%d: %s\n  %s\n", file, line, condition,
               message.c_str());
  std::fflush(stderr);
  std::abort();
}

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
inline bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    unsigned char b = static_cast<unsigned char>(s[i]);
    size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    char32_t cp = n == 1 ? b : n == 2 ? (b & 0x1F) : n == 3 ? (b & 0x0F) : (b & 0x07);
    for (size_t k = 1; k < n; ++k) {
      unsigned char c = static_cast<unsigned char>(s[i + k]);
      if ((c & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (c & 0x3F);
    }
    constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n;
  }
  return true;
}

// Text of a possibly binary input for a failure message.
inline std::string Escaped(std::string_view s) {
  std::string out;
  for (unsigned char c : s.substr(0, 200)) {
    if (c >= 0x20 && c < 0x7F && c != '\\') {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    }
  }
  if (s.size() > 200) out += "...";
  return out;
}

}  // namespace borderflow::fuzz

#define FUZZ_CHECK(cond, message)                                                       \
  do {                                                                                  \
    if (!(cond)) ::borderflow::fuzz::CheckFailed(#cond, (message), __FILE__, __LINE__); \
  } while (0)
