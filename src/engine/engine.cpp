#include <algorithm>
#include <condition_variable>
#include <deque>
#include <iterator>
#include <mutex>
#include <set>
#include <thread>
#include <utility>

#include <boost/json/parse.hpp>
#include <fmt/format.h>

#include <borderflow/core/json.h>
#include <borderflow/core/json_writer.h>
#include <borderflow/core/thread_name.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/engine.h>

#include "crossing_cache.h"
#include "engine_internal.h"
#include "queue_book.h"
#include "rules_book.h"

namespace borderflow {

namespace json = boost::json;

namespace {

Error CrossingNotFound(std::string_view id) {
  return NotFound("crossing_not_found", fmt::format("no crossing '{}'", id.substr(0, 64)));
}

bool CanSee(const Actor& actor, const Crossing& c) {
  if (actor.role == Role::kPublic) return false;
  if (!actor.IsCompanyScoped()) return true;
  if (actor.company_id != c.company_id) return false;
  // A driver sees their own truck's crossings, not their colleagues' (names, phones, loads).
  return actor.role != Role::kDriver ||
         (!actor.driver_document.empty() &&
          c.declaration.driver.document_number == actor.driver_document);
}

Result<CommandResult> ReplayResponse(const IdempotencyRecord& record) {
  // The engine wrote it: an object (checked cheaply; Json() parses it if a reader asks).
  if (record.response.empty() || record.response.front() != '{') {
    return Internal("stored idempotent response is corrupt");
  }
  CommandResult r;
  r.status = record.status;
  r.body_text = record.response;
  r.replayed = true;
  return r;
}

// Every write that clients retry needs a key; administration (CLI) and the engine's own timer
// do not.
bool NeedsIdempotencyKey(const CommandBody& body) {
  return !std::holds_alternative<AddUser>(body) && !std::holds_alternative<IssueApiToken>(body) &&
         !std::holds_alternative<RevokeApiToken>(body) &&
         !std::holds_alternative<QueueTick>(body) &&
         !std::holds_alternative<AckPeerMessages>(body) &&
         !std::holds_alternative<RecordPeerRejection>(body) &&
         !std::holds_alternative<AnnounceCapacity>(body);
}

}  // namespace

struct Engine::Pending {
  Command command;
  Callback done;
};

// What a batch owes its callers: sent once the batch is both applied (the writer's bookkeeping
// done) and durable (the store's callback, which may come first, or later on the store's sync
// thread); whichever of the two comes second sends it.
struct Engine::Delivery {
  std::mutex mu;
  int arrived = 0;
  Status durable;
  std::vector<Callback> done;
  std::vector<Result<CommandResult>> outcomes;
  std::vector<AuditRecord> committed;
};

void Engine::Arrive(const std::shared_ptr<Delivery>& delivery) {
  Delivery& d = *delivery;
  {
    std::lock_guard lock(d.mu);
    if (++d.arrived < 2) return;
  }
  if (!d.durable) {
    // Committed but not on disk: nothing of it may be acknowledged (the store refuses later
    // writes, and a restart reads what the disk has).
    for (auto& outcome : d.outcomes) {
      if (outcome) outcome = d.durable.error();
    }
    d.committed.clear();
  }
  if (listener_ && !d.committed.empty()) listener_(d.committed);
  for (size_t i = 0; i < d.done.size(); ++i) d.done[i](std::move(d.outcomes[i]));
}

struct Engine::Writer {
  std::mutex mu;
  std::condition_variable cv;
  std::deque<Pending> queue;
  bool stopping = false;
  std::thread thread;
};

Engine::Engine(GateConfig config, std::shared_ptr<const HsNomenclature> hs, Store& store,
               const Clock& clock, Random& random, EngineOptions options)
    : config_(std::move(config)),
      hs_(std::move(hs)),
      store_(store),
      clock_(clock),
      random_(random),
      options_(options),
      committed_crossings_(std::make_unique<CrossingCache>(options.crossing_cache_size)),
      queue_(std::make_unique<QueueBook>(config_)) {
  if (options_.max_batch == 0) options_.max_batch = 1;
  // Read before the caches are loaded: a record another process commits meanwhile is then
  // after known_head_, and the first batch's CatchUp() applies it (again, harmlessly).
  Result<int64_t> head = store_.AuditHead();
  if (!head) {
    std::string why = "the audit head could not be read: " + head.error().ToString();
    internal::AssertFailed("store_.AuditHead()", why.c_str(), __FILE__, __LINE__);
  }
  known_head_ = *head;
  stats_.known_head.store(known_head_);
  // A store that cannot be read at start is an operator's problem to fix before serving.
  Status loaded = queue_->Load(store_);
  if (!loaded) {
    std::string why = "the queue could not be loaded from the store: " + loaded.error().ToString();
    internal::AssertFailed("queue_->Load(store_)", why.c_str(), __FILE__, __LINE__);
  }
  // A stored active rule set that does not compile is an impossible state: stop loudly.
  Status rules_loaded = LoadRules();
  if (!rules_loaded) {
    std::string why = "the risk rules could not be loaded: " + rules_loaded.error().ToString();
    internal::AssertFailed("LoadRules()", why.c_str(), __FILE__, __LINE__);
  }
  if (!options_.writer_thread) return;
  writer_ = std::make_unique<Writer>();
  writer_->thread = std::thread([this] {
    NameThisThread("bf-writer");
    Writer& w = *writer_;
    std::vector<Pending> batch;
    while (true) {
      {
        std::unique_lock lock(w.mu);
        w.cv.wait(lock, [&] { return w.stopping || !w.queue.empty(); });
        if (w.queue.empty()) return;  // stopping and drained
        while (!w.queue.empty() && batch.size() < options_.max_batch) {
          batch.push_back(std::move(w.queue.front()));
          w.queue.pop_front();
        }
        stats_.queue_depth.store(w.queue.size());
      }
      CommitBatch(batch);
      batch.clear();
    }
  });
}

Engine::~Engine() {
  if (writer_) {
    {
      std::lock_guard lock(writer_->mu);
      writer_->stopping = true;
    }
    writer_->cv.notify_all();
    writer_->thread.join();
  }
  // The last batches' callers are answered once their commits are durable.
  (void)store_.WaitDurable();
}

void Engine::SetCommitListener(std::function<void(const std::vector<AuditRecord>&)> listener) {
  listener_ = std::move(listener);
}

void Engine::Submit(Command command, Callback done) {
  if (!writer_) {
    std::lock_guard lock(inline_mu_);
    std::vector<Pending> batch;
    batch.push_back(Pending{std::move(command), std::move(done)});
    CommitBatch(batch);
    return;
  }
  {
    std::unique_lock lock(writer_->mu);
    if (writer_->stopping || writer_->queue.size() >= options_.max_queue) {
      lock.unlock();
      done(Unavailable("overloaded", "the engine is not accepting commands now; retry later"));
      return;
    }
    writer_->queue.push_back(Pending{std::move(command), std::move(done)});
    stats_.queue_depth.store(writer_->queue.size());
  }
  writer_->cv.notify_one();
}

Result<CommandResult> Engine::Execute(Command command) {
  // Without a writer thread the answer is usually there when Submit returns (it comes later,
  // from the store's sync thread, only when the store syncs off the writer's path): a mutex
  // and a condition variable that nobody waits on cost no system call, where a promise
  // allocates its state and wakes a futex every time.
  struct Answer {
    std::mutex mu;
    std::condition_variable cv;
    std::optional<Result<CommandResult>> result;
  } answer;
  Submit(std::move(command), [&answer](Result<CommandResult> r) {
    // Notified under the lock: the waiter cannot return (and destroy `answer`) before this
    // callback is done with it.
    std::lock_guard lock(answer.mu);
    answer.result.emplace(std::move(r));
    answer.cv.notify_one();
  });
  std::unique_lock lock(answer.mu);
  answer.cv.wait(lock, [&answer] { return answer.result.has_value(); });
  return std::move(*answer.result);
}

void Engine::CommitBatch(std::vector<Pending>& batch) {
  // Begun before anything is written, ended once known_head holds what it wrote (see
  // EngineStats::batches_begun).
  stats_.batches_begun.fetch_add(1);
  Timestamp now = clock_.Now();
  std::vector<CommandResult> results(batch.size());
  std::vector<TxnFn> work;
  work.reserve(batch.size() + 2);  // the catch-up, the commands, the head
  catch_up_failed_ = false;
  int64_t head_before = known_head_;
  int64_t head_after = -1;
  work.push_back([this, &head_before](WriteTxn& txn) -> Status {
    Status caught_up = CatchUp(txn);
    catch_up_failed_ = !caught_up;
    head_before = known_head_;
    if (!caught_up) {
      // The caches may be half brought up to date: start again from the store after the batch.
      committed_crossings_->Clear();
      queue_reload_ = true;
      rules_reload_ = true;
    }
    return caught_up;
  });
  // What every command's function reads, held here: each function then captures two words,
  // which std::function keeps in place (five words were a heap allocation per command).
  struct CommandStep {
    Engine* engine;
    std::vector<Pending>* batch;
    std::vector<CommandResult>* results;
    Timestamp now;
  } step{this, &batch, &results, now};
  for (size_t i = 0; i < batch.size(); ++i) {
    work.push_back([&step, i](WriteTxn& txn) -> Status {
      CommandResult& result = (*step.results)[i];
      result = CommandResult();
      if (step.engine->catch_up_failed_) {
        return Unavailable("store_catch_up_failed",
                           "could not read what another server committed; retry");
      }
      return step.engine->Apply(txn, (*step.batch)[i].command, step.now, result);
    });
  }
  // Last: the head as this transaction leaves it (every record appended by every command and
  // step that kept its changes), so the next batch's CatchUp() finds only other processes' records.
  work.push_back([&head_after](WriteTxn& txn) -> Status {
    BF_ASSIGN_OR_RETURN(head_after, txn.LockAuditHead());
    return {};
  });
  batch_crossings_.clear();
  auto delivery = std::make_shared<Delivery>();
  std::vector<Status> all_statuses = store_.WriteBatchThen(work, [this, delivery](Status durable) {
    delivery->durable = std::move(durable);
    Arrive(delivery);
  });
  BF_ASSERT(all_statuses.size() == batch.size() + 2, "the store returns one status per function");
  // The commands' statuses, in place (all_statuses without its first and last).
  const std::span<Status> statuses(all_statuses.data() + 1, batch.size());
  bool any_committed = false;
  for (const Status& s : statuses) any_committed = any_committed || s.has_value();
  if (any_committed) {
    // Only what committed enters the cache: batch_crossings_ holds the last version of every
    // crossing that a command which kept its changes wrote (a failed command's are undone; a
    // failed transaction reports an error for every command, so nothing of it enters). A
    // crossing in a terminal state never changes again: it leaves the cache at once (and so
    // does a crossed one, for a driver that says it changes none: cache_crossed_crossings).
    for (const auto& [id, c] : batch_crossings_) {
      if (IsTerminal(c->state) ||
          (!options_.cache_crossed_crossings && c->state == CrossingState::kCrossed)) {
        committed_crossings_->Erase(id);
      } else {
        committed_crossings_->Put(c);  // not moved: its key views it
      }
    }
  }
  batch_crossings_.clear();
  stats_.transactions.fetch_add(1);
  std::vector<AuditRecord> committed;
  bool transaction_failed = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    stats_.commands.fetch_add(1);
    if (!statuses[i]) {
      stats_.commands_failed.fetch_add(1);
      if (statuses[i].error().code == "store_write_failed") transaction_failed = true;
      continue;
    }
    if (results[i].replayed) stats_.replays.fetch_add(1);
    // Only the listener reads them (each caller has its own in its result).
    if (listener_) {
      committed.insert(committed.end(), results[i].records.begin(), results[i].records.end());
    }
  }
  if (transaction_failed || !all_statuses.front()) {
    // Nothing of this batch committed: the head is what CatchUp() read (or, if it failed, what
    // it was before); the next batch looks again.
    known_head_ = head_before;
  } else if (all_statuses.back() && head_after >= 0) {
    known_head_ = head_after;
  } else {
    known_head_ = head_before;  // CatchUp() of the next batch reads our own records again
  }
  stats_.known_head.store(known_head_);
  stats_.batches_ended.fetch_add(1);
  if (transaction_failed) {
    stats_.transaction_failures.fetch_add(1);  // once per transaction
    queue_reload_ = true;
  }
  if (queue_reload_) {
    // The book saw changes that did not commit: start again from what did.
    Status reloaded = queue_->Load(store_);
    queue_reload_ = !reloaded.has_value();
  }
  if (transaction_failed) rules_reload_ = true;
  if (rules_reload_) rules_reload_ = !LoadRules().has_value();
  delivery->committed = std::move(committed);
  delivery->done.reserve(batch.size());
  delivery->outcomes.reserve(batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    delivery->done.push_back(std::move(batch[i].done));
    if (statuses[i]) {
      delivery->outcomes.emplace_back(std::move(results[i]));
    } else {
      delivery->outcomes.emplace_back(statuses[i].error());
    }
  }
  Arrive(delivery);
}

Status Engine::CatchUp(WriteTxn& txn) {
  BF_ASSIGN_OR_RETURN(int64_t head, txn.LockAuditHead());
  if (head == known_head_) return {};
  // Another process (a second server on the same PostgreSQL database, or a CLI command on the
  // same SQLite file) committed records known_head_+1 .. head. Crossing events are applied one
  // crossing at a time; anything else (capacity, bans, rules, policy, link records) reloads the
  // queue and the rules whole, as does a gap too long to read or a head that went backwards (a
  // restored backup).
  stats_.catch_ups.fetch_add(1);
  constexpr int64_t kMaxCatchUp = 10000;
  bool full = head < known_head_ || head - known_head_ > kMaxCatchUp;
  bool rules = false;
  bool calls = false;  // another server called trucks forward (and scored predictions)
  std::set<std::string> crossings;
  for (int64_t at = known_head_; !full && at < head;) {
    BF_ASSIGN_OR_RETURN(std::vector<AuditRecord> records,
                        store_.ReadAudit(at, static_cast<int>(std::min<int64_t>(1000, head - at))));
    if (records.empty()) break;
    for (const AuditRecord& r : records) {
      if (r.seq > head) break;
      if (r.subject_type == "crossing") {
        crossings.insert(r.subject_id);
        // Inspection results teach the rules' estimates; re-assessments follow findings.
        if (r.action == "record_inspection" || r.action == "finding" || r.action == "reassess") {
          rules = true;
        }
        if (r.action == "call_forward") calls = true;
      } else if (r.subject_type != "user" && r.subject_type != "token") {
        full = true;
      }
      at = r.seq;
    }
  }
  if (full) {
    stats_.full_reloads.fetch_add(1);
    committed_crossings_->Clear();
    BF_TRY(queue_->Load(store_));
    BF_TRY(LoadRules());
  } else {
    std::set<std::string> lanes;
    for (const std::string& id : crossings) {
      committed_crossings_->Erase(id);
      BF_ASSIGN_OR_RETURN(std::optional<Crossing> c, txn.GetCrossing(id));
      if (!c) continue;
      lanes.insert(QueueBook::LaneKey(c->declaration.direction, c->declaration.lane_class));
      queue_->Upsert(*c);
    }
    // The lane counters and the prediction statistics are shared by every server: a call made
    // by another one counts against this bucket's capacity and moves the lane's cycle, and its
    // scored predictions join ours. Read under the write lock, they are what this batch's
    // commands increment (not a count of this server's own calls that would overwrite theirs).
    BF_TRY(ReloadQueueCounters(txn, lanes, calls));
    if (rules) BF_TRY(LoadRules());
  }
  known_head_ = head;
  return {};
}

Status Engine::ReloadQueueCounters(WriteTxn& txn, const std::set<std::string>& lane_keys,
                                   bool prediction_stats) {
  for (const std::string& key : lane_keys) {
    BF_ASSIGN_OR_RETURN(std::optional<StoredRecord> record, txn.GetRecord(kLaneRecord, key));
    if (!record) continue;
    BF_ASSIGN_OR_RETURN(json::value v, ParseJson(record->body, JsonLimits{16 << 20, 16}));
    BF_ASSIGN_OR_RETURN(LaneCounters counters, DecodeLaneCounters(v));
    queue_->PutLaneCounters(key, counters);
  }
  if (!prediction_stats) return {};
  BF_ASSIGN_OR_RETURN(std::optional<StoredRecord> record,
                      txn.GetRecord(kSettingRecord, "prediction_stats"));
  if (!record) return {};
  BF_ASSIGN_OR_RETURN(json::value v, ParseJson(record->body, JsonLimits{16 << 20, 16}));
  BF_ASSIGN_OR_RETURN(PredictionStats stats, DecodePredictionStats(v));
  queue_->PutPredictionStats(stats);
  return {};
}

Status Engine::Apply(WriteTxn& txn, const Command& command, Timestamp now, CommandResult& result) {
  const Actor& actor = command.actor;
  batch_undo_.clear();
  queue_touched_ = false;
  rules_touched_ = false;
  bool keyed = !command.idempotency_key.empty();
  if (!keyed && options_.require_idempotency_keys && NeedsIdempotencyKey(command.body)) {
    return InvalidArgument("idempotency_key_required",
                           "every write needs an Idempotency-Key so that retries apply once");
  }
  if (keyed && std::holds_alternative<IssueApiToken>(command.body)) {
    // Its result holds the new token, which must never be stored.
    return InvalidArgument("idempotency_key_not_supported",
                           "issuing a token takes no Idempotency-Key: its result is never stored");
  }
  if (command.idempotency_key.size() > 128) {
    return InvalidArgument("invalid_idempotency_key", "the Idempotency-Key has at most 128 bytes");
  }
  if (keyed) {
    BF_ASSIGN_OR_RETURN(auto stored, txn.FindIdempotency(actor.user_id, command.idempotency_key));
    if (stored) {
      if (stored->fingerprint != command.fingerprint) {
        return Error(ErrorKind::kUnprocessable, "idempotency_key_reused",
                     "this Idempotency-Key was already used for a different request");
      }
      BF_ASSIGN_OR_RETURN(result, ReplayResponse(*stored));
      return {};
    }
  }
  Status applied = std::visit(
      [&](const auto& body) -> Status {
        using T = std::decay_t<decltype(body)>;
        if constexpr (std::is_same_v<T, DeclareCrossing>) {
          return ApplyDeclare(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, RecordCrossingEvent>) {
          return ApplyEvent(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, AddUser>) {
          return ApplyAddUser(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, IssueApiToken>) {
          return ApplyIssueToken(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, RevokeApiToken>) {
          return ApplyRevokeToken(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, ChangeCapacity>) {
          return ApplyChangeCapacity(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, QueueTick>) {
          return ApplyQueueTick(txn, actor, now, result);
        } else if constexpr (std::is_same_v<T, CallNext>) {
          return ApplyCallNext(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, SubmitPlateRead>) {
          return ApplyPlateRead(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, ResolvePlateRead>) {
          return ApplyResolvePlateRead(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, UpdateDriver>) {
          return ApplyUpdateDriver(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, SetBan>) {
          return ApplySetBan(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, UploadRuleSet>) {
          return ApplyUploadRuleSet(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, ActivateRuleSet>) {
          return ApplyActivateRuleSet(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, RecordFinding>) {
          return ApplyRecordFinding(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, PutWatchlist>) {
          return ApplyPutWatchlist(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, DeleteWatchlist>) {
          return ApplyDeleteWatchlist(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, ApplyPeerMessage>) {
          return ApplyPeer(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, AckPeerMessages>) {
          return ApplyPeerAck(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, RecordPeerRejection>) {
          return ApplyPeerRejection(txn, actor, body, now, result);
        } else if constexpr (std::is_same_v<T, AnnounceCapacity>) {
          return ApplyAnnounceCapacity(txn, actor, now, result);
        } else {
          static_assert(std::is_same_v<T, SetQueuePolicy>);
          return ApplySetPolicy(txn, actor, body, now, result);
        }
      },
      command.body);
  if (applied) {
    if (result.body_text.empty()) result.body_text = ToJsonText(result.body);
    if (keyed) {
      applied = txn.PutIdempotency(IdempotencyRecord{actor.user_id, command.idempotency_key,
                                                     command.fingerprint, result.status,
                                                     result.body_text, now});
    }
  }
  if (!applied && (queue_touched_ || !result.changed.empty())) {
    // The steps that succeeded before the failure are rolled back with the savepoint: undo
    // what later commands of the batch (and the committed cache) would otherwise see, and
    // reload the book after it.
    for (auto it = batch_undo_.rbegin(); it != batch_undo_.rend(); ++it) {
      auto& [written, replaced] = *it;
      if (replaced) {
        SetBatchCrossing(std::move(replaced));
      } else {
        batch_crossings_.erase(written->id);
      }
    }
    queue_reload_ = true;
  }
  if (!applied && rules_touched_) rules_reload_ = true;
  BF_TRY(applied);
  // Nothing of this command can fail any more: later commands of the batch see its crossings
  // (WriteChange already put in those it wrote).
  for (const SharedCrossing& c : result.changed) {
    auto it = batch_crossings_.find(c->id);
    if (it == batch_crossings_.end() || it->second->version != c->version) SetBatchCrossing(c);
  }
  if (result.crossing && result.changed.empty()) {
    SetBatchCrossing(result.crossing);
    result.changed.push_back(result.crossing);
  }
  return {};
}

Status Engine::ApplyDeclare(WriteTxn& txn, const Actor& actor, const DeclareCrossing& cmd,
                            Timestamp now, CommandResult& result) {
  if (actor.role != Role::kForwarder) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 fmt::format("role {} may not declare crossings; allowed roles: forwarder",
                             RoleName(actor.role)));
  }
  BF_TRY(ValidateDeclaration(cmd.declaration, config_, now));
  Crossing c;
  c.id = NewCrossingId(now, random_);
  c.company_id = actor.company_id;
  c.declared_by = actor.user_id;
  c.declaration = cmd.declaration;
  c.declaration_valid_until =
      cmd.declaration.declaration_valid_until.value_or(now + config_.declaration_validity);
  c.state = CrossingState::kDeclared;
  c.version = 1;
  c.created_at = now;
  c.updated_at = now;
  // Encoded once: the stored document, the audit record and the response are the same text.
  std::string document = CrossingDocument(c);
  auto declared = std::make_shared<const Crossing>(std::move(c));
  // An id is a millisecond and 6 random characters: two declarations in the same millisecond
  // can draw the same one (seen once in 100,000 a day). Draw again, from the same injected
  // generator (deterministic), a bounded number of times.
  constexpr int kIdAttempts = 8;
  for (int attempt = 1;; ++attempt) {
    Status inserted = txn.InsertSharedCrossing(declared, document);
    if (inserted) break;
    if (inserted.error().code != "crossing_exists" || attempt == kIdAttempts) return inserted;
    Crossing again = *declared;
    again.id = NewCrossingId(now, random_);
    document = CrossingDocument(again);
    declared = std::make_shared<const Crossing>(std::move(again));
  }
  BF_ASSIGN_OR_RETURN(
      AuditRecord record,
      txn.AppendAudit(Draft(actor, now, "crossing", declared->id, "declare", document)));
  result.status = 201;
  result.body_text = std::move(document);
  result.records.push_back(std::move(record));
  result.crossing = std::move(declared);
  return AssessByRules(txn, now, result);  // with an active rule set: assessed at once
}

Result<SharedCrossing> Engine::LoadCrossing(WriteTxn& txn, const std::string& id) {
  if (auto it = batch_crossings_.find(id); it != batch_crossings_.end()) return it->second;
  if (SharedCrossing cached = committed_crossings_->Find(id)) return cached;
  return txn.GetSharedCrossing(id);
}

SharedCrossing Engine::SetBatchCrossing(SharedCrossing crossing) {
  auto it = batch_crossings_.find(crossing->id);
  if (it == batch_crossings_.end()) {
    const std::string_view id = crossing->id;
    batch_crossings_.emplace(id, std::move(crossing));
    return nullptr;
  }
  // The key views the id of the version it replaces, which may go: key the entry again, by the
  // new version's id, in the same node.
  auto node = batch_crossings_.extract(it);
  SharedCrossing replaced = std::exchange(node.mapped(), std::move(crossing));
  node.key() = node.mapped()->id;
  batch_crossings_.insert(std::move(node));
  return replaced;
}

Status Engine::ApplyEvent(WriteTxn& txn, const Actor& actor, const RecordCrossingEvent& cmd,
                          Timestamp now, CommandResult& result) {
  BF_ASSIGN_OR_RETURN(SharedCrossing current,
                      LoadForChange(txn, actor, cmd.crossing_id, cmd.expected_version));
  EncodedCrossing encoded;
  encoded.want_view = false;
  BF_ASSIGN_OR_RETURN(SharedCrossing next,
                      Transition(txn, actor, *current, cmd.event, now, result, {}, &encoded));
  if (cmd.event.type == CrossingEventType::kRecordInspection) {
    BF_TRY(LearnFromInspection(txn, *next, now, result));
  }
  const AuditRecord& record = result.records.back();
  result.status = 200;
  if (!options_.encode_crossing_documents) {
    result.crossing = std::move(next);
    return {};  // no document: the text is "{}" (see EngineOptions)
  }
  // {"event":{"seq":..,"type":..,"at":..},"crossing":<the stored document>}
  std::string text;
  text.reserve(encoded.document.size() + 96);
  JsonWriter w(text);
  w.BeginObject()
      .Key("event")
      .BeginObject()
      .Member("seq", record.seq)
      .Member("type", CrossingEventName(cmd.event.type))
      .Member("at", FormatUtc(now))
      .EndObject()
      .Key("crossing")
      .Raw(encoded.document)
      .EndObject();
  result.body_text = std::move(text);
  result.crossing = std::move(next);
  return {};
}

Result<SharedCrossing> Engine::LoadForChange(WriteTxn& txn, const Actor& actor,
                                             const std::string& id,
                                             std::optional<int64_t> expected_version) {
  BF_ASSIGN_OR_RETURN(SharedCrossing current, LoadCrossing(txn, id));
  if (current == nullptr || !CanSee(actor, *current)) return CrossingNotFound(id);
  if (expected_version && *expected_version != current->version) {
    return Conflict("version_conflict",
                    fmt::format("crossing {} is at version {}, not {}", current->id,
                                current->version, *expected_version));
  }
  return current;
}

Result<SharedCrossing> Engine::Transition(WriteTxn& txn, const Actor& actor,
                                          const Crossing& current, const CrossingEvent& event,
                                          Timestamp now, CommandResult& result, json::object why,
                                          EncodedCrossing* encoded) {
  // Decided where it stays: in the shared version that WriteChange hands out (a Crossing is
  // costly to move; the season moved each new version into its shared version).
  auto next = std::make_shared<Crossing>(current);
  BF_TRY(DecideInto(current, event, actor, now, *next));
  BF_TRY(ApplyQueueRules(txn, actor, current, event, now, *next, result));
  std::string body = EventAuditBody(CrossingEventName(event.type), CrossingStateName(current.state),
                                    CrossingStateName(next->state), next->version, event.data, why);
  return WriteSharedChange(txn, actor, current, std::move(next),
                           std::string(CrossingEventName(event.type)), std::move(body), now, result,
                           encoded);
}

std::string EventAuditBody(std::string_view type, std::string_view from, std::string_view to,
                           int64_t version, const json::object& data, const json::object& why) {
  constexpr std::string_view kFixed[] = {"type", "from", "to", "version", "data"};
  for (const auto& kv : why) {
    if (std::find(std::begin(kFixed), std::end(kFixed), kv.key()) != std::end(kFixed)) {
      // Replaced in place: rare (no caller does it today), so built as the object it means.
      json::object body{
          {"type", type}, {"from", from}, {"to", to}, {"version", version}, {"data", data}};
      for (const auto& member : why) body[member.key()] = member.value();
      return ToJsonText(body);
    }
  }
  std::string text;
  // Most bodies fit: written into a string growing from empty, one was reallocated four times.
  text.reserve(256);
  JsonWriter w(text);
  w.BeginObject().Member("type", type).Member("from", from).Member("to", to);
  w.Member("version", version).Key("data");
  WriteJson(w, data);
  for (const auto& kv : why) {
    w.Key(kv.key());
    WriteJson(w, kv.value());
  }
  w.EndObject();
  return text;
}

Result<SharedCrossing> Engine::WriteChange(WriteTxn& txn, const Actor& actor,
                                           const Crossing& current, Crossing&& next_version,
                                           std::string action, const json::object& body,
                                           Timestamp now, CommandResult& result,
                                           EncodedCrossing* encoded) {
  return WriteChange(txn, actor, current, std::move(next_version), std::move(action),
                     ToJsonText(body), now, result, encoded);
}

Result<SharedCrossing> Engine::WriteChange(WriteTxn& txn, const Actor& actor,
                                           const Crossing& current, Crossing&& next_version,
                                           std::string action, std::string body, Timestamp now,
                                           CommandResult& result, EncodedCrossing* encoded) {
  return WriteSharedChange(txn, actor, current, std::make_shared<Crossing>(std::move(next_version)),
                           std::move(action), std::move(body), now, result, encoded);
}

Result<SharedCrossing> Engine::WriteSharedChange(WriteTxn& txn, const Actor& actor,
                                                 const Crossing& current,
                                                 std::shared_ptr<Crossing> next_version,
                                                 std::string action, std::string body,
                                                 Timestamp now, CommandResult& result,
                                                 EncodedCrossing* encoded) {
  BF_ASSERT(next_version->id == current.id && next_version->version == current.version + 1,
            "a change moves a crossing one version on");
  // Without documents (see EngineOptions) only a caller that wants the view gets one encoded.
  const bool encode =
      options_.encode_crossing_documents || (encoded != nullptr && encoded->want_view);
  std::string document = encode ? CrossingDocument(*next_version) : std::string();
  SharedCrossing next = std::move(next_version);  // from here on, the one shared version
  BF_TRY(txn.UpdateSharedCrossing(next, document, current.version));
  const std::string action_name = action;
  BF_ASSIGN_OR_RETURN(
      AuditRecord record,
      txn.AppendAudit(Draft(actor, now, "crossing", next->id, std::move(action), std::move(body))));
  result.records.push_back(std::move(record));
  // Later steps of this command and later commands of the batch see the new state (undone if
  // the command fails), and so does the queue book. (The caller holds `current`, so replacing
  // this batch's version of it here does not destroy it.)
  batch_undo_.emplace_back(next, SetBatchCrossing(next));
  queue_->Upsert(next);
  queue_touched_ = true;
  result.changed.push_back(next);
  BF_TRY(EmitPeerMessages(txn, current, *next, action_name, now));
  if (encoded != nullptr) {
    if (encoded->want_view) encoded->view = json::parse(document).as_object();
    encoded->document = std::move(document);
  }
  return next;
}

Status Engine::ApplyAddUser(WriteTxn& txn, const Actor& actor, const AddUser& cmd, Timestamp now,
                            CommandResult& result) {
  if (actor.role != Role::kAdministrator) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed", "only administrators add users");
  }
  BF_ASSIGN_OR_RETURN(UserRecord user, NewUser(cmd.name, cmd.role, cmd.company_id, now, random_,
                                               cmd.driver_document));
  BF_TRY(txn.InsertUser(user));
  json::object body{{"id", user.id},
                    {"name", user.name},
                    {"role", RoleName(user.role)},
                    {"company_id", user.company_id}};
  if (!user.driver_document.empty()) body["driver_document"] = user.driver_document;
  BF_ASSIGN_OR_RETURN(AuditRecord record,
                      txn.AppendAudit(Draft(actor, now, "user", user.id, "user_add", body)));
  result.status = 201;
  result.body = std::move(body);
  result.records.push_back(std::move(record));
  return {};
}

Status Engine::ApplyIssueToken(WriteTxn& txn, const Actor& actor, const IssueApiToken& cmd,
                               Timestamp now, CommandResult& result) {
  if (actor.role != Role::kAdministrator) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "only administrators issue tokens");
  }
  BF_ASSIGN_OR_RETURN(std::optional<UserRecord> user, txn.FindUserByName(cmd.user_name));
  if (!user) {
    return NotFound("user_not_found", fmt::format("no user '{}'", cmd.user_name.substr(0, 64)));
  }
  if (cmd.expires_at && *cmd.expires_at <= now) {
    return InvalidArgument("invalid_expiry", "the expiry is in the past", "expires_at");
  }
  IssuedToken issued = IssueToken(*user, cmd.label, cmd.expires_at, now, random_);
  BF_TRY(txn.InsertToken(issued.record));
  json::object audit_body{
      {"token_id", issued.record.id}, {"user_id", user->id}, {"label", issued.record.label}};
  if (cmd.expires_at) audit_body["expires_at"] = FormatUtc(*cmd.expires_at);
  BF_ASSIGN_OR_RETURN(
      AuditRecord record,
      txn.AppendAudit(Draft(actor, now, "token", issued.record.id, "token_issue", audit_body)));
  result.status = 201;
  result.body = audit_body;
  result.body["token"] = issued.token;  // shown once, never stored
  result.body["user"] = user->name;
  result.body["role"] = RoleName(user->role);
  result.records.push_back(std::move(record));
  return {};
}

Status Engine::ApplyRevokeToken(WriteTxn& txn, const Actor& actor, const RevokeApiToken& cmd,
                                Timestamp now, CommandResult& result) {
  if (actor.role != Role::kAdministrator) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "only administrators revoke tokens");
  }
  if (cmd.token_id.empty() == cmd.user_name.empty()) {
    return InvalidArgument("missing_field", "name either one token or one user, not both");
  }
  // Revokes one live token, audited; a token already revoked keeps its first revocation and
  // gets no second record.
  auto revoke = [&](const TokenRecord& token) -> Status {
    if (token.revoked_at) return {};
    BF_TRY(txn.RevokeToken(token.id, now));
    json::object body{
        {"token_id", token.id}, {"user_id", token.user_id}, {"revoked_at", FormatUtc(now)}};
    BF_ASSIGN_OR_RETURN(AuditRecord record, txn.AppendAudit(Draft(actor, now, "token", token.id,
                                                                  "token_revoke", body)));
    result.records.push_back(std::move(record));
    return {};
  };
  result.status = 200;
  if (!cmd.token_id.empty()) {
    // Committed data: a token is issued by one administrator command and revoked by another.
    BF_ASSIGN_OR_RETURN(std::optional<TokenRecord> token, store_.FindToken(cmd.token_id));
    if (!token) {
      return NotFound("token_not_found",
                      fmt::format("token '{}' does not exist", cmd.token_id.substr(0, 64)));
    }
    BF_TRY(revoke(*token));
    result.body = json::object{{"token_id", token->id},
                               {"revoked_at", FormatUtc(token->revoked_at.value_or(now))},
                               {"already_revoked", token->revoked_at.has_value()}};
    return {};
  }
  BF_ASSIGN_OR_RETURN(std::optional<UserRecord> user, txn.FindUserByName(cmd.user_name));
  if (!user) {
    return NotFound("user_not_found", fmt::format("no user '{}'", cmd.user_name.substr(0, 64)));
  }
  BF_ASSIGN_OR_RETURN(std::vector<TokenRecord> tokens, store_.ListTokens(user->id));
  json::array revoked;
  for (const TokenRecord& token : tokens) {
    if (token.revoked_at) continue;
    BF_TRY(revoke(token));
    revoked.push_back(json::string(token.id));
  }
  result.body = json::object{{"user", user->name},
                             {"user_id", user->id},
                             {"revoked", std::move(revoked)},
                             {"revoked_at", FormatUtc(now)}};
  return {};
}

Result<Crossing> Engine::GetCrossing(const Actor& actor, std::string_view id) {
  BF_ASSIGN_OR_RETURN(std::optional<Crossing> c, store_.GetCrossing(id));
  if (!c || !CanSee(actor, *c)) return CrossingNotFound(id);
  return std::move(*c);
}

Result<CrossingPage> Engine::ListCrossings(const Actor& actor, CrossingFilter filter) {
  if (actor.role == Role::kPublic) {
    return Error(ErrorKind::kPermissionDenied, "role_not_allowed",
                 "the public sees aggregates only");
  }
  if (actor.IsCompanyScoped()) filter.company_id = actor.company_id;
  if (actor.role == Role::kDriver) {
    // A driver made before drivers named their document sees nothing until an administrator
    // adds them again with one.
    if (actor.driver_document.empty()) return CrossingPage{};
    filter.driver_document = actor.driver_document;
  }
  return store_.ListCrossings(filter);
}

Result<std::vector<AuditRecord>> Engine::CrossingHistory(const Actor& actor, std::string_view id) {
  BF_TRY(GetCrossing(actor, id));
  return store_.ListAuditFor("crossing", id, 1000);
}

Result<GateStatus> Engine::GetGateStatus() {
  GateStatus status;
  BF_ASSIGN_OR_RETURN(status.counts, store_.CountCrossings());
  status.at = clock_.Now();
  status.self_open = config_.self.IsOpenAt(status.at);
  status.counterpart_open = config_.counterpart.IsOpenAt(status.at);
  return status;
}

json::object Engine::CrossingView(const Crossing& c) const {
  return EncodeCrossing(c, config_.self.utc_offset);
}

std::string Engine::CrossingDocument(const Crossing& c) const {
  return EncodeCrossingText(c, config_.self.utc_offset);
}

json::object CommandResult::Json() const {
  if (!body.empty() || body_text.empty()) return body;
  return json::parse(body_text).as_object();
}

}  // namespace borderflow
