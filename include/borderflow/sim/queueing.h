#pragma once

// Queueing theory in closed form, and the plain c-server FIFO queue simulated on the event core,
// so that the core can be checked against the formulas: M/M/c (Erlang C) and M/G/1
// (Pollaczek–Khinchine, M/D/1 in particular).

#include <cstdint>

#include <borderflow/sim/random_stream.h>
#include <borderflow/sim/stats.h>

namespace borderflow::sim {

// Erlang C: the probability that an arrival waits in an M/M/c queue with offered load
// a = arrival_rate / service_rate (a < servers).
double ErlangC(int servers, double offered_load);
// Mean wait in queue (before service) of M/M/c: C(c, a) / (c·mu − lambda).
double MmcMeanWait(int servers, double arrival_rate, double service_rate);
// Pollaczek–Khinchine mean wait of M/G/1: lambda·E[S²] / (2(1 − rho)).
double Mg1MeanWait(double arrival_rate, double service_mean, double service_second_moment);
// M/D/1: service always `service_time`.
double Md1MeanWait(double arrival_rate, double service_time);

struct CServerQueueRun {
  int servers = 1;
  double arrival_rate = 1;  // Poisson arrivals per time unit
  Distribution service = Distribution::Exponential(1);
  int64_t customers = 100000;  // served and measured, after the warm-up
  int64_t warmup = 10000;      // first customers not measured
  uint64_t seed = 1;
  int batches = 20;  // for the confidence interval
  double level = 0.95;
};

struct CServerQueueResult {
  MeanEstimate wait;  // waiting time in queue, batch means
  uint64_t events = 0;
};

// Simulates a FIFO queue with `servers` identical servers on the event core.
CServerQueueResult SimulateCServerQueue(const CServerQueueRun& run);

}  // namespace borderflow::sim
