#pragma once

// The trucks of a scenario: arrival times from the non-homogeneous Poisson process (rates
// piecewise constant per local hour: exact by restarting exponential gaps at every hour
// boundary), and each truck's attributes from the traffic mix. Drawn from the streams
// "arrivals" and "mix" only, so every policy sees the same trucks.

#include <cstdint>
#include <vector>

#include <borderflow/sim/event_queue.h>
#include <borderflow/sim/scenario.h>

namespace borderflow::sim {

struct TruckArrival {
  SimTime at = 0;        // seconds since the start of the run
  uint32_t traffic = 0;  // index into Scenario::traffic
  bool trusted = false;
  bool booking = false;
  bool booking_no_show = false;
  double freshness_hours = 0;     // perishables: after arrival
  double declare_lead_hours = 0;  // declared this long before arriving (not before the start)
};

std::vector<TruckArrival> GenerateArrivals(const Scenario& scenario, uint64_t seed);

}  // namespace borderflow::sim
