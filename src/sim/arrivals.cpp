#include <algorithm>

#include <borderflow/sim/arrivals.h>

namespace borderflow::sim {

std::vector<TruckArrival> GenerateArrivals(const Scenario& scenario, uint64_t seed) {
  RandomStream times(seed, "arrivals");
  RandomStream mix(seed, "mix");
  std::vector<TruckArrival> out;
  const UtcOffset offset = scenario.gate.self.utc_offset;
  const int hours = scenario.days * 24;
  for (int h = 0; h < hours; ++h) {
    Timestamp hour_start = scenario.start + std::chrono::hours(h);
    int local_day = LocalDayNumber(hour_start, offset);
    int weekday = (local_day + 3) % 7;  // 1970-01-01 was a Thursday; Monday is 0
    int local_hour = LocalMinuteOfDay(hour_start, offset) / 60;
    double rate = scenario.arrivals.RatePerHour(h / 24, weekday, local_hour);  // per hour
    if (rate <= 0) continue;
    double t = 0;  // hours into this hour
    while (true) {
      t += times.Exponential(rate);
      if (t >= 1) break;
      TruckArrival a;
      a.at = (h + t) * 3600;
      double u = mix.Uniform();
      uint32_t k = 0;
      for (double acc = 0; k + 1 < scenario.traffic.size(); ++k) {
        acc += scenario.traffic[k].share;
        if (u < acc) break;
      }
      a.traffic = k;
      const TrafficClass& c = scenario.traffic[k];
      a.trusted = mix.Bernoulli(c.trusted_share);
      a.booking = mix.Bernoulli(c.booking_share);
      a.booking_no_show = a.booking && mix.Bernoulli(scenario.booking_no_show_rate);
      a.freshness_hours = c.freshness_hours ? std::max(0.5, c.freshness_hours->Sample(mix)) : 0;
      a.declare_lead_hours = std::max(0.0, scenario.arrivals.declare_lead_hours.Sample(mix));
      out.push_back(a);
    }
  }
  return out;
}

}  // namespace borderflow::sim
