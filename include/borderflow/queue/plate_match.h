#pragma once

// Matching noisy camera plate reads to the trucks we expect. Cameras confuse 0/O/D/Q, 8/B, 1/I,
// 5/S and 2/Z, and drop or misread the Chinese province character; a read is matched with a
// distance that makes those confusions cheap and anything else expensive. A unique good match
// is applied; an ambiguous, unknown or low-confidence read goes to an operator, never dropped.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace borderflow {

// A plate we expect to see (a truck booked or in the queue), by its canonical form
// (Plate::canonical: "12C12345", "桂F12345").
struct ExpectedPlate {
  std::string crossing_id;
  std::string canonical;
};

struct PlateMatchOptions {
  int max_distance = 4;         // in distance units (see PlateReadDistance)
  int min_margin = 2;           // the best must beat the second best by at least this
  double min_confidence = 0.6;  // reads the camera is less sure of are never auto-applied
};

// Weighted edit distance between a raw camera read (any case, separators, UTF-8) and a
// canonical plate: a camera confusion (the pairs above) costs 1, a missing, extra or different
// Chinese province character costs 1, any other substitution, insertion or deletion costs 3.
// Separators (space, '-', '.', '·', '•') and case are ignored. 0 means the same plate.
int PlateReadDistance(std::string_view read, std::string_view canonical);

enum class PlateMatchOutcome { kMatched, kAmbiguous, kUnknown, kLowConfidence };
std::string_view PlateMatchOutcomeName(PlateMatchOutcome o);  // matched, ambiguous, ...

struct PlateCandidate {
  std::string crossing_id;
  std::string canonical;
  int distance = 0;
};

struct PlateMatch {
  PlateMatchOutcome outcome = PlateMatchOutcome::kUnknown;
  std::string crossing_id;  // when matched
  // Candidates within max_distance, best first (ties by crossing id), at most 5.
  std::vector<PlateCandidate> candidates;
  // Why, in English for the audit trail and operators: "exact", "2 camera confusions",
  // "ambiguous: 12C12345 and 12C12346 at distance 1", "no expected plate within distance 4",
  // "confidence 0.41 below 0.60".
  std::string reason;
};

// Matches `read` (with the camera's `confidence`, 0..1) against `expected`. Deterministic.
PlateMatch MatchPlateRead(std::string_view read, double confidence,
                          std::span<const ExpectedPlate> expected,
                          const PlateMatchOptions& options = {});

}  // namespace borderflow
