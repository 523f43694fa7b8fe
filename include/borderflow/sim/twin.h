#pragma once

// The digital twin: drives the real borderflow engine (the same commands, queue policies and
// risk rules a live node runs) through a scenario on virtual time.
//
// Virtual time advances from event to event (the event core in event_queue.h); before every
// command the engine's ManualClock is set to the event's time. The twin plays every driver:
// forwarders declare (and book), the risk rules or a customs officer assess, cameras report
// trucks entering the staging yard and reaching the gate, the queue timer (QueueTick) calls trucks
// forward, officers check documents or inspect for a sampled service time, release, and the
// border guard records the crossing. The engine alone decides who is called and when (lanes
// free, bucket capacity, the policy); the twin samples what people and trucks do.
//
// A run is a function of the scenario, the policy, the lane overrides and the seed: the same
// inputs give the same result (wall time aside, which the caller measures). Arrivals, the mix,
// freshness windows and each truck's own service times come from streams that do not depend
// on the policy, so policies are compared on the same trucks (common random numbers).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <borderflow/core/error.h>
#include <borderflow/sim/scenario.h>
#include <borderflow/sim/stats.h>

namespace borderflow::sim {

struct TwinOptions {
  std::string policy;  // fifo | cyclic | smart; empty: the gate configuration's
  uint64_t seed = 1;
  // Lanes per "DIRECTION/lane_class" replacing the scenario's (a lane-count variant).
  std::map<std::string, int> lanes;
  // Called now and then with the fraction of virtual time done (0..1).
  std::function<void(double)> progress;
  // A label for reports ("smart", "smart 6 lanes"); default: the policy.
  std::string label;
  // Send QueueTick at every tick interval even when it cannot change anything (see twin.cpp:
  // OnTick); the result is the same, only slower. For tests of that claim.
  bool tick_every_interval = false;
  // Leave the run's in-memory store allocated when the run ends, for a process that exits soon
  // after it (borderflow simulate after its last run, sim_bench): a 90-day season's store holds
  // about 1.5 GB in millions of objects, and freeing them one by one took about 2-3% of the run;
  // the memory goes back to the system with the process. Each run so ended keeps its memory
  // until then. The store stays reachable from a static list, so leak checkers do not report
  // it. A SQLite store is always closed (its temporary file is removed).
  bool keep_store_until_exit = false;
  // Keep every crossing in the in-memory store and the engine's cache until the run ends. By
  // default the twin's store drops a crossing once it has crossed or left (keeping its id:
  // MemoryStoreOptions::keep_finished_crossings) and the engine's cache lets crossed ones go,
  // since the twin never reads or changes a crossing again after that; should it ever, the
  // command fails with `crossing_not_kept` and the run's result shows it. For tests of that claim.
  bool keep_finished_crossings = false;
  // Hash-chain the in-memory store's audit records, as a kept trail is. By default the twin's
  // store numbers them without hashing (MemoryStoreOptions::chain_audit_records): it keeps no
  // trail for a chain to protect. For tests that this changes nothing, and for the benchmark's
  // figure beside it (sim_bench --chain-audit).
  bool chain_audit_records = false;
  // Put the engine's crossing cache in front of the in-memory store, as a live node has it in
  // front of its database. By default the twin runs without it: the in-memory store hands the
  // engine the very versions it wrote. For tests that this changes nothing.
  bool engine_crossing_cache = false;
};

// The queue at one moment.
struct QueueSample {
  double hours = 0;            // since the start of the run
  int road = 0;                // waiting outside a full staging yard
  int yard = 0;                // in the staging yard, not called yet
  int in_lanes = 0;            // called, at the gate or being checked
  int perishable_waiting = 0;  // of road + yard, perishable loads
};

// Priority classes as the queue knows them (queue/planner.h).
inline constexpr const char* kPriorityClassNames[] = {"trusted_perishable", "perishable", "trusted",
                                                      "regular"};

struct TwinResult {
  std::string scenario;
  std::string label;
  std::string policy;
  uint64_t seed = 0;
  int days = 0;
  std::map<std::string, int> lanes;  // "DIRECTION/lane_class" -> lanes configured

  int64_t trucks_arrived = 0;
  int64_t trucks_called = 0;
  int64_t trucks_cleared = 0;  // crossed
  int64_t spoiled_perishables = 0;
  int64_t spoiled_left = 0;  // of those, left the queue (not called yet)
  int64_t expired_declarations = 0;
  int64_t missed_calls = 0;     // called, did not come in time, sent back (engine requeue)
  int64_t lapsed_bookings = 0;  // booked, never came
  int64_t waiting_at_end = 0;   // arrived and not called when the run ended
  // Trucks whose declaration the engine refused (no lanes of their class...), by code. They
  // still come to the border: they count as arrived, are never called, and wait until the run
  // ends (waiting_at_end) unless their load spoils first. Each is also a command error.
  int64_t trucks_refused = 0;
  std::map<std::string, int64_t> refused_by_code;
  double oldest_wait_at_end_hours = 0;
  int64_t command_errors = 0;
  std::map<std::string, int64_t> errors_by_code;
  // Bookings the engine declined (no slot, declaration expiring first...), by code; those
  // trucks join the live queue.
  std::map<std::string, int64_t> bookings_refused;
  int64_t engine_commands = 0;
  int64_t queue_ticks = 0;  // QueueTick commands sent
  uint64_t events_processed = 0;

  std::vector<int64_t> cleared_per_day;
  std::vector<int64_t> arrived_per_day;
  std::vector<int64_t> spoiled_per_day;
  std::map<std::string, double> lane_utilisation;  // "DIRECTION/lane_class" -> 0..1

  // Waits from arrival at the border to the call forward, hours, of trucks called.
  Samples wait_hours;
  std::map<std::string, Samples> wait_hours_by_class;       // priority class
  std::map<std::string, Samples> wait_hours_by_lane_class;  // lane class
  // |predicted call − actual call| of the prediction made when the truck joined the yard queue.
  Samples prediction_abs_error_hours;
  int64_t predictions_missing = 0;  // joined the queue without a planned call (beyond horizon)
  std::vector<QueueSample> queue;
  double wall_seconds = 0;  // set by the caller (the twin reads no wall clock)
};

// Runs the scenario on the engine with an in-memory store (or SQLite in a temporary file when
// the scenario says store = "sqlite"). Errors: a policy the engine does not know, lanes for an
// unknown direction or class, a store that cannot be opened, or the engine refusing the rule set.
// Commands the engine refuses during the run are counted (command_errors), not fatal.
Result<TwinResult> RunTwin(const Scenario& scenario, const TwinOptions& options);

}  // namespace borderflow::sim
