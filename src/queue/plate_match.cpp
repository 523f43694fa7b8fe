#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include <borderflow/core/utf8.h>
#include <borderflow/queue/plate_match.h>

namespace borderflow {
namespace {

// Inputs are bounded: a plate has at most 32 bytes (as in ParsePlate) and, without separators,
// at most 16 code points. Anything longer is not a plate: it is at kFarDistance from everything
// except a byte-identical string, so that the work per comparison stays a 17 x 17 table.
constexpr size_t kMaxBytes = 32;
constexpr int kMaxCodePoints = 16;
constexpr int kFarDistance = 1000;

constexpr int kCheapCost = 1;  // a camera confusion, or the province character
constexpr int kEditCost = 3;   // any other substitution, insertion or deletion

constexpr size_t kMaxCandidates = 5;

constexpr char32_t kMiddleDot = U'\u00B7';  // '·'
constexpr char32_t kBullet = U'\u2022';     // '•'
// An invalid byte b becomes the opaque code point kOpaqueBase + b: above U+10FFFF, so it never
// equals a real character, and different bytes stay different.
constexpr char32_t kOpaqueBase = 0x110000;

// Decodes one UTF-8 code point at `pos` (no overlong forms, surrogates or code points above
// U+10FFFF). On failure returns the opaque code point of the single byte at `pos`.
// One code point at `pos`; an invalid UTF-8 byte is one opaque code point of its own (above
// the Unicode range, so it only ever matches itself).
char32_t DecodeAt(std::string_view s, size_t pos, size_t& len) {
  char32_t cp = 0;
  if (DecodeUtf8(s, pos, cp, len)) return cp;
  len = 1;
  return kOpaqueBase + static_cast<unsigned char>(s[pos]);
}

bool IsSeparator(char32_t c) {
  return c == U' ' || c == U'-' || c == U'.' || c == kMiddleDot || c == kBullet;
}

// A (possible) Chinese province character: any real non-ASCII character. Opaque bytes of
// invalid UTF-8 are not.
bool IsProvince(char32_t c) { return c >= 0x80 && c < kOpaqueBase; }

// The camera-confusion group of an (upper-case) character, 0 if none.
int ConfusionGroup(char32_t c) {
  switch (c) {
    case U'0':
    case U'O':
    case U'D':
    case U'Q':
      return 1;
    case U'8':
    case U'B':
      return 2;
    case U'1':
    case U'I':
      return 3;
    case U'5':
    case U'S':
      return 4;
    case U'2':
    case U'Z':
      return 5;
    default:
      return 0;
  }
}

// A read or canonical plate as code points, without separators, ASCII upper-cased. Lives on the
// stack: normalising a candidate allocates nothing.
struct Normalised {
  std::array<char32_t, kMaxCodePoints> cp{};
  std::array<unsigned char, kMaxCodePoints> group{};  // ConfusionGroup of cp
  int len = 0;
  bool province = false;  // cp[0] is a (possible) province character
  bool bounded = true;    // false: longer than kMaxBytes or kMaxCodePoints
};

Normalised Normalise(std::string_view text) {
  Normalised n;
  if (text.size() > kMaxBytes) {
    n.bounded = false;
    return n;
  }
  size_t pos = 0;
  while (pos < text.size()) {
    size_t len = 1;
    char32_t c = DecodeAt(text, pos, len);
    pos += len;
    if (IsSeparator(c)) continue;
    if (c >= U'a' && c <= U'z') c = c - U'a' + U'A';
    if (n.len == kMaxCodePoints) {
      n.bounded = false;
      return n;
    }
    n.group[n.len] = static_cast<unsigned char>(ConfusionGroup(c));
    n.cp[n.len++] = c;
  }
  n.province = n.len > 0 && IsProvince(n.cp[0]);
  return n;
}

// Costs of the edit operations. `i` and `j` are 0-based positions in the read `a` and the
// canonical plate `b`; the province character only counts at position 0.
int SubstitutionCost(const Normalised& a, int i, const Normalised& b, int j) {
  if (a.cp[i] == b.cp[j]) return 0;
  if (i == 0 && j == 0 && a.province && b.province) return kCheapCost;
  if (a.group[i] != 0 && a.group[i] == b.group[j]) return kCheapCost;
  return kEditCost;
}

int DeletionCost(const Normalised& a, int i) {
  return i == 0 && a.province ? kCheapCost : kEditCost;
}

int InsertionCost(const Normalised& b, int j) {
  return j == 0 && b.province ? kCheapCost : kEditCost;
}

// A lower bound of the distance from the lengths alone: every code point of length difference
// needs a deletion or insertion, of which only the province character's is cheap.
int LengthLowerBound(const Normalised& a, const Normalised& b) {
  const Normalised& longer = a.len >= b.len ? a : b;
  const int diff = std::abs(a.len - b.len);
  if (diff == 0) return 0;
  return kEditCost * diff - (longer.province ? kEditCost - kCheapCost : 0);
}

// The distance between two bounded strings, or any value above `limit` as soon as it is clear
// that the distance exceeds `limit`.
//
// Only a band of the table is computed: a path through cell (i, j) has at least |i - j|
// insertions or deletions in one direction, of which at most one is cheap, so it costs at least
// 3 |i - j| - 2. Values are capped at limit + 1, which stands for "too far".
int BoundedDistance(const Normalised& a, const Normalised& b, int limit) {
  limit = std::min(limit, kFarDistance);
  const int over = limit + 1;
  if (limit < 0 || LengthLowerBound(a, b) > limit) return over;
  const int band = std::min((limit + kEditCost - kCheapCost) / kEditCost, kMaxCodePoints);
  std::array<int, kMaxCodePoints + 1> prev{};
  std::array<int, kMaxCodePoints + 1> row{};
  prev[0] = 0;
  for (int j = 1; j <= b.len; ++j) {
    prev[j] = j <= band ? std::min(over, prev[j - 1] + InsertionCost(b, j - 1)) : over;
  }
  for (int i = 1; i <= a.len; ++i) {
    const int lo = std::max(1, i - band);
    const int hi = std::min(b.len, i + band);
    row[0] = i <= band ? std::min(over, prev[0] + DeletionCost(a, i - 1)) : over;
    if (lo > 1) row[lo - 1] = over;
    int row_min = row[0];
    const int deletion_cost = DeletionCost(a, i - 1);
    for (int j = lo; j <= hi; ++j) {
      int best = prev[j - 1] + SubstitutionCost(a, i - 1, b, j - 1);
      best = std::min(best, prev[j] + deletion_cost);
      best = std::min(best, row[j - 1] + InsertionCost(b, j - 1));
      row[j] = std::min(best, over);
      row_min = std::min(row_min, row[j]);
    }
    if (hi < b.len) row[hi + 1] = over;
    // Costs are never negative: once a whole row is too far, so is the result.
    if (row_min > limit) return over;
    prev = row;
  }
  return prev[b.len];
}

// The distance between raw `read` (normalised as `a`) and raw `canonical`.
int Distance(std::string_view read, const Normalised& a, std::string_view canonical, int limit) {
  const Normalised b = Normalise(canonical);
  if (!a.bounded || !b.bounded) return read == canonical ? 0 : kFarDistance;
  return BoundedDistance(a, b, limit);
}

// What one optimal alignment did, for the reason of a match.
struct EditSummary {
  int confusions = 0;
  int other_edits = 0;
  enum class Province { kSame, kMissing, kExtra, kDifferent } province = Province::kSame;
};

EditSummary Summarise(const Normalised& a, const Normalised& b) {
  std::array<std::array<int, kMaxCodePoints + 1>, kMaxCodePoints + 1> d{};
  for (int j = 1; j <= b.len; ++j) d[0][j] = d[0][j - 1] + InsertionCost(b, j - 1);
  for (int i = 1; i <= a.len; ++i) {
    d[i][0] = d[i - 1][0] + DeletionCost(a, i - 1);
    for (int j = 1; j <= b.len; ++j) {
      d[i][j] =
          std::min({d[i - 1][j - 1] + SubstitutionCost(a, i - 1, b, j - 1),
                    d[i - 1][j] + DeletionCost(a, i - 1), d[i][j - 1] + InsertionCost(b, j - 1)});
    }
  }
  EditSummary s;
  int i = a.len;
  int j = b.len;
  while (i > 0 || j > 0) {
    if (i > 0 && j > 0) {
      const int cost = SubstitutionCost(a, i - 1, b, j - 1);
      if (d[i][j] == d[i - 1][j - 1] + cost) {
        if (cost == kCheapCost && i == 1 && j == 1 && a.province && b.province) {
          s.province = EditSummary::Province::kDifferent;
        } else if (cost == kCheapCost) {
          ++s.confusions;
        } else if (cost != 0) {
          ++s.other_edits;
        }
        --i;
        --j;
        continue;
      }
    }
    if (i > 0 && d[i][j] == d[i - 1][j] + DeletionCost(a, i - 1)) {
      if (DeletionCost(a, i - 1) == kCheapCost) {
        s.province = EditSummary::Province::kExtra;
      } else {
        ++s.other_edits;
      }
      --i;
      continue;
    }
    // Otherwise an insertion is the only way this cell was reached.
    if (InsertionCost(b, j - 1) == kCheapCost) {
      s.province = EditSummary::Province::kMissing;
    } else {
      ++s.other_edits;
    }
    --j;
  }
  return s;
}

std::string MatchReason(const Normalised& a, std::string_view canonical, int distance) {
  if (distance == 0) return "exact";
  const Normalised b = Normalise(canonical);
  if (!a.bounded || !b.bounded) return fmt::format("distance {}", distance);
  const EditSummary s = Summarise(a, b);
  if (s.other_edits > 0) return fmt::format("distance {}", distance);
  std::string reason;
  switch (s.province) {
    case EditSummary::Province::kSame:
      break;
    case EditSummary::Province::kMissing:
      reason = "province character missing";
      break;
    case EditSummary::Province::kExtra:
      reason = "extra province character";
      break;
    case EditSummary::Province::kDifferent:
      reason = "different province character";
      break;
  }
  if (s.confusions > 0) {
    if (!reason.empty()) reason += ", ";
    reason += fmt::format("{} camera confusion{}", s.confusions, s.confusions == 1 ? "" : "s");
  }
  if (reason.empty()) reason = fmt::format("distance {}", distance);  // not reached
  return reason;
}

// Caller-supplied text (crossing ids, canonical plates) made safe for a reason: invalid UTF-8
// and control characters become U+FFFD, and it is cut to kMaxBytes.
std::string Printable(std::string_view text) {
  std::string out;
  size_t pos = 0;
  while (pos < text.size() && pos < kMaxBytes) {
    size_t len = 1;
    char32_t c = DecodeAt(text, pos, len);
    if (c >= kOpaqueBase || c < 0x20 || c == 0x7F || (c >= 0x80 && c < 0xA0)) {
      out += "\xEF\xBF\xBD";  // U+FFFD
    } else {
      out.append(text.substr(pos, len));
    }
    pos += len;
  }
  if (pos < text.size()) out += "...";
  return out;
}

// "0.41" and "0.60", with more decimals if two decimals would make them look equal.
std::string ConfidenceReason(double confidence, double min_confidence) {
  if (!(confidence >= 0.0 && confidence <= 1.0)) {
    return fmt::format("confidence {:.2f} is not between 0 and 1", confidence);
  }
  for (int decimals = 2; decimals < 6; ++decimals) {
    std::string have = fmt::format("{:.{}f}", confidence, decimals);
    std::string want = fmt::format("{:.{}f}", min_confidence, decimals);
    if (have != want) return fmt::format("confidence {} below {}", have, want);
  }
  return fmt::format("confidence {} below {}", confidence, min_confidence);
}

}  // namespace

int PlateReadDistance(std::string_view read, std::string_view canonical) {
  const Normalised a = Normalise(read);
  return Distance(read, a, canonical, kFarDistance);
}

std::string_view PlateMatchOutcomeName(PlateMatchOutcome o) {
  switch (o) {
    case PlateMatchOutcome::kMatched:
      return "matched";
    case PlateMatchOutcome::kAmbiguous:
      return "ambiguous";
    case PlateMatchOutcome::kUnknown:
      return "unknown";
    case PlateMatchOutcome::kLowConfidence:
      return "low_confidence";
  }
  return "unknown";
}

PlateMatch MatchPlateRead(std::string_view read, double confidence,
                          std::span<const ExpectedPlate> expected,
                          const PlateMatchOptions& options) {
  PlateMatch match;
  const int limit = options.max_distance;
  const Normalised a = Normalise(read);

  struct Hit {
    int distance;
    size_t index;
  };
  std::vector<Hit> hits;
  if (limit >= 0) {
    for (size_t i = 0; i < expected.size(); ++i) {
      const int distance = Distance(read, a, expected[i].canonical, limit);
      if (distance <= limit) hits.push_back({distance, i});
    }
  }
  auto plate = [&](const Hit& h) -> const ExpectedPlate& { return expected[h.index]; };
  std::sort(hits.begin(), hits.end(), [&](const Hit& x, const Hit& y) {
    if (x.distance != y.distance) return x.distance < y.distance;
    if (plate(x).crossing_id != plate(y).crossing_id) {
      return plate(x).crossing_id < plate(y).crossing_id;
    }
    if (plate(x).canonical != plate(y).canonical) return plate(x).canonical < plate(y).canonical;
    return x.index < y.index;
  });
  // The same plate listed twice for the same crossing is one candidate.
  hits.erase(std::unique(hits.begin(), hits.end(),
                         [&](const Hit& x, const Hit& y) {
                           return plate(x).crossing_id == plate(y).crossing_id &&
                                  plate(x).canonical == plate(y).canonical;
                         }),
             hits.end());
  for (size_t k = 0; k < hits.size() && k < kMaxCandidates; ++k) {
    match.candidates.push_back(
        {plate(hits[k]).crossing_id, plate(hits[k]).canonical, hits[k].distance});
  }

  // Written so that NaN (in either) is low confidence.
  if (!(confidence >= 0.0 && confidence <= 1.0 && confidence >= options.min_confidence)) {
    match.outcome = PlateMatchOutcome::kLowConfidence;
    match.reason = ConfidenceReason(confidence, options.min_confidence);
    return match;
  }
  if (hits.empty()) {
    match.outcome = PlateMatchOutcome::kUnknown;
    match.reason = fmt::format("no expected plate within distance {}", limit);
    return match;
  }

  const Hit& best = hits.front();
  // Another crossing's plate that the best does not beat by the margin makes the read
  // ambiguous; an equally good one always does. Several plates of one crossing (tractor and
  // trailer) do not.
  const int margin = std::max(options.min_margin, 1);
  for (const Hit& other : hits) {
    if (other.distance - best.distance >= margin) break;
    if (plate(other).crossing_id == plate(best).crossing_id) continue;
    match.outcome = PlateMatchOutcome::kAmbiguous;
    const std::string distances = other.distance == best.distance
                                      ? fmt::format("{}", best.distance)
                                      : fmt::format("{} and {}", best.distance, other.distance);
    if (plate(other).canonical == plate(best).canonical) {
      match.reason =
          fmt::format("ambiguous: {} expected for crossings {} and {} at distance {}",
                      Printable(plate(best).canonical), Printable(plate(best).crossing_id),
                      Printable(plate(other).crossing_id), distances);
    } else {
      match.reason =
          fmt::format("ambiguous: {} and {} at distance {}", Printable(plate(best).canonical),
                      Printable(plate(other).canonical), distances);
    }
    return match;
  }

  match.outcome = PlateMatchOutcome::kMatched;
  match.crossing_id = plate(best).crossing_id;
  match.reason = MatchReason(a, plate(best).canonical, best.distance);
  return match;
}

}  // namespace borderflow
