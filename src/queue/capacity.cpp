#include <algorithm>
#include <cmath>
#include <cstdint>

#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/json.h>
#include <borderflow/queue/capacity.h>

namespace borderflow {

namespace json = boost::json;

namespace {

using K = CapacityChangeKind;

constexpr Duration kMaxChangeLength = std::chrono::hours(24 * 90);
constexpr int kMaxLanes = 100;
constexpr double kMaxTrucksPerHour = 10000;
constexpr size_t kMaxReasonBytes = 500;
constexpr size_t kMaxIdBytes = 64;

// Acceptance rates are computed in thousandths of a truck per hour, so that the cumulative
// rounding below is exact integer arithmetic (an announced rate keeps three decimals).
constexpr int64_t kMilliTrucks = 1000;
constexpr int64_t kMillisPerHour = 3'600'000;

// floor(a / b) for b > 0 (C++ division truncates towards zero).
int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if (a % b != 0 && a < 0) --q;
  return q;
}

// floor(num × t / den) for num >= 0 and den > 0, without overflowing for any timestamp: with
// t = q × den + rem (0 <= rem < den), it is num × q + floor(num × rem / den).
int64_t CumulativeFloor(int64_t num, int64_t t, int64_t den) {
  int64_t q = FloorDiv(t, den);
  int64_t rem = t - q * den;
  return num * q + num * rem / den;
}

bool Covers(const CapacityChange& change, Timestamp t) {
  return change.from <= t && t < change.until;
}

// An empty filter (closures) matches every value.
bool FilterMatches(std::string_view filter, std::string_view value) {
  return filter.empty() || filter == value;
}

// The configured lanes of `lane_class` in `direction` (0 when the direction does not list it).
// A scan rather than map::find: the key is a string_view and the map holds a handful of classes.
int ConfiguredLanes(const Direction& direction, std::string_view lane_class) {
  for (const auto& [id, count] : direction.lanes) {
    if (id == lane_class) return count;
  }
  return 0;
}

bool Lists(const Direction& direction, std::string_view lane_class) {
  for (const auto& [id, count] : direction.lanes) {
    if (id == lane_class) return true;
  }
  return false;
}

// The direction a reversible lane of `lane_class` switched over to `to` comes from: the first
// other direction in the configuration that lists the lane class, else the first other
// direction. A gate pair has exactly two directions, so this is simply the other one.
const Direction* SourceOf(const GateConfig& config, const Direction& to,
                          std::string_view lane_class) {
  const Direction* first_other = nullptr;
  for (const Direction& d : config.directions) {
    if (&d == &to || d.id == to.id) continue;
    if (Lists(d, lane_class)) return &d;
    if (first_other == nullptr) first_other = &d;
  }
  return first_other;
}

Duration ServiceTimeOf(const QueueSettings& queue, std::string_view lane_class) {
  for (const auto& [id, time] : queue.service_time) {
    if (id == lane_class) return time;
  }
  return queue.service_time_default;
}

std::string ListDirections(const GateConfig& config) {
  std::string out;
  for (const Direction& d : config.directions) out += (out.empty() ? "" : ", ") + d.id;
  return out;
}

std::string ListLaneClasses(const GateConfig& config) {
  std::string out;
  for (const LaneClass& c : config.lane_classes) out += (out.empty() ? "" : ", ") + c.id;
  return out;
}

// Lets the evaluation below run over the plan's own changes (At) or over a pre-filtered list of
// pointers to them (Range) with the same code.
const CapacityChange& Deref(const CapacityChange& change) { return change; }
const CapacityChange& Deref(const CapacityChange* change) { return *change; }

// Evaluates the capacity rules over `changes` (in creation order; later ones win). `Changes`
// is std::vector<CapacityChange> or std::vector<const CapacityChange*>.
template <class Changes>
class Evaluator {
 public:
  Evaluator(const GateConfig& config, const Changes& changes, Duration bucket)
      : config_(config), changes_(changes), bucket_(bucket) {}

  // The latest change of `kind` for exactly `direction` × `lane_class` covering `t`.
  const CapacityChange* Latest(K kind, std::string_view direction, std::string_view lane_class,
                               Timestamp t) const {
    for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
      const CapacityChange& c = Deref(*it);
      if (c.kind == kind && Covers(c, t) && c.direction == direction &&
          c.lane_class == lane_class) {
        return &c;
      }
    }
    return nullptr;
  }

  // The latest closure covering `t` that applies to `direction` × `lane_class`.
  const CapacityChange* LatestClosure(std::string_view direction, std::string_view lane_class,
                                      Timestamp t) const {
    for (auto it = changes_.rbegin(); it != changes_.rend(); ++it) {
      const CapacityChange& c = Deref(*it);
      if (c.kind == K::kClosure && Covers(c, t) && FilterMatches(c.direction, direction) &&
          FilterMatches(c.lane_class, lane_class)) {
        return &c;
      }
    }
    return nullptr;
  }

  // Lanes of `d` × `lane_class` before reversible lanes: the configuration, or the latest
  // lanes change covering `t`.
  int BaseLanes(const Direction& d, std::string_view lane_class, Timestamp t) const {
    const CapacityChange* set = Latest(K::kLanes, d.id, lane_class, t);
    return std::max(0, set != nullptr ? set->lanes : ConfiguredLanes(d, lane_class));
  }

  // Lanes `to` gains from its source direction through its latest reversible change covering
  // `t`: what the change asks for, at most what the source has (so the source never goes
  // below 0), given the source's base lanes.
  int Moved(const Direction& to, std::string_view lane_class, Timestamp t, int source_base) const {
    const CapacityChange* reversible = Latest(K::kReversible, to.id, lane_class, t);
    if (reversible == nullptr) return 0;
    return std::clamp(reversible->lanes, 0, source_base);
  }

  // Base lanes, plus lanes switched over to `d`, minus lanes switched over from `d` to a
  // direction whose source it is.
  int Lanes(const Direction& d, std::string_view lane_class, Timestamp t) const {
    int base = BaseLanes(d, lane_class, t);
    int lanes = base;
    if (const Direction* source = SourceOf(config_, d, lane_class)) {
      lanes += Moved(d, lane_class, t, BaseLanes(*source, lane_class, t));
    }
    for (const Direction& other : config_.directions) {
      if (other.id == d.id || SourceOf(config_, other, lane_class) != &d) continue;
      lanes -= Moved(other, lane_class, t, base);
    }
    return std::max(lanes, 0);
  }

  // The bucket from `start`: the rules in force at its start, and at every instant inside it
  // where a change begins or ends, each give a capacity for the whole bucket; the bucket gets
  // the least of them, and is closed if any of them closes it. So a change made to take effect
  // now (an emergency closure, a stop of the counterpart's acceptance, fewer lanes) holds for
  // the running bucket at once rather than from the next one, and a bucket never promises more
  // than the rules allow at any moment of it (a truck called just before a closure would reach
  // the gate during it). The price: a closure that ends inside a bucket keeps the rest of that
  // bucket closed, and more lanes from inside a bucket count from the next one.
  BucketCapacity At(std::string_view direction, std::string_view lane_class,
                    Timestamp start) const {
    BucketCapacity out = AtInstant(direction, lane_class, start, start);
    if (!out.closed_reason.empty()) return out;
    const Timestamp end = start + bucket_;
    for (const auto& item : changes_) {
      const CapacityChange& c = Deref(item);
      for (Timestamp t : {c.from, c.until}) {
        if (!(start < t && t < end)) continue;
        BucketCapacity then = AtInstant(direction, lane_class, start, t);
        if (!then.closed_reason.empty()) return then;
        if (then.effective < out.effective) out = std::move(then);
      }
    }
    return out;
  }

  // The capacity of the bucket from `start` under the rules in force at `t` (in the bucket).
  BucketCapacity AtInstant(std::string_view direction, std::string_view lane_class, Timestamp start,
                           Timestamp t) const {
    BucketCapacity out;
    out.start = start;
    const Direction* d = config_.FindDirection(direction);
    if (d == nullptr || config_.FindLaneClass(lane_class) == nullptr) {
      out.closed_reason = "unknown_lane";
      return out;
    }
    out.lanes = Lanes(*d, lane_class, t);
    // A closed bucket reports its lanes and why it is closed; every capacity is 0 and no
    // acceptance applies. Closures first, then this side, then the counterpart.
    if (const CapacityChange* closure = LatestClosure(direction, lane_class, t)) {
      out.closed_reason = "closure:" + closure->id;
      return out;
    }
    if (!config_.self.IsOpenAt(t)) {
      out.closed_reason = config_.self.IsHolidayAt(t) ? "self_holiday" : "self_closed";
      return out;
    }
    if (!config_.counterpart.IsOpenAt(t)) {
      out.closed_reason =
          config_.counterpart.IsHolidayAt(t) ? "counterpart_holiday" : "counterpart_closed";
      return out;
    }
    // Fractional capacity is not lost: a rate of 2.25 trucks per bucket (3 lanes, 15-minute
    // buckets, 20 minutes per truck) gives 2, 2, 2, 3, ... Bucket k (counted from the Unix
    // epoch, so every bucket has one fixed index) gets floor(rate × (k + 1)) − floor(rate × k):
    // the capacities of any run of consecutive buckets sum to the rate × the run's length,
    // rounded down at one end only. With k × bucket = the bucket's start in milliseconds since
    // the epoch, rate × k = lanes × start / service, computed exactly in integers.
    const int64_t begin_ms = ToUnixMillis(start);
    const int64_t end_ms = begin_ms + bucket_.count();
    const int64_t service_ms = ServiceTimeOf(config_.queue, lane_class).count();
    out.self_capacity = static_cast<int>(CumulativeFloor(out.lanes, end_ms, service_ms) -
                                         CumulativeFloor(out.lanes, begin_ms, service_ms));
    out.effective = out.self_capacity;
    // The counterpart's announced rate is rounded the same way: trucks accepted by time t are
    // floor(trucks_per_hour × t / 1 h), in thousandths of a truck per hour.
    if (const CapacityChange* acceptance = Latest(K::kAcceptance, direction, lane_class, t)) {
      double rate = acceptance->trucks_per_hour;
      if (!(rate >= 0)) rate = 0;  // also NaN
      int64_t milli = std::llround(std::min(rate, kMaxTrucksPerHour) * kMilliTrucks);
      int64_t per = kMilliTrucks * kMillisPerHour;
      out.accepted = static_cast<int>(CumulativeFloor(milli, end_ms, per) -
                                      CumulativeFloor(milli, begin_ms, per));
      out.effective = std::min(out.self_capacity, *out.accepted);
    }
    return out;
  }

 private:
  const GateConfig& config_;
  const Changes& changes_;
  Duration bucket_;
};

Result<Timestamp> TimeField(const JsonObjectReader& r, std::string_view key) {
  BF_ASSIGN_OR_RETURN(std::string text, r.String(key, 40));
  auto t = ParseTimestamp(text);
  if (!t) return t.error().Within(r.PathOf(key));
  return *t;
}

}  // namespace

std::string_view CapacityChangeKindName(CapacityChangeKind kind) {
  switch (kind) {
#define BORDERFLOW_CAPACITY_KIND_NAME(name, text) \
  case K::name:                                   \
    return text;
    BORDERFLOW_CAPACITY_CHANGE_KINDS(BORDERFLOW_CAPACITY_KIND_NAME)
#undef BORDERFLOW_CAPACITY_KIND_NAME
  }
  return "unknown";
}

Result<CapacityChangeKind> ParseCapacityChangeKind(std::string_view text) {
#define BORDERFLOW_CAPACITY_KIND_PARSE(name, str) \
  if (text == str) return K::name;
  BORDERFLOW_CAPACITY_CHANGE_KINDS(BORDERFLOW_CAPACITY_KIND_PARSE)
#undef BORDERFLOW_CAPACITY_KIND_PARSE
  std::string valid;
#define BORDERFLOW_CAPACITY_KIND_LIST(name, str) valid += valid.empty() ? str : ", " str;
  BORDERFLOW_CAPACITY_CHANGE_KINDS(BORDERFLOW_CAPACITY_KIND_LIST)
#undef BORDERFLOW_CAPACITY_KIND_LIST
  return InvalidArgument(
      "unknown_capacity_change_kind",
      fmt::format("unknown capacity change kind '{}'; valid kinds: {}", text.substr(0, 32), valid),
      "kind");
}

Status ValidateCapacityChange(const CapacityChange& change, const GateConfig& config) {
  const bool closure = change.kind == K::kClosure;
  std::string_view kind = CapacityChangeKindName(change.kind);
  const Direction* direction = nullptr;
  if (change.direction.empty()) {
    if (!closure) {
      return InvalidArgument("missing_field",
                             fmt::format("'direction' is required for a {} change", kind),
                             "direction");
    }
  } else {
    direction = config.FindDirection(change.direction);
    if (direction == nullptr) {
      return InvalidArgument(
          "unknown_direction",
          fmt::format("unknown direction '{}'; valid directions: {}",
                      std::string_view(change.direction).substr(0, 32), ListDirections(config)),
          "direction");
    }
  }
  if (change.lane_class.empty()) {
    if (!closure) {
      return InvalidArgument("missing_field",
                             fmt::format("'lane_class' is required for a {} change", kind),
                             "lane_class");
    }
  } else if (config.FindLaneClass(change.lane_class) == nullptr) {
    return InvalidArgument(
        "unknown_lane_class",
        fmt::format("unknown lane class '{}'; valid lane classes: {}",
                    std::string_view(change.lane_class).substr(0, 32), ListLaneClasses(config)),
        "lane_class");
  }
  if (!(change.from < change.until)) {
    return InvalidArgument("invalid_capacity_change", "'until' must be later than 'from'", "until");
  }
  if (change.until - change.from > kMaxChangeLength) {
    return InvalidArgument("invalid_capacity_change",
                           "a capacity change lasts at most 90 days from 'from' to 'until'",
                           "until");
  }
  if (change.lanes < 0 || change.lanes > kMaxLanes) {
    return InvalidArgument("out_of_range",
                           fmt::format("'lanes' must be between 0 and {}", kMaxLanes), "lanes");
  }
  if (change.kind == K::kReversible) {
    const Direction* source = SourceOf(config, *direction, change.lane_class);
    int available = source != nullptr ? ConfiguredLanes(*source, change.lane_class) : 0;
    if (change.lanes < 1 || change.lanes > available) {
      return InvalidArgument(
          "out_of_range",
          source == nullptr
              ? fmt::format("no other direction to switch a {} lane from", change.lane_class)
              : fmt::format("'lanes' must be between 1 and {}: the lanes of {} that {} has",
                            available, change.lane_class, source->id),
          "lanes");
    }
  }
  if (!(change.trucks_per_hour >= 0 && change.trucks_per_hour <= kMaxTrucksPerHour)) {
    return InvalidArgument(
        "out_of_range",
        fmt::format("'trucks_per_hour' must be between 0 and {}", kMaxTrucksPerHour),
        "trucks_per_hour");
  }
  if (change.reason.size() > kMaxReasonBytes) {
    return InvalidArgument("field_too_long",
                           fmt::format("'reason' is longer than {} bytes", kMaxReasonBytes),
                           "reason");
  }
  return {};
}

json::object EncodeCapacityChange(const CapacityChange& change) {
  json::object o;
  o["id"] = change.id;
  o["kind"] = CapacityChangeKindName(change.kind);
  o["from"] = FormatUtc(change.from);
  o["until"] = FormatUtc(change.until);
  o["direction"] = change.direction;
  o["lane_class"] = change.lane_class;
  o["lanes"] = change.lanes;
  // Whole rates as integers ("12", not "1.2E1"); others as doubles.
  double rate = change.trucks_per_hour;
  if (std::isfinite(rate) && std::trunc(rate) == rate && std::abs(rate) < 9.0e15) {
    o["trucks_per_hour"] = static_cast<int64_t>(rate);
  } else {
    o["trucks_per_hour"] = rate;
  }
  o["reason"] = change.reason;
  o["created_at"] = FormatUtc(change.created_at);
  o["created_by"] = change.created_by;
  return o;
}

Result<CapacityChange> DecodeCapacityChange(const json::value& value) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(value, ""));
  BF_TRY(r.RejectUnknown({"id", "kind", "from", "until", "direction", "lane_class", "lanes",
                          "trucks_per_hour", "reason", "created_at", "created_by"}));
  CapacityChange c;
  BF_ASSIGN_OR_RETURN(auto id, r.OptionalString("id", kMaxIdBytes));
  c.id = id.value_or("");
  BF_ASSIGN_OR_RETURN(std::string kind_text, r.String("kind", 32));
  BF_ASSIGN_OR_RETURN(c.kind, ParseCapacityChangeKind(kind_text));
  BF_ASSIGN_OR_RETURN(c.from, TimeField(r, "from"));
  BF_ASSIGN_OR_RETURN(c.until, TimeField(r, "until"));
  BF_ASSIGN_OR_RETURN(auto direction, r.OptionalString("direction", 32));
  c.direction = direction.value_or("");
  BF_ASSIGN_OR_RETURN(auto lane_class, r.OptionalString("lane_class", 32));
  c.lane_class = lane_class.value_or("");
  // The number that defines a change is required for its kind: a lanes change without "lanes"
  // must not silently close the lanes.
  if (c.kind == K::kLanes || c.kind == K::kReversible) {
    BF_ASSIGN_OR_RETURN(int64_t lanes, r.Int("lanes", 0, kMaxLanes));
    c.lanes = static_cast<int>(lanes);
  } else {
    BF_ASSIGN_OR_RETURN(auto lanes, r.OptionalInt("lanes", 0, kMaxLanes));
    c.lanes = static_cast<int>(lanes.value_or(0));
  }
  if (c.kind == K::kAcceptance || r.Has("trucks_per_hour")) {
    BF_ASSIGN_OR_RETURN(c.trucks_per_hour, r.Number("trucks_per_hour", 0, kMaxTrucksPerHour));
  }
  BF_ASSIGN_OR_RETURN(auto reason, r.OptionalString("reason", kMaxReasonBytes));
  c.reason = reason.value_or("");
  if (r.Has("created_at")) {
    BF_ASSIGN_OR_RETURN(c.created_at, TimeField(r, "created_at"));
  }
  BF_ASSIGN_OR_RETURN(auto created_by, r.OptionalString("created_by", kMaxIdBytes));
  c.created_by = created_by.value_or("");
  return c;
}

CapacityPlan::CapacityPlan(const GateConfig& config, std::vector<CapacityChange> changes)
    : config_(config), changes_(std::move(changes)), bucket_(config.queue.bucket) {
  BF_ASSERT(bucket_.count() > 0 && std::chrono::hours(24) % bucket_ == Duration::zero(),
            "the configuration's bucket divides a day (ParseGateConfig checks it)");
  BF_ASSERT(config_.queue.service_time_default.count() > 0,
            "service times are positive (ParseGateConfig checks them)");
  for (const auto& [id, time] : config_.queue.service_time) {
    BF_ASSERT(time.count() > 0, "service times are positive (ParseGateConfig checks them)");
  }
}

Timestamp CapacityPlan::BucketStart(Timestamp t) const {
  const int64_t bucket_ms = bucket_.count();
  return FromUnixMillis(FloorDiv(ToUnixMillis(t), bucket_ms) * bucket_ms);
}

// At and LanesAt scan the changes (a few dozen at most in practice: each is an operator's or the
// counterpart's audited decision); every test compares two timestamps first, so the scan is a
// few hundred nanoseconds. Range filters the changes that concern it once, then evaluates each
// bucket over those only.
BucketCapacity CapacityPlan::At(std::string_view direction, std::string_view lane_class,
                                Timestamp bucket_start) const {
  Evaluator<std::vector<CapacityChange>> eval(config_, changes_, bucket_);
  return eval.At(direction, lane_class, BucketStart(bucket_start));
}

int CapacityPlan::LanesAt(std::string_view direction, std::string_view lane_class,
                          Timestamp t) const {
  const Direction* d = config_.FindDirection(direction);
  if (d == nullptr || config_.FindLaneClass(lane_class) == nullptr) return 0;
  Evaluator<std::vector<CapacityChange>> eval(config_, changes_, bucket_);
  return eval.Lanes(*d, lane_class, t);
}

bool CapacityPlan::OpenAt(std::string_view direction, std::string_view lane_class,
                          Timestamp t) const {
  const Direction* d = config_.FindDirection(direction);
  if (d == nullptr || config_.FindLaneClass(lane_class) == nullptr) return false;
  Evaluator<std::vector<CapacityChange>> eval(config_, changes_, bucket_);
  if (eval.LatestClosure(direction, lane_class, t) != nullptr) return false;
  if (!config_.self.IsOpenAt(t) || !config_.counterpart.IsOpenAt(t)) return false;
  if (eval.Lanes(*d, lane_class, t) <= 0) return false;
  const CapacityChange* acceptance = eval.Latest(K::kAcceptance, direction, lane_class, t);
  return acceptance == nullptr || acceptance->trucks_per_hour > 0;
}

std::vector<BucketCapacity> CapacityPlan::Range(std::string_view direction,
                                                std::string_view lane_class, Timestamp from,
                                                Timestamp until) const {
  std::vector<BucketCapacity> out;
  const Timestamp first = BucketStart(from);
  if (first >= until) return out;
  // The changes that can cover a bucket starting in [first, until) and concern this lane:
  // closures that apply to it, lanes and reversible changes of its class in any direction (a
  // reversible lane takes from the other direction), and its acceptance.
  // (Up to the end of the last bucket, which may lie after `until`: a change beginning inside
  // a bucket counts for all of it.)
  const int64_t count = (until - first + bucket_ - Duration(1)) / bucket_;
  const Timestamp end = first + count * bucket_;
  std::vector<const CapacityChange*> relevant;
  for (const CapacityChange& c : changes_) {
    if (!(c.from < end && c.until > first)) continue;
    bool concerns = false;
    switch (c.kind) {
      case K::kClosure:
        concerns = FilterMatches(c.direction, direction) && FilterMatches(c.lane_class, lane_class);
        break;
      case K::kLanes:
      case K::kReversible:
        concerns = c.lane_class == lane_class;
        break;
      case K::kAcceptance:
        concerns = c.direction == direction && c.lane_class == lane_class;
        break;
    }
    if (concerns) relevant.push_back(&c);
  }
  Evaluator<std::vector<const CapacityChange*>> eval(config_, relevant, bucket_);
  out.reserve(static_cast<size_t>(count));
  for (Timestamp start = first; start < until; start += bucket_) {
    out.push_back(eval.At(direction, lane_class, start));
  }
  return out;
}

}  // namespace borderflow
