// The pure simulation core: event order, random streams, distributions, statistics, and the
// c-server queue against queueing theory (Erlang C for M/M/c, Pollaczek–Khinchine for M/D/1).

#include <cmath>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <borderflow/sim/event_queue.h>
#include <borderflow/sim/queueing.h>
#include <borderflow/sim/random_stream.h>
#include <borderflow/sim/stats.h>

namespace borderflow::sim {
namespace {

TEST(EventQueue, PopsByTimeThenBySchedulingOrder) {
  EventQueue<int> q;
  q.Schedule(5.0, 1);
  q.Schedule(1.0, 2);
  q.Schedule(5.0, 3);  // same time as 1: after it
  q.Schedule(3.0, 4);
  q.Schedule(1.0, 5);  // same time as 2: after it
  std::vector<int> order;
  std::vector<double> times;
  while (!q.empty()) {
    auto e = q.Pop();
    order.push_back(e.payload);
    times.push_back(q.now());
  }
  EXPECT_EQ(order, (std::vector<int>{2, 5, 4, 1, 3}));
  EXPECT_EQ(times, (std::vector<double>{1, 1, 3, 5, 5}));
  EXPECT_EQ(q.processed(), 5u);
}

TEST(EventQueue, ManyEqualTimesKeepSchedulingOrder) {
  EventQueue<int> q;
  RandomStream r(7, "times");
  for (int i = 0; i < 2000; ++i) q.Schedule(static_cast<double>(r.Below(10)), i);
  double last_time = -1;
  int last_payload = -1;
  while (!q.empty()) {
    auto e = q.Pop();
    if (e.at == last_time) {
      EXPECT_GT(e.payload, last_payload);
    }
    EXPECT_GE(e.at, last_time);
    last_time = e.at;
    last_payload = e.payload;
  }
}

TEST(RandomStream, SameSeedAndNameGiveTheSameSequenceOtherNamesDiffer) {
  RandomStream a(42, "arrivals"), b(42, "arrivals"), c(42, "service"), d(43, "arrivals");
  int same_c = 0, same_d = 0;
  for (int i = 0; i < 100; ++i) {
    uint64_t x = a.Next64();
    EXPECT_EQ(x, b.Next64());
    same_c += x == c.Next64();
    same_d += x == d.Next64();
  }
  EXPECT_EQ(same_c, 0);
  EXPECT_EQ(same_d, 0);
}

TEST(Distribution, SampleMomentsMatchTheParameters) {
  RandomStream r(1, "moments");
  for (const Distribution& d : {Distribution::Exponential(20), Distribution::Lognormal(60, 30),
                                Distribution::Uniform(5, 15), Distribution::Erlang(4, 12),
                                Distribution::Deterministic(15)}) {
    const int n = 200000;
    double sum = 0, sum2 = 0;
    for (int i = 0; i < n; ++i) {
      double x = d.Sample(r);
      ASSERT_GE(x, 0);
      sum += x;
      sum2 += x * x;
    }
    double mean = sum / n;
    double second = sum2 / n;
    SCOPED_TRACE(d.ToString());
    EXPECT_NEAR(mean, d.Mean(), 0.01 * d.Mean());
    EXPECT_NEAR(second, d.SecondMoment(), 0.03 * d.SecondMoment());
  }
}

TEST(Distribution, ParsesKnownNamesOnly) {
  EXPECT_EQ(*ParseDistributionKind("lognormal"), Distribution::Kind::kLognormal);
  auto bad = ParseDistributionKind("gaussian");
  ASSERT_FALSE(bad);
  EXPECT_NE(bad.error().message.find("lognormal"), std::string::npos);
}

TEST(Stats, PercentilesInterpolateAndBatchMeansCoverTheMean) {
  Samples s;
  for (int i = 1; i <= 101; ++i) s.Add(i);
  Summary sum = s.Summarize();
  EXPECT_EQ(sum.count, 101);
  EXPECT_DOUBLE_EQ(sum.mean, 51);
  EXPECT_DOUBLE_EQ(sum.p50, 51);
  EXPECT_DOUBLE_EQ(sum.p95, 96);
  EXPECT_DOUBLE_EQ(sum.max, 101);
  EXPECT_EQ(Samples().Summarize().count, 0);

  RandomStream r(3, "iid");
  std::vector<double> iid;
  for (int i = 0; i < 20000; ++i) iid.push_back(r.Uniform());
  MeanEstimate e = BatchMeans(iid, 20);
  EXPECT_LT(e.low(), 0.5);
  EXPECT_GT(e.high(), 0.5);
  EXPECT_LT(e.half_width, 0.01);
  EXPECT_NEAR(StudentT(19, 0.95), 2.093, 1e-9);
}

TEST(Queueing, ClosedFormsMatchKnownValues) {
  EXPECT_NEAR(ErlangC(1, 0.5), 0.5, 1e-12);           // M/M/1: P(wait) = rho
  EXPECT_NEAR(ErlangC(2, 1.0), 1.0 / 3, 1e-12);       // by hand from Erlang B = 0.2
  EXPECT_NEAR(MmcMeanWait(1, 0.8, 1.0), 4.0, 1e-12);  // rho / (mu - lambda)
  EXPECT_NEAR(Md1MeanWait(0.5, 1.0), 0.5, 1e-12);     // rho / (2 mu (1 - rho))
  EXPECT_NEAR(Mg1MeanWait(0.5, 1.0, 2.0), MmcMeanWait(1, 0.5, 1.0), 1e-12);
}

// Simulated mean waits against the formula over a range of loads: the formula must lie in the
// run's 99% confidence interval, and the interval must be tight (under 15% of the mean), so that
// a wrong model cannot pass by being vague.
struct LoadCase {
  int servers;
  double rho;
};

class MmcValidation : public ::testing::TestWithParam<LoadCase> {};

TEST_P(MmcValidation, MeanWaitMatchesErlangC) {
  const LoadCase c = GetParam();
  const double mu = 1.0;  // service rate per server (mean service 1)
  const double lambda = c.rho * c.servers * mu;
  CServerQueueRun run;
  run.servers = c.servers;
  run.arrival_rate = lambda;
  run.service = Distribution::Exponential(1 / mu);
  run.customers = c.rho >= 0.8 ? 300000 : 100000;
  run.warmup = 20000;
  run.seed = 2026;
  run.level = 0.99;
  CServerQueueResult r = SimulateCServerQueue(run);
  double theory = MmcMeanWait(c.servers, lambda, mu);
  SCOPED_TRACE(fmt::format("M/M/{} rho {}: simulated {:.4f} ± {:.4f}, Erlang C {:.4f}", c.servers,
                           c.rho, r.wait.mean, r.wait.half_width, theory));
  EXPECT_LE(r.wait.low(), theory);
  EXPECT_GE(r.wait.high(), theory);
  EXPECT_LT(r.wait.half_width, 0.15 * theory);
  // Every customer arrives once and all but the last few have left.
  EXPECT_GT(r.events, static_cast<uint64_t>(2 * (run.customers + run.warmup) - 2 * c.servers - 2));
}

INSTANTIATE_TEST_SUITE_P(Loads, MmcValidation,
                         ::testing::Values(LoadCase{1, 0.5}, LoadCase{1, 0.8}, LoadCase{2, 0.7},
                                           LoadCase{4, 0.6}, LoadCase{4, 0.85}, LoadCase{8, 0.9}),
                         [](const auto& info) {
                           return fmt::format("c{}_rho{}", info.param.servers,
                                              static_cast<int>(info.param.rho * 100));
                         });

class Md1Validation : public ::testing::TestWithParam<double> {};

TEST_P(Md1Validation, MeanWaitMatchesPollaczekKhinchine) {
  const double rho = GetParam();
  CServerQueueRun run;
  run.servers = 1;
  run.arrival_rate = rho;  // service time 1
  run.service = Distribution::Deterministic(1);
  // 300,000 customers at every load: with 100,000 at rho 0.6 the 99% interval of this seed
  // missed P-K by 0.4% (a 1-in-100 event that a fixed seed makes permanent).
  run.customers = 300000;
  run.warmup = 20000;
  run.seed = 2027;
  run.level = 0.99;
  CServerQueueResult r = SimulateCServerQueue(run);
  double theory = Md1MeanWait(rho, 1);
  SCOPED_TRACE(fmt::format("M/D/1 rho {}: simulated {:.4f} ± {:.4f}, P-K {:.4f}", rho, r.wait.mean,
                           r.wait.half_width, theory));
  EXPECT_LE(r.wait.low(), theory);
  EXPECT_GE(r.wait.high(), theory);
  EXPECT_LT(r.wait.half_width, 0.15 * theory);
}

INSTANTIATE_TEST_SUITE_P(Loads, Md1Validation, ::testing::Values(0.3, 0.6, 0.8, 0.9),
                         [](const auto& info) {
                           return fmt::format("rho{}", static_cast<int>(info.param * 100));
                         });

// The check can fail: deterministic service is not exponential, and two servers are not one.
TEST(QueueingValidation, DistinguishesWrongModels) {
  CServerQueueRun run;
  run.servers = 1;
  run.arrival_rate = 0.7;
  run.service = Distribution::Deterministic(1);
  run.customers = 150000;
  run.seed = 5;
  run.level = 0.99;
  CServerQueueResult md1 = SimulateCServerQueue(run);
  double mm1 = MmcMeanWait(1, 0.7, 1);
  EXPECT_FALSE(md1.wait.low() <= mm1 && mm1 <= md1.wait.high());

  run.servers = 2;
  run.arrival_rate = 1.4;
  run.service = Distribution::Exponential(1);
  CServerQueueResult mm2 = SimulateCServerQueue(run);
  EXPECT_FALSE(mm2.wait.low() <= mm1 && mm1 <= mm2.wait.high());
  EXPECT_TRUE(mm2.wait.low() <= MmcMeanWait(2, 1.4, 1) &&
              MmcMeanWait(2, 1.4, 1) <= mm2.wait.high());
}

TEST(QueueingValidation, SameSeedSameResult) {
  CServerQueueRun run;
  run.servers = 3;
  run.arrival_rate = 2;
  run.customers = 20000;
  run.warmup = 1000;
  run.seed = 11;
  CServerQueueResult a = SimulateCServerQueue(run);
  CServerQueueResult b = SimulateCServerQueue(run);
  EXPECT_EQ(a.wait.mean, b.wait.mean);
  EXPECT_EQ(a.events, b.events);
  run.seed = 12;
  EXPECT_NE(SimulateCServerQueue(run).wait.mean, a.wait.mean);
}

}  // namespace
}  // namespace borderflow::sim
