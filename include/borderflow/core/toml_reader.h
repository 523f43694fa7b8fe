#pragma once

// Strict reading of TOML tables (the gate configuration, the twin's scenarios). Every error
// names the source, the line and the dotted key path, with one stable code per kind of file:
// "huu-nghi.toml:23: directions[0].lanes.x: is not a lane class". A key of the wrong type is an
// error naming the expected type; RejectUnknown refuses keys the table does not have.
//
// Includes toml++ (a heavy header): include it only where a file is parsed.

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>
#include <toml++/toml.h>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>

namespace borderflow {

// What a TOML value is, for "must be an integer, not a string".
std::string_view TomlTypeName(const toml::node& node);

// Levenshtein distance, for "did you mean" on short names.
size_t EditDistance(std::string_view a, std::string_view b);

// " (did you mean fresh_produce?)" when one of `known` is at most two edits from `name`, else "".
template <typename Names>
std::string DidYouMean(std::string_view name, const Names& known) {
  std::string_view best;
  size_t best_distance = 3;
  for (std::string_view k : known) {
    size_t d = EditDistance(name, k);
    if (d < best_distance) {
      best = k;
      best_distance = d;
    }
  }
  return best.empty() ? std::string() : fmt::format(" (did you mean {}?)", best);
}

// Where the document came from (a file name, or "" for text without one) and the error code of
// its errors ("invalid_config", "bad_scenario").
class TomlSource {
 public:
  TomlSource(std::string_view name, std::string_view code) : name_(name), code_(code) {}

  // "name:line: key: what" (the line when the node has one); the error's field is `key`.
  Error Fail(const toml::node& at, std::string_view key, std::string_view what) const;
  std::string_view name() const { return name_; }

 private:
  std::string_view name_;
  std::string_view code_;
};

// One table of the document, named by its dotted path ("" for the root). Holds references: the
// table and the source outlive it.
class TomlReader {
 public:
  TomlReader(const toml::table& table, std::string path, const TomlSource& source)
      : table_(table), path_(std::move(path)), source_(source) {}

  const toml::table& table() const { return table_; }
  const TomlSource& source() const { return source_; }
  const toml::node* Get(std::string_view key) const { return table_.get(key); }
  bool Has(std::string_view key) const { return table_.get(key) != nullptr; }
  // The dotted path of `key` in this table.
  std::string Key(std::string_view key) const;

  // An error about `key`, at its line when it is present, else at the table's; an empty `key`
  // is the table itself.
  Error Fail(std::string_view key, std::string_view what) const;
  // An error about the table itself.
  Error FailHere(std::string_view what) const { return source_.Fail(table_, path_, what); }
  // "must be <expected>, not a string" for a present key of the wrong type.
  Error WrongType(std::string_view key, std::string_view expected) const;

  // Refuses the first key not in `known`: "is not a known key (did you mean lanes?)", or with
  // the list of known keys when none is close.
  Status RejectUnknown(std::initializer_list<std::string_view> known) const;

  // A string of `min_len` to `max_len` bytes; absent: nullopt.
  Result<std::optional<std::string>> OptionalString(std::string_view key, size_t max_len = 4096,
                                                    size_t min_len = 0) const;
  // A required string of 1 to `max_len` bytes.
  Result<std::string> String(std::string_view key, size_t max_len = 200) const;
  // A string of at most `max_len` bytes (empty allowed); absent: `fallback`.
  Result<std::string> StringOr(std::string_view key, std::string fallback,
                               size_t max_len = 4096) const;

  Result<std::optional<int64_t>> OptionalInt(std::string_view key, int64_t min, int64_t max) const;
  // An integer from `min` to `max`; absent: `fallback`, or an error when there is none.
  Result<int> Int(std::string_view key, int64_t min, int64_t max,
                  std::optional<int> fallback = std::nullopt) const;
  // A number (integer or floating point) from `min` to `max`; absent: `fallback`, or an error
  // when there is none.
  Result<double> Number(std::string_view key, double min, double max,
                        std::optional<double> fallback = std::nullopt) const;
  // `key` in whole units of `unit` (minutes, hours, days); absent: `fallback`.
  Result<Duration> Span(std::string_view key, int64_t min, int64_t max, Duration fallback,
                        std::chrono::minutes unit) const;
  Result<std::optional<bool>> OptionalBool(std::string_view key) const;

  // A list of numbers from `min` to `max` of exactly `size` entries (0: any, at least one).
  Result<std::vector<double>> Numbers(std::string_view key, size_t size, double min,
                                      double max) const;
  // A non-empty list of strings.
  Result<std::vector<std::string>> Strings(std::string_view key) const;

  Result<std::optional<TomlReader>> OptionalTable(std::string_view key) const;
  // A required table ("section is required").
  Result<TomlReader> Table(std::string_view key) const;
  // An array; absent: null.
  Result<const toml::array*> OptionalArray(std::string_view key,
                                           std::string_view expected = "an array") const;
  // Item `i` of an array of tables, as a reader named "path[i]".
  Result<TomlReader> Item(const toml::array& list, std::string_view key, size_t i) const;
  // An array of tables ([[key]]), each named "path[i]"; empty when absent.
  Result<std::vector<TomlReader>> Tables(std::string_view key) const;

 private:
  const toml::table& table_;
  std::string path_;
  const TomlSource& source_;
};

}  // namespace borderflow
