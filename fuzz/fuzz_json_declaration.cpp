// Fuzz target: declaration bodies (the POST /api/v1/crossings body) and stored crossing documents
// (include/borderflow/core/json.h, include/borderflow/domain/crossing_json.h).
//
// The input is parsed as JSON with the default limits, then
//   - decoded as a declaration; if valid, a crossing built around it must survive
//     EncodeCrossing -> text -> ParseJson -> DecodeCrossing -> EncodeCrossing unchanged;
//   - decoded as a stored crossing document (rows may be corrupt); if valid, the same round trip.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <borderflow/core/hs_code.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing_json.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

namespace {

const bf::HsNomenclature& Hs() {
  static const auto hs = bf::HsNomenclature::Hs2022();
  return *hs;
}

// Encodes `c`, reads the text back as a stored document and checks that it encodes the same.
void CheckRoundTrip(const bf::Crossing& c, std::string_view input) {
  std::string text = bf::ToJsonText(bf::EncodeCrossing(c));
  auto parsed = bf::ParseJson(text);
  FUZZ_CHECK(parsed.has_value(), "EncodeCrossing wrote JSON that ParseJson refuses (" +
                                     parsed.error().ToString() + "): " + Escaped(text));
  auto decoded = bf::DecodeCrossing(*parsed, Hs());
  FUZZ_CHECK(decoded.has_value(), "DecodeCrossing refuses what EncodeCrossing wrote (" +
                                      decoded.error().ToString() + ")\n  input: " + Escaped(input) +
                                      "\n  encoded: " + Escaped(text));
  std::string again = bf::ToJsonText(bf::EncodeCrossing(*decoded));
  FUZZ_CHECK(again == text, "crossing changed in a round trip\n  input: " + Escaped(input) +
                                "\n  first:  " + Escaped(text) + "\n  second: " + Escaped(again));

  // The form with local times (API responses) decodes to the same crossing.
  std::string local = bf::ToJsonText(bf::EncodeCrossing(c, bf::UtcOffset{420}));
  auto local_parsed = bf::ParseJson(local);
  FUZZ_CHECK(local_parsed.has_value(), local_parsed.error().ToString());
  auto local_decoded = bf::DecodeCrossing(*local_parsed, Hs());
  FUZZ_CHECK(local_decoded.has_value(), "DecodeCrossing refuses the local-time form (" +
                                            local_decoded.error().ToString() +
                                            "): " + Escaped(local));
  FUZZ_CHECK(bf::ToJsonText(bf::EncodeCrossing(*local_decoded)) == text,
             "local-time form decodes to another crossing: " + Escaped(local));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto json = bf::ParseJson(text);
  if (!json) {
    FUZZ_CHECK(IsValidUtf8(json.error().message),
               "error message is not UTF-8: " + Escaped(json.error().message));
    return 0;
  }
  // Whatever parsed serialises to JSON that parses again to the same value.
  std::string serialised = bf::ToJsonText(*json);
  auto reparsed = bf::ParseJson(serialised, bf::JsonLimits{2 << 20, 16});
  FUZZ_CHECK(reparsed.has_value() && *reparsed == *json,
             "ToJsonText output does not parse back: " + Escaped(serialised));

  auto declaration = bf::DecodeDeclaration(*json, Hs());
  if (declaration) {
    bf::Crossing c;
    c.id = "CR-FUZZ0001";
    c.company_id = "C-FUZZ";
    c.declared_by = "UFUZZFUZZFUZZFUZZ";
    c.declaration = *declaration;
    c.created_at = bf::FromUnixMillis(1'795'000'000'000);  // 2026-11
    c.updated_at = c.created_at;
    c.declaration_valid_until =
        declaration->declaration_valid_until.value_or(c.created_at + std::chrono::hours(72));
    c.state = bf::CrossingState::kDeclared;
    c.version = 1;
    CheckRoundTrip(c, text);
  } else {
    FUZZ_CHECK(IsValidUtf8(declaration.error().message) && IsValidUtf8(declaration.error().field),
               "error is not UTF-8: " + Escaped(declaration.error().ToString()));
  }

  auto stored = bf::DecodeCrossing(*json, Hs());
  if (stored) CheckRoundTrip(*stored, text);
  return 0;
}
