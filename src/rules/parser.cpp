// The rule language: lexer and recursive-descent parser.
//
//   file      := "ruleset" STRING "version" INT item*
//   item      := "threshold" ("yellow" | "red") NUMBER
//              | "random" "minimum" PERCENT
//              | "random" "draw" WORD                    (blake2b | siphash24)
//              | "expected" ("red" | "yellow") PERCENT
//              | "list" STRING "[" [value {"," value}] "]"
//              | "reference" HSFIELD DIGITS "unit_value" NUMBER ".." NUMBER
//              | rule
//   rule      := "rule" STRING "{" "when" expr "then" action {"," action} reason "}"
//   action    := "channel" ("green" | "yellow" | "red") | "quarantine" ("yes" | "no")
//              | "score" score | "mandatory"
//   score     := ["-"] term {("+" | "-") term}
//   term      := NUMBER ["*" FIELD] | FIELD ["*" NUMBER]
//   reason    := "reason" (("en" | "vi" | "zh") STRING)+
//   expr      := conj {"or" conj}
//   conj      := unary {"and" unary}
//   unary     := "not" unary | "(" expr ")" | atom
//   atom      := "random" PERCENT | "watchlist" STRING
//              | FIELD                                   (a yes/no field)
//              | FIELD ("==" | "!=" | "<" | "<=" | ">" | ">=") operand
//              | FIELD ["not"] "in" ("[" item {"," item} "]" | "list" STRING)
//   operand   := STRING | ["-"] NUMBER | WORD ["*" NUMBER]    (WORD: enum value or field)
//   item      := STRING | NUMBER [".." NUMBER] | WORD
//
// NUMBER is digits with an optional fraction; a '%' right after it divides it by 100. Comments
// run from '#' to the end of the line. Words are letters, digits, '_' and inner dots.

#include <cmath>
#include <cstdlib>

#include <fmt/format.h>

#include "ast.h"

namespace borderflow::rules::ast {

Error ErrorAt(Pos pos, std::string_view what) {
  return InvalidArgument("invalid_rules",
                         fmt::format("line {}, column {}: {}", pos.line, pos.column, what),
                         fmt::format("{}:{}", pos.line, pos.column));
}

namespace {

constexpr size_t kMaxString = 4096;
constexpr size_t kMaxListItems = 10000;
constexpr int kMaxDepth = 64;

enum class Tok {
  kEnd,
  kWord,
  kString,
  kNumber,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kLParen,
  kRParen,
  kLBracket,
  kRBracket,
  kLBrace,
  kRBrace,
  kComma,
  kStar,
  kPlus,
  kMinus,
  kDotDot,
};

struct Token {
  Tok kind = Tok::kEnd;
  std::string text;  // word, string contents, number as written (without '%')
  double number = 0;
  bool percent = false;
  Pos pos;
  size_t offset = 0;  // byte offset of the token
  size_t end = 0;     // byte offset after it
};

std::string Printable(const Token& t) {
  switch (t.kind) {
    case Tok::kEnd:
      return "end of file";
    case Tok::kString:
      return "a string";
    case Tok::kNumber:
      return fmt::format("'{}{}'", t.text.substr(0, 20), t.percent ? "%" : "");
    case Tok::kWord:
      return fmt::format("'{}'", t.text.substr(0, 40));
    default:
      return fmt::format("'{}'", t.text);
  }
}

// Whether `s` is valid UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s) {
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

bool IsWordStart(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsWordChar(char c) { return IsWordStart(c) || IsDigit(c); }

class Lexer {
 public:
  explicit Lexer(std::string_view text) : text_(text) {}

  Result<Token> Next() {
    SkipSpaceAndComments();
    Token t;
    t.pos = Pos{line_, Column()};
    t.offset = i_;
    if (i_ >= text_.size()) {
      t.kind = Tok::kEnd;
      t.end = i_;
      return t;
    }
    char c = text_[i_];
    if (IsWordStart(c)) {
      size_t start = i_;
      while (i_ < text_.size()) {
        if (IsWordChar(text_[i_])) {
          ++i_;
        } else if (text_[i_] == '.' && i_ + 1 < text_.size() && IsWordStart(text_[i_ + 1])) {
          ++i_;
        } else {
          break;
        }
      }
      t.kind = Tok::kWord;
      t.text = std::string(text_.substr(start, i_ - start));
      if (t.text.size() > 64) return ErrorAt(t.pos, "word too long");
    } else if (IsDigit(c)) {
      size_t start = i_;
      while (i_ < text_.size() && IsDigit(text_[i_])) ++i_;
      if (i_ + 1 < text_.size() && text_[i_] == '.' && IsDigit(text_[i_ + 1])) {
        ++i_;
        while (i_ < text_.size() && IsDigit(text_[i_])) ++i_;
      }
      t.kind = Tok::kNumber;
      t.text = std::string(text_.substr(start, i_ - start));
      if (t.text.size() > 24) return ErrorAt(t.pos, "number too long");
      t.number = std::strtod(t.text.c_str(), nullptr);
      if (i_ < text_.size() && text_[i_] == '%') {
        ++i_;
        t.percent = true;
        t.number /= 100.0;
      }
      if (i_ < text_.size() && IsWordStart(text_[i_])) {
        return ErrorAt(Pos{line_, Column()}, "a number must not run into a word");
      }
    } else if (c == '"') {
      ++i_;
      t.kind = Tok::kString;
      while (true) {
        if (i_ >= text_.size()) return ErrorAt(t.pos, "unterminated string");
        char d = text_[i_];
        if (d == '"') {
          ++i_;
          if (!IsValidUtf8(t.text)) return ErrorAt(t.pos, "string is not valid UTF-8");
          break;
        }
        if (d == '\n' || d == '\r') return ErrorAt(t.pos, "unterminated string (end of line)");
        if (d == '\\') {
          if (i_ + 1 >= text_.size()) return ErrorAt(t.pos, "unterminated string");
          char e = text_[i_ + 1];
          if (e == '"' || e == '\\') {
            t.text += e;
          } else if (e == 'n') {
            t.text += '\n';
          } else {
            return ErrorAt(Pos{line_, Column()}, "unknown escape in string (use \\\" \\\\ \\n)");
          }
          i_ += 2;
        } else {
          if (static_cast<unsigned char>(d) < 0x20 && d != '\t') {
            return ErrorAt(Pos{line_, Column()}, "control character in string");
          }
          t.text += d;
          ++i_;
        }
        if (t.text.size() > kMaxString) return ErrorAt(t.pos, "string longer than 4096 bytes");
      }
    } else {
      auto two = text_.substr(i_, 2);
      auto set = [&](Tok k, size_t n) {
        t.kind = k;
        t.text = std::string(text_.substr(i_, n));
        i_ += n;
      };
      if (two == "==") {
        set(Tok::kEq, 2);
      } else if (two == "!=") {
        set(Tok::kNe, 2);
      } else if (two == "<=") {
        set(Tok::kLe, 2);
      } else if (two == ">=") {
        set(Tok::kGe, 2);
      } else if (two == "..") {
        set(Tok::kDotDot, 2);
      } else if (c == '<') {
        set(Tok::kLt, 1);
      } else if (c == '>') {
        set(Tok::kGt, 1);
      } else if (c == '(') {
        set(Tok::kLParen, 1);
      } else if (c == ')') {
        set(Tok::kRParen, 1);
      } else if (c == '[') {
        set(Tok::kLBracket, 1);
      } else if (c == ']') {
        set(Tok::kRBracket, 1);
      } else if (c == '{') {
        set(Tok::kLBrace, 1);
      } else if (c == '}') {
        set(Tok::kRBrace, 1);
      } else if (c == ',') {
        set(Tok::kComma, 1);
      } else if (c == '*') {
        set(Tok::kStar, 1);
      } else if (c == '+') {
        set(Tok::kPlus, 1);
      } else if (c == '-') {
        set(Tok::kMinus, 1);
      } else if (c == '=') {
        return ErrorAt(t.pos, "unexpected '=' (compare with '==')");
      } else if (static_cast<unsigned char>(c) >= 0x80) {
        return ErrorAt(t.pos, "non-ASCII character outside a string");
      } else {
        return ErrorAt(
            t.pos, fmt::format("unexpected character '{}'", static_cast<unsigned char>(c) >= 0x20
                                                                ? std::string(1, c)
                                                                : fmt::format("\\x{:02X}", c)));
      }
    }
    t.end = i_;
    return t;
  }

 private:
  int Column() const { return static_cast<int>(i_ - line_start_) + 1; }

  void SkipSpaceAndComments() {
    while (i_ < text_.size()) {
      char c = text_[i_];
      if (c == '\n') {
        ++i_;
        ++line_;
        line_start_ = i_;
      } else if (c == ' ' || c == '\t' || c == '\r') {
        ++i_;
      } else if (c == '#') {
        while (i_ < text_.size() && text_[i_] != '\n') ++i_;
      } else {
        break;
      }
    }
  }

  std::string_view text_;
  size_t i_ = 0;
  int line_ = 1;
  size_t line_start_ = 0;
};

bool IsKeyword(std::string_view w) {
  return w == "and" || w == "or" || w == "not" || w == "in" || w == "when" || w == "then" ||
         w == "reason" || w == "rule" || w == "list" || w == "random" || w == "watchlist";
}

class Parser {
 public:
  Parser(std::string_view text, size_t max_rules) : lexer_(text), max_rules_(max_rules) {}

  Result<File> ParseFile() {
    BF_TRY(Advance());
    File f;
    BF_TRY(ExpectWord("ruleset", "a rule file starts with: ruleset \"NAME\" version N"));
    BF_ASSIGN_OR_RETURN(f.name, ExpectString("the rule set name"));
    f.name_pos = prev_.pos;
    if (f.name.empty() || f.name.size() > 64) {
      return ErrorAt(prev_.pos, "the rule set name must have 1 to 64 characters");
    }
    BF_TRY(ExpectWord("version", "expected 'version' after the rule set name"));
    if (cur_.kind != Tok::kNumber || cur_.percent || cur_.text.find('.') != std::string::npos ||
        cur_.number < 1 || cur_.number > 4294967295.0) {
      return ErrorAt(cur_.pos, "the version must be a whole number from 1");
    }
    f.version = static_cast<uint32_t>(cur_.number);
    BF_TRY(Advance());

    while (cur_.kind != Tok::kEnd) {
      if (cur_.kind != Tok::kWord) {
        return ErrorAt(cur_.pos, fmt::format("expected 'rule', 'list', 'reference', 'threshold', "
                                             "'random' or 'expected', found {}",
                                             Printable(cur_)));
      }
      Pos at = cur_.pos;
      std::string w = cur_.text;
      if (w == "rule") {
        if (f.rules.size() >= max_rules_) return ErrorAt(at, "too many rules");
        BF_ASSIGN_OR_RETURN(Rule r, ParseRule());
        f.rules.push_back(std::move(r));
      } else if (w == "list") {
        BF_TRY(Advance());
        List l;
        l.pos = at;
        BF_ASSIGN_OR_RETURN(l.name, ExpectString("the list name"));
        BF_TRY(Expect(Tok::kLBracket, "expected '[' to start the list"));
        if (cur_.kind != Tok::kRBracket) {
          while (true) {
            BF_ASSIGN_OR_RETURN(Value v, ParseSetItem(false));
            l.values.push_back(std::move(v));
            if (l.values.size() > kMaxListItems) return ErrorAt(at, "list too long");
            if (cur_.kind != Tok::kComma) break;
            BF_TRY(Advance());
          }
        }
        BF_TRY(Expect(Tok::kRBracket, "expected ',' or ']' in the list"));
        f.lists.push_back(std::move(l));
      } else if (w == "reference") {
        BF_TRY(Advance());
        Reference r;
        r.pos = at;
        if (cur_.kind != Tok::kWord)
          return ErrorAt(cur_.pos,
                         "expected hs.chapter, hs.heading, "
                         "hs.subheading or hs.code");
        r.field = cur_.text;
        r.field_pos = cur_.pos;
        BF_TRY(Advance());
        if (cur_.kind != Tok::kNumber && cur_.kind != Tok::kString) {
          return ErrorAt(cur_.pos, "expected the HS code of the reference price");
        }
        r.code = ValueOf(cur_);
        BF_TRY(Advance());
        BF_TRY(ExpectWord("unit_value", "expected 'unit_value MIN .. MAX' (USD per kg)"));
        BF_ASSIGN_OR_RETURN(r.min, ExpectPlainNumber("the minimum unit value"));
        BF_TRY(Expect(Tok::kDotDot, "expected '..' between minimum and maximum"));
        BF_ASSIGN_OR_RETURN(r.max, ExpectPlainNumber("the maximum unit value"));
        if (r.max < r.min) return ErrorAt(prev_.pos, "the maximum is below the minimum");
        f.references.push_back(std::move(r));
      } else if (w == "threshold") {
        BF_TRY(Advance());
        if (cur_.kind != Tok::kWord || (cur_.text != "yellow" && cur_.text != "red")) {
          return ErrorAt(cur_.pos, "expected 'yellow' or 'red' after 'threshold'");
        }
        bool red = cur_.text == "red";
        auto& slot = red ? f.red_threshold : f.yellow_threshold;
        if (slot) return ErrorAt(cur_.pos, "threshold given twice");
        BF_TRY(Advance());
        BF_ASSIGN_OR_RETURN(double v, ExpectPlainNumber("the score threshold"));
        slot = v;
        (red ? f.red_threshold_pos : f.yellow_threshold_pos) = at;
      } else if (w == "random") {
        BF_TRY(Advance());
        if (cur_.kind == Tok::kWord && cur_.text == "draw") {
          BF_TRY(Advance());
          if (f.draw) return ErrorAt(at, "'random draw' given twice");
          if (cur_.kind != Tok::kWord) {
            return ErrorAt(cur_.pos, "expected the draw's keyed hash: blake2b or siphash24");
          }
          f.draw = cur_.text;
          f.draw_pos = cur_.pos;
          BF_TRY(Advance());
        } else {
          BF_TRY(ExpectWord("minimum", "expected 'random minimum N%' or 'random draw NAME'"));
          if (f.min_random_rate) return ErrorAt(at, "'random minimum' given twice");
          BF_ASSIGN_OR_RETURN(double v, ExpectPercent());
          f.min_random_rate = v;
          f.min_random_pos = at;
        }
      } else if (w == "expected") {
        BF_TRY(Advance());
        if (cur_.kind != Tok::kWord || (cur_.text != "yellow" && cur_.text != "red")) {
          return ErrorAt(cur_.pos, "expected 'yellow' or 'red' after 'expected'");
        }
        auto& slot = cur_.text == "red" ? f.expected_red : f.expected_yellow;
        if (slot) return ErrorAt(cur_.pos, "expected rate given twice");
        BF_TRY(Advance());
        BF_ASSIGN_OR_RETURN(double v, ExpectPercent());
        slot = v;
      } else {
        return ErrorAt(at, fmt::format("expected 'rule', 'list', 'reference', 'threshold', "
                                       "'random' or 'expected', found {}",
                                       Printable(cur_)));
      }
    }
    return f;
  }

 private:
  Status Advance() {
    prev_ = std::move(cur_);
    BF_ASSIGN_OR_RETURN(cur_, lexer_.Next());
    return {};
  }

  Status Expect(Tok kind, std::string_view what) {
    if (cur_.kind != kind)
      return ErrorAt(cur_.pos, fmt::format("{}, found {}", what, Printable(cur_)));
    return Advance();
  }

  Status ExpectWord(std::string_view word, std::string_view what) {
    if (cur_.kind != Tok::kWord || cur_.text != word) {
      return ErrorAt(cur_.pos, fmt::format("{}, found {}", what, Printable(cur_)));
    }
    return Advance();
  }

  Result<std::string> ExpectString(std::string_view what) {
    if (cur_.kind != Tok::kString) {
      return ErrorAt(cur_.pos,
                     fmt::format("expected {} in double quotes, found {}", what, Printable(cur_)));
    }
    std::string s = cur_.text;
    BF_TRY(Advance());
    return s;
  }

  Result<double> ExpectPlainNumber(std::string_view what) {
    bool negative = false;
    if (cur_.kind == Tok::kMinus) {
      negative = true;
      BF_TRY(Advance());
    }
    if (cur_.kind != Tok::kNumber || cur_.percent) {
      return ErrorAt(cur_.pos,
                     fmt::format("expected {} (a number), found {}", what, Printable(cur_)));
    }
    double v = negative ? -cur_.number : cur_.number;
    BF_TRY(Advance());
    return v;
  }

  Result<double> ExpectPercent() {
    if (cur_.kind != Tok::kNumber || !cur_.percent) {
      return ErrorAt(cur_.pos,
                     fmt::format("expected a percentage such as 5%, found {}", Printable(cur_)));
    }
    double v = cur_.number;
    if (v > 1.0) return ErrorAt(cur_.pos, "a rate cannot exceed 100%");
    BF_TRY(Advance());
    return v;
  }

  static Value ValueOf(const Token& t) {
    Value v;
    v.pos = t.pos;
    v.text = t.text;
    if (t.kind == Tok::kString) {
      v.kind = Value::Kind::kString;
    } else if (t.kind == Tok::kNumber) {
      v.kind = Value::Kind::kNumber;
      v.number = t.number;
      v.percent = t.percent;
    } else {
      v.kind = Value::Kind::kWord;
    }
    return v;
  }

  // A set or list item: STRING | NUMBER [".." NUMBER] | WORD
  Result<Value> ParseSetItem(bool allow_range) {
    if (cur_.kind != Tok::kString && cur_.kind != Tok::kNumber && cur_.kind != Tok::kWord) {
      return ErrorAt(cur_.pos, fmt::format("expected a value, found {}", Printable(cur_)));
    }
    Value v = ValueOf(cur_);
    BF_TRY(Advance());
    if (v.kind == Value::Kind::kNumber && cur_.kind == Tok::kDotDot) {
      if (!allow_range || v.percent) return ErrorAt(cur_.pos, "a range is not allowed here");
      BF_TRY(Advance());
      if (cur_.kind != Tok::kNumber || cur_.percent) {
        return ErrorAt(cur_.pos,
                       fmt::format("expected the end of the range, found {}", Printable(cur_)));
      }
      v.range_hi = cur_.text;
      v.range_hi_number = cur_.number;
      BF_TRY(Advance());
    }
    return v;
  }

  Result<Rule> ParseRule() {
    Rule r;
    r.pos = cur_.pos;
    BF_TRY(Advance());  // rule
    r.name_pos = cur_.pos;
    BF_ASSIGN_OR_RETURN(r.name, ExpectString("the rule name"));
    BF_TRY(Expect(Tok::kLBrace, "expected '{' after the rule name"));
    BF_TRY(ExpectWord("when", "expected 'when CONDITION'"));
    r.when_begin = cur_.offset;
    BF_ASSIGN_OR_RETURN(r.when, ParseOr(0));
    r.when_end = prev_.end;
    BF_TRY(ExpectWord("then", "expected 'and', 'or' or 'then'"));
    while (true) {
      if (cur_.kind != Tok::kWord) {
        return ErrorAt(cur_.pos, fmt::format("expected 'channel', 'quarantine', 'score' or "
                                             "'mandatory', found {}",
                                             Printable(cur_)));
      }
      Pos at = cur_.pos;
      std::string w = cur_.text;
      if (w == "channel") {
        if (r.channel) return ErrorAt(at, "channel given twice");
        BF_TRY(Advance());
        if (cur_.kind != Tok::kWord ||
            (cur_.text != "green" && cur_.text != "yellow" && cur_.text != "red")) {
          return ErrorAt(cur_.pos, fmt::format("expected 'green', 'yellow' or 'red', found {}",
                                               Printable(cur_)));
        }
        r.channel = cur_.text;
        r.channel_pos = cur_.pos;
        BF_TRY(Advance());
      } else if (w == "quarantine") {
        if (r.quarantine) return ErrorAt(at, "quarantine given twice");
        BF_TRY(Advance());
        if (cur_.kind != Tok::kWord || (cur_.text != "yes" && cur_.text != "no")) {
          return ErrorAt(cur_.pos,
                         fmt::format("expected 'yes' or 'no', found {}", Printable(cur_)));
        }
        r.quarantine = cur_.text == "yes";
        BF_TRY(Advance());
      } else if (w == "score") {
        if (r.has_score) return ErrorAt(at, "score given twice");
        BF_TRY(Advance());
        r.has_score = true;
        BF_TRY(ParseScore(r.score));
      } else if (w == "mandatory") {
        if (r.mandatory) return ErrorAt(at, "mandatory given twice");
        r.mandatory = true;
        r.mandatory_pos = at;
        BF_TRY(Advance());
      } else {
        return ErrorAt(at, fmt::format("expected 'channel', 'quarantine', 'score' or "
                                       "'mandatory', found {}",
                                       Printable(cur_)));
      }
      if (cur_.kind != Tok::kComma) break;
      BF_TRY(Advance());
    }
    r.reason_pos = cur_.pos;
    BF_TRY(ExpectWord("reason", "expected ',' or 'reason'"));
    int languages = 0;
    while (cur_.kind == Tok::kWord &&
           (cur_.text == "en" || cur_.text == "vi" || cur_.text == "zh")) {
      auto& slot = cur_.text == "en" ? r.reason_en : cur_.text == "vi" ? r.reason_vi : r.reason_zh;
      if (slot) return ErrorAt(cur_.pos, fmt::format("reason '{}' given twice", cur_.text));
      BF_TRY(Advance());
      BF_ASSIGN_OR_RETURN(std::string text, ExpectString("the reason text"));
      slot = std::move(text);
      ++languages;
    }
    if (languages == 0) {
      return ErrorAt(cur_.pos, fmt::format("expected a language ('en', 'vi' or 'zh') and a reason, "
                                           "found {}",
                                           Printable(cur_)));
    }
    BF_TRY(Expect(Tok::kRBrace, "expected another reason language or '}' to end the rule"));
    return r;
  }

  Status ParseScore(std::vector<ScoreTerm>& terms) {
    double sign = 1;
    if (cur_.kind == Tok::kMinus) {
      sign = -1;
      BF_TRY(Advance());
    }
    while (true) {
      ScoreTerm t;
      t.pos = cur_.pos;
      if (cur_.kind == Tok::kNumber && !cur_.percent) {
        t.coefficient = sign * cur_.number;
        BF_TRY(Advance());
        if (cur_.kind == Tok::kStar) {
          BF_TRY(Advance());
          if (cur_.kind != Tok::kWord || IsKeyword(cur_.text)) {
            return ErrorAt(cur_.pos,
                           fmt::format("expected a field after '*', found {}", Printable(cur_)));
          }
          t.field = cur_.text;
          t.pos = cur_.pos;
          BF_TRY(Advance());
        }
      } else if (cur_.kind == Tok::kWord && !IsKeyword(cur_.text)) {
        t.field = cur_.text;
        t.coefficient = sign;
        BF_TRY(Advance());
        if (cur_.kind == Tok::kStar) {
          BF_TRY(Advance());
          BF_ASSIGN_OR_RETURN(double c, ExpectPlainNumber("a factor"));
          t.coefficient = sign * c;
        }
      } else {
        return ErrorAt(cur_.pos, fmt::format("expected a score (a number, or NUMBER * FIELD), "
                                             "found {}",
                                             Printable(cur_)));
      }
      terms.push_back(std::move(t));
      if (terms.size() > 16) return ErrorAt(cur_.pos, "a score has at most 16 terms");
      if (cur_.kind == Tok::kPlus) {
        sign = 1;
      } else if (cur_.kind == Tok::kMinus) {
        sign = -1;
      } else {
        return {};
      }
      BF_TRY(Advance());
    }
  }

  Result<std::unique_ptr<Expr>> ParseOr(int depth) {
    if (depth > kMaxDepth) return ErrorAt(cur_.pos, "condition nested too deeply");
    Pos at = cur_.pos;
    BF_ASSIGN_OR_RETURN(auto first, ParseAnd(depth + 1));
    if (!(cur_.kind == Tok::kWord && cur_.text == "or")) return first;
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kOr;
    node->pos = at;
    node->children.push_back(std::move(first));
    while (cur_.kind == Tok::kWord && cur_.text == "or") {
      BF_TRY(Advance());
      BF_ASSIGN_OR_RETURN(auto next, ParseAnd(depth + 1));
      node->children.push_back(std::move(next));
      if (node->children.size() > 4096) return ErrorAt(cur_.pos, "condition too long");
    }
    return node;
  }

  Result<std::unique_ptr<Expr>> ParseAnd(int depth) {
    Pos at = cur_.pos;
    BF_ASSIGN_OR_RETURN(auto first, ParseUnary(depth + 1));
    if (!(cur_.kind == Tok::kWord && cur_.text == "and")) return first;
    auto node = std::make_unique<Expr>();
    node->kind = Expr::Kind::kAnd;
    node->pos = at;
    node->children.push_back(std::move(first));
    while (cur_.kind == Tok::kWord && cur_.text == "and") {
      BF_TRY(Advance());
      BF_ASSIGN_OR_RETURN(auto next, ParseUnary(depth + 1));
      node->children.push_back(std::move(next));
      if (node->children.size() > 4096) return ErrorAt(cur_.pos, "condition too long");
    }
    return node;
  }

  Result<std::unique_ptr<Expr>> ParseUnary(int depth) {
    if (depth > kMaxDepth) return ErrorAt(cur_.pos, "condition nested too deeply");
    if (cur_.kind == Tok::kWord && cur_.text == "not") {
      auto node = std::make_unique<Expr>();
      node->kind = Expr::Kind::kNot;
      node->pos = cur_.pos;
      BF_TRY(Advance());
      BF_ASSIGN_OR_RETURN(auto inner, ParseUnary(depth + 1));
      node->children.push_back(std::move(inner));
      return node;
    }
    if (cur_.kind == Tok::kLParen) {
      BF_TRY(Advance());
      BF_ASSIGN_OR_RETURN(auto inner, ParseOr(depth + 1));
      BF_TRY(Expect(Tok::kRParen, "expected ')'"));
      return inner;
    }
    return ParseAtom();
  }

  Result<std::unique_ptr<Expr>> ParseAtom() {
    auto node = std::make_unique<Expr>();
    node->pos = cur_.pos;
    if (cur_.kind != Tok::kWord) {
      return ErrorAt(cur_.pos, fmt::format("expected a condition, found {}", Printable(cur_)));
    }
    if (cur_.text == "random") {
      node->kind = Expr::Kind::kRandom;
      BF_TRY(Advance());
      BF_ASSIGN_OR_RETURN(node->rate, ExpectPercent());
      return node;
    }
    if (cur_.text == "watchlist") {
      node->kind = Expr::Kind::kWatchlist;
      BF_TRY(Advance());
      node->list_pos = cur_.pos;
      BF_ASSIGN_OR_RETURN(node->list_name, ExpectString("the watch list name"));
      return node;
    }
    if (IsKeyword(cur_.text)) {
      return ErrorAt(cur_.pos, fmt::format("expected a condition, found {}", Printable(cur_)));
    }
    node->field = cur_.text;
    node->field_pos = cur_.pos;
    BF_TRY(Advance());
    switch (cur_.kind) {
      case Tok::kEq:
      case Tok::kNe:
      case Tok::kLt:
      case Tok::kLe:
      case Tok::kGt:
      case Tok::kGe: {
        node->kind = Expr::Kind::kCompare;
        node->op = cur_.text;
        BF_TRY(Advance());
        bool negative = false;
        if (cur_.kind == Tok::kMinus) {
          negative = true;
          BF_TRY(Advance());
          if (cur_.kind != Tok::kNumber) {
            return ErrorAt(cur_.pos,
                           fmt::format("expected a number after '-', found {}", Printable(cur_)));
          }
        }
        if (cur_.kind != Tok::kString && cur_.kind != Tok::kNumber && cur_.kind != Tok::kWord) {
          return ErrorAt(cur_.pos, fmt::format("expected a value after '{}', found {}", node->op,
                                               Printable(cur_)));
        }
        node->value = ValueOf(cur_);
        node->value.negative = negative;
        if (negative) node->value.number = -node->value.number;
        BF_TRY(Advance());
        if (node->value.kind == Value::Kind::kWord && cur_.kind == Tok::kStar) {
          BF_TRY(Advance());
          BF_ASSIGN_OR_RETURN(double f, ExpectPlainNumber("a factor"));
          node->factor = f;
        }
        return node;
      }
      default:
        break;
    }
    bool negated = false;
    if (cur_.kind == Tok::kWord && cur_.text == "not") {
      negated = true;
      BF_TRY(Advance());
      if (!(cur_.kind == Tok::kWord && cur_.text == "in")) {
        return ErrorAt(cur_.pos,
                       fmt::format("expected 'in' after 'not', found {}", Printable(cur_)));
      }
    }
    if (cur_.kind == Tok::kWord && cur_.text == "in") {
      node->kind = negated ? Expr::Kind::kNotIn : Expr::Kind::kIn;
      BF_TRY(Advance());
      if (cur_.kind == Tok::kWord && cur_.text == "list") {
        BF_TRY(Advance());
        node->list_pos = cur_.pos;
        BF_ASSIGN_OR_RETURN(node->list_name, ExpectString("the list name"));
        return node;
      }
      BF_TRY(Expect(Tok::kLBracket, "expected '[' or 'list \"NAME\"' after 'in'"));
      while (true) {
        BF_ASSIGN_OR_RETURN(Value v, ParseSetItem(true));
        node->set.push_back(std::move(v));
        if (node->set.size() > kMaxListItems) return ErrorAt(node->pos, "set too long");
        if (cur_.kind != Tok::kComma) break;
        BF_TRY(Advance());
      }
      BF_TRY(Expect(Tok::kRBracket, "expected ',' or ']'"));
      return node;
    }
    // A bare field: a yes/no field, checked by the compiler.
    node->kind = Expr::Kind::kBoolField;
    return node;
  }

  Lexer lexer_;
  size_t max_rules_;
  Token cur_;
  Token prev_;
};

}  // namespace

Result<File> Parse(std::string_view text, size_t max_rules) {
  Parser p(text, max_rules);
  return p.ParseFile();
}

}  // namespace borderflow::rules::ast
