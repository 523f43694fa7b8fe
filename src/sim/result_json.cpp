#include <cmath>

#include <borderflow/sim/report.h>

namespace borderflow::sim {

namespace json = boost::json;

namespace {

double Round(double x, double unit = 1e-4) { return std::round(x / unit) * unit; }

json::object SummaryJson(const Samples& samples) {
  Summary s = samples.Summarize();
  return json::object{{"count", s.count},
                      {"mean", Round(s.mean)},
                      {"p50", Round(s.p50)},
                      {"p95", Round(s.p95)},
                      {"max", Round(s.max)}};
}

template <class T>
json::array ArrayOf(const std::vector<T>& v) {
  json::array a;
  for (const T& x : v) a.push_back(json::value(x));
  return a;
}

}  // namespace

json::object ResultJson(const TwinResult& r, bool series) {
  json::object o;
  o["scenario"] = r.scenario;
  o["label"] = r.label;
  o["policy"] = r.policy;
  o["seed"] = r.seed;
  o["days"] = r.days;
  json::object lanes;
  for (const auto& [k, v] : r.lanes) lanes[k] = v;
  o["lanes"] = std::move(lanes);
  o["trucks_arrived"] = r.trucks_arrived;
  o["trucks_called"] = r.trucks_called;
  o["trucks_cleared"] = r.trucks_cleared;
  double mean_per_day = r.days > 0 ? static_cast<double>(r.trucks_cleared) / r.days : 0;
  int64_t best = 0;
  for (int64_t d : r.cleared_per_day) best = std::max(best, d);
  o["throughput_per_day"] = json::object{{"mean", Round(mean_per_day, 0.01)}, {"max", best}};
  json::object util;
  for (const auto& [k, v] : r.lane_utilisation) util[k] = Round(v);
  o["lane_utilisation"] = std::move(util);
  json::object by_class, by_lane;
  for (const auto& [k, v] : r.wait_hours_by_class) by_class[k] = SummaryJson(v);
  for (const auto& [k, v] : r.wait_hours_by_lane_class) by_lane[k] = SummaryJson(v);
  json::object waits = SummaryJson(r.wait_hours);
  waits["by_class"] = std::move(by_class);
  waits["by_lane_class"] = std::move(by_lane);
  o["wait_hours"] = std::move(waits);
  o["spoiled_perishables"] = r.spoiled_perishables;
  o["spoiled_left_queue"] = r.spoiled_left;
  o["expired_declarations"] = r.expired_declarations;
  o["missed_calls"] = r.missed_calls;
  o["lapsed_bookings"] = r.lapsed_bookings;
  o["waiting_at_end"] = r.waiting_at_end;
  o["trucks_refused"] = r.trucks_refused;
  json::object refused_by_code;
  for (const auto& [k, v] : r.refused_by_code) refused_by_code[k] = v;
  o["refused_by_code"] = std::move(refused_by_code);
  o["oldest_wait_at_end_hours"] = Round(r.oldest_wait_at_end_hours);
  Summary p = r.prediction_abs_error_hours.Summarize();
  o["prediction_abs_error_hours"] = json::object{{"count", p.count},
                                                 {"mean", Round(p.mean)},
                                                 {"p90", Round(p.p90)},
                                                 {"missing", r.predictions_missing}};
  o["events_processed"] = r.events_processed;
  o["engine_commands"] = r.engine_commands;
  o["queue_ticks"] = r.queue_ticks;
  o["command_errors"] = r.command_errors;
  json::object errors;
  for (const auto& [k, v] : r.errors_by_code) errors[k] = v;
  o["errors_by_code"] = std::move(errors);
  json::object refused;
  for (const auto& [k, v] : r.bookings_refused) refused[k] = v;
  o["bookings_refused"] = std::move(refused);
  if (series) {
    o["cleared_per_day"] = ArrayOf(r.cleared_per_day);
    o["arrived_per_day"] = ArrayOf(r.arrived_per_day);
    o["spoiled_per_day"] = ArrayOf(r.spoiled_per_day);
    json::array queue;
    for (const QueueSample& q : r.queue) {
      queue.push_back(
          json::array{Round(q.hours, 0.01), q.road, q.yard, q.in_lanes, q.perishable_waiting});
    }
    o["queue_samples"] = json::object{
        {"columns", json::array{"hours", "road", "yard", "in_lanes", "perishable_waiting"}},
        {"rows", std::move(queue)}};
  }
  o["wall_seconds"] = Round(r.wall_seconds, 0.001);
  return o;
}

}  // namespace borderflow::sim
