#include "queue_book.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <boost/json/serialize.hpp>
#include <fmt/format.h>

#include <borderflow/core/assert.h>
#include <borderflow/core/json.h>
#include <borderflow/core/json_writer.h>
#include <borderflow/domain/perishable.h>

namespace borderflow {

namespace json = boost::json;

namespace {

Result<Timestamp> TimeField(const JsonObjectReader& r, std::string_view key) {
  BF_ASSIGN_OR_RETURN(std::string text, r.String(key, 40));
  auto t = ParseTimestamp(text);
  if (!t) return t.error().Within(r.PathOf(key));
  return *t;
}

// The position of (ticket, id) in trucks ordered by (ticket, id), as lower_bound.
template <class Trucks>
auto QueuedPosition(Trucks& trucks, int64_t ticket, std::string_view id) {
  return std::lower_bound(trucks.begin(), trucks.end(), std::pair(ticket, id),
                          [](const QueueTruck& t, const std::pair<int64_t, std::string_view>& key) {
                            return std::pair<int64_t, std::string_view>(t.ticket, t.crossing_id) <
                                   key;
                          });
}

// Whether `truck` (a crossing's entry as it would be after its change) plans as the crossing's
// entry in `trucks` (the lane's queue, as `queued` is in it) does: both hold the same booking
// with the same ticket, class and deadlines, and no other truck has that ticket. PlanLane reads
// whether a truck is in the yard only for trucks without a booking (the live queue), and the
// entry keeps its place in the queue's (ticket, id) order, so the plan with `truck` instead of
// the entry is the plan of the queue as it is (a booked truck entering the yard for its slot).
bool SameBooking(const std::vector<QueueTruck>& trucks, const Crossing& queued,
                 const QueueTruck& truck) {
  if (!truck.booked_bucket || queued.id != truck.crossing_id) return false;
  auto it = QueuedPosition(trucks, queued.queue.ticket, queued.id);
  if (it == trucks.end() || it->crossing_id != queued.id) return false;
  const QueueTruck& t = *it;
  if (t.ticket != truck.ticket || t.priority != truck.priority ||
      t.booked_bucket != truck.booked_bucket || t.freshness_deadline != truck.freshness_deadline ||
      t.declaration_valid_until != truck.declaration_valid_until) {
    return false;
  }
  if (it != trucks.begin() && std::prev(it)->ticket == t.ticket) return false;
  if (std::next(it) != trucks.end() && std::next(it)->ticket == t.ticket) return false;
  return true;
}

// Puts a truck that is about to join (or re-join) a lane's queue into it for the lifetime of
// this object, for a plan made as if it had joined; the queue is as it was afterwards.
class ExtraTruckInQueue {
 public:
  // `own`: the crossing's entry in the queue now, if any (it leaves while the joining one is
  // in); `joining`: the truck as it would join, if it joins this lane's queue at all.
  ExtraTruckInQueue(std::vector<QueueTruck>& trucks, const Crossing* own,
                    std::optional<QueueTruck> joining)
      : trucks_(trucks) {
    if (own != nullptr) {
      auto it = QueuedPosition(trucks_, own->queue.ticket, own->id);
      BF_ASSERT(it != trucks_.end() && it->crossing_id == own->id,
                "a booked or in-yard crossing of the book is in its lane's queue");
      own_at_ = static_cast<size_t>(it - trucks_.begin());
      own_ = std::move(*it);
      trucks_.erase(it);
    }
    if (joining) {
      auto at = std::upper_bound(
          trucks_.begin(), trucks_.end(), joining->ticket,
          [](int64_t ticket, const QueueTruck& other) { return ticket < other.ticket; });
      joined_at_ = static_cast<size_t>(at - trucks_.begin());
      trucks_.insert(at, std::move(*joining));
    }
  }
  ~ExtraTruckInQueue() {
    if (joined_at_) trucks_.erase(trucks_.begin() + static_cast<std::ptrdiff_t>(*joined_at_));
    if (own_) {
      trucks_.insert(trucks_.begin() + static_cast<std::ptrdiff_t>(own_at_), std::move(*own_));
    }
  }
  ExtraTruckInQueue(const ExtraTruckInQueue&) = delete;
  ExtraTruckInQueue& operator=(const ExtraTruckInQueue&) = delete;

 private:
  std::vector<QueueTruck>& trucks_;
  std::optional<QueueTruck> own_;
  size_t own_at_ = 0;
  std::optional<size_t> joined_at_;
};

}  // namespace

// --- Records --------------------------------------------------------------------------------

size_t PredictionStats::Add(double abs_error_minutes) {
  double m = std::max(0.0, abs_error_minutes);
  size_t bin = std::min(bins.size() - 1, static_cast<size_t>(std::lround(m)));
  ++bins[bin];
  ++count;
  sum_minutes += m;
  return bin;
}

double PredictionStats::Quantile(double q) const {
  if (count == 0) return 0;
  int64_t rank = static_cast<int64_t>(std::ceil(q * static_cast<double>(count)));
  int64_t seen = 0;
  for (size_t i = 0; i < bins.size(); ++i) {
    seen += bins[i];
    if (seen >= std::max<int64_t>(rank, 1)) return static_cast<double>(i);
  }
  return static_cast<double>(bins.size() - 1);
}

std::string BanKey(const std::string& plate, const std::string& company_id) {
  return company_id.empty() ? plate : plate + "@" + company_id;
}

json::object EncodeBan(const QueueBan& b) {
  json::object o{{"plate", b.plate},
                 {"until", FormatUtc(b.until)},
                 {"reason", b.reason},
                 {"created_at", FormatUtc(b.created_at)},
                 {"created_by", b.created_by}};
  if (!b.company_id.empty()) o["company_id"] = b.company_id;
  return o;
}

Result<QueueBan> DecodeBan(const json::value& v) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, ""));
  QueueBan b;
  BF_ASSIGN_OR_RETURN(b.plate, r.String("plate", 32));
  BF_ASSIGN_OR_RETURN(b.until, TimeField(r, "until"));
  BF_ASSIGN_OR_RETURN(b.reason, r.String("reason", 1000, 0));
  BF_ASSIGN_OR_RETURN(b.created_at, TimeField(r, "created_at"));
  BF_ASSIGN_OR_RETURN(b.created_by, r.String("created_by", 64, 0));
  BF_ASSIGN_OR_RETURN(auto company, r.OptionalString("company_id", 64));
  b.company_id = company.value_or("");
  return b;
}

json::object EncodeStrike(const QueueStrike& s) {
  json::object o{{"plate", s.plate},
                 {"crossing_id", s.crossing_id},
                 {"kind", s.kind},
                 {"at", FormatUtc(s.at)}};
  if (!s.company_id.empty()) o["company_id"] = s.company_id;
  return o;
}

Result<QueueStrike> DecodeStrike(const json::value& v) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, ""));
  QueueStrike s;
  BF_ASSIGN_OR_RETURN(s.plate, r.String("plate", 32));
  BF_ASSIGN_OR_RETURN(s.crossing_id, r.String("crossing_id", 64));
  BF_ASSIGN_OR_RETURN(s.kind, r.String("kind", 32));
  BF_ASSIGN_OR_RETURN(s.at, TimeField(r, "at"));
  BF_ASSIGN_OR_RETURN(auto company, r.OptionalString("company_id", 64));
  s.company_id = company.value_or("");
  return s;
}

json::object EncodePlateRead(const PendingPlateRead& p) {
  json::array candidates;
  for (const auto& c : p.candidates) {
    candidates.push_back(json::object{
        {"crossing_id", c.crossing_id}, {"plate", c.canonical}, {"distance", c.distance}});
  }
  return json::object{
      {"id", p.id},           {"location", p.location},     {"camera", p.camera},
      {"text", p.text},       {"confidence", p.confidence}, {"at", FormatUtc(p.at)},
      {"outcome", p.outcome}, {"reason", p.reason},         {"candidates", std::move(candidates)}};
}

Result<PendingPlateRead> DecodePlateRead(const json::value& v) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, ""));
  PendingPlateRead p;
  BF_ASSIGN_OR_RETURN(p.id, r.String("id", 64));
  BF_ASSIGN_OR_RETURN(p.location, r.String("location", 32));
  BF_ASSIGN_OR_RETURN(p.camera, r.String("camera", 64, 0));
  BF_ASSIGN_OR_RETURN(p.text, r.String("text", 64, 0));
  BF_ASSIGN_OR_RETURN(p.confidence, r.Number("confidence", 0, 1));
  BF_ASSIGN_OR_RETURN(p.at, TimeField(r, "at"));
  BF_ASSIGN_OR_RETURN(p.outcome, r.String("outcome", 32));
  BF_ASSIGN_OR_RETURN(p.reason, r.String("reason", 1000, 0));
  BF_ASSIGN_OR_RETURN(const json::array* candidates, r.Array("candidates", 0, 100));
  for (size_t i = 0; i < candidates->size(); ++i) {
    BF_ASSIGN_OR_RETURN(JsonObjectReader c,
                        JsonObjectReader::Of((*candidates)[i], fmt::format("candidates[{}]", i)));
    PlateCandidate cand;
    BF_ASSIGN_OR_RETURN(cand.crossing_id, c.String("crossing_id", 64));
    BF_ASSIGN_OR_RETURN(cand.canonical, c.String("plate", 32));
    BF_ASSIGN_OR_RETURN(int64_t distance, c.Int("distance", 0, 1000));
    cand.distance = static_cast<int>(distance);
    p.candidates.push_back(std::move(cand));
  }
  return p;
}

json::object EncodeLaneCounters(const LaneCounters& c) {
  return json::object{{"calls_total", c.calls_total},
                      {"bucket", FormatUtc(c.bucket)},
                      {"calls_in_bucket", c.calls_in_bucket},
                      {"occupancy_minutes_ema", c.occupancy_minutes_ema}};
}

Result<LaneCounters> DecodeLaneCounters(const json::value& v) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, ""));
  LaneCounters c;
  BF_ASSIGN_OR_RETURN(c.calls_total, r.Int("calls_total", 0, INT64_MAX));
  BF_ASSIGN_OR_RETURN(c.bucket, TimeField(r, "bucket"));
  BF_ASSIGN_OR_RETURN(int64_t in_bucket, r.Int("calls_in_bucket", 0, 1000000));
  c.calls_in_bucket = static_cast<int>(in_bucket);
  BF_ASSIGN_OR_RETURN(c.occupancy_minutes_ema, r.Number("occupancy_minutes_ema", 0, 1e7));
  return c;
}

json::object EncodePredictionStats(const PredictionStats& s) {
  // Sparse: only the bins in use.
  json::object bins;
  for (size_t i = 0; i < s.bins.size(); ++i) {
    if (s.bins[i] != 0) bins[std::to_string(i)] = s.bins[i];
  }
  return json::object{{"count", s.count}, {"sum_minutes", s.sum_minutes}, {"bins", bins}};
}

namespace {

void AppendInt(std::string& out, int64_t n) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, n);
  out.append(buf, end);
}

// The entry of one bin in use, with the comma that precedes every entry but the first.
void AppendBinEntry(std::string& out, size_t bin, int64_t n) {
  out += ",\"";
  AppendInt(out, static_cast<int64_t>(bin));
  out += "\":";
  AppendInt(out, n);
}

// The statistics' JSON around `bins`, the bins' entries as AppendBinEntry writes them.
std::string PredictionStatsJson(const PredictionStats& s, std::string_view bins) {
  std::string out = R"({"count":)";
  out.reserve(64 + bins.size());
  AppendInt(out, s.count);
  out += R"(,"sum_minutes":)";
  JsonWriter(out).Double(s.sum_minutes);  // as ToJsonText writes a double
  out += R"(,"bins":{)";
  if (!bins.empty()) out += bins.substr(1);  // without the first entry's comma
  out += "}}";
  return out;
}

}  // namespace

std::string PredictionStatsText(const PredictionStats& s) {
  std::string bins;
  for (size_t i = 0; i < s.bins.size(); ++i) {
    if (s.bins[i] != 0) AppendBinEntry(bins, i, s.bins[i]);
  }
  return PredictionStatsJson(s, bins);
}

void PredictionStatsTextCache::Rebuild(const PredictionStats& stats) {
  bins_.clear();
  ends_.assign(stats.bins.size(), 0);
  for (size_t i = 0; i < stats.bins.size(); ++i) {
    if (stats.bins[i] != 0) AppendBinEntry(bins_, i, stats.bins[i]);
    ends_[i] = static_cast<uint32_t>(bins_.size());
  }
  valid_ = true;
}

void PredictionStatsTextCache::BinChanged(const PredictionStats& stats, size_t bin) {
  if (!valid_) return;  // Text() writes it all
  const size_t begin = bin == 0 ? 0 : ends_[bin - 1];
  const size_t old_size = ends_[bin] - begin;
  std::string entry;
  if (stats.bins[bin] != 0) AppendBinEntry(entry, bin, stats.bins[bin]);
  bins_.replace(begin, old_size, entry);
  if (entry.size() != old_size) {  // a new bin, or one more digit: the later entries move
    const auto shift = static_cast<uint32_t>(entry.size() - old_size);  // wraps when shorter
    for (size_t i = bin; i < ends_.size(); ++i) ends_[i] += shift;
  }
}

std::string PredictionStatsTextCache::Text(const PredictionStats& stats) {
  if (!valid_) Rebuild(stats);
  return PredictionStatsJson(stats, bins_);
}

Result<PredictionStats> DecodePredictionStats(const json::value& v) {
  BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, ""));
  PredictionStats s;
  BF_ASSIGN_OR_RETURN(s.count, r.Int("count", 0, INT64_MAX));
  BF_ASSIGN_OR_RETURN(s.sum_minutes, r.Number("sum_minutes", 0, 1e18));
  BF_ASSIGN_OR_RETURN(JsonObjectReader bins, r.Object("bins"));
  for (const auto& kv : bins.object()) {
    size_t index = 0;
    auto key = std::string(kv.key());
    if (key.empty() || key.size() > 5 || !std::all_of(key.begin(), key.end(), ::isdigit) ||
        (index = std::stoul(key)) >= s.bins.size() || !kv.value().is_int64()) {
      return Internal("stored prediction statistics are corrupt");
    }
    s.bins[index] = kv.value().get_int64();
  }
  return s;
}

bool InQueueBook(CrossingState state) {
  switch (state) {
    case CrossingState::kAssessed:
    case CrossingState::kBooked:
    case CrossingState::kInYard:
    case CrossingState::kCalled:
    case CrossingState::kAtGate:
    case CrossingState::kInspecting:
    case CrossingState::kChecked:
    case CrossingState::kReleased:
      return true;
    default:
      return false;
  }
}

bool HoldsLane(CrossingState state) {
  switch (state) {
    case CrossingState::kCalled:
    case CrossingState::kAtGate:
    case CrossingState::kInspecting:
    case CrossingState::kChecked:
    case CrossingState::kReleased:
      return true;
    default:
      return false;
  }
}

// --- QueueBook --------------------------------------------------------------------------------

QueueBook::QueueBook(const GateConfig& config)
    : config_(config),
      capacity_(std::make_shared<CapacityPlan>(config, std::vector<CapacityChange>{})),
      policy_(config.queue.policy),
      trusted_(config.queue.trusted_traders.begin(), config.queue.trusted_traders.end()) {}

bool QueueBook::HoldsBooking(const Crossing& c) {
  return c.queue.booked_bucket &&
         (c.state == CrossingState::kBooked || c.state == CrossingState::kInYard);
}

std::string QueueBook::BucketKey(std::string_view direction, std::string_view lane_class,
                                 Timestamp bucket) {
  return fmt::format("{}/{}@{}", direction, lane_class, ToUnixMillis(bucket));
}

void QueueBook::CountBooking(const Crossing& c, int delta) {
  if (!HoldsBooking(c)) return;
  company_bookings_[c.company_id] += delta;
  bucket_bookings_[BucketKey(c.declaration.direction, c.declaration.lane_class,
                             *c.queue.booked_bucket)] += delta;
}

const QueueBook::LaneIndex* QueueBook::FindLane(std::string_view direction,
                                                std::string_view lane_class) const {
  auto d = lane_index_.find(direction);
  if (d == lane_index_.end()) return nullptr;
  auto lane = d->second.find(lane_class);
  return lane == d->second.end() ? nullptr : &lane->second;
}

QueueBook::LaneIndex& QueueBook::Lane(std::string_view direction,
                                      std::string_view lane_class) const {
  auto d = lane_index_.find(direction);
  if (d == lane_index_.end())
    d = lane_index_.emplace(std::string(direction), LaneIndexes::mapped_type{}).first;
  auto lane = d->second.find(lane_class);
  if (lane == d->second.end()) {
    lane = d->second.emplace(std::string(lane_class), LaneIndex{}).first;
    LaneIndex& made = lane->second;
    made.direction = direction;
    made.lane_class = lane_class;
    made.counters_key = LaneKey(direction, lane_class);
    made.request.direction = direction;
    made.request.lane_class = lane_class;
  }
  return lane->second;
}

const LaneCounters* QueueBook::CountersLocked(const LaneIndex& lane) const {
  auto counters = lanes_.find(lane.counters_key);
  return counters == lanes_.end() ? nullptr : &counters->second;
}

void QueueBook::IndexCrossing(const Crossing& c, int delta, LaneIndex* lane) {
  CountBooking(c, delta);
  const bool add = delta > 0;
  auto index = [add](auto& set, auto key) {
    if (add) {
      set.insert(std::move(key));
    } else {
      set.erase(key);
    }
  };
  const bool queued = c.state == CrossingState::kBooked || c.state == CrossingState::kInYard;
  if (lane == nullptr && (queued || HoldsLane(c.state))) {
    lane = &Lane(c.declaration.direction, c.declaration.lane_class);
  }
  if (HoldsLane(c.state)) lane->occupancy += delta;
  if (queued) {
    std::vector<QueueTruck>& trucks = lane->request.trucks;
    auto it = QueuedPosition(trucks, c.queue.ticket, c.id);
    const bool found =
        it != trucks.end() && it->ticket == c.queue.ticket && it->crossing_id == c.id;
    if (add && found) {
      *it = TruckFor(c);
    } else if (add) {
      trucks.insert(it, TruckFor(c));
    } else if (found) {
      trucks.erase(it);
    }
    ++lane->queued_version;
  }
  if (c.state == CrossingState::kInYard || c.state == CrossingState::kCalled) yard_count_ += delta;
  if (c.state == CrossingState::kCalled) {
    if (c.queue.call_deadline) index(call_deadlines_, std::make_pair(*c.queue.call_deadline, c.id));
    index(expected_at_gate_, c.id);
  }
  if (c.state == CrossingState::kBooked && c.queue.booked_bucket) {
    index(booked_buckets_, std::make_pair(*c.queue.booked_bucket, c.id));
  }
  if (c.state == CrossingState::kAssessed || c.state == CrossingState::kBooked) {
    index(expected_at_yard_, c.id);
  }
}

void QueueBook::ClearIndexes() {
  company_bookings_.clear();
  bucket_bookings_.clear();
  lane_index_.clear();
  yard_count_ = 0;
  call_deadlines_.clear();
  booked_buckets_.clear();
  expected_at_gate_.clear();
  expected_at_yard_.clear();
}

std::string QueueBook::LaneKey(std::string_view direction, std::string_view lane_class) {
  // Made for every counter lookup: appended, not formatted.
  std::string key;
  key.reserve(direction.size() + 1 + lane_class.size());
  key.append(direction).append(1, '/').append(lane_class);
  return key;
}

Status QueueBook::Load(Store& store) {
  std::unordered_map<std::string, SharedCrossing> crossings;
  for (CrossingState state :
       {CrossingState::kAssessed, CrossingState::kBooked, CrossingState::kInYard,
        CrossingState::kCalled, CrossingState::kAtGate, CrossingState::kInspecting,
        CrossingState::kChecked, CrossingState::kReleased}) {
    CrossingFilter filter;
    filter.state = state;
    filter.limit = 200;
    while (true) {
      BF_ASSIGN_OR_RETURN(CrossingPage page, store.ListCrossings(filter));
      for (auto& c : page.items) {
        std::string id = c.id;
        crossings.emplace(std::move(id), std::make_shared<const Crossing>(std::move(c)));
      }
      if (page.next_cursor.empty()) break;
      filter.after = page.next_cursor;
    }
  }
  auto load = [&](std::string_view kind, auto&& decode) -> Status {
    BF_ASSIGN_OR_RETURN(std::vector<StoredRecord> records, store.ListRecords(kind));
    for (const auto& record : records) {
      BF_ASSIGN_OR_RETURN(json::value v, ParseJson(record.body, JsonLimits{16 << 20, 16}));
      Status s = decode(record, v);
      if (!s) {
        return Internal(
            fmt::format("stored {} '{}' is corrupt: {}", kind, record.id, s.error().message));
      }
    }
    return {};
  };
  std::vector<CapacityChange> changes;
  std::map<std::string, QueueBan> bans;
  std::vector<QueueStrike> strikes;
  std::map<std::string, PendingPlateRead> reads;
  std::map<std::string, LaneCounters> lanes;
  PredictionStats predictions;
  std::string policy = config_.queue.policy;
  BF_TRY(load(kCapacityChangeRecord, [&](const StoredRecord&, const json::value& v) -> Status {
    BF_ASSIGN_OR_RETURN(CapacityChange change, DecodeCapacityChange(v));
    changes.push_back(std::move(change));
    return {};
  }));
  // Ids are time-ordered, and the list is read by id: creation order.
  std::stable_sort(changes.begin(), changes.end(),
                   [](const auto& a, const auto& b) { return a.created_at < b.created_at; });
  BF_TRY(load(kBanRecord, [&](const StoredRecord&, const json::value& v) -> Status {
    BF_ASSIGN_OR_RETURN(QueueBan ban, DecodeBan(v));
    std::string key = BanKey(ban.plate, ban.company_id);
    bans[key] = std::move(ban);
    return {};
  }));
  BF_TRY(load(kStrikeRecord, [&](const StoredRecord&, const json::value& v) -> Status {
    BF_ASSIGN_OR_RETURN(QueueStrike strike, DecodeStrike(v));
    strikes.push_back(std::move(strike));
    return {};
  }));
  BF_TRY(load(kPlateReadRecord, [&](const StoredRecord&, const json::value& v) -> Status {
    BF_ASSIGN_OR_RETURN(PendingPlateRead read, DecodePlateRead(v));
    reads[read.id] = std::move(read);
    return {};
  }));
  BF_TRY(load(kLaneRecord, [&](const StoredRecord& record, const json::value& v) -> Status {
    BF_ASSIGN_OR_RETURN(LaneCounters counters, DecodeLaneCounters(v));
    lanes[record.id] = counters;
    return {};
  }));
  BF_TRY(load(kSettingRecord, [&](const StoredRecord& record, const json::value& v) -> Status {
    if (record.id == "queue_policy" && v.is_object() && v.as_object().contains("policy") &&
        v.as_object().at("policy").is_string()) {
      policy = std::string(v.as_object().at("policy").get_string());
    } else if (record.id == "prediction_stats") {
      BF_ASSIGN_OR_RETURN(predictions, DecodePredictionStats(v));
    }
    return {};
  }));
  std::sort(strikes.begin(), strikes.end(),
            [](const auto& a, const auto& b) { return a.at < b.at; });

  std::map<std::string, Timestamp> lifts;
  BF_TRY(load(kBanLiftRecord, [&](const StoredRecord& record, const json::value& v) -> Status {
    BF_ASSIGN_OR_RETURN(JsonObjectReader r, JsonObjectReader::Of(v, ""));
    BF_ASSIGN_OR_RETURN(lifts[record.id], TimeField(r, "at"));
    return {};
  }));

  std::lock_guard lock(mu_);
  crossings_.clear();
  by_plate_.clear();
  ClearIndexes();
  max_ticket_ = 0;
  for (auto& [id, c] : crossings) {
    by_plate_.emplace(c->declaration.vehicle.plate.canonical, id);
    max_ticket_ = std::max(max_ticket_, c->queue.ticket);
    IndexCrossing(*c, +1);
  }
  ban_lifted_ = std::move(lifts);
  capacity_ = std::make_shared<CapacityPlan>(config_, changes);
  crossings_ = std::move(crossings);
  changes_ = std::move(changes);
  bans_ = std::move(bans);
  strikes_ = std::move(strikes);
  reads_ = std::move(reads);
  lanes_ = std::move(lanes);
  predictions_ = std::move(predictions);
  predictions_text_.Reset();
  policy_ = std::move(policy);
  policy_object_.reset();
  Invalidate();  // (ClearIndexes dropped the lanes' kept plans)
  return {};
}

void QueueBook::Upsert(const SharedCrossing& shared) {
  const Crossing& c = *shared;
  std::lock_guard lock(mu_);
  LaneIndex& lane = Lane(c.declaration.direction, c.declaration.lane_class);
  const uint64_t version_before = lane.queued_version;
  const bool in_book = InQueueBook(c.state);
  const std::string& plate = c.declaration.vehicle.plate.canonical;
  auto it = crossings_.find(c.id);
  // A truck called from its lane's queue: as it was queued (TakeCallOnKeptPlan).
  std::optional<QueueTruck> called_from_queue;
  // Most changes keep a crossing in its lane: the lane looked up above is then its old lane too.
  const bool same_lane = it != crossings_.end() &&
                         it->second->declaration.direction == c.declaration.direction &&
                         it->second->declaration.lane_class == c.declaration.lane_class;
  if (same_lane && c.state == CrossingState::kCalled && c.queue.called_at &&
      it->second->state == CrossingState::kInYard) {
    called_from_queue = TruckFor(*it->second);
  }
  if (it != crossings_.end()) {
    const std::string& old_plate = it->second->declaration.vehicle.plate.canonical;
    if (!in_book || old_plate != plate) {
      auto range = by_plate_.equal_range(old_plate);
      for (auto p = range.first; p != range.second; ++p) {
        if (p->second == c.id) {
          by_plate_.erase(p);
          break;
        }
      }
      if (in_book) by_plate_.emplace(plate, c.id);
    }
    IndexCrossing(*it->second, -1, same_lane ? &lane : nullptr);
    if (in_book) {
      it->second = shared;  // in place: most changes of a crossing keep it in the book
    } else {
      crossings_.erase(it);
    }
  } else if (in_book) {
    crossings_.emplace(c.id, shared);
    by_plate_.emplace(plate, c.id);
  }
  if (in_book) {
    IndexCrossing(c, +1, &lane);
    max_ticket_ = std::max(max_ticket_, c.queue.ticket);
  }
  if (called_from_queue) TakeCallOnKeptPlan(lane, *called_from_queue, c, version_before);
  AdoptPrediction(lane, c, version_before);
  Invalidate();
}

void QueueBook::TakeCallOnKeptPlan(LaneIndex& lane, const QueueTruck& queued, const Crossing& c,
                                   uint64_t version_before) {
  if (lane.plan == nullptr || lane.plan_key.queued_version != version_before) return;
  // The call's counters are in (the engine puts them before the crossing): the plan after it
  // is keyed by one more call in the bucket and in the cycle, and the queue without the truck.
  LaneIndex::PlanKey expected = lane.plan_key;
  expected.queued_version = lane.queued_version;
  ++expected.calls_in_current_bucket;
  ++expected.cyclic_phase;
  const LaneIndex::PlanKey key = PlanKeyFor(lane, *c.queue.called_at);
  if (!(key == expected)) return;
  if (lane.plan.use_count() == 1) {
    if (!TakeFirstCall(Policy(), queued, lane.request.trucks, *lane.plan)) return;
  } else {
    auto plan = std::make_shared<LanePlan>(*lane.plan);
    if (!TakeFirstCall(Policy(), queued, lane.request.trucks, *plan)) return;
    lane.plan = std::move(plan);
  }
  lane.plan_key = key;
}

void QueueBook::AddCapacityChange(const CapacityChange& change) {
  std::lock_guard lock(mu_);
  changes_.push_back(change);
  capacity_ = std::make_shared<CapacityPlan>(config_, changes_);
  for (auto& [direction, lanes] : lane_index_) {
    for (auto& [lane_class, lane] : lanes) lane.range.clear();
  }
  ForgetLanePlans();
  Invalidate();
}

void QueueBook::ForgetLanePlans() {
  for (auto& [direction, lanes] : lane_index_) {
    for (auto& [lane_class, lane] : lanes) {
      lane.plan.reset();
      lane.prediction.reset();
    }
  }
}

const QueuePolicy& QueueBook::Policy() const {
  if (!policy_object_) {
    auto policy = MakeQueuePolicy(policy_, config_.queue);
    BF_ASSERT(policy.has_value(), "the configured policy exists");
    policy_object_ = std::move(*policy);
  }
  return *policy_object_;
}

void QueueBook::PutBan(const QueueBan& ban) {
  std::lock_guard lock(mu_);
  bans_[BanKey(ban.plate, ban.company_id)] = ban;
}

void QueueBook::LiftBan(const std::string& plate, Timestamp at) {
  std::lock_guard lock(mu_);
  for (auto it = bans_.begin(); it != bans_.end();) {
    it = it->second.plate == plate ? bans_.erase(it) : std::next(it);
  }
  ban_lifted_[plate] = at;
}

void QueueBook::AddStrike(const QueueStrike& strike) {
  std::lock_guard lock(mu_);
  strikes_.push_back(strike);
}

void QueueBook::PutPlateRead(const PendingPlateRead& read) {
  std::lock_guard lock(mu_);
  reads_[read.id] = read;
}

void QueueBook::RemovePlateRead(const std::string& id) {
  std::lock_guard lock(mu_);
  reads_.erase(id);
}

void QueueBook::PutLaneCounters(const std::string& lane_key, const LaneCounters& counters) {
  std::lock_guard lock(mu_);
  lanes_[lane_key] = counters;
  Invalidate();
}

void QueueBook::PutPredictionStats(const PredictionStats& stats) {
  std::lock_guard lock(mu_);
  predictions_ = stats;
  predictions_text_.Reset();
}

std::string QueueBook::AddPrediction(double abs_error_minutes) {
  std::lock_guard lock(mu_);
  predictions_text_.BinChanged(predictions_, predictions_.Add(abs_error_minutes));
  return predictions_text_.Text(predictions_);
}

void QueueBook::SetPolicy(const std::string& policy) {
  std::lock_guard lock(mu_);
  policy_ = policy;
  policy_object_.reset();
  ForgetLanePlans();
  Invalidate();
}

std::string QueueBook::policy() const {
  std::lock_guard lock(mu_);
  return policy_;
}

std::shared_ptr<const CapacityPlan> QueueBook::Capacity() const {
  std::lock_guard lock(mu_);
  return capacity_;
}

std::optional<Crossing> QueueBook::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = crossings_.find(id);
  if (it == crossings_.end()) return std::nullopt;
  return *it->second;
}

std::optional<CrossingState> QueueBook::StateOf(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = crossings_.find(id);
  if (it == crossings_.end()) return std::nullopt;
  return it->second->state;
}

std::optional<QueueBan> QueueBook::BanFor(const std::string& plate, const std::string& company_id,
                                          Timestamp now) const {
  std::lock_guard lock(mu_);
  for (const std::string& key : {plate, BanKey(plate, company_id)}) {
    auto it = bans_.find(key);
    if (it != bans_.end() && it->second.until > now) return it->second;
  }
  return std::nullopt;
}

std::vector<std::string> QueueBook::BansOn(const std::string& plate, Timestamp now) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> keys;
  for (const auto& [key, ban] : bans_) {
    if (ban.plate == plate && ban.until > now) keys.push_back(key);
  }
  return keys;
}

int QueueBook::StrikesSince(const std::string& plate, const std::string& company_id,
                            Timestamp since) const {
  std::lock_guard lock(mu_);
  if (auto lifted = ban_lifted_.find(plate); lifted != ban_lifted_.end()) {
    since = std::max(since, lifted->second);
  }
  // A strike recorded before strikes named their company counts for every company.
  return static_cast<int>(std::count_if(strikes_.begin(), strikes_.end(), [&](const auto& s) {
    return s.plate == plate && s.at >= since &&
           (s.company_id == company_id || s.company_id.empty());
  }));
}

std::vector<QueueStrike> QueueBook::Strikes() const {
  std::lock_guard lock(mu_);
  return strikes_;
}

std::vector<QueueBan> QueueBook::Bans() const {
  std::lock_guard lock(mu_);
  std::vector<QueueBan> out;
  for (const auto& [plate, ban] : bans_) out.push_back(ban);
  return out;
}

std::optional<PendingPlateRead> QueueBook::PlateRead(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = reads_.find(id);
  if (it == reads_.end()) return std::nullopt;
  return it->second;
}

std::vector<PendingPlateRead> QueueBook::PlateReads() const {
  std::lock_guard lock(mu_);
  std::vector<PendingPlateRead> out;
  for (const auto& [id, read] : reads_) out.push_back(read);
  return out;
}

LaneCounters QueueBook::Counters(const std::string& lane_key) const {
  std::lock_guard lock(mu_);
  auto it = lanes_.find(lane_key);
  return it == lanes_.end() ? LaneCounters{} : it->second;
}

PredictionStats QueueBook::Predictions() const {
  std::lock_guard lock(mu_);
  return predictions_;
}

int64_t QueueBook::NextTicket() const {
  std::lock_guard lock(mu_);
  return max_ticket_ + 1;
}

std::optional<QueueBook::OpenCrossingRef> QueueBook::OtherWithPlate(
    const std::string& plate, const std::string& except_id) const {
  std::lock_guard lock(mu_);
  auto range = by_plate_.equal_range(plate);
  for (auto it = range.first; it != range.second; ++it) {
    if (it->second == except_id) continue;
    const Crossing& c = *crossings_.at(it->second);
    if (c.state != CrossingState::kAssessed) return OpenCrossingRef{it->second, c.company_id};
  }
  return std::nullopt;
}

int QueueBook::OpenBookings(const std::string& company_id, const std::string& except_id) const {
  std::lock_guard lock(mu_);
  auto it = company_bookings_.find(company_id);
  int n = it == company_bookings_.end() ? 0 : it->second;
  auto except = crossings_.find(except_id);
  if (except != crossings_.end() && except->second->company_id == company_id &&
      HoldsBooking(*except->second)) {
    --n;
  }
  return n;
}

int QueueBook::BookingsIn(std::string_view direction, std::string_view lane_class, Timestamp bucket,
                          const std::string& except_id) const {
  std::lock_guard lock(mu_);
  auto it = bucket_bookings_.find(BucketKey(direction, lane_class, bucket));
  int n = it == bucket_bookings_.end() ? 0 : it->second;
  auto except = crossings_.find(except_id);
  if (except != crossings_.end() && HoldsBooking(*except->second) &&
      except->second->queue.booked_bucket == bucket &&
      except->second->declaration.direction == direction &&
      except->second->declaration.lane_class == lane_class) {
    --n;
  }
  return n;
}

int QueueBook::YardCount() const {
  std::lock_guard lock(mu_);
  return yard_count_;
}

int QueueBook::LaneOccupancy(std::string_view direction, std::string_view lane_class) const {
  std::lock_guard lock(mu_);
  const LaneIndex* lane = FindLane(direction, lane_class);
  return lane == nullptr ? 0 : lane->occupancy;
}

int QueueBook::CallsInBucket(std::string_view direction, std::string_view lane_class,
                             Timestamp now) const {
  LaneCounters c = Counters(LaneKey(direction, lane_class));
  Timestamp bucket = Capacity()->BucketStart(now);
  return c.bucket == bucket ? c.calls_in_bucket : 0;
}

std::vector<ExpectedPlate> QueueBook::ExpectedAt(std::string_view location) const {
  std::lock_guard lock(mu_);
  const std::set<std::string>& ids = location == "gate" ? expected_at_gate_ : expected_at_yard_;
  std::vector<ExpectedPlate> out;
  out.reserve(ids.size());
  for (const std::string& id : ids) {  // in id order
    out.push_back(ExpectedPlate{id, crossings_.at(id)->declaration.vehicle.plate.canonical});
  }
  return out;
}

std::vector<std::string> QueueBook::MissedCalls(Timestamp now) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  for (const auto& [deadline, id] : call_deadlines_) {
    if (!(deadline < now)) break;
    out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<std::string> QueueBook::LapsedBookings(Timestamp now) const {
  std::lock_guard lock(mu_);
  std::vector<std::string> out;
  // (A booking that a capacity drop moved carries its new bucket: see Engine::RecordReplan.)
  for (const auto& [bucket, id] : booked_buckets_) {
    if (!(bucket + config_.queue.bucket + config_.queue.late_arrival < now)) break;
    out.push_back(id);
  }
  std::sort(out.begin(), out.end());
  return out;
}

QueueTruck QueueBook::TruckFor(const Crossing& c) const {
  const LaneClass* lc = config_.FindLaneClass(c.declaration.lane_class);
  // Perishable as the risk rules see it too (IsPerishableLoad): in a perishable lane class, or
  // a load of perishable goods with a freshness deadline in another lane (a gate whose fresh
  // fruit shares the general-cargo lane). A freshness deadline on other goods is the
  // declarant's statement, kept with the crossing, but it buys no priority and no deadline
  // call in the queue.
  bool perishable = IsPerishableLoad(c.declaration, lc);
  bool trusted = trusted_.contains(c.company_id);
  QueueTruck t;
  t.crossing_id = c.id;
  t.priority = perishable
                   ? (trusted ? PriorityClass::kTrustedPerishable : PriorityClass::kPerishable)
                   : (trusted ? PriorityClass::kTrusted : PriorityClass::kRegular);
  t.ticket = c.queue.ticket;
  t.in_yard = c.state == CrossingState::kInYard;
  t.booked_bucket = c.queue.booked_bucket;
  if (perishable) t.freshness_deadline = c.declaration.freshness_deadline;
  t.declaration_valid_until = c.declaration_valid_until;
  return t;
}

LanePlan QueueBook::Plan(std::string_view direction, std::string_view lane_class, Timestamp now,
                         const Crossing* extra) const {
  std::lock_guard lock(mu_);
  LaneIndex& lane = Lane(direction, lane_class);
  if (extra == nullptr) return *CachedPlanLocked(lane, now);
  return PlanLocked(lane, now, extra);
}

std::shared_ptr<const LanePlan> QueueBook::SharedPlan(std::string_view direction,
                                                      std::string_view lane_class, Timestamp now,
                                                      const Crossing* extra) const {
  std::lock_guard lock(mu_);
  LaneIndex& lane = Lane(direction, lane_class);
  if (extra == nullptr) return CachedPlanLocked(lane, now);
  if (!(extra->declaration.direction == direction && extra->declaration.lane_class == lane_class &&
        (extra->state == CrossingState::kBooked || extra->state == CrossingState::kInYard))) {
    return std::make_shared<const LanePlan>(PlanLocked(lane, now, extra));
  }
  QueueTruck truck = TruckFor(*extra);
  const LaneIndex::PlanKey key = PlanKeyFor(lane, now);
  std::shared_ptr<LanePlan> plan = JoinKeptPlanLocked(lane, now, key, truck);
  if (plan == nullptr) plan = std::make_shared<LanePlan>(PlanLocked(lane, now, extra));
  lane.prediction = LaneIndex::Prediction{std::move(truck), lane.queued_version, key, plan};
  return plan;
}

std::shared_ptr<LanePlan> QueueBook::JoinKeptPlanLocked(LaneIndex& lane, Timestamp now,
                                                        const LaneIndex::PlanKey& key,
                                                        const QueueTruck& truck) const {
  if (!KeptPlanCurrentLocked(lane, now, key)) return nullptr;
  // The crossing must not be in the queue yet (a booked truck entering the yard is), and join
  // behind every queued truck as a live truck (PlanJoining checks).
  if (auto it = crossings_.find(truck.crossing_id);
      it != crossings_.end() && it->second->declaration.direction == lane.direction &&
      it->second->declaration.lane_class == lane.lane_class &&
      (it->second->state == CrossingState::kBooked ||
       it->second->state == CrossingState::kInYard)) {
    // A booked truck entering the yard for its slot: the kept plan is its plan (SameBooking).
    if (SameBooking(lane.request.trucks, *it->second, truck)) return lane.plan;
    return nullptr;
  }
  const PlanRequest& request = RequestLocked(lane, now);
  std::optional<JoiningCall> call = PlanJoining(
      *capacity_, Policy(), request, RangeFor(lane, request.now, request.horizon_end), truck);
  if (!call) return nullptr;
  std::shared_ptr<LanePlan> plan;
  if (lane.plan.use_count() == 1) {
    // Nobody else holds the kept plan: it becomes this plan, and the lane keeps none until
    // the truck joins (AdoptPrediction) or the next plan is made.
    plan = std::move(lane.plan);
  } else {
    plan = std::make_shared<LanePlan>(*lane.plan);
  }
  AddJoiningCall(*plan, *call);
  return plan;
}

void QueueBook::AdoptPrediction(LaneIndex& lane, const Crossing& c, uint64_t version_before) {
  if (!lane.prediction) return;
  LaneIndex::Prediction prediction = std::move(*lane.prediction);
  lane.prediction.reset();
  const QueueTruck& p = prediction.truck;
  if (p.crossing_id != c.id || prediction.base_version != version_before) return;
  // The plan with `extra` listed the other queued trucks in (ticket, id) order and put `extra`
  // after those with a ticket not above its own: the queue now holds the same list if the
  // truck is the same and no other truck has its ticket.
  const std::vector<QueueTruck>& trucks = lane.request.trucks;
  auto it = QueuedPosition(trucks, c.queue.ticket, c.id);
  if (it == trucks.end() || it->ticket != c.queue.ticket || it->crossing_id != c.id) return;
  const QueueTruck& t = *it;
  if (t.priority != p.priority || t.ticket != p.ticket || t.in_yard != p.in_yard ||
      t.booked_bucket != p.booked_bucket || t.freshness_deadline != p.freshness_deadline ||
      t.declaration_valid_until != p.declaration_valid_until) {
    return;
  }
  if (it != trucks.begin() && std::prev(it)->ticket == t.ticket) return;
  if (std::next(it) != trucks.end() && std::next(it)->ticket == t.ticket) return;
  lane.plan = std::move(prediction.plan);
  lane.plan_key = prediction.key;
  lane.plan_key.queued_version = lane.queued_version;
}

PlanRequest& QueueBook::RequestLocked(LaneIndex& lane, Timestamp now) const {
  PlanRequest& request = lane.request;  // (its direction and lane class set when it was made)
  request.now = now;
  request.horizon_end = now + config_.queue.booking_horizon + config_.queue.bucket;
  request.calls_in_current_bucket = 0;
  request.cyclic_phase = 0;
  if (const LaneCounters* counters = CountersLocked(lane)) {
    Timestamp bucket = capacity_->BucketStart(now);
    request.calls_in_current_bucket = counters->bucket == bucket ? counters->calls_in_bucket : 0;
    request.cyclic_phase = counters->calls_total;
  }
  return request;
}

LanePlan QueueBook::PlanLocked(LaneIndex& lane, Timestamp now, const Crossing* extra) const {
  PlanRequest& request = RequestLocked(lane, now);
  if (extra == nullptr) {
    return PlanLane(*capacity_, Policy(), request,
                    RangeFor(lane, request.now, request.horizon_end));
  }
  const std::string& direction = lane.direction;
  const std::string& lane_class = lane.lane_class;
  // With `extra`: its own entry, if it has one in this lane, leaves the queue, and `extra` as
  // it would be joins it after the trucks with a ticket not above its own; both only while
  // this plan is made.
  std::optional<QueueTruck> joining;
  if (extra->declaration.direction == direction && extra->declaration.lane_class == lane_class &&
      (extra->state == CrossingState::kBooked || extra->state == CrossingState::kInYard)) {
    joining = TruckFor(*extra);
  }
  const Crossing* own = nullptr;
  if (auto it = crossings_.find(extra->id); it != crossings_.end() &&
                                            it->second->declaration.direction == direction &&
                                            it->second->declaration.lane_class == lane_class &&
                                            (it->second->state == CrossingState::kBooked ||
                                             it->second->state == CrossingState::kInYard)) {
    own = it->second.get();
  }
  ExtraTruckInQueue in_queue(request.trucks, own, std::move(joining));
  return PlanLane(*capacity_, Policy(), request, RangeFor(lane, request.now, request.horizon_end));
}

QueueBook::LaneIndex::PlanKey QueueBook::PlanKeyFor(const LaneIndex& lane, Timestamp now) const {
  // What RequestFor and RangeFor make of `now` (PlanLane reads `now` only through the current
  // bucket and the range; policies do not read it).
  const CapacityPlan& capacity = *capacity_;
  const Duration bucket = capacity.bucket();
  LaneIndex::PlanKey key;
  key.queued_version = lane.queued_version;
  key.first = capacity.BucketStart(now);
  const Timestamp horizon_end = now + config_.queue.booking_horizon + config_.queue.bucket;
  key.buckets =
      key.first >= horizon_end ? 0 : (horizon_end - key.first + bucket - Duration(1)) / bucket;
  if (const LaneCounters* counters = CountersLocked(lane)) {
    key.calls_in_current_bucket = counters->bucket == key.first ? counters->calls_in_bucket : 0;
    key.cyclic_phase = counters->calls_total;
  }
  return key;
}

std::shared_ptr<const LanePlan> QueueBook::CachedPlanLocked(LaneIndex& lane, Timestamp now) const {
  LaneIndex::PlanKey key = PlanKeyFor(lane, now);
  if (!KeptPlanCurrentLocked(lane, now, key)) {
    lane.plan = std::make_shared<LanePlan>(PlanLocked(lane, now, nullptr));
    lane.plan_key = key;
  }
  return lane.plan;
}

bool QueueBook::KeptPlanCurrentLocked(LaneIndex& lane, Timestamp now,
                                      const LaneIndex::PlanKey& key) const {
  if (lane.plan == nullptr) return false;
  if (lane.plan_key == key) return true;
  // Only time moved on: the same queue and cycle, a later bucket (where no call is made yet)
  // or a longer horizon.
  const LaneIndex::PlanKey& kept = lane.plan_key;
  if (kept.queued_version != key.queued_version || kept.cyclic_phase != key.cyclic_phase ||
      key.first < kept.first ||
      (key.first == kept.first && key.calls_in_current_bucket != kept.calls_in_current_bucket)) {
    return false;
  }
  const PlanRequest& request = RequestLocked(lane, now);
  std::span<const BucketCapacity> range = RangeFor(lane, request.now, request.horizon_end);
  if (lane.plan.use_count() == 1) {
    if (!MovePlanOn(*capacity_, Policy(), request, range, *lane.plan)) return false;
  } else {
    auto plan = std::make_shared<LanePlan>(*lane.plan);
    if (!MovePlanOn(*capacity_, Policy(), request, range, *plan)) return false;
    lane.plan = std::move(plan);
  }
  lane.plan_key = key;
  return true;
}

std::span<const BucketCapacity> QueueBook::RangeFor(LaneIndex& lane, Timestamp from,
                                                    Timestamp until) const {
  const CapacityPlan& capacity = *capacity_;
  const Duration bucket = capacity.bucket();
  const Timestamp first = capacity.BucketStart(from);
  if (first >= until) return {};
  const int64_t count = (until - first + bucket - Duration(1)) / bucket;
  const auto cached = static_cast<int64_t>(lane.range.size());
  if (cached == 0 || first < lane.range_first ||
      first + bucket * count > lane.range_first + bucket * cached) {
    // A day more than asked for: the next plans of the lane start in the buckets that follow.
    // Every bucket's capacity depends only on its own start and the plan's changes, so a longer
    // range holds the same values as the one asked for.
    constexpr int64_t kSpare = 96;
    lane.range_first = first;
    lane.range =
        capacity.Range(lane.direction, lane.lane_class, first, first + bucket * (count + kSpare));
  }
  const auto offset = static_cast<size_t>((first - lane.range_first) / bucket);
  BF_ASSERT(offset + static_cast<size_t>(count) <= lane.range.size(),
            "the cached range covers the buckets asked for");
  return std::span<const BucketCapacity>(lane.range).subspan(offset, static_cast<size_t>(count));
}

std::map<std::string, LanePlan> QueueBook::Plans(Timestamp now) const {
  std::lock_guard lock(mu_);
  EnsurePlans(now);
  return plans_;
}

void QueueBook::EnsurePlans(Timestamp now) const {
  const CapacityPlan& capacity = *capacity_;
  Timestamp bucket = capacity.BucketStart(now);
  if (!plans_valid_ || plans_bucket_ != bucket) {
    plans_.clear();
    planned_by_id_.clear();
    for (const auto& d : config_.directions) {
      for (const auto& [lane_class, lanes] : d.lanes) {
        std::shared_ptr<const LanePlan> plan = CachedPlanLocked(Lane(d.id, lane_class), now);
        for (const auto& call : plan->calls) planned_by_id_[call.crossing_id] = call;
        plans_[LaneKey(d.id, lane_class)] = *plan;
      }
    }
    plans_valid_ = true;
    plans_bucket_ = bucket;
  }
}

std::optional<PlannedCall> QueueBook::PlannedCallFor(const std::string& id, Timestamp now) const {
  std::lock_guard lock(mu_);
  EnsurePlans(now);
  auto it = planned_by_id_.find(id);
  if (it == planned_by_id_.end()) return std::nullopt;
  return it->second;
}

double QueueBook::SlownessFactor(std::string_view direction, std::string_view lane_class) const {
  LaneCounters c = Counters(LaneKey(direction, lane_class));
  if (c.occupancy_minutes_ema <= 0) return 1.0;
  double planned =
      std::chrono::duration<double, std::ratio<60>>(config_.queue.ServiceTime(lane_class)).count();
  return std::clamp(c.occupancy_minutes_ema / planned, 1.0, 10.0);
}

}  // namespace borderflow
