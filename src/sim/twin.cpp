#include <algorithm>
#include <cmath>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>
#include <unistd.h>

#include <borderflow/core/clock.h>
#include <borderflow/core/random.h>
#include <borderflow/engine/engine.h>
#include <borderflow/queue/capacity.h>
#include <borderflow/queue/planner.h>
#include <borderflow/sim/arrivals.h>
#include <borderflow/sim/event_queue.h>
#include <borderflow/sim/twin.h>
#include <borderflow/store/memory_store.h>
#include <borderflow/store/sqlite_store.h>

namespace borderflow::sim {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

// Where a truck is, as the twin sees it.
enum class Stage : uint8_t {
  kComing,   // declared (or about to be), not at the border yet
  kRoad,     // at the border, the staging yard is full
  kYard,     // in the staging yard, waiting for its call
  kRefused,  // at the border, but the engine refused its declaration (no lanes of its class...):
             // it cannot be served, and waits on the road until the run ends
  kCalled,   // called, driving to the gate (holds a lane)
  kAtGate,   // being checked or inspected (holds a lane)
  kCrossed,  // done
  kLeft,     // left without crossing (spoiled load, booking never used)
};

enum class EventKind : uint8_t {
  kDeclare,
  kArrive,
  kTick,
  kSample,
  kCapacity,
  kAtGate,
  kServiceDone,
  kFreshness,
  kExpiry,
  kDeadline,  // a call window or a booking's lateness runs out: the next tick has work
};

struct EventData {
  EventKind kind = EventKind::kTick;
  uint32_t index = 0;       // truck or capacity event
  uint32_t generation = 0;  // events of an earlier generation of the truck are stale
};

struct Truck {
  TruckArrival arrival;
  Stage stage = Stage::kComing;
  uint32_t generation = 0;
  std::string crossing_id;
  Plate plate;
  std::string company;
  Channel channel = Channel::kNone;
  bool quarantine = false;
  bool inspecting = false;
  bool spoiled = false;
  bool no_show_pending = false;  // called, will not come (the engine requeues it)
  bool refused = false;          // the engine refused its declaration (see Stage::kRefused)
  int priority = 3;              // index into kPriorityClassNames
  double called_at = 0;
  std::optional<double> predicted_call;  // seconds since start
  Timestamp declared_at;
};

std::string LaneKey(std::string_view direction, std::string_view lane_class) {
  return fmt::format("{}/{}", direction, lane_class);
}

// A unique, valid plate per truck: Vietnamese for trucks leaving Vietnam, Chinese otherwise.
Result<Plate> PlateFor(uint32_t index, bool vietnamese) {
  if (vietnamese) {
    static constexpr int kProvinces[] = {12, 11, 14, 24, 29, 30, 51, 15, 34, 36};
    static constexpr char kSeries[] = {'C', 'D', 'H', 'K'};
    uint32_t digits = index % 100000;
    uint32_t block = index / 100000;
    int province = kProvinces[block % 10];
    char series = kSeries[(block / 10) % 4];
    return ParsePlate(
        fmt::format("{:02d}{}-{:03d}.{:02d}", province, series, digits / 100, digits % 100));
  }
  static constexpr char kAuthority[] = {'A', 'B', 'C', 'D', 'E', 'F', 'G',
                                        'H', 'J', 'K', 'L', 'M', 'N', 'P'};
  uint32_t digits = index % 100000;
  char authority = kAuthority[(index / 100000) % 14];
  return ParsePlate(fmt::format("桂{}·{:05d}", authority, digits));
}

// Takes a store that the process frees only by exiting (TwinOptions::keep_store_until_exit).
// The list is never destroyed, and keeps what it holds reachable.
void KeepUntilExit(std::unique_ptr<Store> store) {
  if (store == nullptr) return;
  static std::mutex mu;
  static auto* kept = new std::vector<std::unique_ptr<Store>>();
  std::lock_guard lock(mu);
  kept->push_back(std::move(store));
}

class Twin {
 public:
  Twin(const Scenario& scenario, const TwinOptions& options)
      : scenario_(scenario),
        options_(options),
        clock_(scenario.start),
        engine_random_(options.seed),
        customs_{"U-SIM-CUSTOMS", "sim-customs", Role::kCustomsOfficer, ""},
        quarantine_{"U-SIM-QUARANTINE", "sim-quarantine", Role::kQuarantineOfficer, ""},
        camera_{"U-SIM-CAMERA", "sim-camera", Role::kSensor, ""},
        guard_{"U-SIM-GUARD", "sim-guard", Role::kBorderGuard, ""},
        operator_{"U-SIM-OPERATOR", "sim-operator", Role::kGateOperator, ""},
        admin_{"U-SIM-ADMIN", "sim-admin", Role::kAdministrator, ""} {}

  ~Twin() {
    engine_.reset();
    if (options_.keep_store_until_exit && temp_dir_.empty()) KeepUntilExit(std::move(store_));
    store_.reset();
    if (!temp_dir_.empty()) {
      std::error_code ec;
      fs::remove_all(temp_dir_, ec);
    }
  }

  Result<TwinResult> Run();

 private:
  Status Setup();
  SimTime Seconds(Timestamp t) const {
    return std::chrono::duration<double>(t - scenario_.start).count();
  }
  Timestamp At(SimTime s) const {
    return scenario_.start + Duration(static_cast<int64_t>(std::llround(s * 1000)));
  }
  // Runs a command at the current virtual time. A refusal counts as a command error, unless
  // `may_refuse` (a booking the engine may decline: the truck then joins the live queue).
  Result<CommandResult> Exec(const Actor& actor, CommandBody body, bool may_refuse = false);
  Status ExecEvent(Truck& t, const Actor& actor, CrossingEventType type, json::object data = {});
  const Actor& Forwarder(const std::string& company);
  RandomStream TruckStream(uint32_t index, std::string_view what) const {
    return RandomStream(options_.seed ^ (0x9e3779b97f4a7c15ULL * (index + 1)), what);
  }

  void OnDeclare(uint32_t i);
  bool Declare(uint32_t i);
  void OnArrive(uint32_t i);
  void EnterYard(uint32_t i);
  void AdmitFromRoad();
  void OnTick();
  void OnCalled(uint32_t i, const Crossing& c);
  void OnAtGate(uint32_t i);
  void OnServiceDone(uint32_t i);
  void OnFreshness(uint32_t i);
  void OnExpiry(uint32_t i);
  void Sample();
  void Finish();
  void Schedule(double at, EventKind kind, uint32_t index = 0, uint32_t generation = 0) {
    if (at < events_.now()) at = events_.now();
    events_.Schedule(at, EventData{kind, index, generation});
  }
  int Day(SimTime s) const {
    return std::clamp(static_cast<int>(s / 86400), 0, scenario_.days - 1);
  }
  double OutageFactor(Timestamp now) const {
    double f = 1;
    for (const auto& o : scenario_.link_outages) {
      if (now >= o.from && now < o.until) f = std::max(f, o.service_factor);
    }
    return f;
  }
  bool Waiting(const Truck& t) const {
    return t.stage == Stage::kRoad || t.stage == Stage::kYard || t.stage == Stage::kRefused;
  }
  bool OnRoad(const Truck& t) const {
    return t.stage == Stage::kRoad || t.stage == Stage::kRefused;
  }
  // The engine refused the truck's declaration: it still comes to the border, and waits there.
  void Refuse(uint32_t i, const Error& e) {
    trucks_[i].refused = true;
    ++result_.trucks_refused;
    ++result_.refused_by_code[e.code];
  }
  void SetStage(Truck& t, Stage s) {
    if (Waiting(t)) {
      --waiting_;
      if (scenario_.traffic[t.arrival.traffic].perishable) --perishable_waiting_;
    }
    if (OnRoad(t)) --road_;
    if (t.stage == Stage::kYard) --yard_waiting_;
    if (t.stage == Stage::kCalled) --yard_called_;
    if (t.stage == Stage::kCalled || t.stage == Stage::kAtGate) --in_lanes_;
    t.stage = s;
    if (Waiting(t)) {
      ++waiting_;
      if (scenario_.traffic[t.arrival.traffic].perishable) ++perishable_waiting_;
    }
    if (OnRoad(t)) ++road_;
    if (s == Stage::kYard) ++yard_waiting_;
    if (s == Stage::kCalled) ++yard_called_;
    if (s == Stage::kCalled || s == Stage::kAtGate) ++in_lanes_;
  }

  const Scenario& scenario_;
  const TwinOptions& options_;
  GateConfig config_;
  ManualClock clock_;
  SeededRandom engine_random_;
  std::shared_ptr<const HsNomenclature> hs_ = HsNomenclature::Hs2022();
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  fs::path temp_dir_;
  Actor customs_, quarantine_, camera_, guard_, operator_, admin_;
  std::unordered_map<std::string, Actor> forwarders_;
  std::vector<HsCode> hs_codes_;  // per traffic class

  EventQueue<EventData> events_;
  std::vector<Truck> trucks_;
  // The trucks on their way by crossing id (views of Truck::crossing_id; trucks_ never moves
  // once the run starts). A truck that crossed or left is taken out: no tick changes it.
  std::unordered_map<std::string_view, uint32_t> by_crossing_;
  std::deque<uint32_t> road_queue_;
  int road_ = 0, yard_waiting_ = 0, yard_called_ = 0, in_lanes_ = 0, waiting_ = 0,
      perishable_waiting_ = 0;
  std::map<std::string, double> lane_busy_seconds_;
  double end_ = 0;
  // Whether the next queue tick can change anything (see OnTick).
  bool queue_dirty_ = true;
  double bucket_seconds_ = 900, call_window_seconds_ = 1800, late_arrival_seconds_ = 3600;
  int64_t last_tick_bucket_ = -1;
  TwinResult result_;
};

Result<CommandResult> Twin::Exec(const Actor& actor, CommandBody body, bool may_refuse) {
  clock_.Set(At(events_.now()));
  bool changes_queue =
      std::holds_alternative<QueueTick>(body) || std::holds_alternative<ChangeCapacity>(body);
  if (const auto* event = std::get_if<RecordCrossingEvent>(&body)) {
    switch (event->event.type) {
      case CrossingEventType::kBook:
      case CrossingEventType::kCancelBooking:
      case CrossingEventType::kEnterYard:
      case CrossingEventType::kCross:  // frees its lane
      case CrossingEventType::kRefuse:
      case CrossingEventType::kCancel:
        changes_queue = true;
        break;
      default:
        break;
    }
  }
  // Without an idempotency key: the twin issues every command once and never retries, so the
  // engine keeps no first result to replay (a season's worth of responses otherwise).
  ++result_.engine_commands;
  Result<CommandResult> r = engine_->Execute(Command{actor, "", "", std::move(body)});
  if (r && changes_queue && !r->changed.empty()) queue_dirty_ = true;
  if (!r && may_refuse) {
    ++result_.bookings_refused[r.error().code];
  } else if (!r) {
    ++result_.command_errors;
    ++result_.errors_by_code[r.error().code];
  }
  return r;
}

Status Twin::ExecEvent(Truck& t, const Actor& actor, CrossingEventType type, json::object data) {
  auto r =
      Exec(actor, RecordCrossingEvent{t.crossing_id, CrossingEvent{type, std::move(data)}, {}});
  if (!r) return r.error();
  return {};
}

const Actor& Twin::Forwarder(const std::string& company) {
  auto it = forwarders_.find(company);
  if (it == forwarders_.end()) {
    it = forwarders_
             .emplace(company,
                      Actor{"U-SIM-" + company, "sim-" + company, Role::kForwarder, company})
             .first;
  }
  return it->second;
}

Status Twin::Setup() {
  config_ = scenario_.gate;
  for (const auto& [key, lanes] : options_.lanes) {
    auto slash = key.find('/');
    std::string dir = key.substr(0, slash);
    std::string lc = slash == std::string::npos ? "" : key.substr(slash + 1);
    auto it = std::find_if(config_.directions.begin(), config_.directions.end(),
                           [&](const Direction& d) { return d.id == dir; });
    if (it == config_.directions.end() || !it->lanes.contains(lc)) {
      return InvalidArgument("unknown_lane",
                             fmt::format("no lane class '{}' in direction '{}'", lc, dir), "lanes");
    }
    it->lanes[lc] = lanes;
  }
  if (!options_.policy.empty()) {
    BF_TRY(MakeQueuePolicy(options_.policy, config_.queue));
    config_.queue.policy = options_.policy;
  }
  if (config_.queue.trusted_traders.empty()) config_.queue.trusted_traders = {"SIM-TRUSTED"};
  for (const auto& d : config_.directions) {
    for (const auto& [lc, n] : d.lanes) result_.lanes[LaneKey(d.id, lc)] = n;
  }
  for (const auto& c : scenario_.traffic) {
    if (c.empty) {
      hs_codes_.push_back(HsCode{});
      continue;
    }
    BF_ASSIGN_OR_RETURN(HsCode code, hs_->Validate(c.hs_code));
    hs_codes_.push_back(code);
  }
  if (scenario_.store == "sqlite") {
    static int counter = 0;
    temp_dir_ = fs::temp_directory_path() /
                fmt::format("borderflow-sim-{}-{}-{}", ::getpid(), options_.seed, counter++);
    fs::create_directories(temp_dir_);
    BF_ASSIGN_OR_RETURN(auto sqlite,
                        SqliteStore::Open(SqliteOptions{(temp_dir_ / "twin.db").string()}, hs_));
    store_ = std::move(sqlite);
  } else {
    // A run's store is gone when it ends and nobody reads its audit trail: the records are
    // numbered but neither kept (a 90-day season's would take about 900 MB) nor hash-chained
    // (a chain protects a kept trail). Nor does the twin touch a crossing again once its truck
    // has crossed or left: the store drops it (keeping its id), so that its tables hold the
    // trucks on their way, not the season.
    store_ = std::make_unique<MemoryStore>(
        MemoryStoreOptions{.keep_audit_records = false,
                           .chain_audit_records = options_.chain_audit_records,
                           .keep_finished_crossings = options_.keep_finished_crossings});
  }
  // The twin reads results' crossings, never their text; the in-memory store keeps no
  // documents, SQLite does. The in-memory store hands the engine the very versions it wrote, so
  // the engine keeps no cache of them in front of it (keeping one cost about 3% of a season).
  const bool in_memory = scenario_.store != "sqlite";
  const bool crossing_cache = !in_memory || options_.engine_crossing_cache;
  engine_ = std::make_unique<Engine>(
      config_, hs_, *store_, clock_, engine_random_,
      EngineOptions{.writer_thread = false,
                    .require_idempotency_keys = false,
                    .crossing_cache_size = crossing_cache ? EngineOptions{}.crossing_cache_size : 0,
                    .cache_crossed_crossings = options_.keep_finished_crossings,
                    .encode_crossing_documents = !in_memory});
  if (!scenario_.rules_text.empty()) {
    BF_ASSIGN_OR_RETURN(CommandResult uploaded, Exec(admin_, UploadRuleSet{scenario_.rules_text}));
    std::string id(uploaded.Json().at("id").as_string());
    BF_TRY(Exec(admin_, ActivateRuleSet{id}));
  }
  return {};
}

bool Twin::Declare(uint32_t i) {
  Truck& t = trucks_[i];
  const TrafficClass& tc = scenario_.traffic[t.arrival.traffic];
  Declaration d;
  d.direction = tc.direction;
  d.lane_class = tc.lane_class;
  d.vehicle.plate = t.plate;
  d.driver = Driver{"Sim Driver", fmt::format("B{:07d}", i % 10000000),
                    t.plate.country == PlateCountry::kVietnam ? "VN" : "CN", ""};
  std::string origin = t.plate.country == PlateCountry::kVietnam ? "VN" : "CN";
  if (!tc.empty) {
    d.lines.push_back(ConsignmentLine{hs_codes_[t.arrival.traffic], "simulated load", 800,
                                      16'000'000, Money{4'800'000, "USD"}, origin});
    d.documents.customs_declaration = fmt::format("SIM{:09d}", i);
    d.documents.certificate_of_origin = fmt::format("E-SIM-{:09d}", i);
    if (tc.perishable) d.documents.phytosanitary_certificate = fmt::format("EPHYTO-SIM-{}", i);
  }
  if (tc.perishable) {
    d.freshness_deadline = At(t.arrival.at + t.arrival.freshness_hours * 3600);
  }
  auto r = Exec(Forwarder(t.company), DeclareCrossing{std::move(d)});
  if (!r) {
    Refuse(i, r.error());
    return false;
  }
  const Crossing& c = *r->crossing;
  t.crossing_id = c.id;
  t.declared_at = At(events_.now());
  by_crossing_[t.crossing_id] = i;
  t.channel = c.channel;
  t.quarantine = c.quarantine_inspection;
  if (c.state == CrossingState::kDeclared) {  // no rule set: a customs officer assesses
    RandomStream channels = TruckStream(i, "channel");
    const ChannelRates rates = scenario_.channel_rates.value_or(ChannelRates{});
    double u = channels.Uniform();
    std::string channel = u < rates.green                  ? "green"
                          : u < rates.green + rates.yellow ? "yellow"
                                                           : "red";
    bool quarantine = tc.perishable && channels.Bernoulli(rates.quarantine);
    auto assessed =
        Exec(customs_,
             RecordCrossingEvent{c.id,
                                 CrossingEvent{CrossingEventType::kAssess,
                                               json::object{{"channel", channel},
                                                            {"quarantine_inspection", quarantine}}},
                                 {}});
    if (!assessed) {
      Refuse(i, assessed.error());
      return false;
    }
    t.channel = assessed->crossing->channel;
    t.quarantine = assessed->crossing->quarantine_inspection;
  }
  Schedule(Seconds(c.declaration_valid_until), EventKind::kExpiry, i, t.generation);
  return true;
}

void Twin::OnDeclare(uint32_t i) {
  Truck& t = trucks_[i];
  bool declared = Declare(i);
  const TrafficClass& tc = scenario_.traffic[t.arrival.traffic];
  if (tc.perishable) {
    Schedule(t.arrival.at + t.arrival.freshness_hours * 3600, EventKind::kFreshness, i, 0);
  }
  if (!declared) {  // refused: it comes all the same, and cannot be served (Stage::kRefused)
    Schedule(t.arrival.at, EventKind::kArrive, i, t.generation);
    return;
  }
  double arrive_at = t.arrival.at;
  if (t.arrival.booking) {
    auto booked =
        Exec(Forwarder(t.company),
             RecordCrossingEvent{t.crossing_id, CrossingEvent{CrossingEventType::kBook, {}}, {}},
             /*may_refuse=*/true);
    if (booked && booked->crossing->queue.booked_bucket) {
      // Drivers aim for their slot: at the border some minutes before it, or as soon as they can.
      RandomStream s = TruckStream(i, "booking");
      double slot = Seconds(*booked->crossing->queue.booked_bucket);
      Schedule(slot + bucket_seconds_ + late_arrival_seconds_ + 0.001, EventKind::kDeadline);
      arrive_at = std::max(arrive_at, slot - s.Uniform() * 1800);
      if (t.arrival.booking_no_show) {
        ++result_.lapsed_bookings;
        t.stage = Stage::kLeft;  // never comes: the engine lapses the booking (a strike)
        return;
      }
    }
  }
  Schedule(arrive_at, EventKind::kArrive, i, t.generation);
}

void Twin::OnArrive(uint32_t i) {
  Truck& t = trucks_[i];
  if (t.stage != Stage::kComing) return;  // left already (spoiled before arriving)
  ++result_.trucks_arrived;
  ++result_.arrived_per_day[static_cast<size_t>(Day(events_.now()))];
  t.arrival.at = events_.now();  // waits count from here (a booked truck comes for its slot)
  if (t.refused) {
    SetStage(t, Stage::kRefused);
    return;
  }
  SetStage(t, Stage::kRoad);
  if (road_queue_.empty() && yard_waiting_ + yard_called_ < config_.staging_yard_capacity) {
    EnterYard(i);
  } else {
    road_queue_.push_back(i);
  }
}

void Twin::EnterYard(uint32_t i) {
  Truck& t = trucks_[i];
  auto r = Exec(camera_, RecordCrossingEvent{
                             t.crossing_id, CrossingEvent{CrossingEventType::kEnterYard, {}}, {}});
  if (!r) {
    road_queue_.push_front(i);  // the engine says the yard is full: wait on the road
    return;
  }
  SetStage(t, Stage::kYard);
  const QueueInfo& q = r->crossing->queue;
  if (q.predicted_call_at) {
    t.predicted_call = Seconds(*q.predicted_call_at);
  } else {
    t.predicted_call.reset();
    ++result_.predictions_missing;
  }
}

void Twin::AdmitFromRoad() {
  while (!road_queue_.empty() && yard_waiting_ + yard_called_ < config_.staging_yard_capacity) {
    uint32_t i = road_queue_.front();
    road_queue_.pop_front();
    if (trucks_[i].stage != Stage::kRoad) continue;  // left while waiting
    size_t before = road_queue_.size();
    EnterYard(i);
    if (road_queue_.size() > before) break;  // refused: try again later
  }
}

void Twin::OnCalled(uint32_t i, const Crossing& c) {
  Truck& t = trucks_[i];
  SimTime now = events_.now();
  SetStage(t, Stage::kCalled);
  t.called_at = now;
  ++result_.trucks_called;
  double wait_h = (now - t.arrival.at) / 3600;
  result_.wait_hours.Add(wait_h);
  result_.wait_hours_by_class[kPriorityClassNames[t.priority]].Add(wait_h);
  result_.wait_hours_by_lane_class[c.declaration.lane_class].Add(wait_h);
  if (t.predicted_call) {
    result_.prediction_abs_error_hours.Add(std::abs(now - *t.predicted_call) / 3600);
    t.predicted_call.reset();  // scored once
  }
  Schedule(now + call_window_seconds_ + 0.001, EventKind::kDeadline);
  RandomStream s = TruckStream(i, fmt::format("call-{}", t.generation));
  if (s.Bernoulli(scenario_.no_show_rate)) {
    t.no_show_pending = true;  // the engine sends it back after the call window
    return;
  }
  Schedule(now + scenario_.travel_to_gate_minutes.Sample(s) * 60, EventKind::kAtGate, i,
           t.generation);
}

void Twin::OnTick() {
  // The engine's plan is a function of the queue book and the current bucket (slots are
  // bucket-aligned; policies do not read the time within a bucket), and calls need a free lane
  // and bucket room. So a tick in the same bucket as the last one, with no command changing a
  // crossing since (no truck entering, leaving a lane, booking, cancelling; no capacity change)
  // and no call window or booking lateness running out, would call, requeue and lapse nobody:
  // it is skipped unless options.tick_every_interval. (The twin test checks both ways agree.)
  SimTime next = events_.now() + scenario_.tick_seconds;
  if (next < end_) Schedule(next, EventKind::kTick);
  auto bucket = static_cast<int64_t>(std::floor(events_.now() / bucket_seconds_));
  if (!options_.tick_every_interval && !queue_dirty_ && bucket == last_tick_bucket_) return;
  last_tick_bucket_ = bucket;
  queue_dirty_ = false;
  ++result_.queue_ticks;
  auto r = Exec(Actor::System(), QueueTick{});
  if (r) {
    for (const SharedCrossing& changed : r->changed) {
      const Crossing& c = *changed;
      auto it = by_crossing_.find(c.id);
      if (it == by_crossing_.end()) continue;
      Truck& t = trucks_[it->second];
      if (c.id != t.crossing_id) continue;
      if (c.state == CrossingState::kCalled && t.stage == Stage::kYard) {
        OnCalled(it->second, c);
      } else if (c.state == CrossingState::kInYard && t.stage == Stage::kCalled) {
        // Missed its call window: back in the yard queue, with a new prediction.
        ++result_.missed_calls;
        ++t.generation;
        t.no_show_pending = false;
        SetStage(t, Stage::kYard);
        if (c.queue.predicted_call_at) t.predicted_call = Seconds(*c.queue.predicted_call_at);
      }
    }
  }
  AdmitFromRoad();
}

void Twin::OnAtGate(uint32_t i) {
  Truck& t = trucks_[i];
  if (t.stage != Stage::kCalled) return;
  if (!ExecEvent(t, camera_, CrossingEventType::kArriveAtGate)) return;
  SetStage(t, Stage::kAtGate);
  AdmitFromRoad();  // its yard place is free
  const TrafficClass& tc = scenario_.traffic[t.arrival.traffic];
  std::string_view channel = t.channel == Channel::kRed      ? "red"
                             : t.channel == Channel::kYellow ? "yellow"
                                                             : "green";
  t.inspecting = t.channel == Channel::kRed || t.quarantine;
  if (t.inspecting) {
    const Actor& officer = t.channel == Channel::kRed ? customs_ : quarantine_;
    if (!ExecEvent(t, officer, CrossingEventType::kStartInspection)) return;
  }
  RandomStream s = TruckStream(i, fmt::format("service-{}", t.generation));
  double minutes =
      scenario_.ServiceFor(tc.lane_class, channel).Sample(s) * OutageFactor(At(events_.now()));
  Schedule(events_.now() + minutes * 60, EventKind::kServiceDone, i, t.generation);
}

void Twin::OnServiceDone(uint32_t i) {
  Truck& t = trucks_[i];
  if (t.stage != Stage::kAtGate) return;
  if (t.inspecting) {
    const Actor& officer = t.channel == Channel::kRed ? customs_ : quarantine_;
    if (!ExecEvent(t, officer, CrossingEventType::kRecordInspection,
                   json::object{{"outcome", "no_finding"}})) {
      return;
    }
  } else if (!ExecEvent(t, customs_, CrossingEventType::kCheckDocuments,
                        json::object{{"outcome", "ok"}})) {
    return;
  }
  if (!ExecEvent(t, customs_, CrossingEventType::kRelease)) return;
  if (!ExecEvent(t, guard_, CrossingEventType::kCross)) return;
  const TrafficClass& tc = scenario_.traffic[t.arrival.traffic];
  lane_busy_seconds_[LaneKey(tc.direction, tc.lane_class)] += events_.now() - t.called_at;
  SetStage(t, Stage::kCrossed);
  by_crossing_.erase(t.crossing_id);
  ++result_.trucks_cleared;
  ++result_.cleared_per_day[static_cast<size_t>(Day(events_.now()))];
}

void Twin::OnFreshness(uint32_t i) {
  Truck& t = trucks_[i];
  if (t.stage == Stage::kCrossed || t.stage == Stage::kLeft || t.spoiled) return;
  t.spoiled = true;
  ++result_.spoiled_perishables;
  ++result_.spoiled_per_day[static_cast<size_t>(Day(events_.now()))];
  if (t.stage == Stage::kComing || Waiting(t)) {
    // Not called yet: the load is lost; the forwarder cancels and the truck leaves the queue.
    ++result_.spoiled_left;
    bool in_yard = t.stage == Stage::kYard;
    if (!t.refused) {
      (void)ExecEvent(t, Forwarder(t.company), CrossingEventType::kCancel,
                      json::object{{"reason", "load spoiled while waiting"}});
      by_crossing_.erase(t.crossing_id);
    }
    SetStage(t, Stage::kLeft);
    ++t.generation;
    if (in_yard) AdmitFromRoad();
  }
}

void Twin::OnExpiry(uint32_t i) {
  Truck& t = trucks_[i];
  if (t.refused || (t.stage != Stage::kComing && !Waiting(t))) return;
  // The declaration expired before the call: cancel and declare again (a new queue place).
  ++result_.expired_declarations;
  bool in_yard = t.stage == Stage::kYard;
  (void)ExecEvent(t, Forwarder(t.company), CrossingEventType::kCancel,
                  json::object{{"reason", "declaration expired while waiting"}});
  by_crossing_.erase(t.crossing_id);
  ++t.generation;
  Stage stage = t.stage;
  if (!Declare(i)) {  // refused: it stays at the border (or still comes), unserved
    if (stage == Stage::kComing) {
      Schedule(t.arrival.at, EventKind::kArrive, i, t.generation);
    } else {
      SetStage(t, Stage::kRefused);
    }
    if (in_yard) AdmitFromRoad();
    return;
  }
  if (stage == Stage::kComing) {
    Schedule(t.arrival.at, EventKind::kArrive, i, t.generation);
  } else if (in_yard) {
    EnterYard(i);  // its own place was just freed
    if (t.stage == Stage::kYard) return;
    SetStage(t, Stage::kRoad);
  }
}

void Twin::Sample() {
  QueueSample q;
  q.hours = events_.now() / 3600;
  q.road = road_;
  q.yard = yard_waiting_;
  q.in_lanes = in_lanes_;
  q.perishable_waiting = perishable_waiting_;
  result_.queue.push_back(q);
  SimTime next = events_.now() + scenario_.sample_minutes * 60;
  if (next <= end_) Schedule(next, EventKind::kSample);
}

void Twin::Finish() {
  SimTime now = end_;
  for (const Truck& t : trucks_) {
    if (!Waiting(t)) continue;
    ++result_.waiting_at_end;
    result_.oldest_wait_at_end_hours =
        std::max(result_.oldest_wait_at_end_hours, (now - t.arrival.at) / 3600);
  }
  // Lane utilisation: time lanes were held (call to crossing) over lane time open.
  std::vector<CapacityChange> changes;
  for (const auto& e : scenario_.capacity_events) changes.push_back(e.change);
  CapacityPlan plan(config_, changes);
  const double bucket_seconds = std::chrono::duration<double>(plan.bucket()).count();
  for (const auto& d : config_.directions) {
    for (const auto& [lc, unused] : d.lanes) {
      double open = 0;
      for (const BucketCapacity& b : plan.Range(d.id, lc, scenario_.start, scenario_.end())) {
        if (b.closed_reason.empty()) open += b.lanes * bucket_seconds;
      }
      std::string key = LaneKey(d.id, lc);
      result_.lane_utilisation[key] = open > 0 ? lane_busy_seconds_[key] / open : 0;
    }
  }
}

Result<TwinResult> Twin::Run() {
  BF_TRY(Setup());
  result_.scenario = scenario_.name;
  result_.policy = config_.queue.policy;
  result_.label = options_.label.empty() ? result_.policy : options_.label;
  result_.seed = options_.seed;
  result_.days = scenario_.days;
  result_.cleared_per_day.assign(static_cast<size_t>(scenario_.days), 0);
  result_.arrived_per_day.assign(static_cast<size_t>(scenario_.days), 0);
  result_.spoiled_per_day.assign(static_cast<size_t>(scenario_.days), 0);
  for (const char* name : kPriorityClassNames) result_.wait_hours_by_class[name];
  end_ = scenario_.days * 86400.0;
  auto seconds = [](Duration d) { return std::chrono::duration<double>(d).count(); };
  bucket_seconds_ = seconds(config_.queue.bucket);
  call_window_seconds_ = seconds(config_.queue.call_window);
  late_arrival_seconds_ = seconds(config_.queue.late_arrival);

  std::vector<TruckArrival> arrivals = GenerateArrivals(scenario_, options_.seed);
  trucks_.resize(arrivals.size());
  size_t trusted_turn = 0;
  for (uint32_t i = 0; i < arrivals.size(); ++i) {
    Truck& t = trucks_[i];
    t.arrival = arrivals[i];
    const TrafficClass& tc = scenario_.traffic[t.arrival.traffic];
    const Direction* dir = config_.FindDirection(tc.direction);
    auto plate = PlateFor(i, dir->from_country == "VN");
    if (!plate) return plate.error();
    t.plate = *plate;
    if (t.arrival.trusted) {
      const auto& trusted = config_.queue.trusted_traders;
      t.company = trusted[trusted_turn++ % trusted.size()];
    } else {
      t.company = fmt::format("SIM-CO-{:03d}", i % 500);
    }
    t.priority = tc.perishable ? (t.arrival.trusted ? 0 : 1) : (t.arrival.trusted ? 2 : 3);
    Schedule(std::max(0.0, t.arrival.at - t.arrival.declare_lead_hours * 3600), EventKind::kDeclare,
             i);
  }
  for (uint32_t k = 0; k < scenario_.capacity_events.size(); ++k) {
    const CapacityEvent& e = scenario_.capacity_events[k];
    Schedule(Seconds(e.announce_at), EventKind::kCapacity, k);
    // Lanes can change within a bucket when a change starts or ends.
    Schedule(std::max(0.0, Seconds(e.change.from)), EventKind::kDeadline);
    Schedule(std::max(0.0, Seconds(e.change.until)), EventKind::kDeadline);
  }
  Schedule(0, EventKind::kSample);
  Schedule(scenario_.tick_seconds, EventKind::kTick);

  double next_progress = 0;
  while (!events_.empty() && events_.next_time() <= end_) {
    auto e = events_.Pop();
    const EventData& ev = e.payload;
    if (options_.progress && e.at >= next_progress) {
      options_.progress(e.at / end_);
      next_progress = e.at + end_ / 200;
    }
    switch (ev.kind) {
      case EventKind::kDeclare:
        OnDeclare(ev.index);
        break;
      case EventKind::kArrive:
        if (ev.generation == trucks_[ev.index].generation) OnArrive(ev.index);
        break;
      case EventKind::kTick:
        OnTick();
        break;
      case EventKind::kSample:
        Sample();
        break;
      case EventKind::kCapacity:
        (void)Exec(operator_, ChangeCapacity{scenario_.capacity_events[ev.index].change});
        break;
      case EventKind::kAtGate:
        if (ev.generation == trucks_[ev.index].generation) OnAtGate(ev.index);
        break;
      case EventKind::kServiceDone:
        if (ev.generation == trucks_[ev.index].generation) OnServiceDone(ev.index);
        break;
      case EventKind::kFreshness:
        OnFreshness(ev.index);
        break;
      case EventKind::kExpiry:
        if (ev.generation == trucks_[ev.index].generation) OnExpiry(ev.index);
        break;
      case EventKind::kDeadline:
        queue_dirty_ = true;
        break;
    }
  }
  Finish();
  result_.events_processed = events_.processed();
  if (options_.progress) options_.progress(1);
  return std::move(result_);
}

}  // namespace

Result<TwinResult> RunTwin(const Scenario& scenario, const TwinOptions& options) {
  Twin twin(scenario, options);
  return twin.Run();
}

}  // namespace borderflow::sim
