#include <deque>

#include <borderflow/core/assert.h>
#include <borderflow/sim/event_queue.h>
#include <borderflow/sim/queueing.h>

namespace borderflow::sim {

double ErlangC(int servers, double offered_load) {
  BF_ASSERT(servers >= 1 && offered_load < servers, "a stable queue: load below the servers");
  // Erlang B by its stable recurrence, then C from B.
  double b = 1;
  for (int k = 1; k <= servers; ++k) b = offered_load * b / (k + offered_load * b);
  return servers * b / (servers - offered_load * (1 - b));
}

double MmcMeanWait(int servers, double arrival_rate, double service_rate) {
  double a = arrival_rate / service_rate;
  return ErlangC(servers, a) / (servers * service_rate - arrival_rate);
}

double Mg1MeanWait(double arrival_rate, double service_mean, double service_second_moment) {
  double rho = arrival_rate * service_mean;
  BF_ASSERT(rho < 1, "a stable queue: utilisation below 1");
  return arrival_rate * service_second_moment / (2 * (1 - rho));
}

double Md1MeanWait(double arrival_rate, double service_time) {
  return Mg1MeanWait(arrival_rate, service_time, service_time * service_time);
}

CServerQueueResult SimulateCServerQueue(const CServerQueueRun& run) {
  BF_ASSERT(run.servers >= 1 && run.arrival_rate > 0, "servers and arrivals");
  // Two kinds of event: an arrival, and a departure that frees a server.
  enum class Kind : uint8_t { kArrival, kDeparture };
  EventQueue<Kind> events;
  events.Reserve(static_cast<size_t>(run.servers) + 4);
  RandomStream arrivals(run.seed, "arrivals");
  RandomStream service(run.seed, "service");
  std::deque<SimTime> waiting;  // arrival times, FIFO
  int busy = 0;
  const int64_t total = run.warmup + run.customers;
  int64_t arrived = 0;
  int64_t started = 0;
  std::vector<double> waits;
  waits.reserve(static_cast<size_t>(run.customers));
  auto start_service = [&](SimTime arrived_at) {
    SimTime now = events.now();
    if (started >= run.warmup) waits.push_back(now - arrived_at);
    ++started;
    ++busy;
    events.Schedule(now + run.service.Sample(service), Kind::kDeparture);
  };
  events.Schedule(arrivals.Exponential(run.arrival_rate), Kind::kArrival);
  while (started < total) {
    auto event = events.Pop();
    if (event.payload == Kind::kArrival) {
      ++arrived;
      if (arrived < total) {
        events.Schedule(event.at + arrivals.Exponential(run.arrival_rate), Kind::kArrival);
      }
      if (busy < run.servers) {
        start_service(event.at);
      } else {
        waiting.push_back(event.at);
      }
    } else {
      --busy;
      if (!waiting.empty()) {
        SimTime arrived_at = waiting.front();
        waiting.pop_front();
        start_service(arrived_at);
      }
    }
  }
  CServerQueueResult result;
  result.wait = BatchMeans(waits, run.batches, run.level);
  result.events = events.processed();
  return result;
}

}  // namespace borderflow::sim
