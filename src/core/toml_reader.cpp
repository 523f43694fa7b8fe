#include <algorithm>
#include <cmath>

#include <fmt/format.h>

#include <borderflow/core/toml_reader.h>

namespace borderflow {

namespace {

// " (did you mean fresh_produce?)" when one of `known` is close to `name`, else " (known: a, b)".
std::string Suggestion(std::string_view name, std::initializer_list<std::string_view> known) {
  std::string close = DidYouMean(name, known);
  if (!close.empty() || known.size() == 0) return close;
  return fmt::format(" (known: {})", fmt::join(known, ", "));
}

// The value of an integer or floating-point node.
std::optional<double> NumberOf(const toml::node& n) {
  if (auto i = n.value_exact<int64_t>()) return static_cast<double>(*i);
  if (auto d = n.value_exact<double>()) return *d;
  return std::nullopt;
}

}  // namespace

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

std::string_view TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::integer:
      return "an integer";
    case toml::node_type::floating_point:
      return "a floating-point number";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::table:
      return "a table";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::date:
      return "a date";
    case toml::node_type::time:
      return "a time";
    case toml::node_type::date_time:
      return "a date-time";
    default:
      return "nothing";
  }
}

Error TomlSource::Fail(const toml::node& at, std::string_view key, std::string_view what) const {
  uint32_t line = at.source().begin.line;
  std::string where;
  if (!name_.empty()) {
    where = line > 0 ? fmt::format("{}:{}: ", name_, line) : fmt::format("{}: ", name_);
  } else if (line > 0) {
    where = fmt::format("line {}: ", line);
  }
  return InvalidArgument(std::string(code_), fmt::format("{}{}: {}", where, key, what),
                         std::string(key));
}

std::string TomlReader::Key(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

Error TomlReader::Fail(std::string_view key, std::string_view what) const {
  if (key.empty()) return FailHere(what);
  const toml::node* n = table_.get(key);
  const toml::node& at = n != nullptr ? *n : static_cast<const toml::node&>(table_);
  return source_.Fail(at, Key(key), what);
}

Error TomlReader::WrongType(std::string_view key, std::string_view expected) const {
  const toml::node* n = table_.get(key);
  return Fail(key, fmt::format("must be {}, not {}", expected, n ? TomlTypeName(*n) : "nothing"));
}

Status TomlReader::RejectUnknown(std::initializer_list<std::string_view> known) const {
  for (const auto& [key, node] : table_) {
    if (std::find(known.begin(), known.end(), key.str()) != known.end()) continue;
    return source_.Fail(node, Key(key.str()),
                        fmt::format("is not a known {}{}", node.is_table() ? "table" : "key",
                                    Suggestion(key.str(), known)));
  }
  return {};
}

namespace {

// The string of a node that is present: its type and length checked.
Result<std::string> PresentString(const TomlReader& r, const toml::node& n, std::string_view key,
                                  size_t max_len, size_t min_len) {
  const toml::value<std::string>* v = n.as_string();
  if (v == nullptr) return r.WrongType(key, "a string");
  const std::string& text = v->get();
  if (text.size() < min_len || text.size() > max_len) {
    return r.Fail(key, fmt::format("must have {} to {} characters", min_len, max_len));
  }
  return text;
}

}  // namespace

Result<std::optional<std::string>> TomlReader::OptionalString(std::string_view key, size_t max_len,
                                                              size_t min_len) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::optional<std::string>();
  BF_ASSIGN_OR_RETURN(std::string v, PresentString(*this, *n, key, max_len, min_len));
  return std::optional<std::string>(std::move(v));
}

Result<std::string> TomlReader::String(std::string_view key, size_t max_len) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return Fail(key, "is required and must be a string");
  return PresentString(*this, *n, key, max_len, 1);
}

Result<std::string> TomlReader::StringOr(std::string_view key, std::string fallback,
                                         size_t max_len) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return fallback;
  return PresentString(*this, *n, key, max_len, 0);
}

Result<std::optional<int64_t>> TomlReader::OptionalInt(std::string_view key, int64_t min,
                                                       int64_t max) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::optional<int64_t>();
  std::string expected = fmt::format("an integer from {} to {}", min, max);
  auto v = n->value_exact<int64_t>();
  if (!v) return WrongType(key, expected);
  if (*v < min || *v > max) return Fail(key, fmt::format("must be {}", expected));
  return v;
}

Result<int> TomlReader::Int(std::string_view key, int64_t min, int64_t max,
                            std::optional<int> fallback) const {
  BF_ASSIGN_OR_RETURN(auto v, OptionalInt(key, min, max));
  if (v) return static_cast<int>(*v);
  if (fallback) return *fallback;
  return Fail(key, fmt::format("is required (an integer from {} to {})", min, max));
}

Result<double> TomlReader::Number(std::string_view key, double min, double max,
                                  std::optional<double> fallback) const {
  const toml::node* n = table_.get(key);
  std::string expected = fmt::format("a number from {:g} to {:g}", min, max);
  if (n == nullptr) {
    if (fallback) return *fallback;
    return Fail(key, fmt::format("is required ({})", expected));
  }
  std::optional<double> v = NumberOf(*n);
  if (!v) return WrongType(key, expected);
  if (!std::isfinite(*v) || *v < min || *v > max) return Fail(key, "must be " + expected);
  return *v;
}

Result<Duration> TomlReader::Span(std::string_view key, int64_t min, int64_t max, Duration fallback,
                                  std::chrono::minutes unit) const {
  BF_ASSIGN_OR_RETURN(auto v, OptionalInt(key, min, max));
  return v ? Duration(*v * unit) : fallback;
}

Result<std::optional<bool>> TomlReader::OptionalBool(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::optional<bool>();
  auto v = n->value_exact<bool>();
  if (!v) return WrongType(key, "true or false");
  return v;
}

Result<std::vector<double>> TomlReader::Numbers(std::string_view key, size_t size, double min,
                                                double max) const {
  const toml::node* n = table_.get(key);
  const toml::array* a = n ? n->as_array() : nullptr;
  if (a == nullptr) return Fail(key, "must be a list of numbers");
  if ((size != 0 && a->size() != size) || a->empty()) {
    return Fail(key, size != 0 ? fmt::format("must have {} entries", size)
                               : std::string("must not be empty"));
  }
  std::vector<double> out;
  for (const auto& item : *a) {
    std::optional<double> v = NumberOf(item);
    if (!v || !std::isfinite(*v) || *v < min || *v > max) {
      return Fail(key, fmt::format("entry {} must be a number from {:g} to {:g}", out.size() + 1,
                                   min, max));
    }
    out.push_back(*v);
  }
  return out;
}

Result<std::vector<std::string>> TomlReader::Strings(std::string_view key) const {
  const toml::node* n = table_.get(key);
  const toml::array* a = n ? n->as_array() : nullptr;
  if (a == nullptr || a->empty()) return Fail(key, "must be a non-empty list of strings");
  std::vector<std::string> out;
  for (const auto& item : *a) {
    auto s = item.value_exact<std::string>();
    if (!s) return Fail(key, "must be a list of strings");
    out.push_back(*s);
  }
  return out;
}

Result<std::optional<TomlReader>> TomlReader::OptionalTable(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return std::optional<TomlReader>();
  if (!n->is_table()) return WrongType(key, "a table");
  return std::optional<TomlReader>(TomlReader(*n->as_table(), Key(key), source_));
}

Result<TomlReader> TomlReader::Table(std::string_view key) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return Fail(key, "section is required");
  // Not through OptionalTable: g++ 12 at -O2 took the optional's reader for uninitialised
  // (-Wmaybe-uninitialized, a false positive that stopped the release build).
  if (!n->is_table()) return WrongType(key, "a table");
  return TomlReader(*n->as_table(), Key(key), source_);
}

Result<const toml::array*> TomlReader::OptionalArray(std::string_view key,
                                                     std::string_view expected) const {
  const toml::node* n = table_.get(key);
  if (n == nullptr) return static_cast<const toml::array*>(nullptr);
  if (!n->is_array()) return WrongType(key, expected);
  return n->as_array();
}

Result<TomlReader> TomlReader::Item(const toml::array& list, std::string_view key, size_t i) const {
  std::string path = fmt::format("{}[{}]", Key(key), i);
  const toml::node* item = list.get(i);
  if (!item->is_table()) {
    return source_.Fail(*item, path, fmt::format("must be a table, not {}", TomlTypeName(*item)));
  }
  return TomlReader(*item->as_table(), path, source_);
}

Result<std::vector<TomlReader>> TomlReader::Tables(std::string_view key) const {
  std::vector<TomlReader> out;
  BF_ASSIGN_OR_RETURN(const toml::array* list, OptionalArray(key, "an array of tables ([[...]])"));
  if (list == nullptr) return out;
  for (size_t i = 0; i < list->size(); ++i) {
    BF_ASSIGN_OR_RETURN(TomlReader item, Item(*list, key, i));
    out.push_back(std::move(item));
  }
  return out;
}

}  // namespace borderflow
