// Fuzz target: licence plates and container numbers (include/borderflow/core/plate.h).
// Plates arrive from forwarders' declarations and from gate cameras.

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include <borderflow/core/plate.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

namespace {

bool IsMatchKeyChar(char c) { return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'); }

void CheckPlate(std::string_view text) {
  auto plate = bf::ParsePlate(text);
  if (!plate) {
    FUZZ_CHECK(plate.error().code == "invalid_plate", plate.error().ToString());
    FUZZ_CHECK(IsValidUtf8(plate.error().message),
               "error message is not UTF-8: " + Escaped(plate.error().message));
    return;
  }
  const bf::Plate& p = *plate;
  FUZZ_CHECK(!p.canonical.empty() && !p.display.empty(), Escaped(text));
  FUZZ_CHECK(IsValidUtf8(p.canonical) && IsValidUtf8(p.display), Escaped(text));
  // The printed form and the canonical key are plates too, and the same plate.
  auto from_display = bf::ParsePlate(p.display);
  FUZZ_CHECK(from_display.has_value(),
             "display '" + Escaped(p.display) + "' of '" + Escaped(text) + "' does not parse");
  FUZZ_CHECK(*from_display == p, "display '" + Escaped(p.display) + "' of '" + Escaped(text) +
                                     "' parses to canonical " + Escaped(from_display->canonical));
  auto from_canonical = bf::ParsePlate(p.canonical);
  FUZZ_CHECK(from_canonical.has_value() && *from_canonical == p,
             "canonical '" + Escaped(p.canonical) + "' of '" + Escaped(text) + "' differs");
  // A camera read of exactly the input matches the declared plate.
  FUZZ_CHECK(bf::PlateMatchKey(text) == bf::PlateMatchKey(p.canonical),
             "match keys of '" + Escaped(text) + "' and its canonical form differ");
  FUZZ_CHECK(bf::PlateMatchKey(p.display) == bf::PlateMatchKey(p.canonical), Escaped(text));
  FUZZ_CHECK(p.country == bf::PlateCountry::kVietnam || p.country == bf::PlateCountry::kChina,
             Escaped(text));
  FUZZ_CHECK(!(p.country == bf::PlateCountry::kVietnam && p.new_energy), Escaped(text));
}

void CheckMatchKey(std::string_view text) {
  std::string key = bf::PlateMatchKey(text);
  FUZZ_CHECK(key.size() <= text.size(), Escaped(text));
  for (char c : key) FUZZ_CHECK(IsMatchKeyChar(c), "match key " + Escaped(key));
  FUZZ_CHECK(bf::PlateMatchKey(key) == key, "match key is not idempotent: " + Escaped(key));
}

void CheckContainer(std::string_view text) {
  auto number = bf::ParseContainerNumber(text);
  if (!number) {
    FUZZ_CHECK(number.error().code == "invalid_container_number", number.error().ToString());
    FUZZ_CHECK(IsValidUtf8(number.error().message),
               "error message is not UTF-8: " + Escaped(number.error().message));
    return;
  }
  FUZZ_CHECK(number->size() == 11, Escaped(*number));
  auto again = bf::ParseContainerNumber(*number);
  FUZZ_CHECK(again.has_value() && *again == *number,
             "canonical container number " + Escaped(*number) + " does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckPlate(text);
  CheckMatchKey(text);
  CheckContainer(text);
  return 0;
}
