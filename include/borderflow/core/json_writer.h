#pragma once

// Writes compact JSON text straight into a string, for documents written on every command
// (a crossing's stored document): no intermediate tree, no allocation per field. The output is
// byte for byte what ToJsonText gives for the same values in the same order (strings escaped
// as Boost.JSON escapes them, doubles formatted by Boost.JSON), so either may write a document.

#include <cstdint>
#include <string>
#include <string_view>

namespace borderflow {

class JsonWriter {
 public:
  explicit JsonWriter(std::string& out) : out_(out) {}

  JsonWriter& BeginObject();
  JsonWriter& EndObject();
  JsonWriter& BeginArray();
  JsonWriter& EndArray();
  // The next member's key; a value (or Begin...) must follow.
  JsonWriter& Key(std::string_view key);

  JsonWriter& String(std::string_view value);
  JsonWriter& Int(int64_t value);
  JsonWriter& Bool(bool value);
  JsonWriter& Double(double value);
  // Already serialised JSON (trusted: written by ToJsonText or this class).
  JsonWriter& Raw(std::string_view json);
  // A string that `append(std::string&)` writes straight into the output, for text that never
  // needs escaping (timestamps, numbers): no temporary string.
  template <typename Append>
  JsonWriter& PlainString(Append&& append) {
    Separate();
    out_ += '"';
    append(out_);
    out_ += '"';
    need_comma_ = true;
    return *this;
  }

  // Key and value in one call.
  JsonWriter& Member(std::string_view key, std::string_view value) {
    return Key(key).String(value);
  }
  JsonWriter& Member(std::string_view key, const char* value) { return Key(key).String(value); }
  JsonWriter& Member(std::string_view key, int64_t value) { return Key(key).Int(value); }
  JsonWriter& Member(std::string_view key, int value) { return Key(key).Int(value); }
  JsonWriter& Member(std::string_view key, bool value) { return Key(key).Bool(value); }

 private:
  void Separate() {
    if (need_comma_) out_ += ',';
  }
  void Quoted(std::string_view text);

  std::string& out_;
  bool need_comma_ = false;
};

}  // namespace borderflow
