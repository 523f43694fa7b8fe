// Selection matched to capacity.

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include <borderflow/rules/selection.h>

namespace borderflow::rules {
namespace {

RuleSet Rules(std::string_view header = "random minimum 0%\n") {
  RuleCompileOptions o;
  o.secret = "selection-secret-0123456789";
  std::string text = "ruleset \"s\" version 1\n" + std::string(header) +
                     "rule \"r\" { when empty then channel red reason en \"e\" vi \"v\" zh \"z\" }";
  return std::move(CompileRuleSet(text, o)).value();
}

Assessment A(Channel c, double score, Channel mandatory = Channel::kNone, bool random = false,
             bool quarantine = false) {
  Assessment a;
  a.channel = c;
  a.score = score;
  a.mandatory_channel = mandatory;
  a.random = random;
  a.quarantine = quarantine;
  return a;
}

struct Batch {
  std::vector<std::string> ids;
  std::vector<Assessment> assessments;
  std::vector<SelectionCandidate> Candidates() const {
    std::vector<SelectionCandidate> out;
    for (size_t i = 0; i < ids.size(); ++i) out.push_back({ids[i], &assessments[i]});
    return out;
  }
  void Add(Assessment a) {
    ids.push_back("CR-" + std::to_string(ids.size()));
    assessments.push_back(a);
  }
};

TEST(SelectForCapacity, HighestScoresFirstAndTheRestLowered) {
  Batch b;
  b.Add(A(Channel::kRed, 50));
  b.Add(A(Channel::kRed, 90, Channel::kNone, false, true));
  b.Add(A(Channel::kGreen, 200));  // green stays green without fill
  b.Add(A(Channel::kRed, 70));
  b.Add(A(Channel::kYellow, 10));
  auto c = b.Candidates();
  SelectionPlan p = SelectForCapacity(Rules(), c, CapacityLimits{2});
  EXPECT_EQ(p.decisions[1].channel, Channel::kRed);
  EXPECT_EQ(p.decisions[1].reason, SelectionReason::kScore);
  EXPECT_TRUE(p.decisions[1].quarantine);
  EXPECT_EQ(p.decisions[3].channel, Channel::kRed);
  EXPECT_EQ(p.decisions[0].channel, Channel::kYellow);
  EXPECT_EQ(p.decisions[0].reason, SelectionReason::kOverCapacity);
  EXPECT_EQ(p.decisions[2].channel, Channel::kGreen);
  EXPECT_EQ(p.decisions[2].reason, SelectionReason::kUnchanged);
  EXPECT_EQ(p.decisions[4].channel, Channel::kYellow);
  EXPECT_EQ(p.red, 2);
  EXPECT_EQ(p.score_red, 2);
  EXPECT_EQ(p.lowered, 1);
}

TEST(SelectForCapacity, MandatoryRedsAreNeverDropped) {
  Batch b;
  for (int i = 0; i < 5; ++i) b.Add(A(Channel::kRed, 10, Channel::kRed));
  b.Add(A(Channel::kRed, 500));
  b.Add(A(Channel::kRed, 400, Channel::kYellow));  // mandatory yellow, red by score
  auto c = b.Candidates();
  SelectionPlan p = SelectForCapacity(Rules(), c, CapacityLimits{3});
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(p.decisions[static_cast<size_t>(i)].channel, Channel::kRed);
    EXPECT_EQ(p.decisions[static_cast<size_t>(i)].reason, SelectionReason::kMandatory);
  }
  EXPECT_EQ(p.mandatory_red, 5);
  EXPECT_EQ(p.mandatory_over_capacity, 2);
  EXPECT_EQ(p.decisions[5].channel, Channel::kYellow);  // no bay left, even for score 500
  EXPECT_EQ(p.decisions[6].channel, Channel::kYellow);  // never below its mandatory yellow
  EXPECT_EQ(p.lowered, 2);
}

TEST(SelectForCapacity, MinimumRandomRate) {
  Batch b;
  for (int i = 0; i < 100; ++i) b.Add(A(i < 30 ? Channel::kRed : Channel::kGreen, i));
  auto c = b.Candidates();
  CapacityLimits l{20};
  l.min_random_rate = 0.05;
  SelectionPlan p = SelectForCapacity(Rules(), c, l);
  EXPECT_EQ(p.random_red, 5);
  EXPECT_EQ(p.red, 20);
  EXPECT_EQ(p.score_red + p.random_red, 20);
  int random_green_before = 0;
  for (size_t i = 0; i < 100; ++i) {
    if (p.decisions[i].reason == SelectionReason::kRandom && i >= 30) ++random_green_before;
  }
  EXPECT_GT(random_green_before, 0);  // random picks come from the whole population
  // The rule set's own minimum applies when the limits do not say.
  SelectionPlan q = SelectForCapacity(Rules("random minimum 3%\n"), c, CapacityLimits{20});
  EXPECT_EQ(q.random_red, 3);
  // Reproducible: the same plan twice.
  SelectionPlan again = SelectForCapacity(Rules(), c, l);
  for (size_t i = 0; i < 100; ++i) {
    EXPECT_EQ(again.decisions[i].reason, p.decisions[i].reason);
  }
}

TEST(SelectForCapacity, RandomRulePicksCountTowardTheQuota) {
  Batch b;
  for (int i = 0; i < 50; ++i) b.Add(A(Channel::kGreen, 0));
  b.Add(A(Channel::kRed, 10, Channel::kNone, true));
  b.Add(A(Channel::kRed, 10, Channel::kNone, true));
  auto c = b.Candidates();
  CapacityLimits l{10};
  l.min_random_rate = 0.02;  // ceil(0.02 * 52) = 2
  SelectionPlan p = SelectForCapacity(Rules(), c, l);
  EXPECT_EQ(p.random_red, 2);
  EXPECT_EQ(p.decisions[50].reason, SelectionReason::kRandom);
  EXPECT_EQ(p.decisions[51].reason, SelectionReason::kRandom);
  EXPECT_EQ(p.red, 2);
}

TEST(SelectForCapacity, FillsSpareCapacityByScore) {
  Batch b;
  b.Add(A(Channel::kGreen, 5));
  b.Add(A(Channel::kYellow, 40));
  b.Add(A(Channel::kGreen, 0));
  b.Add(A(Channel::kRed, 1));
  auto c = b.Candidates();
  CapacityLimits l{3};
  l.fill_spare_capacity = true;
  l.fill_min_score = 0;
  SelectionPlan p = SelectForCapacity(Rules(), c, l);
  EXPECT_EQ(p.decisions[3].reason, SelectionReason::kScore);
  EXPECT_EQ(p.decisions[1].reason, SelectionReason::kFill);
  EXPECT_EQ(p.decisions[0].reason, SelectionReason::kFill);
  EXPECT_EQ(p.decisions[2].channel, Channel::kGreen);  // score 0 is not above the minimum
  EXPECT_EQ(p.fill_red, 2);
  EXPECT_EQ(SelectionReasonName(SelectionReason::kOverCapacity), "over_capacity");
}

TEST(SelectForCapacity, ZeroCapacityAndNoCandidates) {
  SelectionPlan empty = SelectForCapacity(Rules(), {}, CapacityLimits{5});
  EXPECT_TRUE(empty.decisions.empty());
  Batch b;
  b.Add(A(Channel::kRed, 10));
  auto c = b.Candidates();
  CapacityLimits l{0};
  l.min_random_rate = 0.5;
  SelectionPlan p = SelectForCapacity(Rules(), c, l);
  EXPECT_EQ(p.decisions[0].channel, Channel::kYellow);
  EXPECT_EQ(p.random_red, 0);
}

}  // namespace
}  // namespace borderflow::rules
