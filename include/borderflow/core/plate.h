#pragma once

// Vehicle licence plates of the two sides of the gate pair (see BRIEF.md, "Licence plates").
//
//   Vietnam: two-digit province code + series letter(s) + 4 or 5 digits, printed "12C-123.45"
//            (5 digits) or "12C-1234" (4 digits). Trailers carry series R ("12R-012.34").
//   China (GA 36-2018): province character + authority letter + 5 characters without I or O,
//            printed "桂F·12345"; new-energy plates have 6 characters after the letter
//            ("桂FD12345"); trailers end in 挂 ("桂F·1234挂").
//
// Parsing accepts the forms people and cameras actually type: any case, spaces, '-', '.', '·'
// (U+00B7), '•', full-width digits and letters are not accepted.

#include <string>
#include <string_view>

#include <borderflow/core/error.h>

namespace borderflow {

enum class PlateCountry { kVietnam, kChina };

std::string_view PlateCountryCode(PlateCountry c);  // "VN" / "CN"

struct Plate {
  PlateCountry country = PlateCountry::kVietnam;
  // Canonical key without separators, upper case: "12C12345", "桂F12345", "桂F1234挂".
  std::string canonical;
  // Printed form: "12C-123.45", "12C-1234", "桂F·12345", "桂F·1234挂".
  std::string display;
  bool trailer = false;     // Chinese 挂 plates, Vietnamese R-series plates
  bool new_energy = false;  // Chinese 8-character plates

  friend bool operator==(const Plate&, const Plate&) = default;
};

// Validates and normalises a plate of either country. Errors have code "invalid_plate" and a
// message that says what is wrong ("province code 99 does not exist", "Chinese plates never
// contain I or O", ...). Input longer than 32 bytes is refused.
Result<Plate> ParsePlate(std::string_view text);

// A key that collapses the characters cameras confuse (0/O/D/Q -> 0, 8/B -> 8, 1/I -> 1,
// 5/S -> 5, 2/Z -> 2) and drops the Chinese province character, so that a noisy camera read and
// the declared plate can be matched. Works on raw, unvalidated reads.
std::string PlateMatchKey(std::string_view text);

// ISO 6346 freight container number: owner code (3 letters), category (U, J or Z), 6-digit
// serial and a check digit, e.g. "CSQU3054383". Returns the canonical form without spaces;
// errors have code "invalid_container_number" and say whether the check digit is wrong.
Result<std::string> ParseContainerNumber(std::string_view text);

}  // namespace borderflow
