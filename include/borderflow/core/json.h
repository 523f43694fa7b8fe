#pragma once

// Bounded JSON parsing and field readers that report the path of the offending field.
// Used at every boundary where outside input arrives (HTTP bodies, peer messages, stored rows).

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <borderflow/core/error.h>

namespace borderflow {

struct JsonLimits {
  size_t max_bytes = 1 << 20;  // 1 MiB
  size_t max_depth = 16;
};

// Parses `text` as one JSON value within `limits`. Errors: "malformed_json" (with the byte
// offset), "json_too_deep", "payload_too_large".
Result<boost::json::value> ParseJson(std::string_view text, const JsonLimits& limits = {});

// Serialises with keys in insertion order (the order the writer chose), no whitespace, strings
// escaped as Boost.JSON does and doubles as people write them (JsonWriter::Double: 1200.5,
// 90.0, not 1.2005E3 and 9E1), so that the text is the same as JsonWriter's.
std::string ToJsonText(const boost::json::value& v);
// The same for an object, without first copying it into a boost::json::value.
std::string ToJsonText(const boost::json::object& o);

class JsonWriter;
// Writes `v` as the next value of `w`: the same text ToJsonText gives, inside a document that
// `w` writes (for documents partly built as trees, partly written directly).
void WriteJson(JsonWriter& w, const boost::json::value& v);
void WriteJson(JsonWriter& w, const boost::json::object& o);

// Reads typed fields out of a JSON object, naming the field path in every error.
class JsonObjectReader {
 public:
  // `path` is the location of this object in the document ("" for the root, "lines[2]").
  JsonObjectReader(const boost::json::object& object, std::string path);

  static Result<JsonObjectReader> Of(const boost::json::value& value, std::string path);

  bool Has(std::string_view key) const;

  Result<std::string> String(std::string_view key, size_t max_len, size_t min_len = 1) const;
  Result<std::optional<std::string>> OptionalString(std::string_view key, size_t max_len) const;
  Result<int64_t> Int(std::string_view key, int64_t min, int64_t max) const;
  Result<std::optional<int64_t>> OptionalInt(std::string_view key, int64_t min, int64_t max) const;
  Result<double> Number(std::string_view key, double min, double max) const;
  Result<bool> Bool(std::string_view key) const;
  Result<std::optional<bool>> OptionalBool(std::string_view key) const;
  Result<JsonObjectReader> Object(std::string_view key) const;
  Result<std::optional<JsonObjectReader>> OptionalObject(std::string_view key) const;
  // The array at `key`, with between min_items and max_items elements.
  Result<const boost::json::array*> Array(std::string_view key, size_t min_items,
                                          size_t max_items) const;

  // Refuses any key not in `known` ("unknown_field"), so that typos are not silently ignored.
  Status RejectUnknown(std::initializer_list<std::string_view> known) const;

  // "lines[2].hs_code"
  std::string PathOf(std::string_view key) const;
  const boost::json::object& object() const { return *object_; }

 private:
  const boost::json::value* Get(std::string_view key) const;
  Error Missing(std::string_view key) const;
  Error WrongType(std::string_view key, std::string_view expected) const;

  const boost::json::object* object_;
  std::string path_;
};

}  // namespace borderflow
