#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <borderflow/core/assert.h>
#include <borderflow/core/json_writer.h>

namespace borderflow {

namespace {

// Whether any of the eight bytes at `p` is below 0x20, '"' or '\\' (the classic "has less
// than" and "has zero byte" bit tricks: exact as a yes/no answer).
bool AnyNeedsEscape(const char* p) {
  uint64_t x;
  std::memcpy(&x, p, 8);
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHighs = 0x8080808080808080ULL;
  const uint64_t control = (x - kOnes * 0x20) & ~x & kHighs;
  const uint64_t quote = x ^ (kOnes * '"');
  const uint64_t backslash = x ^ (kOnes * '\\');
  const uint64_t quotes = (quote - kOnes) & ~quote & kHighs;
  const uint64_t backslashes = (backslash - kOnes) & ~backslash & kHighs;
  return (control | quotes | backslashes) != 0;
}

}  // namespace

JsonWriter& JsonWriter::BeginObject() {
  Separate();
  out_ += '{';
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndObject() {
  out_ += '}';
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::BeginArray() {
  Separate();
  out_ += '[';
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::EndArray() {
  out_ += ']';
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Key(std::string_view key) {
  Separate();
  Quoted(key);
  out_ += ':';
  need_comma_ = false;
  return *this;
}

JsonWriter& JsonWriter::String(std::string_view value) {
  Separate();
  Quoted(value);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Int(int64_t value) {
  Separate();
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  out_.append(buf, end);
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Bool(bool value) {
  Separate();
  out_ += value ? "true" : "false";
  need_comma_ = true;
  return *this;
}

JsonWriter& JsonWriter::Double(double value) {
  if (!std::isfinite(value)) {
    // Not JSON; ParseJson refuses what Boost.JSON writes for it, as it should.
    return Raw(boost::json::serialize(boost::json::value(value)));
  }
  // The shortest text that reads back as the same double, as people write numbers (1200.5,
  // 0.9, 90.0; Boost.JSON wrote 1.2005E3, 9E-1, 9E1). A whole number keeps a ".0" so that a
  // reader still takes it for a double.
  char buffer[40];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  BF_ASSERT(ec == std::errc(), "to_chars of a finite double fits 40 bytes");
  std::string_view text(buffer, static_cast<size_t>(end - buffer));
  Raw(text);
  if (text.find_first_of(".e") == std::string_view::npos) out_ += ".0";
  return *this;
}

JsonWriter& JsonWriter::Raw(std::string_view json) {
  Separate();
  out_ += json;
  need_comma_ = true;
  return *this;
}

void JsonWriter::Quoted(std::string_view text) {
  // As Boost.JSON's serializer: '"' and '\' escaped, the five short escapes for control
  // characters, \u00xx for the others; everything else (UTF-8 included) as it is.
  out_ += '"';
  size_t run = 0;  // start of the bytes not yet copied
  size_t i = 0;
  for (;;) {
    // Eight bytes at a time while none of them needs escaping (most text).
    while (i + 8 <= text.size() && !AnyNeedsEscape(text.data() + i)) i += 8;
    if (i >= text.size()) break;
    const unsigned char c = static_cast<unsigned char>(text[i++]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out_.append(text.data() + run, i - 1 - run);
    run = i;
    out_ += '\\';
    switch (c) {
      case '"':
        out_ += '"';
        break;
      case '\\':
        out_ += '\\';
        break;
      case '\b':
        out_ += 'b';
        break;
      case '\t':
        out_ += 't';
        break;
      case '\n':
        out_ += 'n';
        break;
      case '\f':
        out_ += 'f';
        break;
      case '\r':
        out_ += 'r';
        break;
      default: {
        static constexpr char kHex[] = "0123456789abcdef";
        out_ += "u00";
        out_ += kHex[c >> 4];
        out_ += kHex[c & 15];
      }
    }
  }
  out_.append(text.data() + run, text.size() - run);
  out_ += '"';
}

}  // namespace borderflow
