#pragma once

// The engine: the one entry point for every state change. It loads what a command needs inside
// one write transaction, asks the pure domain code for a decision, and commits the new state,
// the audit records and the idempotency record together. Only after the commit does anything
// leave the engine (the result, commit listeners).
//
// Writes are serialised on one writer thread that commits commands in groups (group commit):
// many concurrent commands share one durable fsync. Reads go straight to the store and are
// filtered by the actor's scope here, so every driver gets the same access rules.

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>

#include <boost/json/array.hpp>

#include <borderflow/core/clock.h>
#include <borderflow/core/hs_code.h>
#include <borderflow/core/random.h>
#include <borderflow/domain/gate_config.h>
#include <borderflow/engine/command.h>
#include <borderflow/engine/store.h>
#include <borderflow/queue/planner.h>

namespace borderflow {

class CrossingCache;
class QueueBook;
struct RulesBook;
namespace rules {
class RuleSet;
}

struct EngineOptions {
  // Commands committed per transaction at most. 1 disables grouping.
  size_t max_batch = 256;
  // Run a writer thread (servers). Without it, Execute runs inline on the caller's thread
  // (CLI, simulator, tests that want determinism).
  bool writer_thread = true;
  // Writes need an Idempotency-Key so that a retry applies once (and the first result is kept
  // to answer it). A driver that never retries — the simulator, issuing each command once — may
  // turn this off and send writes without keys: nothing is then kept for replays.
  bool require_idempotency_keys = true;
  // Commands waiting for the writer beyond this are refused with 503 "overloaded".
  size_t max_queue = 10000;
  // Current crossings kept in memory by the writer, so that an event does not read and decode
  // its crossing from the store. Correct while this engine is the only writer of crossings to
  // its store (one node per SQLite file; the CLI writes users and tokens only), or while it
  // catches up with other writers' records before each batch. At most this many, the least
  // recently used out first. 0 disables it: a store that keeps the engine's own versions
  // (MemoryStore, see WriteTxn::GetSharedCrossing) is such a cache already.
  size_t crossing_cache_size = 100000;
  // Whether crossed crossings stay in that cache. On a node the other side's receipt changes a
  // crossed crossing once more; a driver that never changes one after it crossed (the
  // simulator) turns this off, and the cache then holds only crossings still on their way
  // (terminal ones never stay).
  bool cache_crossed_crossings = true;
  // Risk rules' learning: once this many inspection outcomes are stored one by one, the
  // inspection's transaction folds them into the learning snapshot (start-up then reads the
  // snapshot and the outcomes after it). 0 never compacts.
  size_t learning_compact_every = 1000;
  // Every change of a crossing is encoded as its JSON document: the store keeps it, and a
  // crossing event's response text carries it. A driver whose store keeps no documents
  // (MemoryStore keeps the Crossing itself) and which reads no response text of crossing
  // commands (the simulator reads CommandResult::crossing and ::changed) may turn this off:
  // changes then give the store an empty document, and crossing events and assessments answer
  // "{}" as their text. The audit trail is the same either way (a change's audit record is its
  // event, not its document; a declaration, whose record is its document, is always encoded).
  bool encode_crossing_documents = true;
  // A rules dry run costs about (rules of both sets) x (consignment lines of the declarations
  // it replays) evaluations; beyond this many it is refused (422 "dry_run_too_large") before
  // any is run. About two seconds of one core at the default.
  uint64_t dry_run_budget = 50'000'000;
};

// Counters for /metrics, updated by the writer.
struct EngineStats {
  std::atomic<uint64_t> commands{0};
  std::atomic<uint64_t> commands_failed{0};
  std::atomic<uint64_t> replays{0};
  std::atomic<uint64_t> transactions{0};
  std::atomic<uint64_t> transaction_failures{0};
  std::atomic<uint64_t> queue_depth{0};
  // Batches that found records committed by another process sharing the database, and how
  // many of those made the engine reload its queue and rules entirely (not crossing by crossing).
  std::atomic<uint64_t> catch_ups{0};
  std::atomic<uint64_t> full_reloads{0};
  // The audit head that the engine's caches (queue, rules, crossings) reflect: a store head
  // beyond it holds records another process committed, read at the engine's next batch.
  std::atomic<int64_t> known_head{0};
  // Write batches begun, and ended (known_head then includes what the batch wrote). A reader
  // that reads batches_ended, then the store's head, then known_head, then batches_begun, and
  // finds the two counts equal, knows that no batch of this engine was between its commit and
  // known_head meanwhile: a head beyond known_head then holds another process's records.
  std::atomic<uint64_t> batches_begun{0};
  std::atomic<uint64_t> batches_ended{0};
};

struct GateStatus {
  std::vector<CrossingCount> counts;
  bool self_open = false;
  bool counterpart_open = false;
  Timestamp at;
};

// Who may see watch lists: their entries and notes, and which list a crossing is on (an
// assessment's "watchlists", a fired rule that asks for a list, the feed's watch-list events).
// Customs and quarantine officers and administrators: the roles that also read and write them.
bool MayReadWatchlists(Role role);
// Who may write the risk rules (upload, activate) and dry-run them: customs officers and
// administrators. A dry run answers which past crossings a candidate set would send red, so
// it is a rule writer's tool: with `watchlist "NAME"` it would otherwise probe the lists.
bool MayWriteRules(Role role);
// What staff who may not read watch lists (!MayReadWatchlists: gate operators, border guards)
// see of a risk decision: its outcome, never its grounds. They act on the channel (which lane,
// bay or check a truck goes to), not on why it was chosen: that is the customs and quarantine
// officers' work. Any part of the grounds would tell a crossing hit by a watch-list rule from
// one hit by a visible rule with the same channel: the rules shown, their number, the total
// score, random selection, the capacity's lowering, or the lack of any visible reason for a red.
//
// RestrictExplanationToChannel reduces a rules explanation (rules::ExplanationToJson plus the
// engine's "watchlists" and "capacity", as in an assess or reassess audit record) to its
// "rule_set", "fingerprint", "channel" and "quarantine", with a "summary" that says only those
// ("Red channel, quarantine inspection." in en, vi and zh). The same for any two decisions
// with the same channel and quarantine by the same rule set.
void RestrictExplanationToChannel(boost::json::object& explanation);
// The same for a crossing's "risk" (EncodeCrossing): keeps "rule_set" and "fingerprint" only
// (the channel and the quarantine inspection are the crossing's own fields).
void RestrictRiskToChannel(boost::json::object& risk);

class Engine {
 public:
  // `store`, `clock` and `random` must outlive the engine.
  Engine(GateConfig config, std::shared_ptr<const HsNomenclature> hs, Store& store,
         const Clock& clock, Random& random, EngineOptions options = {});
  ~Engine();  // drains queued commands, then stops the writer
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  using Callback = std::function<void(Result<CommandResult>)>;

  // Queues `command`; `done` is called once it is durable or refused (on the writer thread, or
  // inline without one). Never blocks on I/O.
  void Submit(Command command, Callback done);
  // Submits and waits for the result.
  Result<CommandResult> Execute(Command command);

  // Called after every commit with the records it appended, in order (for the live feed), on
  // the writer thread. Set it before the first Submit: it is not synchronised.
  void SetCommitListener(std::function<void(const std::vector<AuditRecord>&)> listener);

  // Queries, filtered by the actor's scope: a company-scoped actor sees only its company's
  // crossings; anything else is "crossing_not_found" (404), never 403, so existence does not
  // leak.
  Result<Crossing> GetCrossing(const Actor& actor, std::string_view id);
  Result<CrossingPage> ListCrossings(const Actor& actor, CrossingFilter filter);
  Result<std::vector<AuditRecord>> CrossingHistory(const Actor& actor, std::string_view id);
  Result<GateStatus> GetGateStatus();

  // The JSON document of a crossing as stored and audited (local times of this side).
  boost::json::object CrossingView(const Crossing& c) const;
  // The same as text, written directly (what every change of a crossing stores).
  std::string CrossingDocument(const Crossing& c) const;
  // The same with its place in the queue as planned now ("expected_call"), for reads.
  boost::json::object LiveCrossingView(const Crossing& c) const;

  // --- The electronic queue (views as JSON documents, times in this side's local time) ------
  // The live queue per lane: lanes, occupancy, current bucket, planned calls with reasons,
  // the yard. Staff roles only.
  Result<boost::json::object> QueueView(const Actor& actor, std::string_view direction,
                                        std::string_view lane_class);
  // Capacity per bucket (with planned calls) for one lane over [from, until) (at most 8 days).
  Result<boost::json::object> CapacityView(const Actor& actor, std::string_view direction,
                                           std::string_view lane_class, Timestamp from,
                                           Timestamp until);
  Result<boost::json::object> CapacityChangesView(const Actor& actor);
  // The public wait board: per direction and lane class, the expected wait of a truck arriving
  // now, trucks waiting, today's capacity, gate open. No plate, no company.
  boost::json::object WaitBoard();
  Result<boost::json::object> PlateReadsView(const Actor& actor);
  // The link's alerts for the control room, recorded in the last `within`, newest first, at
  // most `limit`: a counterpart's findings on crossings already closed here ({type:
  // "counterpart_finding", crossing_id, plate, state, kind, outcome, finding_type, note,
  // message_id, audit_seq, at, alert}), and messages to the counterpart that could not be
  // delivered and were skipped ({type: "undeliverable_message", message_id, message_type,
  // stream, seq, code, note, crossing_id?, plate?, state?, audit_seq, at, alert}). For staff
  // (the caller checks).
  Result<boost::json::array> LinkAlerts(Duration within = std::chrono::hours(24),
                                        size_t limit = 50);
  Result<boost::json::object> BansView(const Actor& actor);
  // Accuracy of call-time predictions made when trucks joined the queue (minutes).
  struct PredictionAccuracy {
    int64_t count = 0;
    double mean_abs_error_minutes = 0;
    double p90_abs_error_minutes = 0;
  };
  PredictionAccuracy PredictionAccuracyNow() const;

  // --- Risk-based selectivity (engine_rules.cpp) -----------------------------------------
  // Stored rule sets with their status (staff only; the text is not included).
  Result<boost::json::object> RuleSetsView(const Actor& actor);
  // What would change if the rule set `text` (or the stored set `id`) replaced the active one,
  // for the last `limit` (1..1000) declarations in the store. Rule writers only (MayWriteRules).
  // Runs for seconds at most (EngineOptions::dry_run_budget; 422 "dry_run_too_large" beyond),
  // reading the store: call it off the I/O threads. Thread-safe.
  Result<boost::json::object> RulesDryRun(const Actor& actor, const std::string& text,
                                          const std::string& id, int limit);
  // Per-rule hit rates against random selection, per-trader compliance. Staff only.
  // Rules with fewer than `min_inspections` inspections are never reported below random.
  Result<boost::json::object> RulesReport(const Actor& actor, int64_t min_inspections = 20);
  // The latest rule decision of a crossing, from its audit record. Staff see the explanation:
  // MayReadWatchlists roles all of it (the rules that fired, the watch lists), other staff the
  // decision only (RestrictExplanationToChannel). Forwarders and
  // drivers (own crossings only) see the channel and what to do in it, never why: not the
  // rules, the reasons, random selection or watch lists. Sensors are refused (403).
  Result<boost::json::object> AssessmentView(const Actor& actor, std::string_view crossing_id);
  // The id of the active rule set, "" when none.
  std::string ActiveRuleSetId() const;
  // Watch lists: every list without its entries, or one list with them. Customs and quarantine
  // officers and administrators only.
  Result<boost::json::object> WatchlistsView(const Actor& actor);
  Result<boost::json::object> WatchlistView(const Actor& actor, std::string_view name);

  const GateConfig& config() const { return config_; }
  const HsNomenclature& hs() const { return *hs_; }
  const Clock& clock() const { return clock_; }
  const EngineStats& stats() const { return stats_; }

 private:
  struct Pending;
  struct Writer;
  struct Delivery;
  // Counts one of a batch's two arrivals (applied, durable); the second sends the results.
  void Arrive(const std::shared_ptr<Delivery>& delivery);
  Status Apply(WriteTxn& txn, const Command& command, Timestamp now, CommandResult& result);
  Status ApplyDeclare(WriteTxn& txn, const Actor& actor, const DeclareCrossing& cmd, Timestamp now,
                      CommandResult& result);
  Status ApplyEvent(WriteTxn& txn, const Actor& actor, const RecordCrossingEvent& cmd,
                    Timestamp now, CommandResult& result);
  Status ApplyAddUser(WriteTxn& txn, const Actor& actor, const AddUser& cmd, Timestamp now,
                      CommandResult& result);
  Status ApplyIssueToken(WriteTxn& txn, const Actor& actor, const IssueApiToken& cmd, Timestamp now,
                         CommandResult& result);
  Status ApplyRevokeToken(WriteTxn& txn, const Actor& actor, const RevokeApiToken& cmd,
                          Timestamp now, CommandResult& result);
  // The queue (engine_queue.cpp).
  Status ApplyChangeCapacity(WriteTxn& txn, const Actor& actor, const ChangeCapacity& cmd,
                             Timestamp now, CommandResult& result);
  Status ApplyQueueTick(WriteTxn& txn, const Actor& actor, Timestamp now, CommandResult& result);
  Status ApplyCallNext(WriteTxn& txn, const Actor& actor, const CallNext& cmd, Timestamp now,
                       CommandResult& result);
  Status ApplyPlateRead(WriteTxn& txn, const Actor& actor, const SubmitPlateRead& cmd,
                        Timestamp now, CommandResult& result);
  Status ApplyResolvePlateRead(WriteTxn& txn, const Actor& actor, const ResolvePlateRead& cmd,
                               Timestamp now, CommandResult& result);
  Status ApplyUpdateDriver(WriteTxn& txn, const Actor& actor, const UpdateDriver& cmd,
                           Timestamp now, CommandResult& result);
  Status ApplySetBan(WriteTxn& txn, const Actor& actor, const SetBan& cmd, Timestamp now,
                     CommandResult& result);
  Status ApplySetPolicy(WriteTxn& txn, const Actor& actor, const SetQueuePolicy& cmd, Timestamp now,
                        CommandResult& result);
  // Moves `current` by `event` inside the running command: queue rules, the new state, its
  // audit record; updates the queue book. `why` is added to the audit record.
  struct EncodedCrossing {
    bool want_view = true;     // false on hot paths: the document alone
    boost::json::object view;  // the document as a tree, when wanted
    std::string document;      // what is stored and audited
  };
  // Returns the new version (also the last of result.changed).
  Result<SharedCrossing> Transition(WriteTxn& txn, const Actor& actor, const Crossing& current,
                                    const CrossingEvent& event, Timestamp now,
                                    CommandResult& result, boost::json::object why = {},
                                    EncodedCrossing* encoded = nullptr);
  // Writes `next` (one version after `current`) with one audit record `action` about the
  // crossing, and makes it visible to the rest of the command, to later commands of the batch
  // (undone if this command fails) and to the queue book. Every change of a crossing goes here.
  // `next` becomes the one shared version (see shared_crossing.h) that all of those hold; it is
  // returned (and is the last of result.changed).
  Result<SharedCrossing> WriteChange(WriteTxn& txn, const Actor& actor, const Crossing& current,
                                     Crossing&& next, std::string action,
                                     const boost::json::object& body, Timestamp now,
                                     CommandResult& result, EncodedCrossing* encoded = nullptr);
  // The same with the audit record's body as JSON text.
  Result<SharedCrossing> WriteChange(WriteTxn& txn, const Actor& actor, const Crossing& current,
                                     Crossing&& next, std::string action, std::string body,
                                     Timestamp now, CommandResult& result,
                                     EncodedCrossing* encoded = nullptr);
  // The same with the next version already where it will be shared (nobody else holds it).
  Result<SharedCrossing> WriteSharedChange(WriteTxn& txn, const Actor& actor,
                                           const Crossing& current, std::shared_ptr<Crossing> next,
                                           std::string action, std::string body, Timestamp now,
                                           CommandResult& result, EncodedCrossing* encoded);
  // Queue rules of one transition: checks (booking limits, bans, yard space, free lanes) and
  // the crossing's QueueInfo; strikes and counters are written to `txn`.
  Status ApplyQueueRules(WriteTxn& txn, const Actor& actor, const Crossing& current,
                         const CrossingEvent& event, Timestamp now, Crossing& next,
                         CommandResult& result);
  Status AddStrike(WriteTxn& txn, const Crossing& c, std::string kind, Timestamp now,
                   CommandResult& result);
  // Calls up to `room` in-yard trucks planned in the current bucket of one lane.
  Result<int> CallFromPlan(WriteTxn& txn, const Actor& actor, std::string_view direction,
                           std::string_view lane_class, Timestamp now, int max_calls,
                           CommandResult& result);
  // Free lanes and bucket capacity left for one lane now.
  int CallRoom(std::string_view direction, std::string_view lane_class, Timestamp now) const;
  // Appends a "replan" record listing every truck whose expected call moved.
  Status RecordReplan(WriteTxn& txn, const Actor& actor, Timestamp now, std::string cause,
                      const std::map<std::string, LanePlan>& before, CommandResult& result);
  // Risk rules (engine_rules.cpp).
  Status ApplyUploadRuleSet(WriteTxn& txn, const Actor& actor, const UploadRuleSet& cmd,
                            Timestamp now, CommandResult& result);
  Status ApplyActivateRuleSet(WriteTxn& txn, const Actor& actor, const ActivateRuleSet& cmd,
                              Timestamp now, CommandResult& result);
  Status ApplyRecordFinding(WriteTxn& txn, const Actor& actor, const RecordFinding& cmd,
                            Timestamp now, CommandResult& result);
  Status ApplyPutWatchlist(WriteTxn& txn, const Actor& actor, const PutWatchlist& cmd,
                           Timestamp now, CommandResult& result);
  Status ApplyDeleteWatchlist(WriteTxn& txn, const Actor& actor, const DeleteWatchlist& cmd,
                              Timestamp now, CommandResult& result);
  // Warnings about `set` that do not stop it: watch lists it asks for that do not exist, no
  // rules at all. Each {"code", "detail"}.
  boost::json::array RuleSetWarnings(const rules::RuleSet& set) const;
  // Folds the stored inspection outcomes into the learning snapshot (same transaction).
  Status CompactLearning(WriteTxn& txn, Timestamp now, CommandResult& result);
  // Called by ApplyDeclare after the insert: with an active rule set, assesses the new crossing
  // (result.crossing) and moves it to `assessed` as the system.
  Status AssessByRules(WriteTxn& txn, Timestamp now, CommandResult& result);
  // Called after a record_inspection transition: learns from the outcome.
  Status LearnFromInspection(WriteTxn& txn, const Crossing& inspected, Timestamp now,
                             CommandResult& result);
  // The cross-border link (engine_link.cpp).
  Status ApplyPeer(WriteTxn& txn, const Actor& actor, const ApplyPeerMessage& cmd, Timestamp now,
                   CommandResult& result);
  // The effect of one message; an error here is the message's refusal (recorded, delivered).
  Status ApplyPeerEffect(WriteTxn& txn, const Actor& actor, const ApplyPeerMessage& cmd,
                         Timestamp now, CommandResult& result);
  Status ApplyPeerAck(WriteTxn& txn, const Actor& actor, const AckPeerMessages& cmd, Timestamp now,
                      CommandResult& result);
  Status ApplyPeerRejection(WriteTxn& txn, const Actor& actor, const RecordPeerRejection& cmd,
                            Timestamp now, CommandResult& result);
  Status ApplyAnnounceCapacity(WriteTxn& txn, const Actor& actor, Timestamp now,
                               CommandResult& result);
  // Puts what the counterpart must learn of this change of a crossing in the outbox (in the
  // same transaction as the change).
  Status EmitPeerMessages(WriteTxn& txn, const Crossing& current, const Crossing& next,
                          std::string_view action, Timestamp now);
  // Appends one message to the outbox: the next number of `stream`, the next outbox id.
  Status Enqueue(WriteTxn& txn, std::string_view type, const std::string& stream,
                 boost::json::object payload, Timestamp now);
  // Loads rule sets, the secret and the learning state from the store (start, reload).
  Status LoadRules();
  Status PutRecord(WriteTxn& txn, std::string_view kind, std::string id,
                   const boost::json::object& body, Timestamp now);
  // The crossing `id` for a change by `actor`: not found (or out of scope) is
  // "crossing_not_found", a stale `expected_version` is "version_conflict"; the result is never
  // null.
  Result<SharedCrossing> LoadForChange(WriteTxn& txn, const Actor& actor, const std::string& id,
                                       std::optional<int64_t> expected_version);

  void CommitBatch(std::vector<Pending>& batch);
  // First step of every batch: takes the store's write lock and, when another process sharing
  // the database committed since this engine's last batch, brings the caches (committed
  // crossings, the queue book, the rules) up to date with what it wrote.
  Status CatchUp(WriteTxn& txn);
  // Reads the counters of `lane_keys` (and, with `prediction_stats`, the prediction
  // statistics) as committed into the queue book: another server changed them.
  Status ReloadQueueCounters(WriteTxn& txn, const std::set<std::string>& lane_keys,
                             bool prediction_stats);
  // The crossing as of the running transaction: this batch's own updates first, then the cache
  // of committed crossings, then the store. Null when there is none.
  Result<SharedCrossing> LoadCrossing(WriteTxn& txn, const std::string& id);
  // Makes `crossing` this batch's version of its crossing (batch_crossings_); returns the
  // version it replaced there, or null.
  SharedCrossing SetBatchCrossing(SharedCrossing crossing);

  GateConfig config_;
  std::shared_ptr<const HsNomenclature> hs_;
  Store& store_;
  const Clock& clock_;
  Random& random_;
  EngineOptions options_;
  EngineStats stats_;
  std::function<void(const std::vector<AuditRecord>&)> listener_;
  std::unique_ptr<Writer> writer_;
  std::mutex inline_mu_;  // serialises CommitBatch when there is no writer thread
  // Used only inside CommitBatch (the writer thread, or under inline_mu_).
  std::unique_ptr<CrossingCache> committed_crossings_;  // bounded, least recently used out
  // This batch's last version of each crossing it wrote, keyed by a view of that version's own
  // id (SetBatchCrossing keeps it so): a copy of the id was an allocation for every change.
  std::unordered_map<std::string_view, SharedCrossing> batch_crossings_;
  // What the running command wrote into batch_crossings_, each with the version it replaced
  // there (restored if the command fails; null: none, the entry is removed).
  std::vector<std::pair<SharedCrossing, SharedCrossing>> batch_undo_;
  std::unique_ptr<QueueBook> queue_;
  // Set when a command failed after changing the queue book, or a transaction failed: the book
  // is reloaded from the store after the batch.
  bool queue_reload_ = false;
  // Set when the running command changed the queue book (a failure then forces a reload).
  bool queue_touched_ = false;
  // The risk rules: active set, secret, learning (engine_rules.cpp). Reloaded from the store
  // when a command that changed it fails.
  std::unique_ptr<RulesBook> rules_;
  bool rules_touched_ = false;
  bool rules_reload_ = false;
  // The audit head this engine's caches reflect: read at start (before the caches are loaded),
  // advanced by every commit, compared with the store's head under the write lock by CatchUp().
  int64_t known_head_ = 0;
  // CatchUp() failed in the running batch: its commands must not decide on stale caches.
  bool catch_up_failed_ = false;
};

}  // namespace borderflow
