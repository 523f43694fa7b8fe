#pragma once

// The storage seam. The engine owns this interface; store/sqlite (and later store/postgres)
// implement it. One write transaction commits a command's events, its audit records, the new
// current state and its idempotency record together, or none of them.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <borderflow/audit/audit_record.h>
#include <borderflow/auth/credentials.h>
#include <borderflow/core/error.h>
#include <borderflow/core/json.h>
#include <borderflow/domain/crossing.h>
#include <borderflow/domain/crossing_json.h>
#include <borderflow/engine/shared_crossing.h>

namespace borderflow {

// The first result of a command, kept so that a retry with the same key returns it unchanged.
struct IdempotencyRecord {
  std::string scope;        // whose key it is: the acting user's id
  std::string key;          // the client's Idempotency-Key
  std::string fingerprint;  // hash of the command; the same key with another command is refused
  int status = 0;           // the result's status (201, 200, or an error's HTTP status)
  std::string response;     // the result's JSON body
  Timestamp created_at;
};

struct CrossingFilter {
  std::optional<std::string> company_id;  // forwarders: always their own company
  std::optional<CrossingState> state;
  std::optional<std::string> direction;
  std::optional<std::string> lane_class;
  std::optional<std::string> plate;  // canonical plate ("12C12345")
  // The declared driver's document number (drivers see only their own crossings).
  std::optional<std::string> driver_document;
  int limit = 50;     // 1..200
  std::string after;  // cursor: crossing id to continue after (ids ascend)
};

struct CrossingPage {
  std::vector<Crossing> items;
  std::string next_cursor;  // empty on the last page
};

// Number of crossings per (direction, lane_class, state), for the gate status board.
struct CrossingCount {
  std::string direction;
  std::string lane_class;
  CrossingState state;
  int64_t count = 0;
};

// A small document kept by the engine beside the crossings: capacity changes, bans, strikes,
// plate reads awaiting an operator, queue counters. `kind` names the family ("capacity_change",
// "ban", ...), `id` is unique within it, `body` is JSON text.
struct StoredRecord {
  std::string kind;
  std::string id;
  std::string body;
  Timestamp updated_at;
};

// Operations inside one write transaction. Only valid during the TxnFn that received it.
class WriteTxn {
 public:
  virtual ~WriteTxn() = default;

  virtual Result<std::optional<IdempotencyRecord>> FindIdempotency(std::string_view scope,
                                                                   std::string_view key) = 0;
  virtual Status PutIdempotency(const IdempotencyRecord& record) = 0;

  virtual Result<std::optional<Crossing>> GetCrossing(std::string_view id) = 0;
  // The same as the engine's shared version of the crossing (see shared_crossing.h), null when
  // there is none: a store that keeps crossings decoded returns the one it holds instead of a
  // copy. By default, a new one made from GetCrossing.
  virtual Result<SharedCrossing> GetSharedCrossing(std::string_view id) {
    BF_ASSIGN_OR_RETURN(std::optional<Crossing> crossing, GetCrossing(id));
    if (!crossing) return SharedCrossing();
    return SharedCrossing(std::make_shared<const Crossing>(std::move(*crossing)));
  }
  // Stores `crossing`; `document` is its JSON text, EncodeCrossing(crossing) serialised (the
  // engine encodes once and reuses the text for the audit record and the response).
  // Errors: conflict "crossing_exists".
  virtual Status InsertCrossing(const Crossing& crossing, std::string_view document) = 0;
  // Writes `crossing` (and its `document`) if the stored version is `expected_version`.
  // Errors: conflict "version_conflict", not_found "crossing_not_found".
  virtual Status UpdateCrossing(const Crossing& crossing, std::string_view document,
                                int64_t expected_version) = 0;
  // The same with the engine's shared version of the crossing (see shared_crossing.h): a store
  // that keeps crossings decoded keeps this object instead of a copy. By default, as above.
  virtual Status InsertSharedCrossing(const SharedCrossing& crossing, std::string_view document) {
    return InsertCrossing(*crossing, document);
  }
  virtual Status UpdateSharedCrossing(const SharedCrossing& crossing, std::string_view document,
                                      int64_t expected_version) {
    return UpdateCrossing(*crossing, document, expected_version);
  }
  // The same, encoding the document here.
  Status InsertCrossing(const Crossing& crossing) {
    return InsertCrossing(crossing, ToJsonText(EncodeCrossing(crossing)));
  }
  Status UpdateCrossing(const Crossing& crossing, int64_t expected_version) {
    return UpdateCrossing(crossing, ToJsonText(EncodeCrossing(crossing)), expected_version);
  }

  // Appends to the hash-chained audit trail and returns the record as stored.
  virtual Result<AuditRecord> AppendAudit(const AuditDraft& draft) = 0;
  // Takes the audit trail's write lock for the rest of the transaction (so that no other process
  // sharing the database commits until this one ends) and returns the last record's sequence
  // number as this transaction sees it (its own appends included). SQLite holds that lock from
  // BEGIN IMMEDIATE; PostgreSQL takes its advisory lock here rather than at the first append.
  // The engine calls it first in every batch, to learn whether another process wrote since its
  // own last commit, and last, to know the head its commit leaves.
  virtual Result<int64_t> LockAuditHead() = 0;

  // Inserts or replaces the record (kind, id).
  virtual Status PutRecord(const StoredRecord& record) = 0;
  // Removes the record (kind, id) if it exists.
  virtual Status DeleteRecord(std::string_view kind, std::string_view id) = 0;
  // The record (kind, id) as of this transaction (its own puts and deletes included).
  virtual Result<std::optional<StoredRecord>> GetRecord(std::string_view kind,
                                                        std::string_view id) = 0;

  // Errors: conflict "user_exists" when the name is taken.
  virtual Status InsertUser(const UserRecord& user) = 0;
  virtual Result<std::optional<UserRecord>> FindUserByName(std::string_view name) = 0;
  virtual Status InsertToken(const TokenRecord& token) = 0;
  // Errors: not_found "token_not_found".
  virtual Status RevokeToken(std::string_view token_id, Timestamp at) = 0;
};

using TxnFn = std::function<Status(WriteTxn&)>;

class Store {
 public:
  virtual ~Store() = default;

  // Runs every function of `work` in one durable transaction, each inside its own savepoint: a
  // function that returns an error is rolled back alone and the others still commit. Returns
  // one status per function: its own error, or the commit's error (kUnavailable) for all of
  // them when the commit fails. Returns only after the commit is durable.
  // Called by one writer thread at a time (the engine serialises writes).
  virtual std::vector<Status> WriteBatch(std::span<const TxnFn> work) = 0;

  // Convenience: a batch of one.
  Status Write(const TxnFn& fn) { return WriteBatch(std::span<const TxnFn>(&fn, 1)).front(); }

  // Group commit with the sync off the caller's path: as WriteBatch, but returns once the batch
  // is committed, and calls `durable` once that commit is durable (with kUnavailable
  // "store_sync_failed" if it could not be made so). `durable` runs exactly once per call, in
  // the order of the calls, possibly on another thread and possibly before this returns; it
  // must not write to the store. Between the return and `durable`, other readers may already
  // see the commit: whatever leaves the node on the strength of a read (the live feed, the link
  // to the counterpart) calls WaitDurable() first. The default is WriteBatch, durable on return.
  virtual std::vector<Status> WriteBatchThen(std::span<const TxnFn> work,
                                             std::function<void(Status)> durable) {
    std::vector<Status> statuses = WriteBatch(work);
    durable({});
    return statuses;
  }
  // Returns once every commit that returned before the call is durable and its `durable`
  // callback has run; an error if a sync failed.
  virtual Status WaitDurable() { return {}; }

  // Reads see committed data only. Thread-safe.
  virtual Result<std::optional<Crossing>> GetCrossing(std::string_view id) = 0;
  virtual Result<CrossingPage> ListCrossings(const CrossingFilter& filter) = 0;
  virtual Result<std::vector<CrossingCount>> CountCrossings() = 0;
  // Audit records about one subject, oldest first, at most `limit`.
  virtual Result<std::vector<AuditRecord>> ListAuditFor(std::string_view subject_type,
                                                        std::string_view subject_id, int limit) = 0;
  // Records with seq > after_seq in order, at most `limit` (for verification and export).
  virtual Result<std::vector<AuditRecord>> ReadAudit(int64_t after_seq, int limit) = 0;
  // The last record's sequence number (0 for an empty trail). Stores override this with one
  // query; the default pages through the trail.
  virtual Result<int64_t> AuditHead() {
    int64_t head = 0;
    for (;;) {
      BF_ASSIGN_OR_RETURN(std::vector<AuditRecord> page, ReadAudit(head, 1000));
      if (page.empty()) return head;
      head = page.back().seq;
    }
  }

  // Every record of `kind`, by id (the engine loads these when it starts).
  virtual Result<std::vector<StoredRecord>> ListRecords(std::string_view kind) = 0;

  virtual Result<std::optional<UserRecord>> FindUserById(std::string_view id) = 0;
  virtual Result<std::vector<UserRecord>> ListUsers() = 0;
  virtual Result<std::optional<TokenRecord>> FindToken(std::string_view token_id) = 0;
  // The tokens of one user (of every user when `user_id` is empty), oldest first, revoked and
  // expired ones included (their secrets' hashes too: callers show ids and dates only).
  virtual Result<std::vector<TokenRecord>> ListTokens(std::string_view user_id) = 0;

  // Whether the store can serve (for /readyz).
  virtual Status Ping() = 0;
};

}  // namespace borderflow
