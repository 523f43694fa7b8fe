#pragma once

// The engine's in-memory picture of the electronic queue: the crossings that are booked, in
// the yard or in a lane, the capacity changes, bans, strikes, plate reads waiting for an
// operator, per-lane counters, and the plan derived from them (queue/planner.h). The engine
// changes it only after a command can no longer fail, and reloads it from the store when a
// transaction fails, so that it always equals what is committed (plus the running batch).
//
// Thread-safety: one writer (the engine's writer thread) mutates; readers (API threads) read
// views. Every public method takes the book's mutex.

#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include <borderflow/domain/crossing.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/engine/shared_crossing.h>
#include <borderflow/engine/store.h>
#include <borderflow/queue/capacity.h>
#include <borderflow/queue/planner.h>
#include <borderflow/queue/plate_match.h>

namespace borderflow {

// Record kinds in the store (StoredRecord::kind).
inline constexpr std::string_view kCapacityChangeRecord = "capacity_change";
inline constexpr std::string_view kBanRecord = "ban";
inline constexpr std::string_view kStrikeRecord = "strike";
inline constexpr std::string_view kPlateReadRecord = "plate_read";
inline constexpr std::string_view kLaneRecord = "lane";
inline constexpr std::string_view kSettingRecord = "setting";
inline constexpr std::string_view kBanLiftRecord = "ban_lift";

struct QueueBan {
  std::string plate;  // canonical
  Timestamp until;
  std::string reason;
  Timestamp created_at;
  std::string created_by;
  // "" for an operator's ban, which holds for every company. An automatic ban (strikes) holds
  // only for the company whose bookings were struck: plates are not bound to a company, so one
  // company's no-shows and late cancellations must not keep another's truck out.
  std::string company_id;
};

// A ban's record id and key in the book: the plate, or plate@company for an automatic ban.
std::string BanKey(const std::string& plate, const std::string& company_id);

// A no-show or a late cancellation, counted towards a ban.
struct QueueStrike {
  std::string plate;
  std::string company_id;  // of the struck crossing ("" in records from before it was kept)
  std::string crossing_id;
  std::string kind;  // "no_show", "late_cancellation"
  Timestamp at;
};

// A camera read that did not match one expected truck, kept until an operator resolves it.
struct PendingPlateRead {
  std::string id;        // "PR-..."
  std::string location;  // "yard_entrance" or "gate"
  std::string camera;
  std::string text;
  double confidence = 0;
  Timestamp at;
  std::string outcome;  // ambiguous, unknown, low_confidence
  std::string reason;
  std::vector<PlateCandidate> candidates;
};

// Calls made per lane (direction × lane class): the cycle position of the cyclic policy, the
// capacity used in the current bucket, and the measured time a called truck holds a lane.
struct LaneCounters {
  int64_t calls_total = 0;
  Timestamp bucket;
  int calls_in_bucket = 0;
  double occupancy_minutes_ema = 0;  // 0 until measured
};

// Absolute errors of call-time predictions, in minutes (one bin per minute up to 48 h).
struct PredictionStats {
  std::vector<int64_t> bins = std::vector<int64_t>(48 * 60 + 1, 0);
  int64_t count = 0;
  double sum_minutes = 0;
  // Returns the bin it counted the error in.
  size_t Add(double abs_error_minutes);
  double Mean() const { return count == 0 ? 0 : sum_minutes / static_cast<double>(count); }
  double Quantile(double q) const;
};

boost::json::object EncodeBan(const QueueBan& ban);
Result<QueueBan> DecodeBan(const boost::json::value& v);
boost::json::object EncodeStrike(const QueueStrike& s);
Result<QueueStrike> DecodeStrike(const boost::json::value& v);
boost::json::object EncodePlateRead(const PendingPlateRead& r);
Result<PendingPlateRead> DecodePlateRead(const boost::json::value& v);
boost::json::object EncodeLaneCounters(const LaneCounters& c);
Result<LaneCounters> DecodeLaneCounters(const boost::json::value& v);
boost::json::object EncodePredictionStats(const PredictionStats& s);
// The same as ToJsonText(EncodePredictionStats(s)), written directly (the statistics are stored
// on every call forward, and a season fills hundreds of bins).
std::string PredictionStatsText(const PredictionStats& s);
Result<PredictionStats> DecodePredictionStats(const boost::json::value& v);

// PredictionStatsText(stats) kept up to date while predictions are added one at a time. Each
// prediction changes one bin, so its entry is patched in place instead of writing hundreds of
// bins again on every call forward.
class PredictionStatsTextCache {
 public:
  // Forgets the text (the statistics were replaced): the next Text() writes it afresh.
  void Reset() { valid_ = false; }
  // After `bin` of `stats` changed (PredictionStats::Add returned it).
  void BinChanged(const PredictionStats& stats, size_t bin);
  // PredictionStatsText(stats), for the statistics the cache followed since the last Reset.
  std::string Text(const PredictionStats& stats);

 private:
  void Rebuild(const PredictionStats& stats);

  bool valid_ = false;
  std::string bins_;            // ',"<bin>":<count>' for each bin in use, in bin order
  std::vector<uint32_t> ends_;  // ends_[i]: where bin i's entry ends in bins_ (empty if unused)
};

// Whether a crossing in `state` is part of the queue book (booked, waiting, or holding a lane).
bool InQueueBook(CrossingState state);
// Whether a crossing in `state` holds a lane (called until it leaves the gate).
bool HoldsLane(CrossingState state);

class QueueBook {
 public:
  explicit QueueBook(const GateConfig& config);

  // Replaces everything with what `store` holds.
  Status Load(Store& store);

  // --- Changes (writer only) ----------------------------------------------------------------
  // Keeps `c` itself (the engine's shared version), not a copy.
  void Upsert(const SharedCrossing& c);
  void Upsert(const Crossing& c) { Upsert(std::make_shared<const Crossing>(c)); }
  void AddCapacityChange(const CapacityChange& change);
  void PutBan(const QueueBan& ban);
  // Lifts every ban on `plate` at `at`; strikes before it no longer count.
  void LiftBan(const std::string& plate, Timestamp at);
  void AddStrike(const QueueStrike& strike);
  void PutPlateRead(const PendingPlateRead& read);
  void RemovePlateRead(const std::string& id);
  void PutLaneCounters(const std::string& lane_key, const LaneCounters& counters);
  void PutPredictionStats(const PredictionStats& stats);
  // Adds one prediction's absolute error to the statistics and returns them as stored
  // (PredictionStatsText).
  std::string AddPrediction(double abs_error_minutes);
  void SetPolicy(const std::string& policy);

  // --- Reads --------------------------------------------------------------------------------
  static std::string LaneKey(std::string_view direction, std::string_view lane_class);
  std::string policy() const;
  // The capacity plan with every change so far (shared; rebuilt when a change is added).
  std::shared_ptr<const CapacityPlan> Capacity() const;
  // A copy of the crossing if it is in the book.
  std::optional<Crossing> Find(const std::string& id) const;
  // The state of the crossing if it is in the book (no copy).
  std::optional<CrossingState> StateOf(const std::string& id) const;
  // The ban in force at `now` on bookings of `plate` by `company_id`: an operator's ban, or an
  // automatic one for that company.
  std::optional<QueueBan> BanFor(const std::string& plate, const std::string& company_id,
                                 Timestamp now) const;
  // The keys (BanKey) of every ban in force on `plate`, whoever it holds for.
  std::vector<std::string> BansOn(const std::string& plate, Timestamp now) const;
  // Strikes for `plate` by `company_id` since `since` (and since its last ban was lifted).
  int StrikesSince(const std::string& plate, const std::string& company_id, Timestamp since) const;
  std::vector<QueueStrike> Strikes() const;
  std::vector<QueueBan> Bans() const;
  std::optional<PendingPlateRead> PlateRead(const std::string& id) const;
  std::vector<PendingPlateRead> PlateReads() const;
  LaneCounters Counters(const std::string& lane_key) const;
  PredictionStats Predictions() const;
  int64_t NextTicket() const;

  // Another open crossing (booked, waiting or in a lane) with this plate, if any.
  struct OpenCrossingRef {
    std::string id;
    std::string company_id;
  };
  std::optional<OpenCrossingRef> OtherWithPlate(const std::string& plate,
                                                const std::string& except_id) const;
  int OpenBookings(const std::string& company_id, const std::string& except_id) const;
  int BookingsIn(std::string_view direction, std::string_view lane_class, Timestamp bucket,
                 const std::string& except_id) const;
  // Trucks physically in the staging yard (in_yard or called but not yet at the gate).
  int YardCount() const;
  int LaneOccupancy(std::string_view direction, std::string_view lane_class) const;
  // Calls already made in the bucket holding `now`.
  int CallsInBucket(std::string_view direction, std::string_view lane_class, Timestamp now) const;

  // Crossings to match plate reads against at a location: the yard entrance expects assessed
  // and booked trucks; the gate expects called trucks.
  std::vector<ExpectedPlate> ExpectedAt(std::string_view location) const;
  // Called trucks whose call deadline has passed; booked trucks not arrived whose booking has
  // lapsed (slot end + late_arrival before now).
  std::vector<std::string> MissedCalls(Timestamp now) const;
  std::vector<std::string> LapsedBookings(Timestamp now) const;

  // The plan for one lane at `now`, with `extra` added as if it were in the book (for a
  // prediction before a truck joins). `policy_override` plans with another policy.
  LanePlan Plan(std::string_view direction, std::string_view lane_class, Timestamp now,
                const Crossing* extra = nullptr) const;
  // The plan for one lane at `now`, shared: kept per lane until the lane's queue, its counters,
  // the bucket, the capacity or the policy change. With `extra`, as Plan; when `extra` then
  // joins the lane unchanged (Upsert) and nothing else changed in the lane meanwhile, that plan
  // becomes the lane's kept plan.
  std::shared_ptr<const LanePlan> SharedPlan(std::string_view direction,
                                             std::string_view lane_class, Timestamp now,
                                             const Crossing* extra = nullptr) const;
  // Every lane's plan at `now` (cached until the book or the bucket changes).
  std::map<std::string, LanePlan> Plans(Timestamp now) const;
  // The planned call of a crossing, if planned.
  std::optional<PlannedCall> PlannedCallFor(const std::string& id, Timestamp now) const;
  // The factor by which lanes are measured to be slower than planned (>= 1).
  double SlownessFactor(std::string_view direction, std::string_view lane_class) const;

  // The crossing as the planner sees it. Perishable (priority, and its freshness deadline
  // counts) when IsPerishableLoad (domain/perishable.h): in a perishable lane class, or with a
  // freshness deadline on a load that CarriesPerishableGoods; otherwise neither.
  QueueTruck TruckFor(const Crossing& c) const;

 private:
  // What the book keeps per lane (direction × lane class), so that no read scans every
  // crossing: the assessed trucks waiting on the road for a place in the yard can be thousands.
  struct LaneIndex {
    // The lane itself, and its key in lanes_ (LaneKey), made once: the lane's helpers below
    // take the index, looked up once per call of the book, instead of looking it up and
    // making its key again for every step of a plan.
    std::string direction;
    std::string lane_class;
    std::string counters_key;
    int occupancy = 0;  // crossings holding a lane
    // The request every plan of the lane is made from. Its trucks are the lane's booked and
    // in-yard crossings in (ticket, id) order, kept there as they change (the planner's input
    // is the queue itself, not a copy made for each plan); PlanLocked fills in the rest.
    PlanRequest request;
    // Capacity of consecutive buckets from range_first, evaluated on capacity_ (cleared when
    // it changes). Plans read their horizon from it.
    Timestamp range_first;
    std::vector<BucketCapacity> range;
    // Bumped whenever the lane's trucks (request.trucks) change.
    uint64_t queued_version = 0;
    // The last plan of the lane without an extra truck, and what it was made from: the plan is
    // a function of the queued trucks, the current bucket, the number of buckets to the
    // horizon, the lane's counters, the capacity plan and the policy (the last two clear it).
    struct PlanKey {
      uint64_t queued_version = 0;
      Timestamp first;
      int64_t buckets = 0;  // from `first` to the horizon
      int calls_in_current_bucket = 0;
      int64_t cyclic_phase = 0;
      bool operator==(const PlanKey&) const = default;
    };
    PlanKey plan_key;
    // Null: none kept. Not const: a plan nobody else holds becomes the plan with a truck that
    // joins behind the queue (JoinKeptPlanLocked) instead of being copied.
    std::shared_ptr<LanePlan> plan;
    // A plan made with an extra truck (a prediction as a truck joins), and the lane's
    // queued_version it was made on.
    struct Prediction {
      QueueTruck truck;
      uint64_t base_version = 0;
      PlanKey key;
      std::shared_ptr<LanePlan> plan;
    };
    std::optional<Prediction> prediction;
  };
  using LaneIndexes =
      std::map<std::string, std::map<std::string, LaneIndex, std::less<>>, std::less<>>;

  // The lane's plan request at `now` (its queue as it is; requires mu_).
  PlanRequest& RequestLocked(LaneIndex& lane, Timestamp now) const;
  // The lane's kept plan with `truck` joining behind its queue, when the kept plan is current
  // (`key`) and the policy can tell the truck's call without planning again (PlanJoining); the
  // kept plan itself (shared) when `truck` is a booked truck of the queue that plans as it is
  // queued (SameBooking: it enters the yard for its slot); null otherwise (requires mu_).
  std::shared_ptr<LanePlan> JoinKeptPlanLocked(LaneIndex& lane, Timestamp now,
                                               const LaneIndex::PlanKey& key,
                                               const QueueTruck& truck) const;
  // Plans one lane (requires mu_).
  LanePlan PlanLocked(LaneIndex& lane, Timestamp now, const Crossing* extra) const;
  // The lane's plan without an extra truck, from the lane's cache when it is current (requires
  // mu_).
  std::shared_ptr<const LanePlan> CachedPlanLocked(LaneIndex& lane, Timestamp now) const;
  // Whether the lane's kept plan is its plan for `key` (made at `now`): it was made for that
  // key, or it becomes that plan without planning again when only time moved on since
  // (MovePlanOn). False when there is none or it is out of date (requires mu_).
  bool KeptPlanCurrentLocked(LaneIndex& lane, Timestamp now, const LaneIndex::PlanKey& key) const;
  // The key of the lane's plan at `now` with its queue as it is (requires mu_).
  LaneIndex::PlanKey PlanKeyFor(const LaneIndex& lane, Timestamp now) const;
  // After `c`, queued in its lane as `queued`, was called and indexed: when the lane's kept
  // plan was current until then and the call was its first call, the plan without that call
  // becomes the kept plan if the policy tells that it is the plan after the call
  // (TakeFirstCall).
  void TakeCallOnKeptPlan(LaneIndex& lane, const QueueTruck& queued, const Crossing& c,
                          uint64_t version_before);
  // After `c` was indexed: the lane's prediction for `c` becomes its kept plan if `c` joined
  // the queue as predicted on the queue the prediction saw (`version_before`).
  void AdoptPrediction(LaneIndex& lane, const Crossing& c, uint64_t version_before);
  // Drops every lane's kept plan (the capacity or the policy changed).
  void ForgetLanePlans();
  // The active policy (requires mu_).
  const QueuePolicy& Policy() const;
  // The lane's index, or null when no crossing of it was ever indexed.
  const LaneIndex* FindLane(std::string_view direction, std::string_view lane_class) const;
  LaneIndex& Lane(std::string_view direction, std::string_view lane_class) const;
  // The lane's counters, or null when none were put (requires mu_).
  const LaneCounters* CountersLocked(const LaneIndex& lane) const;
  // The capacity of the buckets from the one holding `from` up to `until` (requires mu_).
  std::span<const BucketCapacity> RangeFor(LaneIndex& lane, Timestamp from, Timestamp until) const;
  void Invalidate() { plans_valid_ = false; }
  // Adds (+1) or removes (-1) a crossing's contribution to the booking counters and to the
  // indexes below. `lane` is the crossing's lane when the caller has it (else looked up).
  void CountBooking(const Crossing& c, int delta);
  void IndexCrossing(const Crossing& c, int delta, LaneIndex* lane = nullptr);
  void ClearIndexes();
  static bool HoldsBooking(const Crossing& c);
  static std::string BucketKey(std::string_view direction, std::string_view lane_class,
                               Timestamp bucket);
  void EnsurePlans(Timestamp now) const;  // requires mu_

  const GateConfig config_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, SharedCrossing> crossings_;  // never null
  std::multimap<std::string, std::string> by_plate_;           // canonical plate -> crossing id
  std::vector<CapacityChange> changes_;
  std::shared_ptr<const CapacityPlan> capacity_;
  std::unordered_map<std::string, int> company_bookings_;  // company -> open bookings
  std::unordered_map<std::string, int> bucket_bookings_;   // BucketKey -> bookings
  std::map<std::string, Timestamp> ban_lifted_;            // plate -> when its ban was lifted
  std::map<std::string, QueueBan> bans_;
  std::vector<QueueStrike> strikes_;
  std::map<std::string, PendingPlateRead> reads_;
  std::map<std::string, LaneCounters> lanes_;
  PredictionStats predictions_;
  PredictionStatsTextCache predictions_text_;  // follows predictions_
  std::string policy_;
  mutable std::unique_ptr<QueuePolicy> policy_object_;  // made from policy_ when first needed
  std::set<std::string> trusted_;
  int64_t max_ticket_ = 0;
  // Indexes over crossings_ (maintained by Upsert and Load).
  mutable LaneIndexes lane_index_;
  int yard_count_ = 0;                                          // in_yard or called
  std::set<std::pair<Timestamp, std::string>> call_deadlines_;  // called: (deadline, id)
  std::set<std::pair<Timestamp, std::string>> booked_buckets_;  // booked: (bucket, id)
  std::set<std::string> expected_at_gate_;                      // called
  std::set<std::string> expected_at_yard_;                      // assessed or booked
  // Plan cache.
  mutable bool plans_valid_ = false;
  mutable Timestamp plans_bucket_;
  mutable std::map<std::string, LanePlan> plans_;
  mutable std::unordered_map<std::string, PlannedCall> planned_by_id_;
};

}  // namespace borderflow
