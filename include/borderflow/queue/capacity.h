#pragma once

// The capacity plan: how many trucks can be called forward per direction × lane class × time
// bucket. Pure: built from the gate configuration and the list of capacity changes that
// operators and the counterpart have made (each change is an audited engine command).
//
// The effective capacity of a bucket is the lesser of what this side can clear (open lanes ×
// bucket length / service time per truck) and what the other side accepts (its announced rate).
// A bucket is closed (capacity 0) outside either side's operating hours, on either side's
// holidays, and during a closure.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/core/error.h>
#include <borderflow/core/time.h>
#include <borderflow/domain/gate_config.h>

namespace borderflow {

#define BORDERFLOW_CAPACITY_CHANGE_KINDS(X) \
  X(kClosure, "closure")                    \
  X(kLanes, "lanes")                        \
  X(kReversible, "reversible")              \
  X(kAcceptance, "acceptance")

enum class CapacityChangeKind {
#define BORDERFLOW_CAPACITY_KIND_ENUM(name, text) name,
  BORDERFLOW_CAPACITY_CHANGE_KINDS(BORDERFLOW_CAPACITY_KIND_ENUM)
#undef BORDERFLOW_CAPACITY_KIND_ENUM
};

std::string_view CapacityChangeKindName(CapacityChangeKind kind);
Result<CapacityChangeKind> ParseCapacityChangeKind(std::string_view text);

// One change to the configured capacity, in force over [from, until). When several changes of
// the same kind cover the same bucket, direction and lane class, the latest created wins.
//
//   closure     no calls; `direction` and `lane_class` empty mean all of them.
//   lanes       `lanes` lanes open for `direction` × `lane_class` (an operator opens or closes
//               lanes; 0 closes the class).
//   reversible  `lanes` lanes of `lane_class` move from the other direction to `direction` (a
//               reversible lane switched over); the other direction loses them. At most the
//               lanes the other direction has.
//   acceptance  the counterpart accepts `trucks_per_hour` trucks of `direction` × `lane_class`
//               (its announcement; the queue's binding constraint when lower than ours).
struct CapacityChange {
  std::string id;  // "CAP-..." assigned by the engine
  CapacityChangeKind kind = CapacityChangeKind::kClosure;
  Timestamp from;
  Timestamp until;
  std::string direction;
  std::string lane_class;
  int lanes = 0;
  double trucks_per_hour = 0;
  std::string reason;      // free text shown to operators (at most 500 bytes)
  Timestamp created_at;    // set by the engine
  std::string created_by;  // user id, set by the engine

  friend bool operator==(const CapacityChange&, const CapacityChange&) = default;
};

// Checks a change against the configuration: known direction and lane class (required except
// for closures), from < until, at most 90 days long, lanes 0..100 (reversible: 1..the lanes the
// other direction has in the configuration), trucks_per_hour 0..10000. Errors name the field.
Status ValidateCapacityChange(const CapacityChange& change, const GateConfig& config);

// JSON as the API and the store use it: {"id","kind","from","until","direction","lane_class",
// "lanes","trucks_per_hour","reason","created_at","created_by"} (times RFC 3339 UTC). Decoding
// refuses unknown fields and wrong types with the field named; id, created_at and created_by
// are optional on input (the engine sets them).
boost::json::object EncodeCapacityChange(const CapacityChange& change);
Result<CapacityChange> DecodeCapacityChange(const boost::json::value& json);

// The capacity of one bucket for one direction × lane class.
struct BucketCapacity {
  Timestamp start;
  int lanes = 0;                // lanes open in this direction for this class
  int self_capacity = 0;        // trucks this side can clear in the bucket
  std::optional<int> accepted;  // trucks the counterpart accepts in the bucket, if announced
  int effective = 0;            // min(self_capacity, accepted)
  // Why the bucket is closed, when it is: "self_closed", "counterpart_closed",
  // "self_holiday", "counterpart_holiday", "closure:<id>". Empty when open (even if the
  // effective capacity is 0 because no lanes are open or the counterpart accepts none).
  std::string closed_reason;

  friend bool operator==(const BucketCapacity&, const BucketCapacity&) = default;
};

class CapacityPlan {
 public:
  // `changes` in creation order (later ones win).
  CapacityPlan(const GateConfig& config, std::vector<CapacityChange> changes);

  Duration bucket() const { return bucket_; }
  // The start of the bucket that holds `t` (buckets are aligned to UTC midnight).
  Timestamp BucketStart(Timestamp t) const;

  // Capacity of the bucket starting at `bucket_start` (must be aligned). Unknown direction or
  // lane class: a closed bucket with no lanes. A change that begins or ends inside the bucket
  // counts for all of it: the bucket gets the least capacity of the rules in force at its start
  // and at each such instant (closed if any of them closes it), so a change effective "now"
  // holds for the running bucket at once.
  BucketCapacity At(std::string_view direction, std::string_view lane_class,
                    Timestamp bucket_start) const;
  // Lanes open for `direction` × `lane_class` at `t` (configuration, lanes and reversible).
  int LanesAt(std::string_view direction, std::string_view lane_class, Timestamp t) const;
  // Whether `direction` × `lane_class` is open at the instant `t`: known, no closure covers
  // it, both sides are within their hours (and not on a holiday), it has lanes, and the
  // counterpart, if it announced a rate, accepts some trucks. Independent of how a bucket's
  // capacity rounds (a lane that clears a truck in 20 minutes is open in a 15-minute bucket
  // that gets none).
  bool OpenAt(std::string_view direction, std::string_view lane_class, Timestamp t) const;
  // Every bucket from the one holding `from` up to (not including) `until`.
  std::vector<BucketCapacity> Range(std::string_view direction, std::string_view lane_class,
                                    Timestamp from, Timestamp until) const;

  const std::vector<CapacityChange>& changes() const { return changes_; }
  const GateConfig& config() const { return config_; }

 private:
  GateConfig config_;
  std::vector<CapacityChange> changes_;
  Duration bucket_;
};

}  // namespace borderflow
