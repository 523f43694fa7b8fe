#pragma once

// The Harmonized System nomenclature (HS 2022), compiled into the binary from data/hs/hs2022.csv.

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/core/error.h>

namespace borderflow {

struct HsEntry {
  std::string code;         // "08", "0804", "080450"
  std::string description;  // "Guavas, mangoes and mangosteens; fresh or dried"
  std::string parent;       // "0804" for "080450"; "TOTAL" for chapters
  std::string section;      // Roman numeral, "II"
  int level = 6;            // 2 chapter, 4 heading, 6 subheading
  // Everyday names of the goods that traders use (data/hs/names.csv), for subheadings commonly
  // declared at the crossing: "sầu riêng", "榴莲", "durian". Empty for most entries.
  std::vector<std::string> names_vi, names_zh, names_en;
};

// A validated commodity code on a consignment line.
struct HsCode {
  std::string code;         // digits only, 6 to 10 ("08109040" for a national tariff line)
  std::string subheading;   // first six digits, an HS 2022 subheading ("081090")
  std::string chapter;      // "08"
  std::string description;  // description of the subheading
};

class HsNomenclature {
 public:
  // Builds the nomenclature from CSV text with header `section,hscode,description,parent,level`.
  static Result<std::shared_ptr<const HsNomenclature>> FromCsv(std::string_view csv);
  // The HS 2022 edition embedded in the binary, with the everyday names of data/hs/names.csv
  // (parsed once, thread-safe).
  static std::shared_ptr<const HsNomenclature> Hs2022();
  // Adds everyday names from CSV text with header `hscode,vi,zh,en` (several names in a field
  // separated by '|'); every code must be a subheading of this nomenclature.
  Status AddNames(std::string_view csv);

  // Validates a code on a declaration: 6 to 10 digits, dots and spaces ignored ("0810.90",
  // "0810.90.40"); its first six digits must be an HS 2022 subheading. Errors: code
  // "invalid_hs_code" (malformed) or "unknown_hs_code" (well formed, not in HS 2022).
  Result<HsCode> Validate(std::string_view text) const;

  // The chapter (2 digits), heading (4) or subheading (6), or nullptr.
  const HsEntry* Find(std::string_view code) const;

  // Entries whose code starts with `query` (digits), or, for words: entries one of whose
  // everyday names (any language) contains every word of `query` (the name itself first), then
  // entries whose description contains every word; subheadings first, at most `limit`. Words
  // match ignoring case and Vietnamese diacritics ("sau rieng" finds "sầu riêng").
  std::vector<const HsEntry*> Search(std::string_view query, size_t limit) const;

  size_t size() const { return entries_.size(); }

 private:
  std::vector<HsEntry> entries_;  // sorted by code
};

}  // namespace borderflow
