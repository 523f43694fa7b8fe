// Fuzz target: matching noisy camera plate reads to expected plates
// (include/borderflow/queue/plate_match.h). Reads come straight from gate cameras.
//
// Input layout: byte 0 is the camera confidence (byte / 200, so 0..1.275; 0xFF is NaN), byte 1
// the options (low 4 bits: max_distance, bits 4-6: min_margin, bit 7: max_distance -1), then
// lines: the read, and up to 32 expected plates, each "canonical" or "crossing\tcanonical".

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include <borderflow/queue/plate_match.h>

#include "fuzz_check.h"

namespace bf = borderflow;
using bf::fuzz::Escaped;
using bf::fuzz::IsValidUtf8;

namespace {

constexpr size_t kMaxExpected = 32;

std::string ToLowerAscii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

bool Before(int d1, std::string_view id1, int d2, std::string_view id2) {
  return d1 != d2 ? d1 < d2 : id1 < id2;
}

void CheckDistance(std::string_view read, std::string_view canonical) {
  const int d = bf::PlateReadDistance(read, canonical);
  const std::string what = "'" + Escaped(read) + "' / '" + Escaped(canonical) + "'";
  FUZZ_CHECK(d >= 0, what);
  FUZZ_CHECK(d == bf::PlateReadDistance(canonical, read), "not symmetric: " + what);
  FUZZ_CHECK(bf::PlateReadDistance(read, read) == 0, Escaped(read));
  if (read == canonical) {
    FUZZ_CHECK(d == 0, what);
    return;
  }
  // Below "far", both sides were compared as plates: case and separators do not matter.
  constexpr int kPlateSized = 100;
  if (d >= kPlateSized) return;
  FUZZ_CHECK(bf::PlateReadDistance(ToLowerAscii(read), canonical) == d, "case: " + what);
  if (read.size() < 32) {
    std::string dashed = "-" + std::string(read);
    FUZZ_CHECK(bf::PlateReadDistance(dashed, canonical) == d, "separator: " + what);
  }
}

void CheckMatch(std::string_view read, double confidence,
                const std::vector<bf::ExpectedPlate>& expected,
                const bf::PlateMatchOptions& options) {
  const bf::PlateMatch m = bf::MatchPlateRead(read, confidence, expected, options);
  const std::string what = "read '" + Escaped(read) + "', reason '" + Escaped(m.reason) + "'";
  FUZZ_CHECK(!m.reason.empty() && IsValidUtf8(m.reason), what);
  FUZZ_CHECK(m.candidates.size() <= 5, what);
  std::string_view name = bf::PlateMatchOutcomeName(m.outcome);
  FUZZ_CHECK(
      name == "matched" || name == "ambiguous" || name == "unknown" || name == "low_confidence",
      what);

  // Candidates: the plates within max_distance, best first, ties by crossing id.
  for (size_t i = 0; i < m.candidates.size(); ++i) {
    const bf::PlateCandidate& c = m.candidates[i];
    FUZZ_CHECK(c.distance <= options.max_distance, what);
    FUZZ_CHECK(c.distance == bf::PlateReadDistance(read, c.canonical),
               "candidate distance differs from PlateReadDistance: " + what);
    if (i > 0) {
      const bf::PlateCandidate& p = m.candidates[i - 1];
      FUZZ_CHECK(!Before(c.distance, c.crossing_id, p.distance, p.crossing_id),
                 "candidates out of order: " + what);
    }
  }
  bool any_within = false;
  for (const bf::ExpectedPlate& e : expected) {
    const int d = bf::PlateReadDistance(read, e.canonical);
    if (d > options.max_distance) continue;
    any_within = true;
    const bool listed = std::any_of(m.candidates.begin(), m.candidates.end(), [&](const auto& c) {
      return c.crossing_id == e.crossing_id && c.canonical == e.canonical;
    });
    if (listed) continue;
    FUZZ_CHECK(m.candidates.size() == 5,
               "plate within distance missing: " + what + ", '" + Escaped(e.canonical) + "'");
    const bf::PlateCandidate& last = m.candidates.back();
    FUZZ_CHECK(!Before(d, e.crossing_id, last.distance, last.crossing_id),
               "a better plate was left out: " + what + ", '" + Escaped(e.canonical) + "'");
  }
  FUZZ_CHECK(any_within == !m.candidates.empty(), what);

  const bool confident =
      confidence >= 0.0 && confidence <= 1.0 && confidence >= options.min_confidence;
  FUZZ_CHECK((m.outcome == bf::PlateMatchOutcome::kLowConfidence) == !confident, what);
  if (m.outcome != bf::PlateMatchOutcome::kMatched) FUZZ_CHECK(m.crossing_id.empty(), what);
  if (m.outcome == bf::PlateMatchOutcome::kUnknown) FUZZ_CHECK(m.candidates.empty(), what);
  if (m.outcome == bf::PlateMatchOutcome::kAmbiguous) FUZZ_CHECK(!m.candidates.empty(), what);
  if (m.outcome == bf::PlateMatchOutcome::kMatched) {
    FUZZ_CHECK(!m.candidates.empty() && m.crossing_id == m.candidates[0].crossing_id, what);
    // No other crossing's plate is within the margin of the best.
    const int margin = std::max(options.min_margin, 1);
    for (const bf::PlateCandidate& c : m.candidates) {
      FUZZ_CHECK(c.crossing_id == m.crossing_id || c.distance - m.candidates[0].distance >= margin,
                 "matched although another crossing is as close: " + what);
    }
  }

  // Deterministic.
  const bf::PlateMatch again = bf::MatchPlateRead(read, confidence, expected, options);
  FUZZ_CHECK(again.outcome == m.outcome && again.crossing_id == m.crossing_id &&
                 again.reason == m.reason && again.candidates.size() == m.candidates.size(),
             what);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const double confidence =
      data[0] == 0xFF ? std::numeric_limits<double>::quiet_NaN() : data[0] / 200.0;
  bf::PlateMatchOptions options;
  options.max_distance = (data[1] & 0x80) ? -1 : (data[1] & 0x0F);
  options.min_margin = (data[1] >> 4) & 0x07;
  std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);

  std::vector<std::string_view> lines;
  while (lines.size() <= kMaxExpected) {
    size_t nl = text.find('\n');
    lines.push_back(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  const std::string_view read = lines[0];
  std::vector<bf::ExpectedPlate> expected;
  for (size_t i = 1; i < lines.size(); ++i) {
    std::string_view line = lines[i];
    size_t tab = line.find('\t');
    if (tab == std::string_view::npos) {
      expected.push_back({"c" + std::to_string(i), std::string(line)});
    } else {
      expected.push_back({std::string(line.substr(0, tab)), std::string(line.substr(tab + 1))});
    }
  }

  CheckDistance(read, read);
  for (const bf::ExpectedPlate& e : expected) CheckDistance(read, e.canonical);
  CheckMatch(read, confidence, expected, options);
  return 0;
}
