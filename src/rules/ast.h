#pragma once

// Internal: the syntax tree of a rule file, as written (parser.cpp builds it, compiler.cpp checks
// and compiles it). Positions are 1-based line and byte column.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>

namespace borderflow::rules::ast {

struct Pos {
  int line = 1;
  int column = 1;
};

// A literal or a bare word on the right of a comparison or in a set.
struct Value {
  enum class Kind { kString, kNumber, kWord };
  Kind kind = Kind::kString;
  std::string text;      // string contents, number digits as written ("08"), or the word
  double number = 0;     // kNumber: the value (a percent already divided by 100)
  bool percent = false;  // kNumber written with '%'
  bool negative = false;
  Pos pos;
  // Set items only: "06..14" (hi is a number)
  std::optional<std::string> range_hi;
  double range_hi_number = 0;
};

struct Expr {
  enum class Kind {
    kAnd,
    kOr,
    kNot,
    kBoolField,  // field
    kCompare,    // field op value [* factor]
    kIn,         // field in [values] | field in list "name"
    kNotIn,
    kRandom,     // random N%
    kWatchlist,  // watchlist "name"
  };
  Kind kind = Kind::kAnd;
  Pos pos;
  std::vector<std::unique_ptr<Expr>> children;
  std::string field;
  Pos field_pos;
  std::string op;  // "==", "!=", "<", "<=", ">", ">="
  Value value;
  std::optional<double> factor;  // `reference.max * 1.5`
  std::vector<Value> set;
  std::string list_name;  // `in list "name"`; also the watch list name
  Pos list_pos;
  double rate = 0;  // random
};

struct ScoreTerm {
  double coefficient = 0;
  std::string field;  // empty: constant
  Pos pos;
};

struct Rule {
  std::string name;
  Pos pos;
  Pos name_pos;
  std::unique_ptr<Expr> when;
  size_t when_begin = 0;  // byte range of the condition in the source
  size_t when_end = 0;
  std::optional<std::string> channel;
  Pos channel_pos;
  std::optional<bool> quarantine;
  bool mandatory = false;
  Pos mandatory_pos;
  bool has_score = false;
  std::vector<ScoreTerm> score;
  std::optional<std::string> reason_en, reason_vi, reason_zh;
  Pos reason_pos;
};

struct List {
  std::string name;
  Pos pos;
  std::vector<Value> values;
};

struct Reference {
  std::string field;  // hs.chapter, hs.heading, hs.subheading, hs.code
  Pos field_pos;
  Value code;
  double min = 0;
  double max = 0;
  Pos pos;
};

struct File {
  std::string name;
  Pos name_pos;
  uint32_t version = 0;
  std::optional<double> yellow_threshold, red_threshold;
  Pos yellow_threshold_pos, red_threshold_pos;  // of the `threshold` line
  std::optional<double> min_random_rate, expected_red, expected_yellow;
  Pos min_random_pos;               // of the `random minimum` line
  std::optional<std::string> draw;  // `random draw NAME`: the keyed hash of the random draws
  Pos draw_pos;
  std::vector<List> lists;
  std::vector<Reference> references;
  std::vector<Rule> rules;
};

// The error every parse and compile failure uses: code "invalid_rules", field "LINE:COLUMN",
// message "line L, column C: <what>".
Error ErrorAt(Pos pos, std::string_view what);

// Parses rule text. Limits: nesting depth 64, strings of 4096 bytes, 10000 items per list.
Result<File> Parse(std::string_view text, size_t max_rules);

}  // namespace borderflow::rules::ast
