#include <cmath>
#include <cstdint>
#include <string>
#include <unordered_set>
#include <vector>

#include <boost/json/basic_parser_impl.hpp>
#include <boost/json/parser.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/core/json_writer.h>

namespace borderflow {

namespace json = boost::json;

namespace {

// False if the document holds a number that overflowed to infinity. The depth of `v` is bounded
// by JsonLimits::max_depth, so recursion is safe.
bool AllNumbersFinite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_:
      return std::isfinite(v.get_double());
    case json::kind::array:
      for (const json::value& item : v.get_array()) {
        if (!AllNumbersFinite(item)) return false;
      }
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object()) {
        if (!AllNumbersFinite(kv.value())) return false;
      }
      return true;
    default:
      return true;
  }
}

// At most `max_bytes` of `s`, cut at a UTF-8 character boundary.
std::string_view Utf8Prefix(std::string_view s, size_t max_bytes) {
  if (s.size() <= max_bytes) return s;
  size_t n = max_bytes;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80) --n;
  return s.substr(0, n);
}

// A second reading of a document that keeps no values, only the keys of each open object, to
// find a key given twice. json::parser keeps the last of duplicate keys silently, and other
// readers keep the first: a request must mean the same to every reader of its bytes (the
// audit trail, the counterpart node, an integrator's own tools), so such documents are
// refused. Objects of a few keys are searched linearly; larger ones through a hash set.
class DuplicateKeyFinder {
 public:
  static constexpr std::size_t max_object_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_array_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_key_size = static_cast<std::size_t>(-1);
  static constexpr std::size_t max_string_size = static_cast<std::size_t>(-1);

  // The path of the first duplicate key ("lines[2].hs_code"), empty if none.
  const std::string& duplicate() const { return duplicate_; }

  bool on_document_begin(boost::system::error_code&) { return true; }
  bool on_document_end(boost::system::error_code&) { return true; }
  bool on_array_begin(boost::system::error_code&) {
    BeginValue();
    frames_.emplace_back().is_array = true;
    return true;
  }
  bool on_array_end(std::size_t, boost::system::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_object_begin(boost::system::error_code&) {
    BeginValue();
    frames_.emplace_back();
    return true;
  }
  bool on_object_end(std::size_t, boost::system::error_code&) {
    frames_.pop_back();
    return true;
  }
  bool on_string_part(std::string_view, std::size_t, boost::system::error_code&) { return true; }
  bool on_string(std::string_view, std::size_t, boost::system::error_code&) { return Scalar(); }
  bool on_key_part(std::string_view s, std::size_t, boost::system::error_code&) {
    key_.append(s);
    return true;
  }
  bool on_key(std::string_view s, std::size_t, boost::system::error_code& ec) {
    key_.append(s);
    Frame& f = frames_.back();
    if (f.Contains(key_)) {
      duplicate_ = PathTo(key_);
      ec = json::error::extra_data;  // stops the parser; the caller reads duplicate()
      return false;
    }
    f.Add(key_);
    f.current_key = std::move(key_);
    key_.clear();
    return true;
  }
  bool on_number_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_int64(std::int64_t, std::string_view, boost::system::error_code&) { return Scalar(); }
  bool on_uint64(std::uint64_t, std::string_view, boost::system::error_code&) { return Scalar(); }
  bool on_double(double, std::string_view, boost::system::error_code&) { return Scalar(); }
  bool on_bool(bool, boost::system::error_code&) { return Scalar(); }
  bool on_null(boost::system::error_code&) { return Scalar(); }
  bool on_comment_part(std::string_view, boost::system::error_code&) { return true; }
  bool on_comment(std::string_view, boost::system::error_code&) { return true; }

 private:
  static constexpr size_t kLinearSearchKeys = 16;

  struct Frame {
    bool is_array = false;
    size_t next_index = 0;    // arrays: the index of the next element
    std::string current_key;  // objects: the key of the value being read
    std::vector<std::string> keys;
    std::unordered_set<std::string> key_set;  // once there are more than kLinearSearchKeys

    bool Contains(const std::string& key) const {
      if (!key_set.empty()) return key_set.contains(key);
      for (const std::string& k : keys) {
        if (k == key) return true;
      }
      return false;
    }
    void Add(const std::string& key) {
      if (!key_set.empty()) {
        key_set.insert(key);
        return;
      }
      keys.push_back(key);
      if (keys.size() > kLinearSearchKeys) {
        key_set.insert(keys.begin(), keys.end());
        keys.clear();
      }
    }
  };

  // Called for every value: inside an array it takes the next index.
  void BeginValue() {
    if (!frames_.empty() && frames_.back().is_array) {
      frames_.back().current_key = fmt::format("[{}]", frames_.back().next_index++);
    }
  }
  bool Scalar() {
    BeginValue();
    return true;
  }
  std::string PathTo(std::string_view key) const {
    std::string path;
    for (size_t i = 0; i + 1 < frames_.size(); ++i) {
      const std::string& step = frames_[i].current_key;
      if (!path.empty() && !frames_[i].is_array) path += '.';
      path += step;
    }
    if (!path.empty()) path += '.';
    path += key;
    return path;
  }

  std::vector<Frame> frames_;
  std::string key_;
  std::string duplicate_;
};

}  // namespace

Result<json::value> ParseJson(std::string_view text, const JsonLimits& limits) {
  if (text.size() > limits.max_bytes) {
    return Error(ErrorKind::kPayloadTooLarge, "payload_too_large",
                 fmt::format("JSON document of {} bytes exceeds the limit of {} bytes", text.size(),
                             limits.max_bytes));
  }
  json::parse_options opts;
  opts.max_depth = limits.max_depth;
  json::parser parser(json::storage_ptr(), opts);
  boost::system::error_code ec;
  size_t consumed = parser.write(text.data(), text.size(), ec);
  if (ec) {
    if (ec == json::error::too_deep) {
      return InvalidArgument(
          "json_too_deep", fmt::format("JSON nesting is deeper than {} levels", limits.max_depth));
    }
    return InvalidArgument("malformed_json",
                           fmt::format("malformed JSON near byte {}: {}", consumed, ec.message()));
  }
  json::value value = parser.release();
  // Only objects can hold a duplicate; a document without one needs no second reading.
  if (text.find(':') != std::string_view::npos) {
    json::basic_parser<DuplicateKeyFinder> finder(opts);
    boost::system::error_code finder_ec;
    finder.write_some(false, text.data(), text.size(), finder_ec);
    if (!finder.handler().duplicate().empty()) {
      const std::string& path = finder.handler().duplicate();
      return InvalidArgument("duplicate_key",
                             fmt::format("malformed JSON: '{}' is given twice", path), path);
    }
  }
  if (!AllNumbersFinite(value)) {
    // Boost.JSON turns 1e999 into infinity, which ToJsonText would write as invalid JSON.
    return InvalidArgument("malformed_json", "malformed JSON: a number is too large");
  }
  return value;
}

namespace {

void Write(JsonWriter& w, const json::value& v);

void WriteObject(JsonWriter& w, const json::object& o) {
  w.BeginObject();
  for (const auto& kv : o) {
    w.Key(kv.key());
    Write(w, kv.value());
  }
  w.EndObject();
}

// Depth is bounded by the documents' own: parsed ones by JsonLimits, built ones by their code.
void Write(JsonWriter& w, const json::value& v) {
  switch (v.kind()) {
    case json::kind::null:
      w.Raw("null");
      return;
    case json::kind::bool_:
      w.Bool(v.get_bool());
      return;
    case json::kind::int64:
      w.Int(v.get_int64());
      return;
    case json::kind::uint64:
      w.Raw(std::to_string(v.get_uint64()));
      return;
    case json::kind::double_:
      w.Double(v.get_double());
      return;
    case json::kind::string:
      w.String(v.get_string());
      return;
    case json::kind::array:
      w.BeginArray();
      for (const json::value& item : v.get_array()) Write(w, item);
      w.EndArray();
      return;
    case json::kind::object:
      WriteObject(w, v.get_object());
      return;
  }
}

}  // namespace

std::string ToJsonText(const json::value& v) {
  std::string out;
  JsonWriter w(out);
  Write(w, v);
  return out;
}

std::string ToJsonText(const json::object& o) {
  std::string out;
  JsonWriter w(out);
  WriteObject(w, o);
  return out;
}

void WriteJson(JsonWriter& w, const json::value& v) { Write(w, v); }

void WriteJson(JsonWriter& w, const json::object& o) { WriteObject(w, o); }

JsonObjectReader::JsonObjectReader(const json::object& object, std::string path)
    : object_(&object), path_(std::move(path)) {}

Result<JsonObjectReader> JsonObjectReader::Of(const json::value& value, std::string path) {
  if (!value.is_object()) {
    std::string message = path.empty() ? std::string("the document must be a JSON object")
                                       : fmt::format("'{}' must be an object", path);
    return InvalidArgument("wrong_type", std::move(message), path);
  }
  return JsonObjectReader(value.get_object(), std::move(path));
}

std::string JsonObjectReader::PathOf(std::string_view key) const {
  if (path_.empty()) return std::string(key);
  return path_ + "." + std::string(key);
}

bool JsonObjectReader::Has(std::string_view key) const {
  const json::value* v = object_->if_contains(key);
  return v != nullptr && !v->is_null();
}

const json::value* JsonObjectReader::Get(std::string_view key) const {
  const json::value* v = object_->if_contains(key);
  if (v != nullptr && v->is_null()) return nullptr;
  return v;
}

Error JsonObjectReader::Missing(std::string_view key) const {
  return InvalidArgument("missing_field", fmt::format("'{}' is required", PathOf(key)),
                         PathOf(key));
}

Error JsonObjectReader::WrongType(std::string_view key, std::string_view expected) const {
  return InvalidArgument("wrong_type", fmt::format("'{}' must be {}", PathOf(key), expected),
                         PathOf(key));
}

Result<std::string> JsonObjectReader::String(std::string_view key, size_t max_len,
                                             size_t min_len) const {
  const json::value* v = Get(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_string()) return WrongType(key, "a string");
  const json::string& s = v->get_string();
  if (s.size() > max_len) {
    return InvalidArgument("field_too_long",
                           fmt::format("'{}' is longer than {} bytes", PathOf(key), max_len),
                           PathOf(key));
  }
  if (s.size() < min_len) {
    return InvalidArgument("field_too_short",
                           min_len == 1
                               ? fmt::format("'{}' must not be empty", PathOf(key))
                               : fmt::format("'{}' is shorter than {} bytes", PathOf(key), min_len),
                           PathOf(key));
  }
  return std::string(s);
}

Result<std::optional<std::string>> JsonObjectReader::OptionalString(std::string_view key,
                                                                    size_t max_len) const {
  if (!Has(key)) return std::optional<std::string>();
  BF_ASSIGN_OR_RETURN(std::string s, String(key, max_len, 0));
  return std::optional<std::string>(std::move(s));
}

Result<int64_t> JsonObjectReader::Int(std::string_view key, int64_t min, int64_t max) const {
  const json::value* v = Get(key);
  if (v == nullptr) return Missing(key);
  auto out_of_range = [&] {
    return InvalidArgument("out_of_range",
                           fmt::format("'{}' must be between {} and {}", PathOf(key), min, max),
                           PathOf(key));
  };
  int64_t out = 0;
  if (v->is_int64()) {
    out = v->get_int64();
  } else if (v->is_uint64()) {
    if (v->get_uint64() > uint64_t(INT64_MAX)) return out_of_range();
    out = int64_t(v->get_uint64());
  } else if (v->is_double() && std::isfinite(v->get_double()) &&
             std::trunc(v->get_double()) == v->get_double()) {
    // Integral doubles ("3.0", "1e3") count; beyond 2^53 they are no longer exact.
    if (std::abs(v->get_double()) >= 9.0e15) return out_of_range();
    out = int64_t(v->get_double());
  } else {
    return WrongType(key, "an integer");
  }
  if (out < min || out > max) return out_of_range();
  return out;
}

Result<std::optional<int64_t>> JsonObjectReader::OptionalInt(std::string_view key, int64_t min,
                                                             int64_t max) const {
  if (!Has(key)) return std::optional<int64_t>();
  BF_ASSIGN_OR_RETURN(int64_t v, Int(key, min, max));
  return std::optional<int64_t>(v);
}

Result<double> JsonObjectReader::Number(std::string_view key, double min, double max) const {
  const json::value* v = Get(key);
  if (v == nullptr) return Missing(key);
  double out = 0;
  if (v->is_double()) {
    out = v->get_double();
  } else if (v->is_int64()) {
    out = double(v->get_int64());
  } else if (v->is_uint64()) {
    out = double(v->get_uint64());
  } else {
    return WrongType(key, "a number");
  }
  if (!std::isfinite(out) || out < min || out > max) {
    return InvalidArgument("out_of_range",
                           fmt::format("'{}' must be between {} and {}", PathOf(key), min, max),
                           PathOf(key));
  }
  return out;
}

Result<bool> JsonObjectReader::Bool(std::string_view key) const {
  const json::value* v = Get(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_bool()) return WrongType(key, "true or false");
  return v->get_bool();
}

Result<std::optional<bool>> JsonObjectReader::OptionalBool(std::string_view key) const {
  if (!Has(key)) return std::optional<bool>();
  BF_ASSIGN_OR_RETURN(bool b, Bool(key));
  return std::optional<bool>(b);
}

Result<JsonObjectReader> JsonObjectReader::Object(std::string_view key) const {
  const json::value* v = Get(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_object()) return WrongType(key, "an object");
  return JsonObjectReader(v->get_object(), PathOf(key));
}

Result<std::optional<JsonObjectReader>> JsonObjectReader::OptionalObject(
    std::string_view key) const {
  if (!Has(key)) return std::optional<JsonObjectReader>();
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, Object(key));
  return std::optional<JsonObjectReader>(std::move(r));
}

Result<const json::array*> JsonObjectReader::Array(std::string_view key, size_t min_items,
                                                   size_t max_items) const {
  const json::value* v = Get(key);
  if (v == nullptr) return Missing(key);
  if (!v->is_array()) return WrongType(key, "an array");
  const json::array& a = v->get_array();
  if (a.size() < min_items || a.size() > max_items) {
    return InvalidArgument(
        "wrong_item_count",
        fmt::format("'{}' must have between {} and {} items", PathOf(key), min_items, max_items),
        PathOf(key));
  }
  return &a;
}

Status JsonObjectReader::RejectUnknown(std::initializer_list<std::string_view> known) const {
  for (const auto& kv : *object_) {
    bool found = false;
    for (std::string_view k : known) {
      if (kv.key() == k) {
        found = true;
        break;
      }
    }
    if (!found) {
      std::string key(Utf8Prefix(kv.key(), 64));
      return InvalidArgument("unknown_field", fmt::format("unknown field '{}'", PathOf(key)),
                             PathOf(key));
    }
  }
  return {};
}

}  // namespace borderflow
