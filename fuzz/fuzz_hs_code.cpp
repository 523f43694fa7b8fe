// Fuzz target: HS commodity codes (include/borderflow/core/hs_code.h). The same input is
// validated as a declared code, used as a search query, and parsed as a nomenclature CSV.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/hs_code.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

namespace {

bool AllDigits(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

void CheckValidate(const bf::HsNomenclature& hs, std::string_view text) {
  auto code = hs.Validate(text);
  if (!code) {
    const std::string& c = code.error().code;
    FUZZ_CHECK(c == "invalid_hs_code" || c == "unknown_hs_code", code.error().ToString());
    FUZZ_CHECK(IsValidUtf8(code.error().message),
               "error message is not UTF-8: " + Escaped(code.error().message));
    return;
  }
  FUZZ_CHECK(code->code.size() >= 6 && code->code.size() <= 10 && AllDigits(code->code),
             Escaped(text));
  FUZZ_CHECK(code->subheading == code->code.substr(0, 6), Escaped(text));
  FUZZ_CHECK(code->chapter == code->code.substr(0, 2), Escaped(text));
  const bf::HsEntry* entry = hs.Find(code->subheading);
  FUZZ_CHECK(entry != nullptr && entry->level == 6 && entry->description == code->description,
             Escaped(text));
  auto again = hs.Validate(code->code);
  FUZZ_CHECK(again.has_value() && again->code == code->code, Escaped(text));
}

void CheckSearch(const bf::HsNomenclature& hs, std::string_view query, size_t limit) {
  auto found = hs.Search(query, limit);
  FUZZ_CHECK(found.size() <= limit, Escaped(query));
  for (size_t i = 0; i < found.size(); ++i) {
    FUZZ_CHECK(found[i] != nullptr, Escaped(query));
    if (i < 64) FUZZ_CHECK(hs.Find(found[i]->code) == found[i], Escaped(query));
    if (i > 0) FUZZ_CHECK(found[i - 1]->level >= found[i]->level, "order: " + Escaped(query));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  static const auto hs2022 = bf::HsNomenclature::Hs2022();
  CheckValidate(*hs2022, text);
  // GET /api/v1/hs takes queries of 1 to 64 bytes. A search scans every description, which is
  // slow in a Debug build, so only a quarter of the inputs (by length) are also searched for.
  if (size <= 64 && size % 4 == 0) CheckSearch(*hs2022, text, size % 8 == 0 ? 20 : 10'000);

  auto csv = bf::HsNomenclature::FromCsv(text);
  if (!csv) {
    FUZZ_CHECK(csv.error().code == "invalid_hs_csv", csv.error().ToString());
    FUZZ_CHECK(IsValidUtf8(csv.error().message),
               "error message is not UTF-8: " + Escaped(csv.error().message));
    return 0;
  }
  const bf::HsNomenclature& mine = **csv;
  FUZZ_CHECK(mine.size() > 0, "an empty nomenclature was accepted");
  CheckSearch(mine, text.substr(0, 64), 20);
  auto code = mine.Validate(text);
  if (code) FUZZ_CHECK(mine.Find(code->subheading) != nullptr, Escaped(text));
  return 0;
}
