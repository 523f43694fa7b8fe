#include <algorithm>
#include <deque>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/hs_code.h>

#include "hs_data.h"

namespace borderflow {
namespace {

constexpr std::string_view kHeader[] = {"section", "hscode", "description", "parent", "level"};
constexpr size_t kMaxHsInputBytes = 64;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

char ToLowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

// `haystack` contains `lower_needle` (already lower case), ignoring ASCII case.
bool ContainsIgnoringCase(std::string_view haystack, std::string_view lower_needle) {
  if (lower_needle.empty()) return true;
  if (lower_needle.size() > haystack.size()) return false;
  char first = lower_needle[0];
  for (size_t i = 0, last = haystack.size() - lower_needle.size(); i <= last; ++i) {
    if (ToLowerAscii(haystack[i]) != first) continue;
    size_t j = 1;
    while (j < lower_needle.size() && ToLowerAscii(haystack[i + j]) == lower_needle[j]) ++j;
    if (j == lower_needle.size()) return true;
  }
  return false;
}

// Untrusted text made safe for an error message: printable ASCII kept, other bytes become '?'.
std::string Printable(std::string_view text) {
  std::string out;
  for (char c : text.substr(0, 32)) out += (c >= 0x20 && c < 0x7F) ? c : '?';
  if (text.size() > 32) out += "...";
  return out;
}

// Vietnamese letters with their diacritics, by the ASCII letter they fold to.
constexpr std::pair<char, std::string_view> kVietnameseLetters[] = {
    {'a', "àáạảãâầấậẩẫăằắặẳẵÀÁẠẢÃÂẦẤẬẨẪĂẰẮẶẲẴ"},
    {'e', "èéẹẻẽêềếệểễÈÉẸẺẼÊỀẾỆỂỄ"},
    {'i', "ìíịỉĩÌÍỊỈĨ"},
    {'o', "òóọỏõôồốộổỗơờớợởỡÒÓỌỎÕÔỒỐỘỔỖƠỜỚỢỞỠ"},
    {'u', "ùúụủũưừứựửữÙÚỤỦŨƯỪỨỰỬỮ"},
    {'y', "ỳýỵỷỹỲÝỴỶỸ"},
    {'d', "đĐ"},
};

// Decodes the UTF-8 sequence at `text[i]` (valid or not: an invalid byte is its own code point,
// above U+10FFFF so that it maps to nothing) and advances `i`.
char32_t NextCodePoint(std::string_view text, size_t& i) {
  auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
  unsigned char b = byte(i);
  size_t n = b < 0x80 ? 1 : (b >> 5) == 0x6 ? 2 : (b >> 4) == 0xE ? 3 : (b >> 3) == 0x1E ? 4 : 0;
  if (n == 0 || i + n > text.size()) {
    ++i;
    return 0x110000 + b;
  }
  char32_t cp = n == 1 ? b : b & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) {
    if ((byte(i + k) & 0xC0) != 0x80) {
      ++i;
      return 0x110000 + b;
    }
    cp = (cp << 6) | (byte(i + k) & 0x3F);
  }
  i += n;
  return cp;
}

// Text for matching: ASCII lower case, Vietnamese letters without their diacritics ("Sầu
// riêng" -> "sau rieng"), combining marks dropped (text typed decomposed), the rest as it is
// ("榴莲").
std::string Fold(std::string_view text) {
  static const auto* const kFolds = [] {
    auto* folds = new std::vector<std::pair<char32_t, char>>();
    for (const auto& [ascii, letters] : kVietnameseLetters) {
      for (size_t i = 0; i < letters.size();) folds->emplace_back(NextCodePoint(letters, i), ascii);
    }
    std::sort(folds->begin(), folds->end());
    return folds;
  }();
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    const size_t start = i;
    const char32_t cp = NextCodePoint(text, i);
    if (cp < 0x80) {
      out += ToLowerAscii(static_cast<char>(cp));
      continue;
    }
    if (cp >= 0x300 && cp <= 0x36F) continue;  // combining diacritical marks
    auto fold = std::lower_bound(kFolds->begin(), kFolds->end(), std::pair<char32_t, char>(cp, 0));
    if (fold != kFolds->end() && fold->first == cp) {
      out += fold->second;
    } else {
      out.append(text.substr(start, i - start));
    }
  }
  return out;
}

// The words of a search, folded, split on spaces and punctuation.
std::vector<std::string> SearchWords(std::string_view query) {
  std::vector<std::string> words;
  std::string word;
  for (char c : Fold(query)) {
    bool separator = c == ' ' || c == '\t' || c == ',' || c == ';' || c == '.' || c == '(' ||
                     c == ')' || c == '"' || c == '\'' || c == '\n' || c == '\r';
    if (separator) {
      if (!word.empty()) words.push_back(std::move(word));
      word.clear();
    } else {
      word += c;
    }
  }
  if (!word.empty()) words.push_back(std::move(word));
  return words;
}

// Removes dots and spaces (the separators used when writing HS codes, "0810.90.40").
std::string StripSeparators(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c != '.' && c != ' ') out += c;
  }
  return out;
}

// A minimal RFC 4180 reader: fields separated by commas, optionally enclosed in double quotes
// (which may contain commas, line breaks and doubled quotes), records ended by LF or CRLF.
class CsvReader {
 public:
  explicit CsvReader(std::string_view text) : text_(text) {
    if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);
  }

  bool AtEnd() const { return pos_ >= text_.size(); }
  // Line number (1-based) at which the last record read started.
  size_t record_line() const { return record_line_; }

  // Reads the next record into `fields`, skipping empty lines. Returns false at the end of input.
  // The views point into the input, or into the reader for fields with doubled quotes; they stay
  // valid until the next call.
  Result<bool> Next(std::vector<std::string_view>& fields) {
    fields.clear();
    unescaped_.clear();
    while (!AtEnd() && (text_[pos_] == '\n' || text_.substr(pos_).starts_with("\r\n"))) {
      pos_ += text_[pos_] == '\n' ? 1 : 2;
      ++line_;
    }
    if (AtEnd()) return false;
    record_line_ = line_;
    while (true) {
      if (!AtEnd() && text_[pos_] == '"') {
        size_t begin = ++pos_;
        std::string* copy = nullptr;  // set once a doubled quote is seen
        while (true) {
          size_t quote = text_.find('"', pos_);
          if (quote == std::string_view::npos) return Fail("a quoted field is not closed");
          std::string_view chunk = text_.substr(pos_, quote - pos_);
          line_ += static_cast<size_t>(std::count(chunk.begin(), chunk.end(), '\n'));
          if (copy != nullptr) copy->append(chunk);
          pos_ = quote + 1;
          if (AtEnd() || text_[pos_] != '"') break;
          if (copy == nullptr) copy = &unescaped_.emplace_back(text_.substr(begin, quote - begin));
          *copy += '"';  // a doubled quote stands for one quote
          ++pos_;
        }
        fields.push_back(copy != nullptr ? std::string_view(*copy)
                                         : text_.substr(begin, pos_ - 1 - begin));
        if (!AtEnd() && text_[pos_] != ',' && text_[pos_] != '\n' && text_[pos_] != '\r') {
          return Fail("unexpected character after a closing quote");
        }
      } else {
        size_t stop = pos_;
        while (stop < text_.size() && text_[stop] != ',' && text_[stop] != '\n' &&
               text_[stop] != '\r') {
          if (text_[stop] == '"') return Fail("a quote inside an unquoted field");
          ++stop;
        }
        fields.push_back(text_.substr(pos_, stop - pos_));
        pos_ = stop;
      }
      if (AtEnd()) return true;
      char c = text_[pos_++];
      if (c == ',') continue;
      if (c == '\r') {
        if (AtEnd() || text_[pos_] != '\n') return Fail("a carriage return not followed by LF");
        ++pos_;
      }
      ++line_;
      return true;
    }
  }

  Error Fail(std::string_view why) const {
    return InvalidArgument("invalid_hs_csv", fmt::format("HS CSV line {}: {}", record_line_, why));
  }

 private:
  std::string_view text_;
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t record_line_ = 1;
  std::deque<std::string> unescaped_;  // fields of the current record that had doubled quotes
};

// The entry with exactly `code` in `entries` (sorted by code), or nullptr.
const HsEntry* FindSorted(const std::vector<HsEntry>& entries, std::string_view code) {
  auto it = std::lower_bound(entries.begin(), entries.end(), code,
                             [](const HsEntry& e, std::string_view k) { return e.code < k; });
  if (it == entries.end() || it->code != code) return nullptr;
  return &*it;
}

// Subheadings first, then headings, then chapters; by code within a level.
bool SearchOrder(const HsEntry* a, const HsEntry* b) {
  if (a->level != b->level) return a->level > b->level;
  return a->code < b->code;
}

}  // namespace

Result<std::shared_ptr<const HsNomenclature>> HsNomenclature::FromCsv(std::string_view csv) {
  CsvReader reader(csv);
  std::vector<std::string_view> fields;
  BF_ASSIGN_OR_RETURN(bool has_header, reader.Next(fields));
  if (!has_header) return InvalidArgument("invalid_hs_csv", "HS CSV is empty");
  if (!std::equal(fields.begin(), fields.end(), std::begin(kHeader), std::end(kHeader))) {
    return reader.Fail("expected the header 'section,hscode,description,parent,level'");
  }
  auto nomenclature = std::make_shared<HsNomenclature>();
  nomenclature->entries_.reserve(csv.size() / 100);
  std::vector<std::pair<std::string, size_t>> lines;  // code -> line, for error messages
  lines.reserve(csv.size() / 100);
  while (true) {
    BF_ASSIGN_OR_RETURN(bool more, reader.Next(fields));
    if (!more) break;
    if (fields.size() != 5) {
      return reader.Fail(fmt::format("expected 5 fields, found {}", fields.size()));
    }
    // UN Comtrade adds rows outside the nomenclature in section TOTAL: the grand total and the
    // pseudo-codes 99 / 9999 / 999999 "Commodities not specified according to kind".
    if (fields[0] == "TOTAL") continue;
    HsEntry entry;
    entry.section = fields[0];
    entry.code = fields[1];
    entry.description = fields[2];
    entry.parent = fields[3];
    std::string_view level = fields[4];
    if (level != "2" && level != "4" && level != "6") {
      return reader.Fail(fmt::format("level '{}' is not 2, 4 or 6", Printable(level)));
    }
    entry.level = level[0] - '0';
    if (!AllDigits(entry.code) || entry.code.size() != static_cast<size_t>(entry.level)) {
      return reader.Fail(
          fmt::format("code '{}' is not {} digits", Printable(entry.code), entry.level));
    }
    std::string expected_parent =
        entry.level == 2 ? std::string("TOTAL") : entry.code.substr(0, entry.level - 2);
    if (entry.parent != expected_parent) {
      return reader.Fail(fmt::format("parent of {} is '{}', expected '{}'", entry.code,
                                     Printable(entry.parent), expected_parent));
    }
    if (entry.section.empty() || entry.description.empty()) {
      return reader.Fail(fmt::format("{} has an empty section or description", entry.code));
    }
    lines.emplace_back(entry.code, reader.record_line());
    nomenclature->entries_.push_back(std::move(entry));
  }
  auto& entries = nomenclature->entries_;
  if (entries.empty()) return InvalidArgument("invalid_hs_csv", "HS CSV has no entries");
  auto by_code = [](const auto& a, const auto& b) { return a.code < b.code; };
  if (!std::is_sorted(entries.begin(), entries.end(), by_code)) {
    std::stable_sort(entries.begin(), entries.end(), by_code);
    std::stable_sort(lines.begin(), lines.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
  }
  // In code order a heading follows its chapter and a subheading its heading, so each parent is
  // the closest preceding entry of the level above.
  std::string_view last_of_level[7];
  for (size_t i = 0; i < entries.size(); ++i) {
    const HsEntry& e = entries[i];
    if (i > 0 && e.code == entries[i - 1].code) {
      return InvalidArgument("invalid_hs_csv", fmt::format("HS CSV line {}: duplicate code {}",
                                                           lines[i].second, e.code));
    }
    last_of_level[e.level] = e.code;
    if (e.level > 2 && last_of_level[e.level - 2] != e.parent) {
      return InvalidArgument("invalid_hs_csv",
                             fmt::format("HS CSV line {}: parent {} of {} is not in the file",
                                         lines[i].second, entries[i].parent, entries[i].code));
    }
  }
  return std::shared_ptr<const HsNomenclature>(std::move(nomenclature));
}

std::shared_ptr<const HsNomenclature> HsNomenclature::Hs2022() {
  static const std::shared_ptr<const HsNomenclature> instance = [] {
    auto parsed = FromCsv(internal::EmbeddedHs2022Csv());
    BF_ASSERT(parsed.has_value(), "the embedded data/hs/hs2022.csv must be a valid HS CSV");
    auto nomenclature = std::const_pointer_cast<HsNomenclature>(*parsed);
    Status named = nomenclature->AddNames(internal::EmbeddedHsNamesCsv());
    BF_ASSERT(named.has_value(), "the embedded data/hs/names.csv must name HS 2022 subheadings");
    return std::shared_ptr<const HsNomenclature>(std::move(nomenclature));
  }();
  return instance;
}

Status HsNomenclature::AddNames(std::string_view csv) {
  CsvReader reader(csv);
  std::vector<std::string_view> fields;
  BF_ASSIGN_OR_RETURN(bool has_header, reader.Next(fields));
  constexpr std::string_view kNamesHeader[] = {"hscode", "vi", "zh", "en"};
  if (!has_header ||
      !std::equal(fields.begin(), fields.end(), std::begin(kNamesHeader), std::end(kNamesHeader))) {
    return reader.Fail("expected the header 'hscode,vi,zh,en'");
  }
  while (true) {
    BF_ASSIGN_OR_RETURN(bool more, reader.Next(fields));
    if (!more) break;
    if (fields.size() != 4)
      return reader.Fail(fmt::format("expected 4 fields, found {}", fields.size()));
    auto entry =
        std::lower_bound(entries_.begin(), entries_.end(), fields[0],
                         [](const HsEntry& e, std::string_view code) { return e.code < code; });
    if (entry == entries_.end() || entry->code != fields[0] || entry->level != 6) {
      return reader.Fail(fmt::format("'{}' is not an HS 2022 subheading", Printable(fields[0])));
    }
    std::vector<std::string>* lists[] = {&entry->names_vi, &entry->names_zh, &entry->names_en};
    for (size_t f = 1; f < 4; ++f) {
      std::string_view names = fields[f];
      if (names.empty()) return reader.Fail(fmt::format("{} has an empty name", entry->code));
      while (!names.empty()) {
        size_t bar = names.find('|');
        std::string_view name = names.substr(0, bar);
        names = bar == std::string_view::npos ? std::string_view() : names.substr(bar + 1);
        if (name.empty()) return reader.Fail(fmt::format("{} has an empty name", entry->code));
        lists[f - 1]->emplace_back(name);
      }
    }
  }
  return {};
}

Result<HsCode> HsNomenclature::Validate(std::string_view text) const {
  if (text.size() > kMaxHsInputBytes) {
    return InvalidArgument(
        "invalid_hs_code",
        fmt::format("HS code is {} bytes long; an HS code has 6 to 10 digits", text.size()));
  }
  std::string digits = StripSeparators(text);
  if (!std::all_of(digits.begin(), digits.end(), IsDigit)) {
    return InvalidArgument(
        "invalid_hs_code",
        fmt::format("HS code '{}' may contain only digits, dots and spaces", Printable(text)));
  }
  if (digits.size() < 6 || digits.size() > 10) {
    return InvalidArgument("invalid_hs_code",
                           fmt::format("HS code '{}' has {} digits; a declared HS code has 6 to 10 "
                                       "digits, starting with a subheading such as 0810.60",
                                       Printable(text), digits.size()));
  }
  std::string subheading = digits.substr(0, 6);
  const HsEntry* entry = Find(subheading);
  if (entry == nullptr) {
    std::string why;
    std::string heading = subheading.substr(0, 4);
    std::string chapter = subheading.substr(0, 2);
    if (const HsEntry* h = Find(heading)) {
      why = fmt::format("heading {} ({}) exists but has no subheading {}", heading, h->description,
                        subheading);
    } else if (Find(chapter) != nullptr) {
      why = fmt::format("chapter {} exists but has no heading {}", chapter, heading);
    } else {
      why = fmt::format("there is no chapter {}", chapter);
    }
    return InvalidArgument(
        "unknown_hs_code",
        fmt::format("HS code {} is not an HS 2022 subheading: {}", subheading, why));
  }
  HsCode code;
  code.code = std::move(digits);
  code.subheading = std::move(subheading);
  code.chapter = code.code.substr(0, 2);
  code.description = entry->description;
  return code;
}

const HsEntry* HsNomenclature::Find(std::string_view code) const {
  return FindSorted(entries_, StripSeparators(code));
}

std::vector<const HsEntry*> HsNomenclature::Search(std::string_view query, size_t limit) const {
  std::vector<const HsEntry*> found;
  if (limit == 0) return found;
  std::string digits = StripSeparators(query);
  if (AllDigits(digits)) {
    auto it = std::lower_bound(entries_.begin(), entries_.end(), digits,
                               [](const HsEntry& e, const std::string& k) { return e.code < k; });
    for (; it != entries_.end() && it->code.starts_with(digits); ++it) found.push_back(&*it);
    std::stable_sort(found.begin(), found.end(), SearchOrder);
  } else {
    const std::vector<std::string> words = SearchWords(query);
    if (words.empty()) return found;
    std::string whole;  // the words as one name: "sau rieng"
    for (const std::string& w : words) whole += (whole.empty() ? "" : " ") + w;
    auto has_all = [&](std::string_view folded) {
      return std::all_of(words.begin(), words.end(), [&](const std::string& w) {
        return folded.find(w) != std::string_view::npos;
      });
    };
    // By everyday name: an entry with a name that is the query first, then one with a name
    // containing every word; then by description.
    std::vector<const HsEntry*> named_exactly, named, described;
    for (const HsEntry& e : entries_) {
      int best = 0;  // 2 a name is the query, 1 a name contains every word
      for (const auto* list : {&e.names_vi, &e.names_zh, &e.names_en}) {
        for (const std::string& name : *list) {
          std::string folded = Fold(name);
          if (folded == whole) best = 2;
          if (best < 1 && has_all(folded)) best = 1;
        }
      }
      if (best == 2) {
        named_exactly.push_back(&e);
      } else if (best == 1) {
        named.push_back(&e);
      } else if (std::all_of(words.begin(), words.end(), [&](const std::string& w) {
                   return ContainsIgnoringCase(e.description, w);
                 })) {
        described.push_back(&e);
      }
    }
    for (auto* group : {&named_exactly, &named, &described}) {
      std::stable_sort(group->begin(), group->end(), SearchOrder);
      found.insert(found.end(), group->begin(), group->end());
    }
  }
  if (found.size() > limit) found.resize(limit);
  return found;
}

}  // namespace borderflow
