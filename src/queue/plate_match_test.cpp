#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/queue/plate_match.h>

namespace borderflow {
namespace {

// Camera reads of real traffic: Vietnamese trucks and Chinese trucks with their trailers.
std::vector<ExpectedPlate> Queue() {
  return {
      {"X-001", "12C12345"}, {"X-002", "29H04567"}, {"X-003", "51D98765"},
      {"X-004", "桂F12345"}, {"X-005", "桂A7K219"}, {"X-006", "粤B3N8S1"},
  };
}

PlateMatch Match(std::string_view read, const std::vector<ExpectedPlate>& expected,
                 double confidence = 0.93, const PlateMatchOptions& options = {}) {
  return MatchPlateRead(read, confidence, expected, options);
}

// ---------------------------------------------------------------------------------------------
// PlateReadDistance

TEST(PlateReadDistanceTest, IdenticalIsZero) {
  for (std::string_view plate :
       {"12C12345", "12C1234", "29LD12345", "桂F12345", "桂F1234挂", "桂FD12345", ""}) {
    EXPECT_EQ(PlateReadDistance(plate, plate), 0) << plate;
  }
}

TEST(PlateReadDistanceTest, IgnoresCaseAndSeparators) {
  EXPECT_EQ(PlateReadDistance("12c-123.45", "12C12345"), 0);
  EXPECT_EQ(PlateReadDistance(" 12C 123 45 ", "12C12345"), 0);
  EXPECT_EQ(PlateReadDistance("12C·123.45", "12C12345"), 0);
  EXPECT_EQ(PlateReadDistance("12C•12345", "12C12345"), 0);
  EXPECT_EQ(PlateReadDistance("桂f·12345", "桂F12345"), 0);
  EXPECT_EQ(PlateReadDistance("桂F • 1234 挂", "桂F1234挂"), 0);
  // Both sides are normalised the same way.
  EXPECT_EQ(PlateReadDistance("12C12345", "12c-123.45"), 0);
}

TEST(PlateReadDistanceTest, CameraConfusionsCostOne) {
  EXPECT_EQ(PlateReadDistance("I2C12345", "12C12345"), 1);    // 1/I
  EXPECT_EQ(PlateReadDistance("12C1234S", "12C12345"), 1);    // 5/S
  EXPECT_EQ(PlateReadDistance("29H0456T", "29H04567"), 3);    // T/7 is not a confusion
  EXPECT_EQ(PlateReadDistance("29HO4567", "29H04567"), 1);    // 0/O
  EXPECT_EQ(PlateReadDistance("29HQ4567", "29H04567"), 1);    // 0/Q
  EXPECT_EQ(PlateReadDistance("桂FD2345", "桂FQ2345"), 1);    // D and Q are one group
  EXPECT_EQ(PlateReadDistance("桂A1238B", "桂A12388"), 1);    // 8/B
  EXPECT_EQ(PlateReadDistance("Z9H04567", "29H04567"), 1);    // 2/Z
  EXPECT_EQ(PlateReadDistance("i2c-123.4s", "12C12345"), 2);  // lower case counts as upper
  EXPECT_EQ(PlateReadDistance("I2C-I23.4S", "12C12345"), 3);
}

TEST(PlateReadDistanceTest, OtherEditsCostThree) {
  EXPECT_EQ(PlateReadDistance("12C12346", "12C12345"), 3);   // substitution
  EXPECT_EQ(PlateReadDistance("12D12345", "12C12345"), 3);   // C/D is not a confusion
  EXPECT_EQ(PlateReadDistance("12C1234", "12C12345"), 3);    // deletion
  EXPECT_EQ(PlateReadDistance("12C123455", "12C12345"), 3);  // insertion
  EXPECT_EQ(PlateReadDistance("12C12354", "12C12345"), 6);   // no transpositions
  EXPECT_EQ(PlateReadDistance("桂F1234", "桂F1234挂"), 3);   // 挂 is not a province
  EXPECT_EQ(PlateReadDistance("", "12C12345"), 24);
}

TEST(PlateReadDistanceTest, ProvinceCharacterCostsOne) {
  EXPECT_EQ(PlateReadDistance("F12345", "桂F12345"), 1);  // missing
  EXPECT_EQ(PlateReadDistance("F·12345", "桂F12345"), 1);
  EXPECT_EQ(PlateReadDistance("粤F12345", "桂F12345"), 1);  // different
  EXPECT_EQ(PlateReadDistance("桂F12345", "F12345"), 1);    // extra
  EXPECT_EQ(PlateReadDistance("F1234S", "桂F12345"), 2);    // missing + a confusion
  EXPECT_EQ(PlateReadDistance("粤F1234挂", "桂F1234挂"), 1);
  // Only at the start: a CJK character anywhere else is an ordinary edit.
  EXPECT_EQ(PlateReadDistance("F桂12345", "F12345"), 3);
  // Province character missing (1) and an extra CJK character inside (3).
  EXPECT_EQ(PlateReadDistance("F桂12345", "桂F12345"), 4);
}

TEST(PlateReadDistanceTest, Symmetric) {
  const std::vector<std::string> plates = {
      "12C12345", "12c-123.45", "I2C1234S", "12C1234",   "12C123456", "29H04567", "51D98765",
      "桂F12345", "F12345",     "粤F12345", "桂F1234挂", "桂FD12345", "桂A1238B", "",
      "\xff",     "\xe6\xa1",   "Z",        "桂",        "挂",        "·",        "12C-12 345"};
  for (const std::string& a : plates) {
    EXPECT_EQ(PlateReadDistance(a, a), 0) << a;
    for (const std::string& b : plates) {
      const int d = PlateReadDistance(a, b);
      EXPECT_GE(d, 0) << a << " / " << b;
      EXPECT_EQ(d, PlateReadDistance(b, a)) << a << " / " << b;
    }
  }
}

TEST(PlateReadDistanceTest, InvalidUtf8IsOpaqueBytes) {
  // Each invalid byte is one character that matches only itself.
  EXPECT_EQ(PlateReadDistance("\xff"
                              "12C12345",
                              "12C12345"),
            3);
  EXPECT_EQ(PlateReadDistance("\xff", "\xfe"), 3);
  EXPECT_EQ(PlateReadDistance("\xff", "\xff"), 0);
  // A truncated 桂 (E6 A1 82) is two opaque bytes, not a province character.
  EXPECT_EQ(PlateReadDistance("\xe6\xa1"
                              "F12345",
                              "桂F12345"),
            6);
  // Overlong '/' and an encoded surrogate are not '/' or a character.
  EXPECT_EQ(PlateReadDistance("\xc0\xaf", "/"), 6);
  EXPECT_GT(PlateReadDistance("\xed\xa0\x80", "12C12345"), 4);
  EXPECT_EQ(PlateReadDistance(std::string("12C\0"
                                          "12345",
                                          9),
                              "12C12345"),
            3);
}

TEST(PlateReadDistanceTest, LongInputsAreFarFromEverything) {
  const std::string huge(100000, '1');
  EXPECT_GT(PlateReadDistance(huge, "12C12345"), 100);
  EXPECT_GT(PlateReadDistance("12C12345", huge), 100);
  EXPECT_EQ(PlateReadDistance(huge, huge), 0);
  // 17 characters fit in 32 bytes but are not a plate.
  const std::string seventeen = "12C12345123451234";
  EXPECT_GT(PlateReadDistance(seventeen, "12C12345"), 100);
  EXPECT_EQ(PlateReadDistance(seventeen, seventeen), 0);
  // 16 characters are still compared.
  EXPECT_EQ(PlateReadDistance("12C1234512345123", "12C12345"), 24);
  // More than 32 bytes, even if only separators.
  EXPECT_GT(PlateReadDistance("12C12345" + std::string(30, ' '), "12C12345"), 100);
}

// ---------------------------------------------------------------------------------------------
// MatchPlateRead

TEST(PlateMatchTest, OutcomeNames) {
  EXPECT_EQ(PlateMatchOutcomeName(PlateMatchOutcome::kMatched), "matched");
  EXPECT_EQ(PlateMatchOutcomeName(PlateMatchOutcome::kAmbiguous), "ambiguous");
  EXPECT_EQ(PlateMatchOutcomeName(PlateMatchOutcome::kUnknown), "unknown");
  EXPECT_EQ(PlateMatchOutcomeName(PlateMatchOutcome::kLowConfidence), "low_confidence");
}

TEST(PlateMatchTest, ExactRead) {
  PlateMatch m = Match("12C-123.45", Queue());
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(m.crossing_id, "X-001");
  EXPECT_EQ(m.reason, "exact");
  ASSERT_EQ(m.candidates.size(), 1u);
  EXPECT_EQ(m.candidates[0].crossing_id, "X-001");
  EXPECT_EQ(m.candidates[0].canonical, "12C12345");
  EXPECT_EQ(m.candidates[0].distance, 0);
}

TEST(PlateMatchTest, CaseAndSeparatorsDoNotMatter) {
  for (std::string_view read : {"12c 123 45", "12C•123·45", " 12c-12345 "}) {
    PlateMatch m = Match(read, Queue());
    EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched) << read;
    EXPECT_EQ(m.crossing_id, "X-001") << read;
    EXPECT_EQ(m.reason, "exact") << read;
  }
  PlateMatch cn = Match("桂f·12345", Queue());
  EXPECT_EQ(cn.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(cn.crossing_id, "X-004");
  EXPECT_EQ(cn.reason, "exact");
  PlateMatch mixed = Match("粤b-3n8s1", Queue());
  EXPECT_EQ(mixed.crossing_id, "X-006");
  EXPECT_EQ(mixed.reason, "exact");
}

// Required case: two camera confusions (I for 1, S for 5) still match the one truck.
TEST(PlateMatchTest, TwoConfusionsStillMatch) {
  PlateMatch m = Match("I2C-123.4S", Queue());
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched) << m.reason;
  EXPECT_EQ(m.crossing_id, "X-001");
  EXPECT_EQ(m.reason, "2 camera confusions");
  ASSERT_EQ(m.candidates.size(), 1u);
  EXPECT_EQ(m.candidates[0].distance, 2);

  PlateMatch one = Match("29H-O45.67", Queue());
  EXPECT_EQ(one.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(one.crossing_id, "X-002");
  EXPECT_EQ(one.reason, "1 camera confusion");
}

// Required case: two expected plates that differ only in 8/B; the camera cannot tell them
// apart, so whichever it reads goes to an operator.
TEST(PlateMatchTest, ConfusablePlatesAreAmbiguous) {
  std::vector<ExpectedPlate> expected = Queue();
  expected.push_back({"X-010", "桂A12388"});
  expected.push_back({"X-011", "桂A1238B"});

  PlateMatch m = Match("桂A·1238B", expected);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(m.crossing_id, "");
  EXPECT_EQ(m.reason, "ambiguous: 桂A1238B and 桂A12388 at distance 0 and 1");
  ASSERT_EQ(m.candidates.size(), 2u);
  EXPECT_EQ(m.candidates[0].crossing_id, "X-011");
  EXPECT_EQ(m.candidates[0].distance, 0);
  EXPECT_EQ(m.candidates[1].crossing_id, "X-010");
  EXPECT_EQ(m.candidates[1].distance, 1);

  PlateMatch other = Match("桂A12388", expected);
  EXPECT_EQ(other.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(other.reason, "ambiguous: 桂A12388 and 桂A1238B at distance 0 and 1");

  // Without the province character both are 1 further away: still ambiguous.
  PlateMatch bare = Match("A1238B", expected);
  EXPECT_EQ(bare.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(bare.reason, "ambiguous: 桂A1238B and 桂A12388 at distance 1 and 2");
}

TEST(PlateMatchTest, MarginDecidesBetweenMatchAndAmbiguous) {
  std::vector<ExpectedPlate> expected = {{"A", "12C12345"}, {"B", "12C12346"}};
  // 1 (S for 5) against 3 (S for 6): a margin of 2, exactly the default min_margin.
  PlateMatch m = Match("12C1234S", expected);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(m.crossing_id, "A");
  EXPECT_EQ(m.reason, "1 camera confusion");
  ASSERT_EQ(m.candidates.size(), 2u);
  EXPECT_EQ(m.candidates[1].distance, 3);

  PlateMatchOptions strict;
  strict.min_margin = 3;
  PlateMatch s = Match("12C1234S", expected, 0.93, strict);
  EXPECT_EQ(s.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(s.crossing_id, "");
  EXPECT_EQ(s.reason, "ambiguous: 12C12345 and 12C12346 at distance 1 and 3");
}

TEST(PlateMatchTest, ChineseReadWithoutProvinceCharacter) {
  PlateMatch m = Match("F·12345", Queue());
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched) << m.reason;
  EXPECT_EQ(m.crossing_id, "X-004");
  EXPECT_EQ(m.reason, "province character missing");
  ASSERT_EQ(m.candidates.size(), 1u);
  EXPECT_EQ(m.candidates[0].distance, 1);

  PlateMatch c = Match("F1234S", Queue());
  EXPECT_EQ(c.crossing_id, "X-004");
  EXPECT_EQ(c.reason, "province character missing, 1 camera confusion");

  // The same letters and number in two provinces: the missing character was the difference.
  std::vector<ExpectedPlate> expected = Queue();
  expected.push_back({"X-030", "粤F12345"});
  PlateMatch both = Match("F12345", expected);
  EXPECT_EQ(both.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(both.reason, "ambiguous: 桂F12345 and 粤F12345 at distance 1");
}

TEST(PlateMatchTest, WrongProvinceCharacter) {
  PlateMatch m = Match("粤F·12345", Queue());
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched) << m.reason;
  EXPECT_EQ(m.crossing_id, "X-004");
  EXPECT_EQ(m.reason, "different province character");
  EXPECT_EQ(m.candidates[0].distance, 1);

  // A read with a province character in front of a Vietnamese plate.
  PlateMatch extra = Match("桂12C12345", Queue());
  EXPECT_EQ(extra.crossing_id, "X-001");
  EXPECT_EQ(extra.reason, "extra province character");
}

TEST(PlateMatchTest, OtherEditsReportTheDistance) {
  PlateMatch m = Match("桂F1234", {{"X-200", "桂F12349"}});
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(m.reason, "distance 3");
  PlateMatch four = Match("12C1234S6", {{"X-201", "12C12345"}});
  EXPECT_EQ(four.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(four.reason, "distance 4");
}

TEST(PlateMatchTest, UnknownRead) {
  PlateMatch m = Match("99Z-999.99", Queue());
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kUnknown);
  EXPECT_EQ(m.crossing_id, "");
  EXPECT_TRUE(m.candidates.empty());
  EXPECT_EQ(m.reason, "no expected plate within distance 4");

  // Two ordinary edits are beyond the default distance.
  EXPECT_EQ(Match("12C12367", Queue()).outcome, PlateMatchOutcome::kUnknown);
  EXPECT_EQ(Match("", Queue()).outcome, PlateMatchOutcome::kUnknown);
  EXPECT_EQ(Match("12C12345", {}).outcome, PlateMatchOutcome::kUnknown);

  PlateMatchOptions exact_only;
  exact_only.max_distance = 0;
  PlateMatch e = Match("I2C12345", Queue(), 0.93, exact_only);
  EXPECT_EQ(e.outcome, PlateMatchOutcome::kUnknown);
  EXPECT_EQ(e.reason, "no expected plate within distance 0");
  EXPECT_EQ(Match("12C12345", Queue(), 0.93, exact_only).outcome, PlateMatchOutcome::kMatched);

  PlateMatchOptions negative;
  negative.max_distance = -1;
  EXPECT_EQ(Match("12C12345", Queue(), 0.93, negative).outcome, PlateMatchOutcome::kUnknown);
}

TEST(PlateMatchTest, LowConfidenceStillListsCandidates) {
  PlateMatch m = Match("12C-123.45", Queue(), 0.41);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kLowConfidence);
  EXPECT_EQ(m.crossing_id, "");
  EXPECT_EQ(m.reason, "confidence 0.41 below 0.60");
  ASSERT_EQ(m.candidates.size(), 1u);
  EXPECT_EQ(m.candidates[0].crossing_id, "X-001");
  EXPECT_EQ(m.candidates[0].distance, 0);

  // Low confidence wins over unknown and ambiguous: the operator sees the read either way.
  EXPECT_EQ(Match("99Z99999", Queue(), 0.2).outcome, PlateMatchOutcome::kLowConfidence);
  // Rounding does not make the two numbers look equal.
  EXPECT_EQ(Match("12C12345", Queue(), 0.599).reason, "confidence 0.599 below 0.600");
  // The threshold itself is enough.
  EXPECT_EQ(Match("12C12345", Queue(), 0.6).outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(Match("12C12345", Queue(), 1.0).outcome, PlateMatchOutcome::kMatched);

  PlateMatchOptions lenient;
  lenient.min_confidence = 0.3;
  EXPECT_EQ(Match("12C12345", Queue(), 0.41, lenient).outcome, PlateMatchOutcome::kMatched);
}

TEST(PlateMatchTest, ConfidenceOutsideZeroToOneIsLow) {
  for (double c :
       {std::numeric_limits<double>::quiet_NaN(), -0.1, 1.5,
        std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()}) {
    PlateMatch m = Match("12C12345", Queue(), c);
    EXPECT_EQ(m.outcome, PlateMatchOutcome::kLowConfidence) << c;
    EXPECT_NE(m.reason.find("is not between 0 and 1"), std::string::npos) << m.reason;
    EXPECT_EQ(m.candidates.size(), 1u) << c;
  }
  EXPECT_EQ(Match("12C12345", Queue(), 1.5).reason, "confidence 1.50 is not between 0 and 1");
  // A NaN threshold never auto-applies anything.
  PlateMatchOptions broken;
  broken.min_confidence = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(Match("12C12345", Queue(), 0.99, broken).outcome, PlateMatchOutcome::kLowConfidence);
}

TEST(PlateMatchTest, SamePlateForTwoCrossingsIsAmbiguous) {
  std::vector<ExpectedPlate> expected = Queue();
  expected.push_back({"X-101", "12C12345"});
  PlateMatch m = Match("12C-123.45", expected);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(m.reason, "ambiguous: 12C12345 expected for crossings X-001 and X-101 at distance 0");
  ASSERT_EQ(m.candidates.size(), 2u);
  EXPECT_EQ(m.candidates[0].crossing_id, "X-001");
  EXPECT_EQ(m.candidates[1].crossing_id, "X-101");

  // Even when the caller asks for no margin at all.
  PlateMatchOptions no_margin;
  no_margin.min_margin = 0;
  EXPECT_EQ(Match("12C12345", expected, 0.93, no_margin).outcome, PlateMatchOutcome::kAmbiguous);
}

TEST(PlateMatchTest, PlatesOfOneCrossingAreNotAmbiguous) {
  // A Chinese tractor and its trailer, both expected for one crossing; and a plate listed twice.
  std::vector<ExpectedPlate> expected = {
      {"X-200", "桂F12345"}, {"X-200", "桂F1234挂"}, {"X-201", "12C12345"}, {"X-201", "12C12345"}};
  PlateMatch m = Match("桂F1234", expected);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched) << m.reason;
  EXPECT_EQ(m.crossing_id, "X-200");
  EXPECT_EQ(m.candidates.size(), 2u);

  PlateMatch twice = Match("12C12345", expected);
  EXPECT_EQ(twice.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(twice.crossing_id, "X-201");
  EXPECT_EQ(twice.candidates.size(), 1u);  // one candidate, not two copies
}

TEST(PlateMatchTest, CandidatesAreBestFirstTiesByCrossingAtMostFive) {
  std::vector<ExpectedPlate> expected = {{"c6", "12C12340"}, {"c5", "12C12348"}, {"c2", "12C12346"},
                                         {"c1", "I2C1234S"}, {"c7", "12C12345"}, {"c0", "12C12347"},
                                         {"c3", "12C1234S"}, {"c9", "99Z99999"}};
  PlateMatchOptions wide;
  wide.max_distance = 10;
  PlateMatch m = Match("12C12345", expected, 0.93, wide);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kAmbiguous);
  ASSERT_EQ(m.candidates.size(), 5u);
  const std::vector<std::pair<std::string, int>> want = {
      {"c7", 0}, {"c3", 1}, {"c1", 2}, {"c0", 3}, {"c2", 3}};
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ(m.candidates[i].crossing_id, want[i].first) << i;
    EXPECT_EQ(m.candidates[i].distance, want[i].second) << i;
  }
  EXPECT_EQ(m.reason, "ambiguous: 12C12345 and 12C1234S at distance 0 and 1");
}

TEST(PlateMatchTest, CandidateDistancesAreThePlateReadDistance) {
  std::vector<ExpectedPlate> expected = Queue();
  expected.push_back({"X-010", "桂A12388"});
  expected.push_back({"X-011", "桂A1238B"});
  expected.push_back({"X-012", "12C12346"});
  PlateMatchOptions wide;
  wide.max_distance = 12;
  for (std::string_view read : {"12C12345", "I2C1234S", "F12345", "桂A1238", "29HO4S67", "51D"}) {
    PlateMatch m = Match(read, expected, 0.93, wide);
    for (const PlateCandidate& c : m.candidates) {
      EXPECT_EQ(c.distance, PlateReadDistance(read, c.canonical)) << read << " / " << c.canonical;
    }
  }
}

// MatchPlateRead stops early and computes only a band of the table; it must find exactly the
// plates that the full PlateReadDistance puts within max_distance.
TEST(PlateMatchTest, EarlyExitAgreesWithFullDistance) {
  const std::vector<std::string> pieces = {"0", "O", "D", "Q", "8", "B",  "1",  "I",  "5", "S",
                                           "2", "Z", "A", "C", "7", "桂", "粤", "挂", "-", "\xff"};
  std::mt19937 rng(20240611);
  auto random_plate = [&] {
    std::string s;
    const int n = static_cast<int>(rng() % 11);
    for (int i = 0; i < n; ++i) s += pieces[rng() % pieces.size()];
    return s;
  };
  int compared = 0;
  for (int round = 0; round < 300; ++round) {
    const std::string read = random_plate();
    std::vector<ExpectedPlate> expected;
    for (int k = 0; k < 8; ++k) {
      // Mostly small edits of the read, so that many are near it.
      std::string plate = rng() % 2 ? read : random_plate();
      if (!plate.empty() && rng() % 2) plate.erase(rng() % plate.size(), 1);
      if (rng() % 2) plate.insert(std::min<size_t>(plate.size(), rng() % 4), pieces[rng() % 20]);
      expected.push_back({"c" + std::to_string(k), plate});
    }
    for (int max_distance = 0; max_distance <= 9; ++max_distance) {
      PlateMatchOptions options;
      options.max_distance = max_distance;
      PlateMatch m = MatchPlateRead(read, 0.9, expected, options);
      size_t within = 0;
      for (const ExpectedPlate& e : expected) {
        if (PlateReadDistance(read, e.canonical) <= max_distance) ++within;
      }
      EXPECT_EQ(m.candidates.size(), std::min<size_t>(within, 5))
          << "read '" << read << "', max_distance " << max_distance;
      for (const PlateCandidate& c : m.candidates) {
        EXPECT_EQ(c.distance, PlateReadDistance(read, c.canonical)) << read << " / " << c.canonical;
        EXPECT_EQ(c.distance, PlateReadDistance(c.canonical, read)) << read << " / " << c.canonical;
        ++compared;
      }
    }
  }
  EXPECT_GT(compared, 1000);
}

TEST(PlateMatchTest, InvalidUtf8DoesNotCrash) {
  const std::vector<std::string> reads = {"\xff\xfe",
                                          "\xe6\xa1"
                                          "F12345",
                                          "\xc0\xaf",
                                          "\xed\xa0\x80",
                                          "\xf4\x90\x80\x80",
                                          "\x80\x80\x80\x80",
                                          std::string("\0\0", 2)};
  for (const std::string& read : reads) {
    PlateMatch m = Match(read, Queue());
    EXPECT_NE(m.outcome, PlateMatchOutcome::kMatched) << read;
    EXPECT_FALSE(m.reason.empty());
  }
  // An invalid byte costs like any other wrong character.
  PlateMatch one_bad = Match("12C1234\xff", Queue());
  EXPECT_EQ(one_bad.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(one_bad.reason, "distance 3");
  // Invalid bytes in the expected plates do not end up in the reason.
  std::vector<ExpectedPlate> bad = {{"a\x01",
                                     "\xff"
                                     "12C12345"},
                                    {"b",
                                     "\xff"
                                     "12C12345"}};
  PlateMatch m = Match(
      "\xff"
      "12C12345",
      bad);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kAmbiguous);
  EXPECT_EQ(m.reason,
            "ambiguous: \xEF\xBF\xBD"
            "12C12345 expected for crossings a\xEF\xBF\xBD and b at "
            "distance 0");
}

TEST(PlateMatchTest, LongReadsAreUnknown) {
  EXPECT_EQ(Match(std::string(100000, '1'), Queue()).outcome, PlateMatchOutcome::kUnknown);
  EXPECT_EQ(Match("12C12345" + std::string(40, '-'), Queue()).outcome, PlateMatchOutcome::kUnknown);
  EXPECT_EQ(Match("12C1234512C12345", Queue()).outcome, PlateMatchOutcome::kUnknown);
}

// Not a benchmark: shows the cost of matching against a large queue (printed, not asserted).
TEST(PlateMatchTest, TwentyThousandCandidatesPerformance) {
  std::vector<ExpectedPlate> expected;
  expected.reserve(20000);
  for (int i = 0; i < 20000; ++i) {
    char plate[16];
    std::snprintf(plate, sizeof plate, "%02d%c%05d", 11 + i % 88, 'A' + (i / 88) % 26,
                  (i * 7919) % 100000);
    expected.push_back({"C" + std::to_string(100000 + i), plate});
  }
  expected.push_back({"TARGET", "98Z00001"});
  // And a couple of Chinese plates.
  expected.push_back({"CN-1", "桂F12345"});
  expected.push_back({"CN-2", "粤B3N8S1"});

  constexpr int kRounds = 10;
  PlateMatch m;
  auto start = std::chrono::steady_clock::now();
  for (int r = 0; r < kRounds; ++r) m = Match("98Z-OOO.O1", expected);
  auto elapsed = std::chrono::steady_clock::now() - start;
  const double ms = std::chrono::duration<double, std::milli>(elapsed).count() / kRounds;
  std::printf("[ perf     ] MatchPlateRead against %zu expected plates: %.3f ms per read\n",
              expected.size(), ms);
  ASSERT_FALSE(m.candidates.empty());
  EXPECT_EQ(m.candidates[0].crossing_id, "TARGET");
  EXPECT_EQ(m.candidates[0].distance, 4);
  EXPECT_EQ(m.outcome, PlateMatchOutcome::kMatched);
  EXPECT_EQ(m.reason, "4 camera confusions");
}

}  // namespace
}  // namespace borderflow
