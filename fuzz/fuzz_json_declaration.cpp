// Fuzz target: declaration bodies (the POST /api/v1/crossings body) and stored crossing documents
// (include/borderflow/core/json.h, include/borderflow/domain/crossing_json.h).
//
// The input is parsed as JSON with the default limits, then
//   - decoded as a declaration; if valid, a crossing built around it must survive
//     EncodeCrossing -> text -> ParseJson -> DecodeCrossing -> EncodeCrossing unchanged;
//   - decoded as a stored crossing document (rows may be corrupt); if valid, the same round trip.

#include <algorithm>
#include <cmath>
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

// Equal, except that numbers may differ in the last bits: Boost.JSON 1.81 parses numbers
// imprecisely (up to 1 ulp off; number_precision::precise only arrived in 1.83), so a double
// serialised in shortest round-trip form can come back as a neighbour.
bool NearlyEqual(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    double x = a.get_double(), y = b.get_double();
    double scale = std::max(std::fabs(x), std::fabs(y));
    return x == y || std::fabs(x - y) <= scale * 1e-14 || std::fabs(x - y) <= 1e-300;
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto& x = a.get_array();
    const auto& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!NearlyEqual(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const auto& x = a.get_object();
    const auto& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (const auto& kv : x) {
      const boost::json::value* other = y.if_contains(kv.key());
      if (other == nullptr || !NearlyEqual(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
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
  FUZZ_CHECK(reparsed.has_value() && NearlyEqual(*reparsed, *json),
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
